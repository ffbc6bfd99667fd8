"""End to end: hook process -> listener process (real SlackBridge, real dispatch) -> Slack
emulator -> a click or a text; what the agent gets and what the channel shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from emulators.slack import SlackEmulator
from emulators.telegram import TelegramEmulator
from harness import telegram_relay
from harness.hookproc import HookRunner, payload
from harness.observe import bridge_states, only_pending, status_of
from harness.slack import ALICE, CHANNEL, MALLORY, button_id, labels, section_text
from harness.slack_relay import (
    configure_slack,
    outcome,
    slack_request,
    slack_table,
)
from harness.waiting import until

from tether_hooks import paths, timers
from tether_hooks.listener import daemon
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.offsets import Offsets

pytestmark = pytest.mark.usefixtures("slack_listener_stops_first")


def perm(session: str = "s-slack", **tool_input: object) -> dict:
    return {"session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp/proj",
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": "Bash", "tool_input": tool_input or {"command": "rm -rf build"}}


def test_a_click_lets_the_hook_allow_and_a_stranger_does_nothing(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm())
    msg = slack_request(emu, "rm -rf build")
    (root,) = [m for m in emu.messages(CHANNEL) if m.ts == msg.thread_ts]
    assert "Claude Code" in section_text(root) and "proj" in section_text(root)
    assert labels(msg)[:3] == ["✅ Allow", "❌ Deny", "💬 Deny with reason"]
    assert "Allow Bash 30m" in " ".join(labels(msg))
    rid = only_pending()["id"]

    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), MALLORY)
    refusal = emu.wait_for_ephemeral(user=MALLORY, timeout=15)
    assert refusal.text == f"⛔ Not authorized. Your user id is {MALLORY}."
    assert refusal.thread_ts == msg.thread_ts
    assert status_of(rid) == "pending"

    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), ALICE)
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    settled = outcome(emu, msg, "Allowed by @alice")
    assert "rm -rf build" in section_text(settled)
    assert emu.wait_for_ephemeral(lambda e: e.text == "Allowed", user=ALICE, timeout=10)
    # a client still showing the old buttons: told, nothing changes
    stale = button_id(msg, "❌ Deny")
    emu.click(CHANNEL, msg.ts, stale, ALICE, value=msg.button(stale)["value"], force=True)
    late = emu.wait_for_ephemeral(lambda e: e.text.startswith("Already decided"), user=ALICE,
                                  timeout=10)
    assert "Allowed by @alice" in late.text and status_of(rid) == "allowed"
    audit = Path(paths.audit_file()).read_text()
    assert '"event":"unauthorized"' in audit and MALLORY in audit


def test_allow_typed_in_the_thread_decides(hook: HookRunner, tether_home: Path,
                                           slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make test"))
    msg = slack_request(emu, "make test")
    emu.post_user_message(CHANNEL, "allow", ALICE, msg.thread_ts)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    outcome(emu, msg, "Allowed by")


def test_deny_with_reason_takes_the_next_reply_in_the_thread(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="psql prod"))
    msg = slack_request(emu, "psql prod")
    emu.click(CHANNEL, msg.ts, button_id(msg, "💬 Deny with reason"), ALICE)
    emu.wait_for_message(lambda m: "next message is the reason" in section_text(m)
                         and m.thread_ts == msg.thread_ts, channel=CHANNEL, timeout=15)
    emu.post_user_message(CHANNEL, "Use the <staging> db & retry", ALICE, msg.thread_ts)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny"
    assert "Use the <staging> db & retry" in decision["message"]
    outcome(emu, msg, "Denied by @alice: Use the &lt;staging&gt; db &amp; retry")


def test_slash_commands_answer_privately_and_bang_commands_in_the_thread(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="ls"))
    msg = slack_request(emu, "ls")
    rid = only_pending()["id"]
    emu.slash("/tether", "pending", ALICE, CHANNEL)
    listed = emu.wait_for_ephemeral(lambda e: rid in e.text, user=ALICE, timeout=15)
    assert listed.channel == CHANNEL and "Bash" in listed.text
    assert not [m for m in emu.messages(CHANNEL) if rid in m.text and not m.buttons()]
    emu.slash("/tether", "status", MALLORY, CHANNEL)  # a stranger: refused, told privately
    emu.wait_for_ephemeral(lambda e: "Not authorized" in e.text and MALLORY in e.text,
                           user=MALLORY, timeout=15)
    emu.post_user_message(CHANNEL, "!stop", ALICE, msg.thread_ts)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and decision["interrupt"] is True
    emu.wait_for_message(lambda m: "stops at its next tool call" in section_text(m)
                         or "is stopping" in section_text(m), channel=CHANNEL, timeout=15)
    info = json.loads(Path(paths.listener_health_file()).read_text())
    assert info["bridges"]["slack"]["state"] == "ok"


def test_a_multi_select_question_toggles_in_place(hook: HookRunner, tether_home: Path,
                                                  slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    configure_slack(tether_home, emu)
    asked = payload("claude/PermissionRequest-AskUserQuestion")
    proc = hook.start("claude", asked)
    first = slack_request(emu, "Which database should we use?")
    second = slack_request(emu, "Which features do you want?")
    assert labels(first) == ["1. Postgres", "2. SQLite"]
    emu.click(CHANNEL, second.ts, button_id(second, "☐ Auth"), ALICE)
    second = emu.wait_for_update(CHANNEL, second.ts, lambda m: "☑ Auth" in labels(m),
                                 timeout=15)
    emu.click(CHANNEL, second.ts, button_id(second, "☐ Export"), ALICE)
    second = emu.wait_for_update(CHANNEL, second.ts, lambda m: "☑ Export" in labels(m),
                                 after=1, timeout=15)
    emu.click(CHANNEL, second.ts, button_id(second, "✔️ Done"), ALICE)
    emu.click(CHANNEL, first.ts, button_id(first, "2. SQLite"), ALICE)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["updatedInput"]["answers"] == {
        "Which database should we use?": "SQLite", "Which features do you want?": "Auth, Export"}
    outcome(emu, second, "Answered by @alice: Auth, Export")


def test_a_click_made_while_the_listener_was_down_is_applied_when_it_is_back(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    """Slack queues the envelope for the next socket; the restarted listener holds it,
    acks it and applies it; and it is applied once (its key is then known)."""
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make deploy"))
    msg = slack_request(emu, "make deploy")
    rid = only_pending()["id"]
    # (stopped before it recorded its post, a listener would post the request again)
    until(lambda: ChatBook(writer=False).refs(rid), what="the post recorded")
    daemon.stop()
    env = emu.click(CHANNEL, msg.ts, button_id(msg, "❌ Deny"), ALICE)
    daemon.start()
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and status_of(rid) == "denied"
    emu.wait_for_ack(env.envelope_id, timeout=15)
    until(lambda: Offsets().held_keys("slack") == [], what="the envelope marked applied")


def test_a_click_slack_delivers_again_after_a_restart_is_applied_once(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    """Slack re-sends an envelope whose ack it did not get (here: after the listener
    restarted, under a new envelope id): dispatch knows its key and drops it. No second
    timer, no "Already decided" answer."""
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make"))
    msg = slack_request(emu, "make")
    env = emu.click(CHANNEL, msg.ts, button_id(msg, "⏱ Allow Bash"), ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    (timer,) = until(timers.live, what="the timer")
    outcome(emu, msg, "Allowed by @alice")
    daemon.stop()
    daemon.start()
    again = emu.push_envelope("interactive", emu.envelope(env.envelope_id).payload)
    emu.wait_for_ack(again.envelope_id, timeout=15)
    until(lambda: emu.acks and "dropping replayed" in Path(paths.listener_log_file()
                                                           ).read_text(),
          what="the replay dropped")
    assert [t["id"] for t in timers.live()] == [timer["id"]]
    assert not [e for e in emu.ephemerals(user=ALICE) if "Already decided" in e.text]


def test_odd_envelopes_are_ignored_in_one_line_and_a_click_still_decides(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    """Envelopes with a field of the wrong type (a forged or broken one: a string where
    Slack sends an object, a list where a string...) while a request waits: each is
    acknowledged and logged in one line; the request stays pending, and Alice's click
    afterwards decides it. No traceback in the listener's log."""
    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make odd"))
    msg = slack_request(emu, "make odd")
    rid = only_pending()["id"]
    value = msg.button(button_id(msg, "✅ Allow"))["value"]
    click = {"type": "block_actions", "user": {"id": ALICE}, "channel": {"id": CHANNEL},
             "actions": [{"value": value, "action_ts": "1.1"}],
             "container": {"channel_id": CHANNEL, "message_ts": msg.ts}}
    said = {"type": "message", "user": ALICE, "channel": CHANNEL, "text": "allow",
            "ts": "1700000099.000100", "thread_ts": msg.thread_ts}
    odd = [
        ("interactive", {**click, "container": CHANNEL}),
        ("interactive", {**click, "channel": CHANNEL}),
        ("interactive", {**click, "message": ["x"]}),
        ("interactive", {**click, "user": ALICE}),
        ("interactive", {**click, "actions": [value]}),
        ("interactive", {**click, "actions": {"value": value}}),
        ("interactive", ["not", "an", "object"]),
        ("events_api", {"type": "event_callback", "event": {**said, "text": {"x": 1}}}),
        ("events_api", {"type": "event_callback", "event": {**said, "ts": ["5.6"]}}),
        ("events_api", {"type": "event_callback", "event": {**said, "thread_ts": 5.6}}),
        ("events_api", {"type": "event_callback", "event": "allow"}),
        ("slash_commands", {"user_id": ALICE, "channel_id": CHANNEL, "text": ["allow"],
                            "trigger_id": "t1"}),
    ]
    pushed = [emu.push_envelope(kind, body).envelope_id for kind, body in odd]
    for envelope_id in pushed:
        emu.wait_for_ack(envelope_id, timeout=15)
    assert status_of(rid) == "pending"
    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    outcome(emu, msg, "Allowed by @alice")
    log_text = Path(paths.listener_log_file()).read_text()
    assert "Traceback" not in log_text and "Failed to run" not in log_text
    ignored = [line for line in log_text.splitlines() if "slack: ignored a" in line]
    assert len(ignored) == len(odd), ignored
    assert all(emu.envelope(i).retry_attempt == 0 for i in pushed)  # each acked in time


def test_with_telegram_too_a_click_in_slack_settles_the_telegram_copy(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator,
        telegram_emulator: TelegramEmulator) -> None:
    emu, tg = slack_emulator, telegram_emulator
    telegram_relay.configure(tether_home, tg, extra=slack_table(emu))
    # (both connected first: this test is about a click in one settling the other copy)
    daemon.start()
    until(lambda: bridge_states() == {"telegram": "ok", "slack": "ok"},
          what="both bridges connected")
    proc = hook.start("claude", perm(command="make both"))
    msg = slack_request(emu, "make both")
    copy = telegram_relay.request_message(tg, "make both")
    emu.click(CHANNEL, msg.ts, button_id(msg, "❌ Deny"), ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    outcome(emu, msg, "Denied by @alice")
    assert "Denied by @alice" in (telegram_relay.edited(tg, copy, "Denied by").text or "")
    daemon.stop()  # while both emulators still answer


def test_the_tokens_never_leave_the_listener(tether_home: Path,
                                             slack_emulator: SlackEmulator) -> None:
    """Errors that echo the tokens reach neither the log, nor listener.out, nor the health
    file, nor ``status --json``; a refused token shows as ``auth`` with what to do."""
    emu = slack_emulator
    configure_slack(tether_home, emu)
    echo = {"response_metadata": {"messages": [
        f"[ERROR] Bearer {emu.bot_token} / {emu.app_token}"]}}
    emu.fail_next("auth.test", "invalid_auth", extra=echo, times=2)  # retried after 2, 5 s
    daemon.start()
    until(lambda: json.loads(cli_status())["listener"]["bridges"]["slack"]["state"] == "auth",
          timeout=30, what="the bridge to fail with the token rejected")
    seen = [cli_status(), Path(paths.listener_health_file()).read_text()]
    assert "the bot token was revoked or is wrong" in seen[0]
    until(lambda: (bridge_states() or {}).get("slack") == "ok", timeout=60,
          what="the retry to connect")
    daemon.stop()
    out = Path(paths.listener_out_file())
    logs = [Path(p) for p in (paths.listener_log_file(), f"{paths.listener_log_file()}.1")]
    texts = seen + [p.read_text() for p in [out, *logs] if p.exists()]
    assert any("Slack rejected the bot token" in t for t in texts)
    assert not [t for t in texts if emu.bot_token in t or emu.app_token in t]


@pytest.mark.parametrize(("line", "says"), [
    ('api_base = "http://[::1/api/"', "api_base = 'http://[::1/api/' is not a URL"),
    ('proxy = "http://me:pr0xyPassw0rd@[::1"', "proxy = (not shown: it has a user name or "
                                                "password) is not a URL"),
    ('bot_token = "{bot}\\nX-Evil: 1"', "bot_token has a space, a control character"),
])
def test_a_bad_table_leaves_the_listener_up_and_says_what_to_fix(
        tether_home: Path, slack_emulator: SlackEmulator, line: str, says: str) -> None:
    """The listener reads the same checks as setup and doctor: the bridge is "error" with
    the one-line reason in its health (so in status and doctor), no traceback in the log,
    and neither token nor proxy password anywhere."""
    emu = slack_emulator
    table = slack_table(emu)
    key = line.split(" = ", 1)[0]
    kept = [t for t in table.splitlines() if not t.startswith(f"{key} = ")]
    (tether_home / "config.toml").write_text(
        "\n".join(kept) + "\n" + line.replace("{bot}", emu.bot_token) + "\n")
    daemon.start()
    until(lambda: (bridge_states() or {}).get("slack") == "error", timeout=30,
          what="the slack bridge to fail to load")
    health = json.loads(Path(paths.listener_health_file()).read_text())
    detail = health["bridges"]["slack"]["detail"]
    status = cli_status()
    daemon.stop()
    assert detail.startswith("cannot load the slack bridge: ") and says in detail, detail
    assert "\n" not in detail
    assert json.loads(status)["listener"]["bridges"]["slack"]["detail"] == detail
    texts = [detail, status] + [Path(p).read_text() for p in (
        paths.listener_log_file(), paths.listener_out_file()) if Path(p).exists()]
    assert not [t for t in texts if "Traceback" in t]
    assert not [t for t in texts if emu.bot_token in t or emu.app_token in t
                or "pr0xyPassw0rd" in t]
    assert emu.calls() == []


def cli_status() -> str:
    run = subprocess.run([sys.executable, "-m", "tether_hooks", "status", "--json"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_an_answer_held_when_the_listener_died_survives_a_config_edit(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    """An answer acknowledged to Slack is held until applied; the listener dies (kill -9)
    before applying it and the user edits config.toml (another allowed user) meanwhile:
    the held answer is still the same account's and is applied after the restart (only a
    new token or API base makes another account)."""
    import os
    import signal

    from tether_hooks import relay

    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make held"))
    msg = slack_request(emu, "make held")
    rid = only_pending()["id"]
    emu.delay_next("users.info", 20)  # applying the answer waits on the author's name
    emu.post_user_message(CHANNEL, "allow", ALICE, msg.thread_ts)
    until(lambda: Offsets().held_keys("slack"), what="the answer held")
    until(lambda: emu.acks, what="the answer acknowledged to Slack")
    first = relay.listener_pid()
    assert first is not None and status_of(rid) == "pending"
    os.kill(first, signal.SIGKILL)
    config = tether_home / "config.toml"
    config.write_text(config.read_text().replace(
        f'allowed_user_ids = ["{ALICE}"]', f'allowed_user_ids = ["{ALICE}", "{MALLORY}"]'))
    assert MALLORY in config.read_text()
    daemon.start()
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow" and status_of(rid) == "allowed"
    outcome(emu, msg, "Allowed by @alice")
    until(lambda: Offsets().held_keys("slack") == [], what="the held answer marked applied")


def test_a_posted_request_falls_back_once_every_platform_refuses_us(
        hook: HookRunner, tether_home: Path, slack_emulator: SlackEmulator) -> None:
    """The app-level token is revoked while a request waits in the channel: no click can
    come through until the user mends it, so after the grace (a restarting server is
    not a revoked token) the agent gets its own prompt back, told why; status says so."""
    from tether_hooks.listener.outbox import REFUSED_GRACE

    emu = slack_emulator
    configure_slack(tether_home, emu)
    proc = hook.start("claude", perm(command="make refused"),
                      extra_env={"TETHER_HOOKS_APPROVAL_TIMEOUT": "600"})
    slack_request(emu, "make refused")
    rid = only_pending()["id"]
    until(lambda: ChatBook(writer=False).refs(rid), what="the post recorded")
    emu.revoke_app_token()
    emu.drop_socket()
    until(lambda: json.loads(cli_status())["listener"]["bridges"]["slack"]["state"] == "auth",
          timeout=30, what="the refusal in status")
    assert status_of(rid) == "pending"  # not at once: it may be a server restarting
    run = hook.finish(proc, timeout=REFUSED_GRACE + 60)
    assert run.stdout == ""  # no decision: Claude Code asks in the terminal
    assert "no chat platform can take an answer" in run.stderr
    assert "rejected the app-level token" in run.stderr and emu.app_token not in run.stderr
    assert status_of(rid) == "expired"

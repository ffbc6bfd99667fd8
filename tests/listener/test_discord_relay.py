"""End to end: hook process -> listener process (real DiscordBridge, real dispatch) -> Discord
emulator (webhook posts, bot-token reads) -> a reaction, a reply or a command; what the
agent gets and what the channel shows."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from emulators.discord import DiscordEmulator
from emulators.telegram import TelegramEmulator
from harness import telegram_relay
from harness.discord_relay import (
    ALICE,
    BOB,
    MALLORY,
    TIMER,
    TIMER_BARE,
    configure_discord,
    discord_request,
    discord_table,
    outcome,
    restarted,
    shown,
    wait_bot_reply,
)
from harness.hookproc import HookRunner, payload
from harness.observe import bridge_states, only_pending, status_of
from harness.waiting import until

from tether_hooks import paths, timers
from tether_hooks.listener import daemon
from tether_hooks.store import Store

pytestmark = pytest.mark.usefixtures("discord_listener_stops_first")

ALLOW, DENY, FOLDER = "\u2705", "\u274c", "\U0001f4c1"


def perm(session: str = "s-discord", cwd: str = "/tmp/proj", tool: str = "Bash",
         **tool_input: object) -> dict:
    return {"session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": tool, "tool_input": tool_input or {"command": "rm -rf build"}}


def audit_text() -> str:
    path = Path(paths.audit_file())
    return path.read_text() if path.exists() else ""


def test_a_reaction_lets_the_hook_allow_and_a_strangers_does_nothing(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm())
    msg = discord_request(emu, "rm -rf build", seeded=TIMER)
    assert "rm -rf build" in shown(msg) and "Claude Code" in shown(msg) and "proj" in shown(msg)
    assert [r["emoji"]["name"] for r in msg["reactions"]] == [ALLOW, DENY, TIMER]
    assert all(r["me"] for r in msg["reactions"])  # seeded by the bot
    rid = only_pending()["id"]

    emu.react(msg["id"], ALLOW, MALLORY)
    until(lambda: '"event":"unauthorized"' in audit_text(), timeout=15,
          what="the stranger's reaction audited")
    assert MALLORY in audit_text()
    emu.wait_until(lambda: MALLORY not in emu.reactions(msg["id"]).get(ALLOW, []), 15,
                   "the stranger's reaction removed by the bot")
    assert status_of(rid) == "pending" and proc.poll() is None
    assert not emu.edits(msg["id"])

    emu.react(msg["id"], ALLOW, ALICE)
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    settled = outcome(emu, msg, "Allowed by \\@alice")
    assert "rm -rf build" in shown(settled)
    assert emu.reactions(msg["id"]) == {}
    assert status_of(rid) == "allowed"


def test_a_deny_reaction_denies(hook: HookRunner, tether_home: Path,
                                discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="psql prod"))
    msg = discord_request(emu, "psql prod")
    emu.react(msg["id"], DENY, ALICE)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny"
    settled = outcome(emu, msg, "Denied by \\@alice")
    assert "psql prod" in shown(settled) and emu.reactions(msg["id"]) == {}


@pytest.mark.parametrize("stopwatch", [TIMER, TIMER_BARE], ids=["with-vs16", "bare"])
def test_the_timer_reaction_allows_and_the_next_call_passes_without_a_post(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator,
        stopwatch: str) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="make"))
    msg = discord_request(emu, "make", seeded=TIMER)
    emu.react(msg["id"], stopwatch, ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    (timer,) = until(timers.live, what="the timer")
    assert timer["scope"] == "tool" and timer["tool"].lower() == "bash"
    assert timer["session_id"] == "s-discord"
    outcome(emu, msg, "Allowed by \\@alice")
    requests_before = len(Store().read()["requests"])
    run = hook.run("claude", perm(command="make test"))
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert len(Store().read()["requests"]) == requests_before  # nothing was asked
    assert not [m for m in emu.messages() if "make test" in shown(m)
                and "wants to use" in shown(m)]


def test_the_folder_reaction_adds_a_directory_timer(
        hook: HookRunner, tether_home: Path, tmp_path: Path,
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu)
    project = tmp_path / "proj"
    project.mkdir()
    proc = hook.start("claude", perm(cwd=str(project), command="make dir"))
    msg = discord_request(emu, "make dir", seeded=FOLDER)
    emu.react(msg["id"], FOLDER, ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    (timer,) = until(timers.live, what="the timer")
    assert timer["scope"] == "dir" and timer["path"] == str(project)
    outcome(emu, msg, "Allowed by \\@alice")
    before = len(Store().read()["requests"])
    run = hook.run("claude", perm(session="another", cwd=str(project), tool="Write",
                                  file_path=str(project / "x.txt"), content="x"))
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert len(Store().read()["requests"]) == before


def test_a_reply_deny_with_reason_reaches_the_agent(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="drop table users"))
    msg = discord_request(emu, "drop table users")
    emu.post_user_message("deny: too risky", ALICE, reply_to=msg["id"])
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and "too risky" in decision["message"]
    outcome(emu, msg, "Denied by \\@alice: too risky")


def test_without_the_intent_a_mention_decides_and_a_plain_reply_gets_a_hint(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    assert emu.message_content_intent is False
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="make hidden"))
    msg = discord_request(emu, "make hidden")
    rid = only_pending()["id"]
    plain = emu.post_user_message("allow", ALICE, reply_to=msg["id"])
    hint = wait_bot_reply(emu, "MESSAGE CONTENT intent", reply_to=plain["id"])
    assert "Reply to this message instead, or mention me" in shown(hint)
    assert status_of(rid) == "pending" and proc.poll() is None
    emu.post_user_message("deny: not now", ALICE, reply_to=msg["id"], mention_bot=True)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and "not now" in decision["message"]
    outcome(emu, msg, "Denied by \\@alice")


def test_without_the_intent_a_reply_to_the_bots_hint_answers_the_request(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="make hint"))
    msg = discord_request(emu, "make hint")
    plain = emu.post_user_message("deny", ALICE, reply_to=msg["id"])  # hidden from the bot
    hint = wait_bot_reply(emu, "MESSAGE CONTENT intent", reply_to=plain["id"])
    emu.post_user_message("deny: wrong branch", ALICE, reply_to=hint["id"])  # pings the bot
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and "wrong branch" in decision["message"]
    outcome(emu, msg, "Denied by \\@alice: wrong branch")


def _keycap(n: int) -> str:
    return f"{n}\ufe0f\u20e3"


@pytest.mark.parametrize(("steps", "answer"), [
    ([("+", 1), ("+", 3)], "Auth, Export"),
    ([("+", 1), ("+", 3), ("-", 1)], "Export"),  # one taken back: no event from Discord
    ([("+", 2), ("-", 2), ("+", 2)], "Search"),  # back on: the same reaction again
    ([("+", 1), ("+", 2), ("-", 2), ("-", 1), ("+", 3)], "Export"),
])
def test_a_multi_select_answer_is_what_the_reactions_show_at_done(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator,
        steps: list[tuple[str, int]], answer: str) -> None:
    """Each keycap is read as it is added (the listener toggles), a keycap taken back is
    not an event on Discord; the answer at ☑️ is the keycaps the user has on then."""
    emu = discord_emulator
    configure_discord(tether_home, emu)
    proc = hook.start("claude", payload("claude/PermissionRequest-AskUserQuestion"))
    first = discord_request(emu, "Which database should we use?", seeded=_keycap(2))
    multi = discord_request(emu, "Which features do you want?", seeded="\u2611\ufe0f")
    for sign, n in steps:
        began = time.time()
        (emu.react if sign == "+" else emu.unreact)(multi["id"], _keycap(n), ALICE)
        # read by the bridge: who reacted is fetched for an addition; a removal is seen
        # in the next list of the channel's messages (its count, no event)
        emu.wait_for_call("GET", "/reactions/" + re.escape(_keycap(n)) + "$" if sign == "+"
                          else r"/channels/\d+/messages$", lambda c, t=began: c.at >= t,
                          timeout=15)
    emu.react(multi["id"], "\u2611\ufe0f", ALICE)
    emu.react(first["id"], _keycap(2), ALICE)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["updatedInput"]["answers"] == {
        "Which database should we use?": "SQLite", "Which features do you want?": answer}
    outcome(emu, multi, f"Answered by \\@alice: {answer}")


def test_pending_and_status_are_answered_in_the_channel(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True  # (else a command must mention the bot: below)
    configure_discord(tether_home, emu)
    proc = hook.start("claude", perm(command="ls"))
    msg = discord_request(emu, "ls")
    rid = only_pending()["id"]
    asked = emu.post_user_message("!pending", ALICE)
    listed = wait_bot_reply(emu, rid, reply_to=asked["id"])
    assert "Bash" in shown(listed)
    emu.message_content_intent = False
    asked = emu.post_user_message("!status", ALICE, mention_bot=True)
    status = wait_bot_reply(emu, "", reply_to=asked["id"])
    assert "1" in shown(status) and "pending" in shown(status).lower()
    stranger = emu.post_user_message("!status", MALLORY, mention_bot=True)
    refusal = wait_bot_reply(emu, "Not authorized", reply_to=stranger["id"])
    assert MALLORY in shown(refusal)
    emu.react(msg["id"], ALLOW, ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_pairing_adds_a_user_who_then_approves(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True  # a plain `!pair` line is read
    configure_discord(tether_home, emu)
    daemon.start()
    until(lambda: bridge_states() == {"discord": "ok"}, timeout=30, what="discord reading")
    pair = start_pairing()
    line = pairing_line(pair)
    said = emu.post_user_message(line, BOB)
    out, err = pair.communicate(timeout=60)
    assert pair.returncode == 0, err
    assert "Paired @bob" in out and f"id {BOB}" in out
    wait_bot_reply(emu, "Paired", reply_to=said["id"])
    assert f'"{BOB}"' in (tether_home / "config.toml").read_text()
    audit = audit_text()
    assert '"event":"paired"' in audit and BOB in audit
    restarted()  # config.toml changed: the listener reads it again
    proc = hook.start("claude", perm(command="make paired"))
    msg = discord_request(emu, "make paired")
    emu.react(msg["id"], ALLOW, BOB)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    outcome(emu, msg, "Allowed by \\@bob")


def test_a_pairing_line_the_bot_cannot_read_ends_the_pairing_before_a_copy_pairs(
        tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    """Without the intent, the exact line the command prints is hidden from the bot but
    shown to everyone in the channel: a stranger who copies it with a mention must not
    become an approver. The hidden line ends the pairing and the terminal says why."""
    emu = discord_emulator
    assert emu.message_content_intent is False
    configure_discord(tether_home, emu)
    daemon.start()
    until(lambda: bridge_states() == {"discord": "ok"}, timeout=30, what="discord reading")
    pair = start_pairing()
    line = pairing_line(pair)
    emu.post_user_message(line, BOB)  # as printed: no mention, so the bot reads ""
    copy = emu.post_user_message(line, MALLORY, mention_bot=True)
    out, err = pair.communicate(timeout=60)
    assert pair.returncode != 0 and "mention" in err + out
    assert "Paired" not in out and MALLORY not in out
    wait_bot_reply(emu, "No pairing is waiting", reply_to=copy["id"])
    assert MALLORY not in (tether_home / "config.toml").read_text()
    assert '"event":"paired"' not in audit_text()


def test_wrong_codes_are_answered_audited_and_five_burn_the_pairing(
        tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True  # a plain `!pair` line is read
    configure_discord(tether_home, emu)
    daemon.start()
    until(lambda: bridge_states() == {"discord": "ok"}, timeout=30, what="discord reading")
    nothing = emu.post_user_message("!pair ABCD-EFGH", MALLORY)
    wait_bot_reply(emu, "No pairing is waiting", reply_to=nothing["id"])
    pair = start_pairing()
    pairing_line(pair)
    guessers = [emu.add_user(None, f"guess{i}")["id"] for i in range(5)]  # one try each
    first = emu.post_user_message("!pair AAAA-AAAA", guessers[0])
    wait_bot_reply(emu, "Wrong code (4 tries left)", reply_to=first["id"])
    assert '"event":"pair-failed"' in audit_text() and guessers[0] in audit_text()
    for who in guessers[1:]:
        emu.post_user_message("!pair AAAA-AAAA", who)
    out, err = pair.communicate(timeout=60)
    assert pair.returncode != 0 and "too many wrong codes" in err + out
    wait_bot_reply(emu, "Too many wrong codes")
    assert "allowed_user_ids = [\"" + ALICE + "\"]" in (tether_home / "config.toml").read_text()
    assert audit_text().count('"event":"pair-failed"') >= 6


def test_with_nobody_allowed_nobody_decides(hook: HookRunner, tether_home: Path,
                                            discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu, allowed=())
    proc = hook.start("claude", perm(command="make nobody"))
    msg = discord_request(emu, "make nobody")
    rid = only_pending()["id"]
    emu.react(msg["id"], ALLOW, ALICE)
    until(lambda: '"event":"unauthorized"' in audit_text() and ALICE in audit_text(),
          timeout=15, what="alice's reaction refused")
    emu.wait_until(lambda: ALICE not in emu.reactions(msg["id"]).get(ALLOW, []), 15,
                   "alice's reaction removed")
    assert status_of(rid) == "pending" and proc.poll() is None and not emu.edits(msg["id"])
    proc.kill()
    proc.communicate()


def start_pairing() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tether_hooks", "pair", "discord"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pairing_line(proc: subprocess.Popen) -> str:
    """The ``!pair XXXX-XXXX`` line the command printed (read up to it)."""
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.strip()
        if line.startswith("!pair "):
            return line
    raise AssertionError(f"no pairing line; stderr: {proc.stderr.read() if proc.stderr else ''}")


def test_with_telegram_too_a_decision_on_either_updates_the_other(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator,
        telegram_emulator: TelegramEmulator) -> None:
    emu, tg = discord_emulator, telegram_emulator
    telegram_relay.configure(tether_home, tg, extra=discord_table(emu))
    daemon.start()
    until(lambda: bridge_states() == {"telegram": "ok", "discord": "ok"}, timeout=30,
          what="both bridges connected")
    proc = hook.start("claude", perm(command="make both"))
    msg = discord_request(emu, "make both")
    copy = telegram_relay.request_message(tg, "make both")
    emu.react(msg["id"], ALLOW, ALICE)
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    outcome(emu, msg, "Allowed by \\@alice")
    assert "Allowed by @alice in Discord" in (
        telegram_relay.edited(tg, copy, "Allowed by").text or "")

    proc = hook.start("claude", perm(command="make other"))
    msg = discord_request(emu, "make other")
    copy = telegram_relay.request_message(tg, "make other")
    tg.press(copy, "❌ Deny")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    settled = outcome(emu, msg, "Denied by \\@alice")
    assert "in Telegram" in shown(settled)
    daemon.stop()  # while both emulators still answer


def test_a_notification_is_posted_and_a_reply_to_finished_goes_on(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True
    configure_discord(tether_home, emu, extra="stop_wait = 20\n")
    note = payload("claude/Notification", notification_type="idle_prompt",
                   message="Claude is waiting for your input", cwd="/tmp/proj")
    assert hook.run("claude", note).returncode == 0
    waiting = emu.wait_for_message(lambda m: "waiting for your input" in shown(m)
                                   and bool(m.get("webhook_id")), timeout=30)
    assert "proj" in shown(waiting)
    stop = payload("claude/Stop", last_assistant_message="The build is green.",
                   cwd="/tmp/proj")
    proc = hook.start("claude", stop)
    finished = emu.wait_for_message(lambda m: "The build is green." in shown(m), timeout=30)
    assert "Reply here within 20 s" in shown(finished)
    emu.post_user_message("now run the tests", ALICE, reply_to=finished["id"])
    run = hook.finish(proc)
    assert run.output["decision"] == "block" and run.output["reason"] == "now run the tests"
    wait_bot_reply(emu, "Sent; the agent goes on")


def test_posts_only_a_request_is_posted_and_decided_from_the_cli(
        hook: HookRunner, tether_home: Path, discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    configure_discord(tether_home, emu, bot=False)
    proc = hook.start("claude", perm(command="make posted"))
    msg = discord_request(emu, "make posted", seeded="")
    assert not msg.get("reactions")
    rid = only_pending()["id"]
    status = subprocess.run([sys.executable, "-m", "tether_hooks", "status"],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    assert "posts only" in status.stdout and "Discord" in status.stdout, status.stdout
    run = subprocess.run([sys.executable, "-m", "tether_hooks", "approve", rid],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    settled = emu.wait_for_edit(msg["id"], lambda m: "Allowed by" in shown(m), timeout=15)
    assert "make posted" in shown(settled)
    assert not [c for c in emu.calls() if "/webhooks/" not in c.path]  # no bot calls at all

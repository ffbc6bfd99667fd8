"""End to end: hook process -> listener process (real TelegramBridge) -> emulator -> press."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner, payload
from harness.observe import only_pending, status_of
from harness.telegram import STRANGER_USER_ID, TOKEN
from harness.telegram_relay import CHAT, configure, edited, request_message
from harness.waiting import until

from tether_hooks import config, paths, timers
from tether_hooks.listener import daemon
from tether_hooks.listener.offsets import Offsets
from tether_hooks.platforms import make_bridge
from tether_hooks.platforms.base import BridgeContext
from tether_hooks.store import Store

pytestmark = pytest.mark.usefixtures("listener_stops_first")


def perm(tool: str = "Bash", **tool_input: object) -> dict:
    return {"session_id": "s-tg", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": tool, "tool_input": tool_input or {"command": "rm -rf build"}}


def test_a_press_lets_the_hook_allow_and_strangers_do_nothing(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", perm())
    msg = request_message(emu, "rm -rf build")
    assert msg.buttons[:3] == ["✅ Allow", "❌ Deny", "💬 Deny with reason"]
    assert all(len(b["callback_data"].encode()) <= 64 for row in msg.keyboard for b in row)
    rid = only_pending()["id"]

    stranger = emu.press(msg, "✅ Allow", user_id=STRANGER_USER_ID)
    assert "Not authorized" in (emu.wait_for_callback_answer(stranger, timeout=10).text or "")
    assert status_of(rid) == "pending"

    press = emu.press(msg, "✅ Allow")
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    assert emu.wait_for_callback_answer(press, timeout=10).text == "Allowed"
    edited = emu.wait_for_message(lambda m: m.message_id == msg.message_id and not m.buttons,
                                  chat_id=CHAT, timeout=10)
    assert "Allowed by @alice" in (edited.text or "")
    stale = msg.button("✅ Allow")["callback_data"]  # a client still showing the old keyboard
    again = emu.press(msg.message_id, stale, chat_id=CHAT, force=True)
    assert (emu.wait_for_callback_answer(again, timeout=10).text or "").startswith(
        "Already decided")


def test_deny_with_reason_reaches_the_agent(hook: HookRunner, tether_home: Path,
                                            telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", perm(command="psql prod"))
    msg = request_message(emu, "psql prod")
    emu.press(msg, "💬 Deny with reason")
    emu.wait_for_message(lambda m: "next message is the reason" in (m.text or ""),
                         chat_id=CHAT, timeout=10)
    emu.send_text(CHAT, "Use the <staging> db & retry")
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny"
    assert "Use the <staging> db & retry" in decision["message"]
    edited = emu.wait_for_message(lambda m: m.message_id == msg.message_id and not m.buttons,
                                  chat_id=CHAT, timeout=10)
    assert "Denied by @alice: Use the <staging> db & retry" in (edited.text or "")


def test_allow_bash_for_a_while_passes_the_next_call_without_a_message(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", perm(command="make"))
    msg = request_message(emu, "make")
    emu.press(msg, "⏱ Allow Bash 30m")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    # the timer is added right after the decision that released the hook: poll the store
    (timer,) = until(timers.live, what="the timer")
    assert timer["tool"] == "bash" and timer["session_id"] == "s-tg"
    requests_before = len(Store().read()["requests"])
    run = hook.run("claude", perm(command="make test"))
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert len(Store().read()["requests"]) == requests_before  # nothing was posted
    summary = emu.wait_for_message(lambda m: "Auto-approved" in (m.text or ""),
                                   chat_id=CHAT, timeout=15)
    assert "make test" in (summary.text or "")


def test_a_text_reply_decides_and_the_cli_outcome_is_shown(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    first = hook.start("claude", perm(command="make one"))
    one = request_message(emu, "make one")
    second = hook.start("claude", perm(command="make two"))
    two = request_message(emu, "make two")
    emu.send_text(CHAT, "deny: not this one", reply_to=one)
    decision = hook.finish(first).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and "not this one" in decision["message"]
    rid = only_pending()["id"]
    from tether_hooks import approvals

    approvals.approve(rid, by="bob (CLI)", via="cli")
    assert hook.finish(second).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    edited = emu.wait_for_message(lambda m: m.message_id == two.message_id and not m.buttons,
                                  chat_id=CHAT, timeout=10)
    assert "Allowed by bob (CLI)" in (edited.text or "")


def test_commands_are_registered_and_answer(hook: HookRunner, tether_home: Path,
                                            telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", perm(command="ls"))
    request_message(emu, "ls")
    names = [c["command"] for c in emu.commands()]
    assert names == ["help", "status", "pending", "timers", "revoke", "stop", "usage"]
    emu.send_text(CHAT, "/pending")
    rid = only_pending()["id"]
    emu.wait_for_message(lambda m: rid in (m.text or "") and not m.buttons, chat_id=CHAT,
                         timeout=10)
    emu.send_text(CHAT, "/stop")
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and decision["interrupt"] is True
    info = json.loads(Path(paths.listener_health_file()).read_text())
    assert info["bridges"]["telegram"]["state"] == "ok"


def test_questions_one_message_each_toggles_shown_and_the_hook_gets_the_answers(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    asked = payload("claude/PermissionRequest-AskUserQuestion")
    proc = hook.start("claude", asked)
    first = request_message(emu, "Which database should we use?")
    second = request_message(emu, "Which features do you want?")
    assert "Claude Code asks (question 1 of 2)" in (first.text or "")
    assert first.buttons == ["1. Postgres", "2. SQLite"]
    assert second.buttons[:4] == ["☐ Auth", "☐ Search", "☐ Export", "✔️ Done"]
    emu.press(second, "☐ Auth")
    second = emu.wait_for_message(lambda m: m.message_id == second.message_id
                                  and "☑ Auth" in m.buttons, chat_id=CHAT, timeout=10)
    emu.press(second, "☐ Export")
    second = emu.wait_for_message(lambda m: m.message_id == second.message_id
                                  and "☑ Export" in m.buttons, chat_id=CHAT, timeout=10)
    emu.press(second, "✔️ Done")
    emu.send_text(CHAT, "2", reply_to=first)
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow"
    assert decision["updatedInput"] == dict(asked["tool_input"], answers={
        "Which database should we use?": "SQLite", "Which features do you want?": "Auth, Export"})
    shown = edited(emu, second, "Answered by @alice: Auth, Export")
    assert "Which features do you want?" in (shown.text or "")
    edited(emu, first, "Answered by @alice: SQLite")


def test_a_plan_approved_with_accept_edits_switches_the_mode(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    plan = payload("claude/PermissionRequest-ExitPlanMode")
    proc = hook.start("claude", plan)
    msg = request_message(emu, "Create hello.txt")
    assert "Claude Code has a plan" in (msg.text or "")
    emu.press(msg, "✅ Approve + accept edits")
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow"
    assert decision["updatedInput"] == plan["tool_input"]
    assert decision["updatedPermissions"] == [
        {"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
    edited(emu, msg, "Plan approved by @alice; edits are accepted")


def test_a_restart_skips_updates_handled_before_it(tether_home: Path,
                                                  telegram_emulator: TelegramEmulator) -> None:
    """The listener died after handling an update but before Telegram heard so: Telegram
    delivers it again, and the persisted offset skips it."""
    emu = telegram_emulator
    configure(tether_home, emu)
    emu.send_text(CHAT, "/timers")  # handled before the crash
    handled = emu.pending_updates[-1]["update_id"]
    emu.send_text(CHAT, "/pending")  # not handled yet
    offsets = Offsets()
    bridge = make_bridge("telegram", BridgeContext(config.load()["telegram"]))
    offsets.bind("telegram", bridge.account())  # the account the listener's bridge runs as
    offsets.done("telegram", handled)
    daemon.start()
    emu.wait_for_message(lambda m: "Nothing is waiting" in (m.text or ""), chat_id=CHAT,
                         timeout=15)
    emu.wait_until_confirmed(timeout=15)
    assert not [m for m in emu.messages(CHAT) if "No timers" in (m.text or "")]
    until(lambda: Offsets().get("telegram") == handled + 1, what="the update marked applied")
    assert Offsets().held("telegram") == []


def test_the_bot_token_never_leaves_the_listener(tether_home: Path,
                                                 telegram_emulator: TelegramEmulator) -> None:
    """Errors that echo the token (a proxy's error page, an SDK message with the URL) reach
    neither the log, nor listener.out, nor the health file, nor ``status --json``."""
    emu = telegram_emulator
    configure(tether_home, emu)
    echo = f"upstream failed: POST {emu.base_url}{TOKEN}/getUpdates"
    emu.fail_next("getUpdates", 500, description=echo, times=2)
    emu.fail_next("getUpdates", 429, retry_after=1)  # (PTB warns about retry_after)
    emu.drop_connection_next("getUpdates")
    daemon.start()
    seen: list[str] = []

    def failed_and_recovered() -> bool:
        seen.append(Path(paths.listener_health_file()).read_text())
        bridge = json.loads(seen[-1])["bridges"]["telegram"]
        return bool(bridge.get("last_error")) and bridge.get("state") == "ok"

    until(failed_and_recovered, timeout=60, what="polling to fail and recover")
    seen.append(cli_status())
    daemon.stop()
    emu.fail_next("getMe", 401, description=f"Unauthorized: {echo}", times=5)
    daemon.start()
    until(lambda: "auth" in json.loads(cli_status())["listener"]["bridges"]["telegram"]["state"],
          what="the bridge to fail with the token rejected")
    seen += [cli_status(), Path(paths.listener_health_file()).read_text()]
    # PTB's message names the token: blanked
    assert "«secret»" in json.dumps(json.loads(seen[-1]), ensure_ascii=False)
    daemon.stop()
    out = Path(paths.listener_out_file())
    logs = [Path(p) for p in (paths.listener_log_file(), f"{paths.listener_log_file()}.1")]
    texts = seen + [p.read_text() for p in [out, *logs] if p.exists()]
    assert any("upstream failed" in t for t in texts)  # the echo was logged, blanked
    assert not [t for t in texts if TOKEN in t]
    assert not out.exists() or not out.read_text().strip()  # all of it went through the log


def cli_status() -> str:
    run = subprocess.run([sys.executable, "-m", "tether_hooks", "status", "--json"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout

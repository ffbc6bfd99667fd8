"""Faults of the listener, on the real parts: hook processes, the listener process with the
real python-telegram-bot, the Telegram emulator. kill -9 with presses held but not applied,
Bot API failures (401, 429, 5xx, timeouts, dropped connections), a crashing task, an
unreachable platform: no press lost or applied twice, no silent stop, no hook left waiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner
from harness.telegram import TOKEN
from harness.telegram_relay import CHAT, configure
from harness.telegram_relay import bash_request as perm
from harness.waiting import until

from tether_hooks import audit, heartbeat, paths, relay, timers
from tether_hooks.listener import daemon
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.offsets import Offsets
from tether_hooks.store import Store

pytestmark = pytest.mark.usefixtures("listener_stops_first")





def status_json() -> dict:
    run = subprocess.run([sys.executable, "-m", "tether_hooks", "listener", "status", "--json"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def telegram_state() -> dict:
    return (status_json().get("bridges") or {}).get("telegram") or {}


def requests() -> dict:
    return Store().read()["requests"]


def refs(rid: str) -> list:
    """The request's messages, as the listener recorded them (its own ``chat.json``)."""
    return ChatBook(writer=False).refs(rid)


def posted_or_settled(count: int) -> None:
    """Wait until ``count`` requests are each posted or settled; fail naming any settled
    without a post (why the hook fell back), rather than waiting out a message."""
    def done() -> dict | None:
        reqs = requests()
        return reqs if len(reqs) == count and all(
            r["status"] != "pending" or refs(r["id"])
            for r in reqs.values()) else None

    reqs = until(done, timeout=120, what=f"{count} requests posted or settled")
    fell_back = {r["id"]: r.get("decision") for r in reqs.values() if r["status"] != "pending"}
    assert not fell_back, fell_back


def test_kill_9_with_presses_held_loses_none_and_applies_none_twice(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    count = 50
    procs = [hook.start("claude", perm(f"s-{i:02d}", f"make job{i:02d}")) for i in range(count)]
    posted_or_settled(count)
    msgs = [emu.wait_for_message(lambda m, i=i: f"make job{i:02d}" in (m.text or "")
                                 and bool(m.buttons), chat_id=CHAT, timeout=90)
            for i in range(count)]
    until(lambda: all(refs(r["id"]) for r in requests().values())
          and len(requests()) == count, timeout=60, what="every request posted and recorded")
    # Applying a press is slow now (each toast answered 0.5 s late): the listener holds
    # the whole batch while it applies the first few.
    emu.delay_next("answerCallbackQuery", 0.5, times=count)
    timer_presses = {i for i in range(count) if i % 5 == 0}
    for i, msg in enumerate(msgs):
        emu.press(msg, "⏱ Allow Bash 30m" if i in timer_presses else "✅ Allow")
    until(lambda: sum(r["status"] != "pending" for r in requests().values()) >= 3,
          timeout=60, what="a few presses applied")
    first = relay.listener_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)  # no clean shutdown, no confirmation to Telegram
    held = Offsets().held("telegram")
    decided = sum(r["status"] != "pending" for r in requests().values())
    assert held and decided < count  # presses fetched (and so gone from Telegram's view)
    # The waiting hooks notice the dead listener and start a new one, which applies the rest.
    runs = [hook.finish(p, timeout=180) for p in procs]
    assert [r.output["hookSpecificOutput"]["decision"]["behavior"] for r in runs] == [
        "allow"] * count
    assert all(r["status"] == "allowed" for r in requests().values())
    keys = [r["decision"].get("event") for r in requests().values()]
    assert len(set(keys)) == count and all(keys)  # each decided by its own press, once
    decisions = Counter(e.get("request_id") for e in audit.read(None)
                        if e.get("event") == "decision")
    assert set(decisions.values()) == {1} and len(decisions) == count
    live = timers.live()
    assert sorted(t["session_id"] for t in live) == sorted(f"s-{i:02d}" for i in timer_presses)
    until(lambda: not Offsets().held("telegram"), what="the inbox emptied")
    print(f"\nkill -9: {len(held)} presses held, {decided}/{count} applied before the kill; "
          f"after the restart {count} applied once each, {len(live)} timers")


def test_a_burst_of_hooks_starts_one_listener_and_every_request_is_posted(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """Thirty hooks at once, no listener: one starts it, the others wait for that start
    (a herd of thirty starting listeners slowed a loaded machine past the hooks' budget,
    and a request fell back to the terminal unposted)."""
    emu = telegram_emulator
    configure(tether_home, emu)
    count = 30
    procs = [hook.start("claude", perm(f"b-{i:02d}", f"make burst{i:02d}")) for i in range(count)]
    posted_or_settled(count)
    for i in range(count):
        emu.wait_for_message(lambda m, i=i: f"make burst{i:02d}" in (m.text or "")
                             and bool(m.buttons), chat_id=CHAT, timeout=90)
    assert all(r["status"] == "pending" for r in requests().values())
    assert len(requests()) == count
    out = paths.listener_out_file()
    refused = Path(out).read_text().count("a listener is already running") if Path(
        out).exists() else 0
    log = Path(paths.listener_log_file()).read_text()
    assert log.count("listener starting") == 1, log
    assert refused <= 2  # at most a stray start after a starter's own budget ran out
    for p in procs:
        p.terminate()  # the agent stops waiting: answered in the terminal
    for p in procs:
        hook.finish(p)
    print(f"\nburst of {count}: 1 listener started, {refused} extra starts refused")


def test_bot_api_failures_never_stop_polling_and_status_says_what_is_wrong(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    daemon.start()
    until(lambda: telegram_state().get("state") == "ok", what="polling")
    emu.wait_for_poll(timeout=10)
    # A self-hosted Bot API server restarting: it rejects the token for a while.
    emu.fail_next("getUpdates", 401, description="Unauthorized", times=4)
    emu.send_text(CHAT, "/pending")  # ends the open long poll; the next ones are refused
    seen = until(lambda: (s := telegram_state()).get("state") == "auth" and s,
                 timeout=30, what="status to show the rejected token")
    assert "token rejected (401), retrying in" in seen["detail"]
    assert status_json()["usable"] is False  # no hook waits on it meanwhile
    emu.wait_for_message(lambda m: "Nothing is waiting" in (m.text or ""), chat_id=CHAT,
                         timeout=60)  # the /pending sent while it failed: not lost
    until(lambda: telegram_state().get("state") == "ok", timeout=60, what="polling again")
    # Flood control, server errors, a dropped connection, a read timeout: still polling.
    emu.fail_next("getUpdates", 429, retry_after=2)
    emu.fail_next("getUpdates", 502)
    emu.fail_next("getUpdates", 500)
    emu.drop_connection_next("getUpdates")
    emu.delay_next("getUpdates", 15)  # beyond the read timeout (poll_timeout 2 + 10)
    emu.wait_for_call("getUpdates", lambda c: c.status == 0, timeout=60)
    emu.send_text(CHAT, "/timers")  # while the late answer keeps the bot waiting
    emu.wait_for_message(lambda m: "No timers" in (m.text or ""), chat_id=CHAT, timeout=120)
    statuses = [c.status for c in emu.calls("getUpdates")]
    assert {401, 429, 502, 500, 0} <= set(statuses)
    calls = emu.calls("getUpdates")
    limited = next(i for i, c in enumerate(calls) if c.status == 429)
    assert calls[limited + 1].at - calls[limited].at >= 2  # retry_after honoured
    until(lambda: telegram_state().get("state") == "ok", timeout=60, what="polling again")
    # and a request still goes through, press to decision
    proc = hook.start("claude", perm("s-after", "make after"))
    msg = emu.wait_for_message(lambda m: "make after" in (m.text or "") and bool(m.buttons),
                               chat_id=CHAT, timeout=30)
    emu.press(msg, "✅ Allow")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    log = Path(paths.listener_log_file()).read_text()
    assert TOKEN not in log


def test_a_conflict_shows_only_while_it_lasts(tether_home: Path,
                                             telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    daemon.start()
    until(lambda: telegram_state().get("state") == "ok", what="polling")
    emu.fail_next("getUpdates", 409, description="Conflict: terminated by other getUpdates "
                  "request; make sure that only one bot instance is running")
    emu.send_text(CHAT, "/pending")
    until(lambda: telegram_state().get("state") == "conflict", timeout=30, what="the 409")
    emu.wait_for_message(lambda m: "Nothing is waiting" in (m.text or ""), chat_id=CHAT,
                         timeout=30)
    after = len(emu.calls())
    emu.wait_for_call("getUpdates", lambda c: c.status == 200, after=after, timeout=30)
    until(lambda: telegram_state().get("state") == "ok", timeout=10,
          what="ok once polling succeeded")


def test_a_crashing_task_is_restarted_and_shown(hook: HookRunner, tether_home: Path,
                                                telegram_emulator: TelegramEmulator) -> None:
    """A poisoned line in the audit log (nested past the recursion limit) crashes the
    audit tail: it is restarted, status shows it, and auto-approval summaries go on."""
    emu = telegram_emulator
    configure(tether_home, emu)
    daemon.start()
    until(lambda: telegram_state().get("state") == "ok", what="polling")
    audit_path = Path(paths.audit_file())
    audit_path.parent.mkdir(parents=True, exist_ok=True)
    with audit_path.open("a") as f:
        f.write("[" * 100_000 + "]" * 100_000 + "\n")
    task = until(lambda: (status_json().get("tasks") or {}).get("audit tail", {})
                 .get("restarts"), timeout=30, what="the audit tail restarted")
    assert task >= 1
    log = Path(paths.listener_log_file()).read_text()
    assert "listener task 'audit tail' failed; restarting it" in log
    assert "RecursionError" in log
    assert subprocess.run([sys.executable, "-m", "tether_hooks", "allow-tool", "Bash",
                           "--session", "s-auto"], capture_output=True, timeout=30
                          ).returncode == 0
    run = hook.run("claude", perm("s-auto", "make auto"))
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    emu.wait_for_message(lambda m: "Auto-approved" in (m.text or "")
                         and "make auto" in (m.text or ""), chat_id=CHAT, timeout=30)


def test_a_poisoned_store_does_not_stop_the_store_watcher(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    daemon.start()
    until(lambda: telegram_state().get("state") == "ok", what="polling")
    state_file = Path(paths.state_file())
    state_file.parent.mkdir(parents=True, exist_ok=True)
    # A damaged store is moved aside by whoever reads it first (the watcher here), and the
    # watcher goes on: a new request is posted and decided.
    state_file.write_text("{" * 50 + "garbage")
    moved = until(lambda: list(state_file.parent.glob("state.json.corrupt-*")), timeout=30,
                  what="the damaged store to be moved aside")
    assert b"garbage" in moved[0].read_bytes()
    assert relay.listener_pid() is not None
    until(lambda: (status_json().get("tasks") or {}).get("store watcher", {}).get("state")
          == "ok", timeout=30, what="the store watcher to recover")
    proc = hook.start("claude", perm("s-after", "make again"))
    msg = emu.wait_for_message(lambda m: "make again" in (m.text or "") and bool(m.buttons),
                               chat_id=CHAT, timeout=30)
    emu.press(msg, "✅ Allow")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_an_unreachable_platform_falls_back_at_once_and_says_why(
        hook: HookRunner, tether_home: Path) -> None:
    """As a new user would meet it: api_base at a closed port. The approval timeout is
    300 s; the hook must be done long before (the run's own 60 s limit)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    (tether_home / "config.toml").write_text(
        "[telegram]\n"
        f'bot_token = "{TOKEN}"\n'
        "chat_id = 42\n"
        "allowed_user_ids = [42]\n"
        f'api_base = "http://127.0.0.1:{port}/bot"\n'
    )
    began = time.monotonic()
    run = hook.run("claude", perm("s-1", "make"), timeout=60)
    elapsed = time.monotonic() - began
    assert run.output is None  # no decision: Claude Code asks in the terminal
    assert "Telegram" in run.stderr and "connection refused" in run.stderr
    assert "Claude Code asks in the terminal" in run.stderr
    (request,) = requests().values()
    assert request["status"] == "expired" and request["decision"]["via"] == "listener"
    # the listener keeps trying in the background, and says so
    assert "retrying in" in telegram_state().get("detail", "")
    print(f"\nfallback with api_base at a closed port: {elapsed:.2f} s; {run.stderr.strip()}")


def test_a_stopped_listener_is_told_apart_and_hooks_fall_back_saying_why(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """A listener whose process lives but whose loop is silent (SIGSTOP here; a stuck loop
    alike) can relay nothing, and no new one can start beside it. A hook whose request was
    posted, and a new hook, both fall back (approval timeout 300 s; the runs' limit 60 s)
    naming the cause, not "not running"; once it goes on, requests are posted again."""
    emu = telegram_emulator
    configure(tether_home, emu)
    waiting = hook.start("claude", perm("s-1", "make posted-before"))
    emu.wait_for_message(lambda m: "make posted-before" in (m.text or "") and bool(m.buttons),
                         chat_id=CHAT, timeout=60)
    until(lambda: all(refs(r["id"]) for r in requests().values()), what="the post recorded")
    pid = relay.listener_pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        # what twenty silent seconds leave: a beat that old (the stopped loop renews nothing)
        old = time.time() - 30
        os.utime(paths.listener_beat_file(), (old, old))
        first = hook.finish(waiting, timeout=60)
        second = hook.run("claude", perm("s-2", "make after-stop"), timeout=60)
        for run in (first, second):
            assert run.output is None  # no decision: Claude Code asks in the terminal
            assert f"the listener (pid {pid}) has not responded for" in run.stderr, run.stderr
            assert "stopped or stuck" in run.stderr and "not running" not in run.stderr
        assert {r["status"] for r in requests().values()} == {"expired"}
        assert {r["decision"]["via"] for r in requests().values()} == {"listener"}
        assert relay.listener_pid() == pid  # nothing was started beside it
    finally:
        os.kill(pid, signal.SIGCONT)
    until(lambda: (heartbeat.silent_for() or 99) < heartbeat.STALL_SECONDS,
          what="the listener beating again")
    third = hook.start("claude", perm("s-3", "make after-resume"))
    emu.wait_for_message(lambda m: "make after-resume" in (m.text or "") and bool(m.buttons),
                         chat_id=CHAT, timeout=60)
    third.terminate()
    hook.finish(third)


def test_a_pid_left_by_a_dead_listener_and_reused_is_not_taken_for_a_stuck_one(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """kill -9 (OOM, power loss) leaves listener.pid and an old beat; the pid now belongs
    to another process. Hooks must start a new listener (nobody holds listener.lock), and
    `listener stop` must not signal the stranger."""
    emu = telegram_emulator
    configure(tether_home, emu)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        paths.ensure_dir(paths.state_dir())
        Path(paths.listener_pid_file()).write_text(f"{stranger.pid}\n")
        Path(paths.listener_beat_file()).touch()
        old = time.time() - 3600
        os.utime(paths.listener_beat_file(), (old, old))
        stop = subprocess.run([sys.executable, "-m", "tether_hooks", "listener", "stop"],
                              capture_output=True, text=True, timeout=30)
        assert stop.returncode == 0 and stranger.poll() is None  # not signalled
        waiting = hook.start("claude", perm("s-1", "make after-oom"))
        msg = emu.wait_for_message(lambda m: "make after-oom" in (m.text or "")
                                   and bool(m.buttons), chat_id=CHAT, timeout=60)
        until(lambda: all(refs(r["id"]) for r in requests().values()), what="the post")
        emu.press(msg, "✅ Allow")
        run = hook.finish(waiting, timeout=60)
        assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
        assert relay.listener_pid() not in (None, stranger.pid)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_one_old_reading_of_the_heartbeat_is_not_a_stuck_listener(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """A wall clock stepped forward (NTP, a resume) makes the beat look a minute old once;
    the listener's next beat puts it right, and the waiting hook keeps waiting."""
    emu = telegram_emulator
    configure(tether_home, emu)
    waiting = hook.start("claude", perm("s-1", "make clock-jump"))
    msg = emu.wait_for_message(lambda m: "make clock-jump" in (m.text or "")
                               and bool(m.buttons), chat_id=CHAT, timeout=60)
    until(lambda: all(refs(r["id"]) for r in requests().values()), what="the post")
    old = time.time() - 60
    os.utime(paths.listener_beat_file(), (old, old))
    until(lambda: (heartbeat.silent_for() or 99) < 5, what="the listener's next beat")
    emu.press(msg, "✅ Allow")
    run = hook.finish(waiting, timeout=60)
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow", run.stderr
    assert "has not responded" not in run.stderr

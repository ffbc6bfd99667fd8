"""Forged, stale, replayed and foreign-chat chat events are never accepted: the real
listener process (python-telegram-bot) against the emulator, with a request waiting. No
decision, no timer, not a word in another chat, no list of pending requests where it does
not belong; each attempt by a stranger or from another chat is audited."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner
from harness.telegram import ALLOWED_USER_ID, STRANGER_USER_ID
from harness.telegram_relay import (
    CHAT,
    configure,
    edited,
    request_message,
)
from harness.telegram_relay import (
    bash_request as perm,
)
from harness.waiting import until

from tether_hooks import audit, timers
from tether_hooks.listener.offsets import Offsets
from tether_hooks.store import Store

TEXTS = ["allow", "ok", "yes", "deny", "allow all", "allow dir", "allow Bash 2h",
         "/pending", "/status", "/timers", "/revoke all", "/stop", "/usage", "/help"]
VERBS = ["a", "d", "t", "s", "p", "e", "k"]
GARBAGE = ["", ":", "a:", "a:deadbeef", "a:00000000", "d:ffffffff", "t:12345678", "zz:{n}",
           "a:{n}x", "a:{n}:{n}", "o0.0:{n}", "x0.0:{n}", "y0:{n}", "o9.9:{n}", "q:{n}",
           "A:{n}", " a:{n}", "a :{n}", "{n}", "a:{n}\n", "\u202ea:{n}", "a:" + "0" * 56,
           "t:" + "ff" * 31]


pytestmark = pytest.mark.usefixtures("listener_stops_first")





def forged_press(emu: TelegramEmulator, chat: dict, user_id: int, data: str) -> int:
    """A press on a copy of a request message in another chat (a forward, a forgery)."""
    user = {"id": user_id, "is_bot": False, "first_name": "U", "username": f"u{user_id}"}
    message = {"message_id": 1, "date": int(time.time()), "chat": chat,
               "from": {"id": emu.bot_id, "is_bot": True, "first_name": "EmuBot",
                        "username": emu.bot_username}, "text": "a copy of the request"}
    return emu.push_update("callback_query", {
        "id": f"9{user_id}{int(time.time() * 1e6)}", "from": user, "message": message,
        "chat_instance": "1", "data": data})


def test_forged_stale_replayed_and_foreign_events_are_never_accepted(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    emu.privacy_mode = False  # the bot sees every message of the other group
    configure(tether_home, emu)
    elsewhere = emu.create_group("Elsewhere")
    emu.add_user(ALLOWED_USER_ID, "Alice", "alice")
    waiting = hook.start("claude", perm("s-wait", "make secret-job"))
    msg = request_message(emu, "make secret-job")
    decided = hook.start("claude", perm("s-done", "make done-job"))
    done_msg = request_message(emu, "make done-job")
    done_press = emu.press(done_msg, "✅ Allow")
    assert hook.finish(decided).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    edited(emu, done_msg, "Allowed by @alice")
    done_update = emu.wait_until(lambda: next((u for u, q in _presses(emu) if q == done_press),
                                              None), what="the press's update id")
    nonce = msg.button("✅ Allow")["callback_data"].split(":")[1]
    done_nonce = done_msg.button("✅ Allow")["callback_data"].split(":")[1]
    chat_json = elsewhere.to_api()
    own_messages = {m.message_id for m in emu.messages(CHAT)}
    cases: list[str] = []

    # another chat, an allowed user and a stranger: texts, commands, replies
    for user in (ALLOWED_USER_ID, STRANGER_USER_ID):
        for text in TEXTS + [f"allow {_rid()}", f"deny {_rid()}: no"]:
            emu.send_text(elsewhere.id, text, user_id=user)
            cases.append(f"text in another chat by {user}: {text}")
    # another chat: presses with the request's own (valid) data, on a forwarded copy
    for user in (ALLOWED_USER_ID, STRANGER_USER_ID):
        for verb in VERBS:
            forged_press(emu, chat_json, user, f"{verb}:{nonce}")
            cases.append(f"press in another chat by {user}: {verb}")
    # the configured chat, a stranger: valid buttons and texts
    for verb in VERBS:
        emu.press(msg.message_id, f"{verb}:{nonce}", chat_id=CHAT, user_id=STRANGER_USER_ID,
                  force=True)
        cases.append(f"stranger press: {verb}")
    for text in TEXTS:
        emu.send_text(CHAT, text, user_id=STRANGER_USER_ID)
        cases.append(f"stranger text: {text}")
    # the configured chat, the allowed user: garbage, stale and forged data
    for data in GARBAGE:
        data = data.format(n=nonce)
        if not 1 <= len(data.encode()) <= 64:
            continue
        emu.press(msg.message_id, data, chat_id=CHAT, force=True)
        cases.append(f"garbage press: {data!r}")
    # presses on the request already decided: any button, again
    for verb in VERBS:
        emu.press(done_msg.message_id, f"{verb}:{done_nonce}", chat_id=CHAT, force=True)
        cases.append(f"press on a decided request: {verb}")
    # replays of updates already applied (the decided press among them)
    replayed = [done_update, *[u for u, _ in _presses(emu)][:20]]
    until(lambda: (Offsets().get("telegram") or 0) >= max(replayed), timeout=60,
          what="the updates to be applied before they are replayed")
    for update_id in replayed:
        emu.redeliver(update_id)
        cases.append(f"replayed update {update_id}")
    last = emu.push_update("message", {"message_id": 999, "date": int(time.time()),
                                       "chat": chat_json, "text": "end",
                                       "from": {"id": STRANGER_USER_ID, "is_bot": False,
                                                "first_name": "M"}})
    until(lambda: (Offsets().get("telegram") or 0) >= last, timeout=120,
          what="every event handled")
    assert len(cases) >= 100

    requests = Store().read()["requests"]
    (pending,) = [r for r in requests.values() if r["status"] == "pending"]
    assert "secret-job" in pending["summary"]
    assert [r["status"] for r in requests.values() if r is not pending] == ["allowed"]
    assert timers.live() == []
    assert emu.messages(elsewhere.id) == []  # not a word in the other chat
    for m in emu.messages(CHAT):
        if m.message_id not in own_messages:
            assert "secret-job" not in (m.text or ""), m.text  # no pending list for a stranger
    decisions = [e for e in audit.read(None) if e.get("event") == "decision"]
    assert len(decisions) == 1  # the one real press
    refused = [e for e in audit.read(None) if e.get("event") == "unauthorized"]
    foreign = [e for e in refused if e.get("chat_id") == str(elsewhere.id)]
    assert len(foreign) >= 2 * (len(TEXTS) + 2 + len(VERBS))
    assert all("not the configured chat_id" in e["reason"] or e["user_id"] != str(
        ALLOWED_USER_ID) for e in foreign)
    # the waiting request is still decidable by the right person, once
    run = subprocess.run([sys.executable, "-m", "tether_hooks", "approve", pending["id"]],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert hook.finish(waiting).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    print(f"\nforged/stale/replayed/foreign events: {len(cases)} tried, 0 accepted")


def _rid() -> str:
    requests = Store().read()["requests"]
    return next(r["id"] for r in requests.values() if r["status"] == "pending")


def _presses(emu: TelegramEmulator) -> list[tuple[int, str]]:
    """(update id, callback query id) of every press queued so far."""
    return [(u, raw["callback_query"]["id"]) for u, raw in sorted(emu.sent_updates.items())
            if "callback_query" in raw]

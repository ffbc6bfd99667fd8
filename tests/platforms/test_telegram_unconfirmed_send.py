"""End to end (hook, listener, Telegram bridge, Bot API emulator): a request whose send
Telegram carried out but answered too late is not sent again. The chat shows one copy and
a warning that it may not have arrived; a press on that copy (which the listener never
learned the id of) decides the request, and that copy shows the outcome without buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner
from harness.telegram_relay import CHAT, bash_request, configure, edited, request_message

pytestmark = pytest.mark.usefixtures("listener_stops_first")


@pytest.mark.parametrize(("button", "behavior", "outcome"),
                         [("✅ Allow", "allow", "Allowed"), ("❌ Deny", "deny", "Denied")])
def test_an_unconfirmed_send_is_not_repeated_and_its_copy_still_decides(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator,
        button: str, behavior: str, outcome: str) -> None:
    emu = telegram_emulator
    configure(tether_home, emu, extra="")
    with open(tether_home / "config.toml", "a") as f:
        f.write("send_timeout = 1\n")
    emu.delay_next("sendMessage", 4, after=True)  # sent at once; the answer comes too late
    proc = hook.start("claude", bash_request("s-late", "make unconfirmed"))
    msg = request_message(emu, "make unconfirmed")
    warning = emu.wait_for_message(lambda m: "may not have arrived" in (m.text or ""),
                                   chat_id=CHAT, timeout=30)
    assert "allow " in warning.text and "/pending" in warning.text

    emu.press(msg, button)
    result = hook.finish(proc)
    assert result.output["hookSpecificOutput"]["decision"]["behavior"] == behavior
    edited(emu, msg, outcome)  # the copy that was pressed shows the outcome, buttons gone
    copies = [m for m in emu.messages(CHAT) if "make unconfirmed" in (m.text or "")]
    assert len(copies) == 1, [m.text[:60] for m in copies]

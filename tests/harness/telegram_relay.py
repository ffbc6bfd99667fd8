"""Helpers for tests that watch the listener relay requests to the Telegram emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators.telegram import Message, TelegramEmulator

from harness.telegram import ALLOWED_USER_ID, TOKEN
from tether_hooks import relay
from tether_hooks.listener import daemon

__all__ = ["CHAT", "bash_request", "configure", "edited", "listener_stops_first",
           "request_message"]

CHAT = ALLOWED_USER_ID  # the allowed user's private chat with the bot


def configure(home: Path, emu: TelegramEmulator, extra: str = "") -> None:
    """``[telegram]`` pointed at ``emu`` in ``<home>/config.toml`` (alice allowed)."""
    (home / "config.toml").write_text(
        f"{extra}[telegram]\n"
        f'bot_token = "{TOKEN}"\n'
        f"chat_id = {CHAT}\n"
        f"allowed_user_ids = [{ALLOWED_USER_ID}]\n"
        f'api_base = "{emu.base_url}"\n'
        "poll_timeout = 2\n"
    )


def request_message(emu: TelegramEmulator, needle: str, timeout: float = 30) -> Message:
    """The request message (with buttons) whose text contains ``needle``."""
    return emu.wait_for_message(lambda m: needle in (m.text or "") and bool(m.buttons),
                                chat_id=CHAT, timeout=timeout)


def edited(emu: TelegramEmulator, msg: Message, needle: str, timeout: float = 15) -> Message:
    """``msg`` once its outcome (containing ``needle``) is shown and its buttons are gone."""
    return emu.wait_for_message(
        lambda m: m.message_id == msg.message_id and needle in (m.text or "") and not m.buttons,
        chat_id=CHAT, timeout=timeout)


@pytest.fixture
def listener_stops_first(telegram_emulator: TelegramEmulator) -> Iterator[None]:
    """Stop the listener while the emulator still answers (PTB confirms on shutdown)."""
    yield
    if relay.listener_pid() is not None:
        daemon.stop()


def bash_request(session: str, command: str) -> dict:
    """A Claude PermissionRequest payload for a Bash ``command`` in ``session``."""
    return {"session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": "Bash", "tool_input": {"command": command}}

"""pytest plug-in: a fresh Telegram Bot API emulator for each test.

``telegram_emulator`` is started on 127.0.0.1 with :data:`TOKEN`, the allowed user
(:data:`ALLOWED_USER_ID`, @alice) in a private chat with the bot and set as the default
user of ``press``/``send_text``, and a stranger (:data:`STRANGER_USER_ID`, @mallory) who is
known but not allowed. Teardown fails the test if the emulator itself crashed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulators.telegram import TelegramEmulator

__all__ = [
    "ALLOWED_USERNAME",
    "ALLOWED_USER_ID",
    "STRANGER_USERNAME",
    "STRANGER_USER_ID",
    "TOKEN",
    "ptb_urls",
    "telegram_emulator",
]

TOKEN = "7000000001:AAHtether-hooks_emulator-token-0123"
ALLOWED_USER_ID = 4242001
ALLOWED_USERNAME = "alice"
STRANGER_USER_ID = 4242999
STRANGER_USERNAME = "mallory"

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def ptb_urls(emu: TelegramEmulator) -> dict[str, Any]:
    """Keyword arguments pointing ``telegram.Bot`` (or the builder methods) at ``emu``."""
    return {"base_url": emu.base_url, "base_file_url": emu.base_file_url}


@pytest.fixture
def telegram_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramEmulator]:
    """A running emulator with the allowed user's private chat; stopped after the test."""
    # httpx honours proxy variables; the emulator must be reached directly.
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    emu = TelegramEmulator(TOKEN).start()
    try:
        emu.create_private_chat(ALLOWED_USER_ID, "Alice", ALLOWED_USERNAME)
        emu.add_user(STRANGER_USER_ID, "Mallory", STRANGER_USERNAME)
        emu.default_user_id = ALLOWED_USER_ID
        yield emu
    finally:
        emu.stop()
    assert not emu.internal_errors, "emulator crashed:\n" + "\n".join(emu.internal_errors)

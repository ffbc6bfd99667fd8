"""End-to-end fixtures: a real listener process relaying to the Telegram emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.telegram_relay import configure


@pytest.fixture
def telegram_listener(tether_home: Path, telegram_emulator: TelegramEmulator
                      ) -> Iterator[TelegramEmulator]:
    """``[telegram]`` pointed at the emulator in this test's config.toml, and the listener
    daemon running with it; stopped at teardown while the emulator still answers."""
    pytest.importorskip("telegram")
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    configure(tether_home, telegram_emulator)
    daemon.start()
    try:
        telegram_emulator.wait_for_poll(timeout=15)  # connected and listening
        yield telegram_emulator
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()

"""End-to-end fixtures: a real listener process relaying to the Telegram, Slack or Discord
emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators.discord import DiscordEmulator
from emulators.slack import SlackEmulator
from emulators.telegram import TelegramEmulator
from harness.discord_relay import configure_discord
from harness.observe import bridge_states
from harness.slack_relay import configure_slack
from harness.telegram_relay import configure
from harness.waiting import until


@pytest.fixture
def telegram_listener(tether_home: Path, telegram_emulator: TelegramEmulator
                      ) -> Iterator[TelegramEmulator]:
    """``[telegram]`` pointed at the emulator in this test's config.toml, and the listener
    daemon running with it; stopped at teardown while the emulator still answers."""
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


@pytest.fixture
def slack_listener(tether_home: Path, slack_emulator: SlackEmulator
                   ) -> Iterator[SlackEmulator]:
    """``[slack]`` pointed at the Slack emulator, the listener daemon running with it (its
    socket open); stopped at teardown while the emulator still answers."""
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    configure_slack(tether_home, slack_emulator)
    daemon.start()
    try:
        until(lambda: bridge_states() == {"slack": "ok"}, timeout=30, what="slack connected")
        yield slack_emulator
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()


@pytest.fixture
def discord_listener(tether_home: Path, discord_emulator: DiscordEmulator
                     ) -> Iterator[DiscordEmulator]:
    """``[discord]`` pointed at the Discord emulator (alice allowed), the listener daemon
    running and reading the channel; stopped at teardown while the emulator still answers."""
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    configure_discord(tether_home, discord_emulator)
    daemon.start()
    try:
        until(lambda: bridge_states() == {"discord": "ok"}, timeout=30,
              what="discord reading the channel")
        yield discord_emulator
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()

"""Helpers for tests that watch the listener relay requests to the Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators.slack import Message, SlackEmulator

from harness.slack import ALICE, CHANNEL, section_text
from tether_hooks import relay
from tether_hooks.listener import daemon

__all__ = ["configure_slack", "outcome", "slack_listener_stops_first",
           "slack_request", "slack_table"]


def slack_table(emu: SlackEmulator) -> str:
    """The ``[slack]`` table pointed at ``emu`` (alice allowed), as TOML text."""
    return (
        "[slack]\n"
        f'bot_token = "{emu.bot_token}"\n'
        f'app_token = "{emu.app_token}"\n'
        f'channel_id = "{CHANNEL}"\n'
        f'allowed_user_ids = ["{ALICE}"]\n'
        f'api_base = "{emu.base_url}"\n'
        "ping_interval = 1\n\n"
    )


def configure_slack(home: Path, emu: SlackEmulator, extra: str = "") -> None:
    """``[slack]`` pointed at ``emu`` in ``<home>/config.toml`` (alice allowed)."""
    (home / "config.toml").write_text(f"{extra}{slack_table(emu)}")


def slack_request(emu: SlackEmulator, needle: str, timeout: float = 30) -> Message:
    """The request message (with buttons) whose sections contain ``needle``."""
    return emu.wait_for_message(lambda m: needle in section_text(m) and bool(m.buttons()),
                                channel=CHANNEL, timeout=timeout)


def outcome(emu: SlackEmulator, msg: Message, needle: str, timeout: float = 15) -> Message:
    """``msg`` once its outcome (containing ``needle``) is shown and its buttons are gone."""
    return emu.wait_for_message(
        lambda m: m.ts == msg.ts and needle in section_text(m) and not m.buttons(),
        channel=CHANNEL, timeout=timeout)


@pytest.fixture
def slack_listener_stops_first(slack_emulator: SlackEmulator) -> Iterator[None]:
    """Stop the listener while the emulator still answers (its socket closes cleanly)."""
    yield
    if relay.listener_pid() is not None:
        daemon.stop()

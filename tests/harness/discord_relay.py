"""pytest plug-in and helpers for tests that watch the listener relay requests to the Discord
emulator (webhook posts, bot-token reads).

``discord_emulator`` runs on 127.0.0.1 with the allowed user (:data:`ALICE`, @alice) and a
stranger (:data:`MALLORY`, @mallory) in its guild; the MESSAGE_CONTENT intent is off (as for
a new bot) unless a test turns it on. Proxy variables are cleared. Teardown fails the test if
the emulator itself crashed. ``configure_discord`` writes ``[discord]`` pointed at it into the
test home's config.toml; ``discord_request`` finds a request message (the bot's reactions
seeded), ``outcome`` waits for its settled edit (reactions cleared).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulators.discord import DiscordEmulator

from harness.discord import ALICE, BOB, MALLORY
from harness.observe import bridge_states
from harness.waiting import until
from tether_hooks import paths, relay
from tether_hooks.listener import daemon

__all__ = ["ALICE", "BOB", "MALLORY", "TIMER", "TIMER_BARE",
           "configure_discord", "discord_listener_stops_first",
           "discord_request", "discord_table", "outcome", "restarted", "shown",
           "wait_bot_reply"]

TIMER, TIMER_BARE = "\u23f1\ufe0f", "\u23f1"  # ⏱️ as Discord's apps send it; ⏱ as typed


def discord_table(emu: DiscordEmulator, *, allowed: Iterable[str] = (ALICE,),
                  bot: bool = True) -> str:
    """The ``[discord]`` table pointed at ``emu`` as TOML text (``bot`` False: posts only)."""
    users = ", ".join(f'"{u}"' for u in allowed)
    lines = ["[discord]", f'webhook_url = "{emu.webhook_url}"', f'api_base = "{emu.api_base}"']
    if bot:
        lines += [f'bot_token = "{emu.bot_token}"', f'channel_id = "{emu.channel_id}"',
                  f"allowed_user_ids = [{users}]", "poll_pending = 0.5", "poll_idle = 1"]
    return "\n".join(lines) + "\n\n"


def configure_discord(home: Path, emu: DiscordEmulator, extra: str = "", **table: Any) -> None:
    """``[discord]`` pointed at ``emu`` in ``<home>/config.toml`` (alice allowed)."""
    (home / "config.toml").write_text(f"{extra}{discord_table(emu, **table)}")


def shown(msg: dict[str, Any]) -> str:
    """What a user reads of a message: its content and its embeds' titles and texts."""
    parts = [str(msg.get("content") or "")]
    for embed in msg.get("embeds") or []:
        parts += [str(embed.get(k) or "") for k in ("title", "description")]
    return "\n".join(p for p in parts if p)


def _emoji(msg: dict[str, Any]) -> list[str]:
    return [r["emoji"]["name"] for r in msg.get("reactions") or []]


def discord_request(emu: DiscordEmulator, needle: str, *, seeded: str = "\u274c",
                    timeout: float = 30) -> dict[str, Any]:
    """The webhook's request message showing ``needle``, once the bot has added its
    reactions (up to ``seeded``; pass "" for a posts-only bridge, which adds none)."""
    def found() -> dict[str, Any] | None:
        for m in emu.messages():
            if (m.get("webhook_id") and needle in shown(m) and not m.get("edited_timestamp")
                    and (not seeded or seeded in _emoji(m))):
                return m
        return None

    return emu.wait_until(found, timeout, f"a request showing {needle!r}")


def outcome(emu: DiscordEmulator, msg: dict[str, Any], needle: str, timeout: float = 15
            ) -> dict[str, Any]:
    """``msg`` once edited to show its outcome (containing ``needle``), reactions cleared."""
    return emu.wait_for_edit(
        msg["id"], lambda m: needle in shown(m) and not m.get("reactions"), timeout=timeout)


def wait_bot_reply(emu: DiscordEmulator, needle: str, *, reply_to: str | None = None,
                   timeout: float = 15) -> dict[str, Any]:
    """A message the bot (or the webhook, as a fallback) posted containing ``needle``
    (a reply to ``reply_to`` if given)."""
    def match(m: dict[str, Any]) -> bool:
        by_us = m["author"]["id"] == emu.bot_user_id or bool(m.get("webhook_id"))
        ref = (m.get("message_reference") or {}).get("message_id")
        return by_us and needle in shown(m) and (reply_to is None or ref == reply_to)

    return emu.wait_for_message(match, timeout=timeout)


def restarted(times: int = 1, timeout: float = 30) -> None:
    """Until the listener has restarted ``times`` times for a config change and its
    Discord bridge is reading again."""
    log = Path(paths.listener_log_file())
    until(lambda: log.exists() and log.read_text().count("restarting for the new config")
          >= times, timeout=timeout, what="the listener to restart for the new config")
    until(lambda: (bridge_states() or {}).get("discord") == "ok", timeout=timeout,
          what="the discord bridge reading again")


@pytest.fixture
def discord_listener_stops_first(discord_emulator: DiscordEmulator) -> Iterator[None]:
    """Stop the listener while the emulator still answers."""
    yield
    if relay.listener_pid() is not None:
        daemon.stop()

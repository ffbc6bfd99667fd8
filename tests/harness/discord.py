"""Driving DiscordBridge against the Discord emulator: the fixture, a dispatch stand-in
and ``drive`` (a bridge built by ``platforms.make_bridge`` like the listener does)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from emulators.discord import DiscordEmulator

from tether_hooks import platforms
from tether_hooks.platforms.base import BridgeContext, Button, Incoming
from tether_hooks.platforms.discord import DiscordBridge

T = TypeVar("T")

ALICE, BOB, MALLORY = "300000000000000001", "300000000000000002", "300000000000000666"
NONCE = "1f2e3d4c"
BUTTONS = [
    [Button("✅ Allow", f"a:{NONCE}"), Button("❌ Deny", f"d:{NONCE}"),
     Button("💬 Deny with reason", f"r:{NONCE}")],
    [Button("⏱ Allow Bash 30m", f"t:{NONCE}"), Button("📁 Allow proj/ 30m", f"p:{NONCE}")],
    [Button("📄 Show full", f"f:{NONCE}")],
]
ALLOW, DENY, TIMER, TIMER_BARE, DIR, FULL = ("\u2705", "\u274c", "\u23f1\ufe0f", "\u23f1",
                                             "\U0001f4c1", "\U0001f4c4")


def request(**extra: Any) -> dict[str, Any]:
    return {"id": "7f3a", "agent": "claude", "session_id": "0a1b2c3d-0000-4000-8000-00000000001",
            "cwd": "/home/user/proj", "tool_name": "Bash",
            "tool_input": {"command": "rm -rf build"}, **extra}


@pytest.fixture
def discord_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[DiscordEmulator]:
    """A running emulator with alice, bob and mallory in the guild (the MESSAGE_CONTENT
    intent off, as for a new bot); proxies cleared; fails the test if it crashed."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("DISCORD_WEBHOOK_URL", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    emu = DiscordEmulator().start()
    for uid, name in ((ALICE, "alice"), (BOB, "bob"), (MALLORY, "mallory")):
        emu.add_user(uid, name, name.capitalize())
    try:
        yield emu
    finally:
        emu.stop()
    assert not emu.internal_errors, "\n".join(emu.internal_errors)


def section(emu: DiscordEmulator, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "webhook_url": emu.webhook_url, "bot_token": emu.bot_token,
        "channel_id": emu.channel_id, "api_base": emu.api_base,
        "allowed_user_ids": [ALICE, BOB], "poll_pending": 0.5, "poll_idle": 0.5,
        "send_timeout": 5, "retries": 2}
    return {k: v for k, v in {**base, **extra}.items() if v is not None}


class Dispatch:
    """Collects what the bridge delivers."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Incoming] = asyncio.Queue()

    async def __call__(self, event: Incoming) -> None:
        await self.events.put(event)

    async def next(self, timeout: float = 10) -> Incoming:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def none_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.events.get(), seconds)
        except TimeoutError:
            return True
        return False


def bridge_for(emu: DiscordEmulator, *, context: dict[str, Any] | None = None,
               **extra: Any) -> DiscordBridge:
    bridge = platforms.make_bridge("discord", BridgeContext(section(emu, **extra),
                                                            **(context or {})))
    assert isinstance(bridge, DiscordBridge)
    return bridge


def drive(emu: DiscordEmulator, body: Callable[[DiscordBridge, Dispatch], Awaitable[T]], *,
          start: bool = True, context: dict[str, Any] | None = None, **extra: Any) -> T:
    """Run ``body`` with a bridge (started unless ``start`` is False), then close it."""

    async def main() -> T:
        bridge = bridge_for(emu, context=context, **extra)
        dispatch = Dispatch()
        try:
            if start:
                await bridge.start(dispatch)
            return await body(bridge, dispatch)
        finally:
            await bridge.close()

    return asyncio.run(main())


def wait(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
    """A blocking emulator call (wait_until...), off the bridge's event loop."""
    return asyncio.to_thread(fn, *args, **kwargs)


def seeded(emu: DiscordEmulator, message_id: str, n: int = 5) -> Callable[[], bool]:
    """The bot has added its ``n`` reactions to the message."""
    def check() -> bool:
        reacted = emu.world.messages[message_id].reactions
        return sum(emu.bot_user_id in users for users in reacted.values()) >= n
    return check

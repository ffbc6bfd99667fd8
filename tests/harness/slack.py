"""pytest plug-in: a fresh Slack emulator (Web API + Socket Mode) for each test.

``slack_emulator`` runs on 127.0.0.1 with the ``#approvals`` channel (:data:`CHANNEL`, the
bot a member), the allowed user (:data:`ALICE`, @alice; the default user of ``click``/
``slash``/``post_user_message``), a stranger in the channel (:data:`MALLORY`, @mallory) and
``#random`` (:data:`ELSEWHERE`), another channel the bot is in. Proxy variables are cleared:
the Socket Mode clients ignore NO_PROXY. Teardown fails the test if the emulator crashed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from emulators.slack import Message, SlackEmulator

from tether_hooks.platforms.base import BridgeContext, Incoming

if TYPE_CHECKING:  # the SDK is imported by the tests that use it, not by every test
    from tether_hooks.platforms.slack import SlackBridge

__all__ = [
    "ALICE",
    "CHANNEL",
    "ELSEWHERE",
    "MALLORY",
    "Dispatch",
    "bridge_for",
    "button_id",
    "drive",
    "labels",
    "section_text",
    "slack_emulator",
    "slack_section",
    "wait",
]

T = TypeVar("T")

ALICE = "U0ALICE001"
MALLORY = "U0MALLORY9"
CHANNEL = "C0APPROVAL"
ELSEWHERE = "C0RANDOM01"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def slack_section(emu: SlackEmulator, **extra: Any) -> dict[str, Any]:
    """A ``[slack]`` table pointed at ``emu`` (alice allowed), as config.toml holds it."""
    return {"bot_token": emu.bot_token, "app_token": emu.app_token, "channel_id": CHANNEL,
            "allowed_user_ids": [ALICE], "api_base": emu.base_url, "ping_interval": 1,
            **extra}


def labels(msg: Message) -> list[str]:
    """The button labels of a message, in order."""
    return [b["text"]["text"] for b in msg.buttons()]


def button_id(msg: Message, label: str) -> str:
    """The action_id of the button labelled ``label`` (its start is enough)."""
    for b in msg.buttons():
        if b["text"]["text"] == label or b["text"]["text"].startswith(label):
            return str(b["action_id"])
    raise LookupError(f"no button {label!r} on {msg.ts}: {labels(msg)}")


def section_text(msg: Message) -> str:
    """Every section's mrkdwn text, joined (what a user reads, before rendering)."""
    return "\n".join(str(b["text"]["text"]) for b in msg.blocks
                     if b.get("type") == "section" and isinstance(b.get("text"), dict))


@pytest.fixture
def slack_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    """A running emulator with #approvals, #random, alice and mallory; stopped after."""
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    emu = SlackEmulator().start()
    try:
        emu.add_user(ALICE, "alice", "Alice")
        emu.add_user(MALLORY, "mallory", "Mallory")
        emu.create_channel("approvals", channel_id=CHANNEL)
        emu.create_channel("random", channel_id=ELSEWHERE)
        emu.default_user_id = ALICE
        yield emu
    finally:
        emu.stop()
    assert not emu.internal_errors, "emulator crashed:\n" + "\n".join(emu.internal_errors)


# -- driving a SlackBridge in a test ---------------------------------------------------------

class Dispatch:
    """Collects what the bridge delivers; ``answer_with`` answers clicks as dispatch does,
    ``hang`` never returns (a listener that dies before applying), ``fail`` raises."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Incoming] = asyncio.Queue()
        self.bridge: SlackBridge | None = None
        self.answer_with: str | None = None
        self.hang = False
        self.fail = False

    async def __call__(self, event: Incoming) -> None:
        await self.events.put(event)
        if self.fail:
            raise RuntimeError("dispatch blew up")
        if self.hang:
            await asyncio.Event().wait()
        if self.answer_with is not None and self.bridge is not None:
            await self.bridge.answer(event, self.answer_with)

    async def next(self, timeout: float = 10) -> Incoming:
        return await asyncio.wait_for(self.events.get(), timeout)

    def none_within(self, seconds: float) -> Awaitable[bool]:
        async def check() -> bool:
            try:
                await asyncio.wait_for(self.events.get(), seconds)
            except TimeoutError:
                return True
            return False
        return check()


def bridge_for(emu: SlackEmulator, *, context: dict[str, Any] | None = None,
               **extra: Any) -> SlackBridge:
    """A SlackBridge for ``emu`` (``extra`` config keys, ``context`` BridgeContext fields)."""
    from tether_hooks.platforms.slack import SlackBridge

    return SlackBridge(BridgeContext(slack_section(emu, **extra), **(context or {})))


def drive(emu: SlackEmulator, body: Callable[[SlackBridge, Dispatch], Awaitable[T]], *,
          start: bool = True, context: dict[str, Any] | None = None, **extra: Any) -> T:
    """Run ``body`` with a bridge (started unless ``start`` is False), then close it."""

    async def main() -> T:
        bridge = bridge_for(emu, context=context, **extra)
        dispatch = Dispatch()
        dispatch.bridge = bridge
        try:
            if start:
                await bridge.start(dispatch)
            return await body(bridge, dispatch)
        finally:
            await bridge.close()

    return asyncio.run(main())


def wait(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
    """A blocking emulator call (click, wait_for_*), off the event loop the bridge runs on."""
    return asyncio.to_thread(fn, *args, **kwargs)

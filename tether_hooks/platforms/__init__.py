"""Chat platform bridges, built lazily by name: only the listener imports an SDK.

``make_bridge(name, ctx)`` is the one way to build a bridge (typed: every bridge is a
``BridgeBase``); the builders below are the only place that knows a bridge's constructor.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # no ``typing`` import: the hook's fast path may load ``platforms.secrets``
if TYPE_CHECKING:
    from collections.abc import Callable

    from tether_hooks.platforms.base import BridgeBase, BridgeContext

__all__ = ["BRIDGES", "SETTINGS", "check_settings", "make_bridge", "send_test"]


def _telegram(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.telegram import TelegramBridge

    return TelegramBridge(ctx)


def _slack(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.slack import SlackBridge

    return SlackBridge(ctx)


def _discord(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.discord import DiscordBridge

    return DiscordBridge(ctx)


def _memory(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.memory import MemoryBridge

    return MemoryBridge(dict(ctx.section), threads=ctx.threads, on_thread=ctx.on_thread)


# name -> builder; the name is also the config section and the pip extra.
BRIDGES: dict[str, Callable[[BridgeContext], BridgeBase]] = {
    "telegram": _telegram,
    "slack": _slack,
    "discord": _discord,
    "memory": _memory,  # tests: posts nowhere
}


def make_bridge(name: str, ctx: BridgeContext) -> BridgeBase:
    """The bridge ``name`` built for ``ctx``; ValueError for an unknown platform,
    ImportError when its SDK is not installed."""
    try:
        build = BRIDGES[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}: use one of {', '.join(BRIDGES)}") from None
    return build(ctx)


def send_test(name: str, section: dict[str, object], where: str) -> str:
    """Post the setup's test notice with a bridge built for ``section``; its message id.
    TetherError (one line) when it fails."""
    import asyncio

    from tether_hooks.errors import TetherError
    from tether_hooks.platforms.base import BridgeContext, BridgeError, Notice

    async def run() -> str:
        bridge = make_bridge(name, BridgeContext(section))
        try:
            ref = await bridge.post_notice(None, Notice(
                "info", f"tether-hooks is connected: permission requests will arrive {where}."))
        finally:
            await bridge.close()
        return ref.message_id if ref else ""

    try:
        return asyncio.run(run())
    except BridgeError as exc:
        raise TetherError(f"the test message failed: {exc}") from exc


# name -> (the SDK-free module whose ``settings(section, path)`` checks its table, how to
# write a good one): ``doctor`` checks every configured platform the same way.
SETTINGS = {
    "telegram": ("tether_hooks.platforms.telegram_config",
                 "tether-hooks setup telegram --token TOKEN --chat-id ID --allow-user ID "
                 "(or --discover to find the ids)"),
    "slack": ("tether_hooks.platforms.slack_config",
              "tether-hooks setup slack --bot-token xoxb-... --app-token xapp-... "
              "--channel C... --allow-user U..."),
    "discord": ("tether_hooks.platforms.discord_config",
                "tether-hooks setup discord --webhook-url https://discord.com/api/webhooks/... "
                "--bot-token ... --channel ID, then tether-hooks pair discord"),
}


def check_settings(name: str, section: object, path: str) -> None:
    """ConfigError (naming the file and key) when ``name``'s table is wrong."""
    if name in SETTINGS:
        module = SETTINGS[name][0]
        __import__(module)  # as ``secrets``: no importlib
        sys.modules[module].settings(section, path)

"""Chat platform bridges, built lazily by name: only the listener imports an SDK.

``make_bridge(name, ctx)`` is the one way to build a bridge (typed: every bridge is a
``BridgeBase``); the builders below are the only place that knows a bridge's constructor.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # no ``typing`` import: ``redact`` reads SECRETS on the hook's fast path
if TYPE_CHECKING:
    from collections.abc import Callable

    from tether_hooks.platforms.base import BridgeBase, BridgeContext

__all__ = ["BRIDGES", "SECRETS", "make_bridge", "secret_patterns"]


def _telegram(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.telegram import TelegramBridge

    return TelegramBridge(ctx)


def _memory(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.memory import MemoryBridge

    return MemoryBridge(dict(ctx.section), threads=ctx.threads, on_thread=ctx.on_thread)


# name -> builder; the name is also the config section and the pip extra.
BRIDGES: dict[str, Callable[[BridgeContext], BridgeBase]] = {
    "telegram": _telegram,
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


# name -> a module without SDK imports holding the bridge's ``SECRET_LABEL`` and
# ``SECRET_PATTERNS`` (the bridge class declares the same tuple as ``secret_patterns``):
# ``redact`` masks them everywhere without importing a chat SDK.
SECRETS = {
    "telegram": "tether_hooks.platforms.telegram_secrets",
}


def secret_patterns() -> list[tuple[str, str]]:
    """``(label, regex)`` of every registered platform's secrets (its token shapes)."""
    found: list[tuple[str, str]] = []
    for module in SECRETS.values():
        __import__(module)  # not importlib: ``redact`` runs this on the hook's fast path
        mod = sys.modules[module]
        found += [(str(mod.SECRET_LABEL), str(p)) for p in mod.SECRET_PATTERNS]
    return found

"""Chat platform bridges, built lazily by name: only the listener imports an SDK.

``make_bridge(name, ctx)`` is the one way to build a bridge (typed: every bridge is a
``BridgeBase``); the builders below are the only place that knows a bridge's constructor.
"""

from __future__ import annotations

from collections.abc import Callable

from tether_hooks.platforms.base import BridgeBase, BridgeContext

__all__ = ["BRIDGES", "make_bridge"]


def _telegram(ctx: BridgeContext) -> BridgeBase:
    from tether_hooks.platforms.telegram import TelegramBridge

    return TelegramBridge(
        dict(ctx.section),
        update_offset=None if ctx.offset is None else ctx.offset + 1,
        topics={sid: int(t) for sid, t in ctx.threads.items() if t.isdigit()},
        on_topic=lambda sid, thread: ctx.on_thread(sid, str(thread)),
        inbox=ctx.inbox,
    )


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

"""Chat platform bridges, loaded lazily by name: only the listener imports an SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tether_hooks.platforms.base import BridgeBase, BridgeContext

__all__ = ["BRIDGES", "load", "make_bridge"]

# name -> "module:Class"; the name is also the config section and the pip extra.
BRIDGES = {
    "telegram": "tether_hooks.platforms.telegram:TelegramBridge",
    "memory": "tether_hooks.platforms.memory:MemoryBridge",  # tests: posts nowhere
}


def load(name: str) -> type:
    """The bridge class for ``name``; ValueError for an unknown platform."""
    try:
        target = BRIDGES[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}: use one of {', '.join(BRIDGES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def make_bridge(name: str, ctx: BridgeContext) -> BridgeBase:
    """Build the bridge ``name`` from the listener's ``ctx``; ValueError for an unknown one,
    ImportError when its SDK is not installed."""
    cls = load(name)
    from tether_hooks.platforms.base import BridgeBase

    bridge = cls(ctx)
    if not isinstance(bridge, BridgeBase):
        raise TypeError(f"{name}: {cls.__name__} is not a BridgeBase")
    return bridge

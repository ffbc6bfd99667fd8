"""Chat platform bridges, loaded lazily by name: only the listener imports an SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tether_hooks.platforms.base import BridgeBase, BridgeContext

__all__ = ["BRIDGES", "SECRETS", "load", "make_bridge", "secret_patterns"]

# name -> "module:Class"; the name is also the config section and the pip extra.
BRIDGES = {
    "telegram": "tether_hooks.platforms.telegram:TelegramBridge",
    "memory": "tether_hooks.platforms.memory:MemoryBridge",  # tests: posts nowhere
}

# name -> a module without SDK imports holding the bridge's ``SECRET_LABEL`` and
# ``SECRET_PATTERNS`` (the bridge class declares the same tuple as ``secret_patterns``):
# ``redact`` masks them everywhere without importing a chat SDK.
SECRETS = {
    "telegram": "tether_hooks.platforms.telegram_config",
}


def secret_patterns() -> list[tuple[str, str]]:
    """``(label, regex)`` of every registered platform's secrets (its token shapes)."""
    found = []
    for module in SECRETS.values():
        mod = importlib.import_module(module)
        found += [(str(mod.SECRET_LABEL), str(p)) for p in mod.SECRET_PATTERNS]
    return found


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

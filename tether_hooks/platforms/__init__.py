"""Chat platform bridges, loaded lazily by name: only the listener imports an SDK."""

from __future__ import annotations

import importlib

__all__ = ["BRIDGES", "load"]

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

"""Bounded memory of recent things a bridge keeps (answered queries, seen envelopes, posted
messages' content, the bot's hints): a dict in insertion order whose oldest entries are
dropped past a limit, so a listener running for weeks does not grow."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["remember"]

K = TypeVar("K")
V = TypeVar("V")


def remember(recent: dict[K, V], key: K, value: V, limit: int) -> V:
    """``recent[key] = value``, then the oldest entries dropped until ``limit`` remain;
    returns ``value``."""
    recent[key] = value
    while len(recent) > limit:
        recent.pop(next(iter(recent)))
    return value

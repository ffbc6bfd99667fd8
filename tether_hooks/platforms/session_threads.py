"""One thread (or forum topic) per session, for any bridge: known from the listener's
record (``BridgeContext.threads``) or the session record, so it survives a restart;
created once per session however many posts race for it (one lock each); forgotten when
the platform says it is gone, so the next post makes a new one. Each bridge keeps its own
id type (Telegram's topics are ints) and says how to create one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SessionThreads"]

T = TypeVar("T", int, str)


class SessionThreads(Generic[T]):
    """The session -> thread map of one bridge."""

    def __init__(self, known: dict[str, T], on_thread: Callable[[str, str], None] | None
                 ) -> None:
        self.known: dict[str, T] = known
        self.on_thread = on_thread  # told of each new thread (the listener records it)
        self._dead: set[T] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, sid: str, stored: T | None, create: Callable[[], Awaitable[T]]) -> T:
        """The session's thread: known, or ``stored`` on its record (unless gone), or made
        now by ``create``."""
        if sid not in self.known and stored is not None and stored not in self._dead:
            self.known[sid] = stored
        if sid in self.known:
            return self.known[sid]
        async with self._locks.setdefault(sid, asyncio.Lock()):
            if sid in self.known:
                return self.known[sid]
            thread = self.known[sid] = await create()
        if self.on_thread is not None:
            self.on_thread(sid, str(thread))
        return thread

    def gone(self, sid: str, thread: T) -> None:
        """The platform said ``thread`` is gone (deleted): the next ``get`` makes another."""
        self._dead.add(thread)
        self.known.pop(sid, None)

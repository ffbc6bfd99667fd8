"""Stop hooks waiting for a reply: a ``finished`` notice with ``wait`` > 0 holds its hook
until a text in that session's scope arrives (handed over as the agent's next prompt) or
the wait runs out."""

from __future__ import annotations

import asyncio

__all__ = ["StopWaits"]


class StopWaits:
    """Session id -> the reply its Stop hook waits for."""

    def __init__(self) -> None:
        self._waits: dict[str, asyncio.Future[tuple[str, str]]] = {}

    def open(self, sid: str) -> asyncio.Future[tuple[str, str]]:
        """Register a wait now (before the notice is posted); ``collect`` it later."""
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._waits[sid] = future
        return future

    async def collect(self, sid: str, future: asyncio.Future[tuple[str, str]],
                      seconds: float) -> tuple[str, str] | None:
        try:
            return await asyncio.wait_for(future, seconds)
        except TimeoutError:
            return None
        finally:
            if self._waits.get(sid) is future:
                del self._waits[sid]

    def hand(self, text: str, by: str, sids: set[str] | None) -> bool:
        """Give ``text`` to the one Stop hook waiting in ``sids`` (None: anywhere)."""
        waiting = [sid for sid in self._waits if sids is None or sid in sids]
        if len(waiting) != 1 or self._waits[waiting[0]].done():
            return False
        self._waits[waiting[0]].set_result((text, by))
        return True

"""The listener's tasks: spawned and supervised coroutines, store I/O off the event loop,
and the closing flag every long-lived loop checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, ParamSpec, TypeVar

from tether_hooks.listener.supervise import Tasks

__all__ = ["Runtime"]

log = logging.getLogger("tether_hooks.listener")

P = ParamSpec("P")
T = TypeVar("T")


class Runtime:
    """Owns the listener's background tasks; ``tasks`` holds the supervised ones' states."""

    def __init__(self, on_change: Callable[[], None], secrets: list[str]) -> None:
        self.closing = False
        self.tasks = Tasks(on_change, secrets)
        self._running: set[asyncio.Future[Any]] = set()
        # told the id of every request the listener settled (the server pushes it to the
        # waiting hook; the store stays the truth)
        self.on_decided: Callable[[str], None] = lambda rid: None

    def decided(self, rid: str) -> None:
        try:
            self.on_decided(rid)
        except Exception:
            log.exception("announcing the decision of %s failed", rid)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        """Run ``coro`` in the background; a failure is logged, never lost."""
        task = asyncio.ensure_future(coro)
        self._running.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._running.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("listener task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def supervise(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]
                  ) -> asyncio.Future[Any]:
        """A long-lived task, restarted with backoff when it fails (``supervise``)."""
        return self.spawn(self.tasks.supervise(name, factory, lambda: self.closing))

    async def io(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Store writes take a file lock and fsync: keep them off the event loop."""
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    async def heartbeat(self) -> None:
        """Beat (``heartbeat.beat``) from the event loop itself until closing: a stuck
        loop stops beating, and a waiting hook can tell."""
        from tether_hooks.heartbeat import BEAT_SECONDS, beat

        while not self.closing:
            beat()
            await asyncio.sleep(BEAT_SECONDS)

    async def cancel_all(self) -> None:
        self.closing = True
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

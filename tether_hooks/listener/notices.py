"""Notices that are not requests: auto-approvals batched per burst, errors debounced.

Auto-approvals are read from the audit log rather than sent by the hook: a timer hit stays
a pure stdlib path with no socket at all, works while no listener runs, and a burst of
calls turns into one message (trailing debounce, as agent-tether's 1.5 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["AuditTail", "Batcher", "Debouncer"]

log = logging.getLogger("tether_hooks.listener")


class Debouncer:
    """``allow(key)`` is True at most once per ``seconds`` for each key."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._last.get(key, -1e18) < self.seconds:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        return True


class Batcher:
    """Collects items per key; flushes a key ``quiet`` s after its last item (``most`` at most)."""

    def __init__(
        self,
        flush: Callable[[str, list[dict[str, Any]]], Awaitable[None]],
        quiet: float = 1.5,
        most: float = 10.0,
    ) -> None:
        self._flush = flush
        self.quiet, self.most = quiet, most
        self._items: dict[str, list[dict[str, Any]]] = {}
        self._first: dict[str, float] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, key: str, item: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._items.setdefault(key, []).append(item)
        first = self._first.setdefault(key, now)
        if (handle := self._timers.pop(key, None)) is not None:
            handle.cancel()
        delay = max(0.0, min(self.quiet, first + self.most - now))
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        task = asyncio.ensure_future(self._send(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, key: str) -> None:
        self._timers.pop(key, None)
        self._first.pop(key, None)
        items = self._items.pop(key, [])
        if items:
            try:
                await self._flush(key, items)
            except Exception:
                log.exception("posting %d auto-approval(s) failed", len(items))

    async def flush_all(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        await asyncio.gather(*(self._send(k) for k in list(self._items)), *self._tasks,
                             return_exceptions=True)


class AuditTail:
    """Follows the append-only audit log from its current end; calls ``on_entry`` per line."""

    def __init__(self, path: str, on_entry: Callable[[dict[str, Any]], None],
                 poll: float = 0.25) -> None:
        self.path, self.on_entry, self.poll = path, on_entry, poll
        self._inode, self._offset = self._position()

    def _position(self) -> tuple[int | None, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None, 0
        return st.st_ino, st.st_size

    def read_new(self) -> None:
        """Deliver lines appended since the last call (a rotation restarts at 0)."""
        inode, size = self._position()
        if inode is None:
            return
        if inode != self._inode:
            self._inode, self._offset = inode, 0
        if size <= self._offset:
            self._offset = min(self._offset, size)
            return
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read(size - self._offset)
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next round
        self._offset += end
        for raw in chunk[:end].splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self.on_entry(entry)

    async def run(self) -> None:
        while True:
            try:
                self.read_new()
            except OSError as exc:
                log.warning("reading the audit log failed: %s", exc)
            await asyncio.sleep(self.poll)  # a poll interval: the hooks never notify us

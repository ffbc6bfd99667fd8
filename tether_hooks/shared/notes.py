"""Notices for the chat from every machine, posted by the leader (``Notes``).

A station ``send``s its hooks' notices (waiting, finished, auto-approved...) to the
``notes`` stream; one that waits for an answer (a Stop hook) gets the leader's reply from
``reply:{m}``. The leader ``follow``s the stream in the consumer group ``lead``: at least
once (XACK after handling; notes a dead leader took are claimed after 5 s idle), and a
note older than 120 s (by Redis's clock: the entry id) is acknowledged and dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from tether_hooks import redact
from tether_hooks.shared.bells import Trouble, still_running
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.orders import load

__all__ = ["GROUP", "Notes"]

log = logging.getLogger("tether_hooks.listener")

GROUP = "lead"
MAXLEN = 10000
STALE = 120.0  # seconds after which a note is not worth posting
CLAIM_IDLE = 5.0  # a note delivered this long ago and not acked is taken over
REPLY_TTL = 600
EXTRA_WAIT = 20.0  # on top of the hook's own wait: the leader may be changing
BLOCK = 1.0

Note = dict[str, Any]


class Notes:
    def __init__(self, aclient: redis.asyncio.Redis, keys: Keys, machine: str, *,
                 stale: float = STALE, claim_idle: float = CLAIM_IDLE) -> None:
        self.client = aclient
        self.keys = keys
        self.machine = machine
        self.stale = stale
        self.claim_idle = claim_idle

    # -- every station ---------------------------------------------------------------

    async def send(self, kind: str, body: dict[str, Any], wait: float = 0) -> dict[str, Any]:
        """Add a note; with ``wait`` > 0, the leader's reply (waited for up to ``wait`` + 20
        s), else ``{"ok": True, "reply": None}``. Redis errors are raised."""
        wait_id = uuid.uuid4().hex if wait > 0 else None
        note: Note = {"machine": self.machine, "kind": kind, "body": redact.value(body),
                      "wait_id": wait_id, "at": time.time()}
        if wait_id is None:
            await self._add(note)
            return {"ok": True, "reply": None}
        replies = self.keys.replies(self.machine)
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.keys.bell(self.machine))  # before: no reply missed
            await self._add(note)
            deadline = time.monotonic() + wait + EXTRA_WAIT
            while True:
                found = load(await self.client.hget(replies, wait_id))
                if found is not None:
                    await self.client.hdel(replies, wait_id)
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"ok": True, "reply": None}
                await pubsub.get_message(ignore_subscribe_messages=True, timeout=min(left, 1.0))
                still_running()
        finally:
            await pubsub.aclose()

    async def _add(self, note: Note) -> None:
        await self.client.xadd(self.keys.notes, {"note": json.dumps(note, default=str)},
                               maxlen=MAXLEN, approximate=True)

    # -- the leader --------------------------------------------------------------------

    async def follow(self, consumer: str,
                     handle: Callable[[Note], Awaitable[dict[str, Any] | None]]) -> None:
        """Hand every note to ``handle`` (as consumer ``consumer`` of group ``lead``), then
        XACK it; a non-None result for a note that waits is its reply. Redis errors are
        logged once and retried, never raised; a failing ``handle`` leaves its note to be
        retried (until it is stale)."""
        trouble = Trouble("reading notices from the shared store")
        while True:
            try:
                await self._group()
                while True:
                    await self.round(consumer, handle)
                    still_running()
                    trouble.ok()
            except Exception as exc:
                trouble.failed(exc)
            still_running()
            await asyncio.sleep(BLOCK)

    async def _group(self) -> None:
        try:
            await self.client.xgroup_create(self.keys.notes, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def round(self, consumer: str,
                    handle: Callable[[Note], Awaitable[dict[str, Any] | None]],
                    block: float = BLOCK) -> int:
        """One pass: notes idle too long (another leader's), then new ones (waiting up to
        ``block`` s). Returns how many were handled or dropped."""
        claimed = await self.client.xautoclaim(
            self.keys.notes, GROUP, consumer, min_idle_time=int(self.claim_idle * 1000),
            start_id="0-0", count=100)
        entries: list[Any] = list(claimed[1])
        got: Any = await self.client.xreadgroup(GROUP, consumer, {self.keys.notes: ">"},
                                                count=100, block=max(1, int(block * 1000)))
        for _, items in got or ():
            entries += items
        if not entries:
            return 0
        seconds, micros = await self.client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        done = 0
        for entry, fields in entries:
            if fields is None:
                continue  # deleted from the stream (trimmed): nothing to handle
            done += await self._one(entry, fields, now_ms, handle)
        return done

    async def _one(self, entry: str, fields: dict[str, str], now_ms: int,
                   handle: Callable[[Note], Awaitable[dict[str, Any] | None]]) -> int:
        note = load(fields.get("note"))
        age = (now_ms - int(entry.split("-")[0])) / 1000
        if note is None or age > self.stale:
            log.info("dropped notice %s (%s)", entry, "not JSON" if note is None
                     else f"{age:.0f} s old")
            await self.client.xack(self.keys.notes, GROUP, entry)
            return 1
        try:
            reply = await handle(note)
        except Exception as exc:  # left pending: claimed again after claim_idle
            log.warning("handling notice %s failed: %s: %s", entry, type(exc).__name__, exc)
            return 0
        wait_id, machine = note.get("wait_id"), note.get("machine")
        if reply is not None and isinstance(wait_id, str) and isinstance(machine, str):
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(self.keys.replies(machine), wait_id, json.dumps(reply, default=str))
            pipe.expire(self.keys.replies(machine), REPLY_TTL)
            pipe.publish(self.keys.bell(machine), "reply")
            await pipe.execute()
        await self.client.xack(self.keys.notes, GROUP, entry)
        return 1

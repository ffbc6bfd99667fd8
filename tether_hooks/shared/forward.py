"""This machine's records to Redis: ``req:{m}``, ``sess:{m}``, ``tmr:{m}`` (``Forwarder``).

Diff-based: only records that changed since the last successful write, and removals of
those the local store dropped, go out, with ``HINCRBY rev m 1`` and the hashes' EXPIRE in
one MULTI, then ``PUBLISH bell:fleet m``. A full sync rewrites the three hashes (every
30 s in ``run``: it repairs a Redis that lost data). Fleet timer copies (``origin ==
"fleet"``) are not this machine's own and are not forwarded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, cast

import redis.asyncio

from tether_hooks.models import State
from tether_hooks.shared import records
from tether_hooks.shared.bells import Trouble, still_running
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.orders import DAY
from tether_hooks.store import Store

__all__ = ["Forwarder"]

log = logging.getLogger("tether_hooks.listener")

POLL = 0.1  # how often run() looks at the local store's signature
FULL_EVERY = 30.0


def _records(data: State, machine: str) -> dict[str, dict[str, str]]:
    """What the three hashes should hold: kind -> id -> JSON."""
    def dump(value: dict[str, Any]) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)

    return {
        "req": {rid: dump(records.shared_request(r, machine))
                for rid, r in data["requests"].items()},
        "sess": {sid: dump(records.shared_session(s, machine))
                 for sid, s in data["sessions"].items()},
        "tmr": {tid: dump(records.shared_timer(t, machine))
                for tid, t in data["timers"].items() if t.get("origin") != "fleet"},
    }


class Forwarder:
    def __init__(self, aclient: redis.asyncio.Redis, keys: Keys, machine: str,
                 store: Store) -> None:
        self.client = aclient
        self.keys = keys
        self.machine = machine
        self.store = store
        self.sent: dict[str, dict[str, str]] = {"req": {}, "sess": {}, "tmr": {}}
        self._wake = asyncio.Event()

    def _key(self, kind: str) -> str:
        m = self.machine
        return {"req": self.keys.requests(m), "sess": self.keys.sessions(m),
                "tmr": self.keys.timers(m)}[kind]

    async def sync(self, full: bool = False) -> bool:
        """Write what changed (everything with ``full``); True when something was written.
        Raises Redis errors (what was sent is only remembered after a write succeeded)."""
        now = _records(self.store.read(), self.machine)
        pipe = self.client.pipeline(transaction=True)
        changes = 0
        for kind, current in now.items():
            key, before = self._key(kind), self.sent[kind]
            if full:
                pipe.delete(key)
                changed = current
                changes += 1
            else:
                changed = {k: v for k, v in current.items() if before.get(k) != v}
                gone = [k for k in before if k not in current]
                if gone:
                    pipe.hdel(key, *gone)
                changes += len(changed) + len(gone)
            if changed:
                pipe.hset(key, mapping=cast(dict[Any, Any], changed))
            pipe.expire(key, DAY)
        if not changes:
            return False
        pipe.hincrby(self.keys.rev, self.machine, 1)
        pipe.publish(self.keys.fleet_bell, self.machine)
        await pipe.execute()
        self.sent = now
        return True

    def wake(self) -> None:
        """Sync now (a hook rang: a new request) rather than at the next poll."""
        self._wake.set()

    async def run(self, poll: float = POLL, full_every: float = FULL_EVERY) -> None:
        """Sync on every change of the local store (and ``wake``), fully every
        ``full_every`` s and at start; errors are logged once and retried, never raised."""
        trouble = Trouble("forwarding this machine's records to the shared store")
        seen: object = None
        last_full = float("-inf")
        while True:
            still_running()
            self._wake.clear()
            try:
                signature = self.store.signature()  # before reading: a later write syncs
                full = time.monotonic() - last_full >= full_every
                if full or trouble.failing or signature != seen:
                    await self.sync(full=full)
                    seen = signature
                    if full:
                        last_full = time.monotonic()
                trouble.ok()
            except Exception as exc:  # Redis or store trouble: retried at the next poll
                trouble.failed(exc)
                last_full = float("-inf")  # Redis may have lost data: resend everything
            try:  # (not wait_for: on 3.11 it may swallow a cancellation)
                async with asyncio.timeout(poll):
                    await self._wake.wait()
            except TimeoutError:
                pass

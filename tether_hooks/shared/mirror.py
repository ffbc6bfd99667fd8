"""The fleet's timers (``tmr:all``) copied into this machine's store (``Mirror``).

The hook reads only ``state.json``: a timer for every machine works on this one once its
copy (``origin == "fleet"``) is there. The copies are exactly the live entries of
``tmr:all`` (a revocation is an HDEL there, so absence revokes), re-read on each
``bell:fleet`` and every second; after ``grace`` seconds without Redis they are all
dropped, so a revocation made meanwhile cannot keep allowing here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import cast

import redis.asyncio

from tether_hooks.models import Request, Timer
from tether_hooks.shared.bells import Trouble, follow_bell
from tether_hooks.shared.keys import Keys
from tether_hooks.store import Store

__all__ = ["GRACE", "Mirror", "fleet_timer"]

log = logging.getLogger("tether_hooks.listener")

GRACE = 30.0
INTERVAL = 1.0
_FIELDS = ("scope", "session_id", "agent", "tool", "tool_label", "path", "prefix",
           "created_at", "expires_at", "created_by")


def fleet_timer(tid: str, raw: str, now: float) -> Timer | None:
    """An entry of ``tmr:all`` as a local copy, or None: only a live tool or Bash timer
    for no particular session or directory is one."""
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(found, dict) or found.get("scope") not in ("tool", "bash"):
        return None
    if found.get("session_id") or found.get("path") or not isinstance(
            found.get("created_by"), str):
        return None
    what = found.get("tool") if found["scope"] == "tool" else found.get("prefix")
    try:
        expires, created = float(found["expires_at"]), float(found["created_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(what, str) or not what.strip() or expires <= now:
        return None
    timer = {k: found[k] for k in _FIELDS if k in found}
    timer.update(id=tid, origin="fleet", expires_at=expires, created_at=created)
    return cast(Timer, timer)  # (its fields checked above)


class Mirror:
    def __init__(self, aclient: redis.asyncio.Redis, keys: Keys, store: Store, *,
                 grace: float = GRACE,
                 on_decided: Callable[[str], None] | None = None) -> None:
        self.client = aclient
        self.keys = keys
        self.store = store
        self.grace = grace
        self.on_decided = on_decided
        self.reached = time.monotonic()  # when Redis last answered

    async def sync(self) -> list[Request]:
        """Copy ``tmr:all`` now; the pending requests the new copies allowed."""
        raw = await self.client.hgetall(self.keys.fleet_timers)
        now = time.time()
        live = {str(tid): t for tid, value in raw.items()
                if (t := fleet_timer(str(tid), str(value), now)) is not None}
        self.reached = time.monotonic()
        return await self._apply(live)

    async def _apply(self, live: dict[str, Timer]) -> list[Request]:
        allowed = await asyncio.to_thread(self.store.sync_fleet_timers, live)
        for request in allowed:
            if self.on_decided is not None:
                self.on_decided(str(request.get("id")))
        return allowed

    async def run(self, interval: float = INTERVAL) -> None:
        """Mirror at start, on each ``bell:fleet`` and every ``interval`` s; Redis errors are
        logged once and retried, never raised; past ``grace`` the copies are dropped."""
        trouble = Trouble("mirroring the fleet's timers")
        dropped = False

        async def step() -> None:
            nonlocal dropped
            await self.sync()
            dropped = False

        while True:
            await follow_bell(self.client, self.keys.fleet_bell, step, trouble, interval)
            if not dropped and time.monotonic() - self.reached >= self.grace:
                try:
                    await self._apply({})
                    dropped = True
                    log.warning("the shared store has been unreachable for %.0f s: timers "
                                "for every machine no longer apply here", self.grace)
                except Exception as exc:  # the local store failed: try again
                    trouble.failed(exc)
            await asyncio.sleep(min(interval, max(self.grace / 4, 0.05)))

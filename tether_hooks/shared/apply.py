"""Orders and operations written for this machine, applied to its store (``Applier``).

Orders (``ord:{m}``): each applies through ``Store.decide_with_timer``, decide-once under
the file lock, so an order scanned twice, or by a restarted station, or arriving after the
terminal answered, changes nothing. An order names the request it was written for
(``request_at`` = its ``created_at``): an order for an earlier request whose id was reused
is never applied. Orders whose request is gone are removed (compare-and-delete).

Operations (``ops:{m}``): applied in stream order after the cursor kept in ``shared.json``
(written atomically after each one); each is idempotent, so a replay after a crash adds
nothing (a timer op keeps its ``key``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Any, cast

import redis.asyncio

from tether_hooks import bounds, paths, rules, state
from tether_hooks.errors import NotFound, StoreError, TetherError
from tether_hooks.lifecycle import draft_timer
from tether_hooks.models import SETTLED_STATUSES, DecisionExtra, Request, RequestStatus, Timer
from tether_hooks.redact import value as redacted
from tether_hooks.shared.bells import Trouble, follow_bell
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.orders import load
from tether_hooks.store import Store

__all__ = ["Applier", "local_timer"]

log = logging.getLogger("tether_hooks.listener")

SESSION_FIELDS = ("stop",)  # what another machine may set on a session here (/stop)
INTERVAL = 1.0  # scan this often even without a bell
BATCH = 100
# Delete a hash field only if it still holds what was read.
_DROP = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def local_timer(spec: object) -> Timer | None:
    """A timer carried by an order or op, checked and drafted again here (a directory must
    exist on this machine; a Bash rule must be one); None when it is not a valid one."""
    if not isinstance(spec, dict):
        return None
    try:
        scope, created = str(spec["scope"]), float(spec["created_at"])
        prefix = spec.get("prefix")
        if scope == "bash":
            prefix = rules.check_bash_rule(prefix)
        key = spec.get("key")
        return draft_timer(
            scope, float(spec["expires_at"]) - created, created,
            created_by=str(spec["created_by"]), session_id=_str(spec.get("session_id")),
            tool=_str(spec.get("tool_label")) or _str(spec.get("tool")),
            path=_str(spec.get("path")), prefix=_str(prefix), agent=_str(spec.get("agent")),
            key=key if isinstance(key, str) else None)
    except (KeyError, TypeError, ValueError, TetherError) as exc:
        log.warning("a shared timer was not added here: %s", exc)
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _updated(updated: object, request: Request) -> object:
    """An order's updated input with this machine's own input where the order kept it as
    it was shown (redacted): only what the decider changed (an answer) comes from it."""
    mine = request.get("tool_input")
    if not isinstance(updated, dict) or not isinstance(mine, dict):
        return updated
    shown = redacted(mine)
    shown = shown if isinstance(shown, dict) else {}
    return {k: mine[k] if k in mine and v == shown.get(k) else v for k, v in updated.items()}


class Applier:
    def __init__(self, aclient: redis.asyncio.Redis, keys: Keys, machine: str, store: Store,
                 on_decided: Callable[[str], None], cursor_path: str | None = None) -> None:
        self.client = aclient
        self.keys = keys
        self.machine = machine
        self.store = store
        self.on_decided = on_decided
        self.cursor_path = cursor_path or os.path.join(paths.state_dir(), "shared.json")

    # -- orders ----------------------------------------------------------------------

    async def scan(self) -> None:
        """Apply every order for a pending local request, then the new operations."""
        orders = {str(k): str(v) for k, v in
                  (await self.client.hgetall(self.keys.orders(self.machine))).items()}
        requests = self.store.read()["requests"] if orders else {}
        for rid, raw in orders.items():
            order, request = load(raw), requests.get(rid)
            if request is None or order is None or order.get("request_at") != request.get(
                    "created_at"):
                await self._drop(rid, raw)  # its request is gone (or it is not an order)
            elif request.get("status") == "pending":
                try:
                    await self._apply(rid, order, request)
                except (StoreError, OSError):
                    raise  # this machine's store: the whole scan is tried again
                except Exception:  # this order's content: the others still apply
                    log.exception("order for request %s cannot be applied; kept", rid)
        await self._ops()

    async def _drop(self, rid: str, raw: str) -> None:
        script = self.client.register_script(_DROP)
        await script(keys=[self.keys.orders(self.machine)], args=[rid, raw])

    async def _apply(self, rid: str, order: dict[str, Any], request: Request) -> None:
        behavior = order.get("behavior")
        if behavior not in ("allow", "deny", "ask"):
            log.warning("order for request %s has no valid behaviour; not applied", rid)
            return
        status = order.get("status")
        extra = order.get("extra")
        if isinstance(extra, dict):
            extra = dict(extra)
            if "updated_input" in extra:
                extra["updated_input"] = _updated(extra["updated_input"], request)
        reason = order.get("reason")
        timer = local_timer(order.get("timer")) if order.get("timer") else None
        try:
            first, _, added = await asyncio.to_thread(
                self.store.decide_with_timer, rid, behavior, by=str(order.get("by") or "?"),
                via=str(order.get("via") or "?"),
                reason=reason if isinstance(reason, str) else None,
                status=cast(RequestStatus, status) if status in SETTLED_STATUSES else None,
                extra=cast(DecisionExtra, extra) if isinstance(extra, dict) else None,
                timer=timer)
        except NotFound:
            return  # pruned meanwhile: the next scan drops its order
        if first:
            self.on_decided(rid)
            for also in added[1] if added else ():
                self.on_decided(str(also.get("id")))

    # -- operations ------------------------------------------------------------------

    def cursor(self) -> str | None:
        """The id of the last operation applied (``shared.json``), or None."""
        try:
            with open(self.cursor_path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return None
        found = doc.get("ops") if isinstance(doc, dict) else None
        return found if isinstance(found, str) else None

    def _save(self, entry: str) -> None:
        try:
            with open(self.cursor_path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        doc["ops"] = entry
        paths.ensure_dir(os.path.dirname(self.cursor_path))
        state.write_atomic(self.cursor_path, bounds.dumps_bytes(doc))

    async def _ops(self) -> None:
        while True:
            after = self.cursor()
            entries = await self.client.xrange(self.keys.ops(self.machine),
                                               min=f"({after}" if after else "-", count=BATCH)
            entries = entries or []
            for item, fields in entries:
                entry = str(item)
                op = load((fields or {}).get("op"))
                if op is None:
                    log.warning("operation %s for this machine is not JSON; skipped", entry)
                else:
                    for rid in await asyncio.to_thread(self._op, entry, op):
                        self.on_decided(rid)
                await asyncio.to_thread(self._save, entry)
            if len(entries) < BATCH:
                return

    def _op(self, entry: str, op: dict[str, Any]) -> list[str]:
        """Apply one operation; the ids of the requests it allowed."""
        kind = op.get("op")
        try:
            if kind == "revoke" and isinstance(op.get("timer"), str):
                if op["timer"] in self.store.read()["timers"]:  # exactly that one
                    self.store.revoke(op["timer"])
            elif kind == "revoke_all":
                self.store.revoke(None)
            elif kind == "timer":
                timer = local_timer(op.get("timer"))
                if timer is not None:
                    timer.setdefault("key", f"op:{entry}")  # a replay adds nothing
                    _, allowed = self.store.add_drafted(timer)
                    return [str(request.get("id")) for request in allowed]
            elif kind == "session" and isinstance(op.get("session"), str) and isinstance(
                    op.get("fields"), dict):
                fields = {k: v for k, v in op["fields"].items() if k in SESSION_FIELDS}
                if fields:
                    self.store.set_session(op["session"], **fields)
            else:
                log.warning("operation %s for this machine is unknown (%s); skipped", entry,
                            kind)
        except NotFound:
            pass  # revoked or gone meanwhile: nothing to do
        except (StoreError, OSError):
            raise  # this machine's store: the cursor stays, the op is tried again
        except Exception:  # its content: skipped, so the ops after it (a revoke) still land
            log.exception("operation %s for this machine cannot be applied; skipped", entry)
        return []

    async def run(self, interval: float = INTERVAL) -> None:
        """Scan at start, on each ``bell:{m}`` and every ``interval`` s; Redis errors are
        logged once and retried, never raised."""
        trouble = Trouble("applying the shared store's decisions to this machine")
        while True:
            await follow_bell(self.client, self.keys.bell(self.machine), self.scan, trouble,
                              interval)
            await asyncio.sleep(interval)

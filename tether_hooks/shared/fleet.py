"""``FleetStore``: every machine's records in the shared Redis, as one ``Ledger``.

``read`` returns an in-memory snapshot (never blocks); ``refresh`` re-reads the machines
whose ``rev`` changed, plus every machine's orders and ``tmr:all``. In the snapshot a
request's ``id`` is its fleet id ``rid@m`` (``local_id`` rid, ``machine`` m); sessions keep
their id plus ``machine``; a machine's timer is keyed ``tid@m`` (its ``id`` stays tid), a
fleet timer (``tmr:all``) by its id, with ``machine`` ``"all"``. A pending request that has
an order reads as settled as the order says (``delivering``: its machine has not applied
it yet). Decisions are written only through ``orders.decide``, the rest as ops
(``orders.send_op``) or in ``tmr:all``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar, cast

import redis
import redis.asyncio

from tether_hooks.errors import NotFound, UsageError
from tether_hooks.lifecycle import new_id
from tether_hooks.shared import orders
from tether_hooks.shared.bells import Trouble, follow_bell
from tether_hooks.shared.client import SharedUnavailable
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.records import fleet_id
from tether_hooks.shared.snapshot import Doc, docs, provisional, resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import (
        Behavior,
        DecisionExtra,
        Request,
        RequestStatus,
        Session,
        State,
        Timer,
    )

__all__ = ["ALL", "FleetStore"]

log = logging.getLogger("tether_hooks.listener")

ALL = "all"  # the ``machine`` of a fleet timer
FLEET_TTL = 7 * 86400


P = ParamSpec("P")
T = TypeVar("T")


def _reaching(method: Callable[P, T]) -> Callable[P, T]:
    """A Redis error in ``method`` becomes SharedUnavailable: a clear line for the user
    ("That failed: the shared store is unreachable (...)"), never a traceback."""
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            raise SharedUnavailable(f"the shared store is unreachable ({type(exc).__name__}: "
                                    f"{exc}); try again in a moment") from None
    return wrapper


class FleetStore:
    """Every machine's requests, sessions and timers from Redis (see the module doc)."""

    def __init__(self, keys: Keys, client: redis.Redis, path: str) -> None:
        self.keys = keys
        self.client = client
        self.path = path
        self._revs: dict[str, int] = {}
        self._reqs: dict[str, dict[str, Doc]] = {}
        self._sess: dict[str, dict[str, Doc]] = {}
        self._tmrs: dict[str, dict[str, Doc]] = {}
        self._orders: dict[str, dict[str, Doc]] = {}
        self._fleet: dict[str, Doc] = {}
        self._version = 0
        self._state: State = {"schema": 1, "timers": {}, "requests": {}, "sessions": {}}

    # -- reading --------------------------------------------------------------

    def read(self) -> State:
        return self._state

    def signature(self) -> object:
        return self._version

    def machines(self) -> list[str]:
        """The machines that published records, sorted."""
        return sorted(self._revs)

    def refresh(self) -> bool:
        """Re-read what changed in Redis; True when the snapshot changed. Raises RedisError."""
        revs = {str(m): int(v) for m, v in self.client.hgetall(self.keys.rev).items()
                if re.fullmatch(r"-?[0-9]{1,18}", str(v))}  # ASCII digits (not "²")
        changed = sorted(m for m in revs if revs[m] != self._revs.get(m))
        machines = sorted(revs)
        pipe = self.client.pipeline(transaction=False)
        for m in changed:
            pipe.hgetall(self.keys.requests(m))
            pipe.hgetall(self.keys.sessions(m))
            pipe.hgetall(self.keys.timers(m))
        for m in machines:
            pipe.hgetall(self.keys.orders(m))
        pipe.hgetall(self.keys.fleet_timers)
        results = iter(pipe.execute())
        for m in changed:
            self._reqs[m] = docs(next(results), numbers=("created_at", "expires_at"))
            self._sess[m] = docs(next(results))
            self._tmrs[m] = docs(next(results), numbers=("expires_at",))
        ords = {m: docs(next(results), tables=("extra", "timer")) for m in machines}
        fleet = docs(next(results), numbers=("created_at", "expires_at"))
        if not changed and ords == self._orders and fleet == self._fleet \
                and set(revs) == set(self._revs):
            return False
        for m in set(self._revs) - set(revs):
            for table in (self._reqs, self._sess, self._tmrs):
                table.pop(m, None)
        self._revs, self._orders, self._fleet = revs, ords, fleet
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        requests: dict[str, Doc] = {}
        sessions: dict[str, Doc] = {}
        timers: dict[str, Doc] = {}
        for m, recs in self._reqs.items():
            for rid, rec in recs.items():
                fid = fleet_id(rid, m)
                record = {**rec, "id": fid, "local_id": rid, "machine": m}
                requests[fid] = provisional(record, self._orders.get(m, {}).get(rid))
        for m, table in self._sess.items():
            for sid, doc in table.items():
                sessions[sid] = {**doc, "id": sid, "machine": m}
        for m, table in self._tmrs.items():
            for tid, doc in table.items():
                timers[fleet_id(tid, m)] = {**doc, "id": tid, "machine": m}
        for tid, doc in self._fleet.items():
            timers[tid] = {**doc, "id": tid, "machine": ALL, "origin": "fleet"}
        self._state = cast("State", {"schema": 1, "requests": requests, "sessions": sessions,
                                     "timers": timers})
        self._version += 1

    def _find(self, kind: str, key: str) -> str:
        """Resolve ``key`` in the snapshot, refreshing once when it is not there."""
        def items() -> Mapping[str, object]:
            return self._state["requests"] if kind == "request" else self._state["timers"]

        try:
            return resolve(items(), key, kind)
        except NotFound:
            self.refresh()
            return resolve(items(), key, kind)

    @_reaching
    def find_request(self, request_id: str) -> Request:
        return self._state["requests"][self._find("request", request_id)]

    # -- decisions ------------------------------------------------------------

    def decide(self, request_id: str, behavior: Behavior, *, by: str, via: str,
               reason: str | None = None, status: RequestStatus | None = None,
               extra: DecisionExtra | None = None) -> tuple[bool, Request]:
        first, request, _ = self.decide_with_timer(request_id, behavior, by=by, via=via,
                                                   reason=reason, status=status, extra=extra)
        return first, request

    @_reaching
    def decide_with_timer(
        self, request_id: str, behavior: Behavior, *, by: str, via: str,
        reason: str | None = None, status: RequestStatus | None = None,
        extra: DecisionExtra | None = None, timer: Timer | None = None,
    ) -> tuple[bool, Request, tuple[Timer, list[Request]] | None]:
        """Write the order for a request (its machine applies it): ``(True, the request
        as the order settles it, (timer, []) or None)`` the first time, else ``(False,
        the request as known, None)``."""
        fid = self._find("request", request_id)
        m, rid = self._state["requests"][fid]["machine"], self._state["requests"][fid]["local_id"]
        if timer is not None and not timer.get("id"):
            timer = cast("Timer", {**timer, "id": new_id(self._tmrs.get(m, {}))})
        order = orders.make_order(behavior, by=by, via=via, reason=reason, status=status,
                                  extra=extra, timer=timer)
        seen = self._state["requests"][fid].get("created_at")
        first, got = orders.decide(self.client, self.keys, (m, rid), order,
                                   seen_at=seen if isinstance(seen, int | float) else None)
        if "behavior" in got:  # an order: ours, or the one written first
            self._orders.setdefault(m, {})[rid] = got
        else:  # the record: settled on its machine meanwhile
            self._reqs.setdefault(m, {})[rid] = got
        self._rebuild()
        request = self._state["requests"][fid]
        return first, request, (timer, []) if first and timer is not None else None

    # -- timers and sessions --------------------------------------------------

    @_reaching
    def add_drafted(self, timer: Timer) -> tuple[Timer, list[Request]]:
        """A timer with a ``machine`` goes to that machine (an op: it allows what it covers
        there); one without, of scope tool or bash, to every machine (``tmr:all``)."""
        machine = timer.get("machine")
        if machine and machine != ALL:
            sent = cast("Timer", {**timer, "id": timer.get("id") or new_id(
                self._tmrs.get(machine, {}))})
            orders.send_op(self.client, self.keys, machine, {"op": "timer", "timer": sent})
            return sent, []
        return self.add_fleet(timer), []

    @_reaching
    def add_fleet(self, timer: Timer) -> Timer:
        """Store ``timer`` in ``tmr:all`` (origin "fleet", a new 6-hex id); with a ``key``
        already there, that timer. Expired entries are dropped in the same write."""
        if timer.get("scope") not in ("tool", "bash") or timer.get("session_id") \
                or timer.get("path"):
            raise UsageError("a timer for every machine covers a tool or a Bash rule: "
                             "sessions and directories belong to one machine")
        live = docs(self.client.hgetall(self.keys.fleet_timers),
                    numbers=("created_at", "expires_at"))
        key = timer.get("key")
        for doc in live.values():
            if key and doc.get("key") == key:
                return cast("Timer", doc)
        now = time.time()
        doc = {k: v for k, v in timer.items() if k != "machine"}
        doc.update(id=new_id(live, length=6), origin="fleet", session_id=None, path=None)
        dead = [tid for tid, t in live.items() if float(t.get("expires_at", 0)) <= now]
        pipe = self.client.pipeline(transaction=True)
        if dead:
            pipe.hdel(self.keys.fleet_timers, *dead)
        pipe.hset(self.keys.fleet_timers, doc["id"], json.dumps(doc))
        pipe.expire(self.keys.fleet_timers, FLEET_TTL)
        pipe.publish(self.keys.fleet_bell, ALL)
        pipe.execute()
        self._fleet = {**{k: v for k, v in live.items() if k not in dead}, doc["id"]: doc}
        self._rebuild()
        return cast("Timer", doc)

    @_reaching
    def revoke(self, timer_id: str | None) -> list[Timer]:
        """Revoke one timer (its id, ``tid@machine``, or a unique prefix): a fleet one from
        ``tmr:all``, a machine's by an op. None: every timer of every machine."""
        if timer_id is None:
            removed = list(self._state["timers"].values())
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(self.keys.fleet_timers)
            pipe.publish(self.keys.fleet_bell, ALL)
            pipe.execute()
            for m in self.machines():
                orders.send_op(self.client, self.keys, m, {"op": "revoke_all"})
            self._fleet = {}
            self._rebuild()
            return removed
        key = self._find("timer", timer_id)
        timer = self._state["timers"][key]
        tid, machine = timer["id"], str(timer.get("machine"))
        if machine == ALL:
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(self.keys.fleet_timers, tid)
            pipe.publish(self.keys.fleet_bell, ALL)
            pipe.execute()
            self._fleet.pop(tid, None)
        else:
            orders.send_op(self.client, self.keys, machine, {"op": "revoke", "timer": tid})
            self._tmrs.get(machine, {}).pop(tid, None)
        self._rebuild()
        return [timer]

    @_reaching
    def set_session(self, session_id: str, **fields: object) -> Session | None:
        """Ask the session's machine to update it (an op); the session as it will be."""
        session = self._state["sessions"].get(session_id)
        if session is None:
            self.refresh()
            session = self._state["sessions"].get(session_id)
        if session is None:
            return None
        machine = str(session.get("machine"))
        orders.send_op(self.client, self.keys, machine,
                       {"op": "session", "session": session_id, "fields": fields})
        record: Doc = {k: v for k, v in {**session, **fields}.items() if v is not None}
        return cast("Session", record)

    # -- following ------------------------------------------------------------

    async def follow(self, aclient: redis.asyncio.Redis,
                     on_change: Callable[[], object]) -> None:
        """Refresh on every bell (``bell:*``) and every second; ``on_change()`` after a
        refresh that changed something. Errors are logged once and retried; never
        returns."""
        trouble = Trouble("following the fleet")

        async def step() -> None:
            if await asyncio.to_thread(self.refresh):
                result = on_change()
                if inspect.isawaitable(result):
                    await result

        while True:
            await follow_bell(aclient, self.keys.bell("*"), step, trouble, 1.0, pattern=True)
            await asyncio.sleep(1.0)

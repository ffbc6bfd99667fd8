"""Writing decisions and operations for a machine (sync client: the CLI and the leader).

``decide`` is the only way an order is written: one Lua script checks that the request
exists in ``req:{m}``, is pending and has no order yet, then ``HSETNX ord:{m}`` and rings
``bell:{m}``, so a request gets one order ever, whoever decides. The owner's station
applies it (``apply.Applier``), decide-once again in its own store.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict, cast

import redis

from tether_hooks.errors import NotFound
from tether_hooks.shared import records
from tether_hooks.shared.keys import Keys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import Behavior, DecisionExtra, RequestStatus, Timer

__all__ = ["DAY", "OPS_MAXLEN", "Order", "decide", "load", "make_order", "send_op"]

DAY = 86400  # seconds a machine's hashes live without a write
OPS_MAXLEN = 1000

# KEYS: req:{m}, ord:{m}; ARGV: rid, order json, bell channel, ttl, the request's
# created_at as read before (a request id reused after the first was pruned is another
# request). Returns {1, order} when written, {0, order} or {0, record} when not, {-1} unknown.
_DECIDE = """
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return {-1, ''} end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
local ok, decoded = pcall(cjson.decode, record)
if not ok or type(decoded) ~= 'table' or decoded['status'] ~= 'pending'
    or decoded['created_at'] ~= tonumber(ARGV[5]) then
  return {0, record}
end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return {0, redis.call('HGET', KEYS[2], ARGV[1])}
end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[3], ARGV[1])
return {1, ARGV[2]}
"""


class Order(TypedDict):
    """The one decision for a request of a machine (``ord:{m}``)."""

    behavior: Behavior
    by: str
    via: str
    reason: str | None
    status: RequestStatus | None
    extra: DecisionExtra | None
    timer: Timer | None
    at: float


def make_order(behavior: Behavior, *, by: str, via: str, reason: str | None = None,
               status: RequestStatus | None = None, extra: DecisionExtra | None = None,
               timer: Timer | None = None) -> Order:
    return {"behavior": behavior, "by": by, "via": via, "reason": reason, "status": status,
            "extra": extra, "timer": timer, "at": time.time()}


def decide(client: redis.Redis, keys: Keys, target: str | tuple[str, str],
           order: Order | dict[str, Any], *, seen_at: float | None = None
           ) -> tuple[bool, dict[str, Any]]:
    """Write ``order`` for a request (``target``: a fleet id or ``(machine, rid)``).
    ``seen_at``: the ``created_at`` of the request the decider saw; an id reused since by
    another request of that machine is then refused (``(False, its record)``), never
    decided in its place.

    ``(True, order)`` when it is the request's first order; ``(False, the order already
    there)`` or ``(False, the request's record)`` when it is decided or no longer pending
    (an order has ``behavior``, a record ``status``). NotFound when ``req:{m}`` has no
    such request."""
    if isinstance(target, str):
        rid, machine = records.split_id(target)
    else:
        machine, rid = target
    record = load(client.hget(keys.requests(machine), rid))
    if record is None:
        raise NotFound(f"no request {records.fleet_id(rid, machine)} in the shared store")
    created = record.get("created_at")
    if not isinstance(created, float | int):
        return False, record  # not a request this version wrote: never decided from here
    if seen_at is not None and created != seen_at:
        return False, record  # another request now has that id: not the one decided
    # ``request_at`` ties the order to this very request (``apply`` checks it too).
    written = {**order, "at": order.get("at") or time.time(), "request_at": created}
    script = client.register_script(_DECIDE)
    result = cast(list[Any], script(
        keys=[keys.requests(machine), keys.orders(machine)],
        args=[rid, json.dumps(written), keys.bell(machine), DAY, repr(created)]))
    code, body = int(result[0]), str(result[1])
    if code < 0:
        raise NotFound(f"no request {records.fleet_id(rid, machine)} in the shared store")
    return code == 1, load(body) or {}


def load(raw: object) -> dict[str, Any] | None:
    """A JSON object stored as text, or None."""
    if not isinstance(raw, str):
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def send_op(client: redis.Redis, keys: Keys, machine: str, op: dict[str, Any]) -> str:
    """Append ``op`` (revoke, revoke_all, timer, session) to ``ops:{machine}`` and ring its
    bell; returns the stream entry id."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(keys.ops(machine), {"op": json.dumps(op)}, maxlen=OPS_MAXLEN, approximate=True)
    pipe.publish(keys.bell(machine), "op")
    entry, _ = pipe.execute()
    return str(entry)

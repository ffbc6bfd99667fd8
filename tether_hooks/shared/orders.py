"""Orders and ops: the only ways anyone writes a decision or an operation for a machine.

An *order* is the one decision for a request of machine m (``ord:{m}``, HSETNX in a Lua
script that first checks ``req:{m}`` holds that request, still pending); the station of m
applies it to its own store. An *op* (``ops:{m}`` stream) is a revoke, a timer or a session
change for m. Both ring ``bell(m)``.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict

import redis

from tether_hooks.errors import NotFound
from tether_hooks.shared.keys import Keys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import Behavior, DecisionExtra, RequestStatus, Timer

__all__ = ["Order", "decide", "make_order", "send_op"]

OPS_MAXLEN = 1000
TTL = 86400

# KEYS: req:{m}, ord:{m}, bell(m); ARGV: rid, order json, ttl.
# Returns {-1} unknown, {0, existing order or record}, {1, order}.
_DECIDE = """
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return {-1, ''} end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
local ok, doc = pcall(cjson.decode, rec)
if not ok or type(doc) ~= 'table' or doc['status'] ~= 'pending' then return {0, rec} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('PUBLISH', KEYS[3], ARGV[1])
return {1, ARGV[2]}
"""


class Order(TypedDict):
    """The one decision for a request of another machine (``ord:{m}``)."""

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


def _split(target: str | tuple[str, str]) -> tuple[str, str]:
    """(machine, rid) from a fleet id ``rid@m`` or a pair ``(m, rid)``."""
    if isinstance(target, tuple):
        return target
    rid, sep, machine = target.partition("@")
    if not sep or not rid or not machine:
        raise NotFound(f"no request with id {target!r} (a fleet id is like a1b2@devbox)")
    return machine, rid


def decide(client: redis.Redis, keys: Keys, target: str | tuple[str, str],
           order: Order | dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Write ``order`` for the request ``target`` (``rid@m`` or ``(m, rid)``) once.

    ``(True, order)`` when it is the first; ``(False, the order already there)``, or
    ``(False, the request record)`` when it is no longer pending. NotFound when machine m
    published no such request."""
    machine, rid = _split(target)
    script = client.register_script(_DECIDE)
    code, text = script(keys=[keys.requests(machine), keys.orders(machine), keys.bell(machine)],
                        args=[rid, json.dumps(order), TTL])
    if int(code) < 0:
        raise NotFound(f"no request with id {rid}@{machine!s}")
    loaded = json.loads(text)
    return int(code) == 1, loaded if isinstance(loaded, dict) else {}


def send_op(client: redis.Redis, keys: Keys, machine: str, op: dict[str, Any]) -> str:
    """Append ``op`` to ``ops:{machine}`` and ring its bell; returns the stream entry id."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(keys.ops(machine), {"op": json.dumps(op)}, maxlen=OPS_MAXLEN, approximate=True)
    pipe.publish(keys.bell(machine), "op")
    entry, _ = pipe.execute()
    return str(entry)

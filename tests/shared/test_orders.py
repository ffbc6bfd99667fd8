"""Orders are written only for a pending request the machine published, once; operations
go to the machine's stream; both ring the machine's bell."""

from __future__ import annotations

import json

import pytest
from harness.redis import RedisServer

from tether_hooks.shared import orders
from tether_hooks.shared.client import connect_sync
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.settings import SharedSettings

ORDER = {"behavior": "deny", "by": "bob", "via": "slack", "reason": "no", "status": None,
         "extra": {"event": "slack:1"}, "timer": None}


@pytest.fixture
def settings(redis_server: RedisServer, namespace: str) -> SharedSettings:
    return SharedSettings(url=redis_server.url, machine="laptop", namespace=namespace)


def publish(sync: object, keys: Keys, m: str, rid: str, **over: object) -> None:
    record = {"id": rid, "status": "pending", "created_at": 1700000000.123456, "machine": m,
              **over}
    sync.hset(keys.requests(m), rid, json.dumps(record))  # type: ignore[attr-defined]


def test_first_order_wins_and_rings_the_bell(settings: SharedSettings) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    publish(sync, keys, "dev-box-2", "a1b2")
    bell = sync.pubsub()
    bell.subscribe(keys.bell("dev-box-2"))
    assert bell.get_message(timeout=2)["type"] == "subscribe"
    first, order = orders.decide(sync, keys, "a1b2@dev-box-2", dict(ORDER))
    assert first and order["by"] == "bob" and order["request_at"] == 1700000000.123456
    assert bell.get_message(timeout=2)["data"] == "a1b2"
    again, existing = orders.decide(sync, keys, ("dev-box-2", "a1b2"),
                                    {**ORDER, "behavior": "allow", "by": "mallory"})
    assert not again and existing == order  # the replay check reads the stored order
    assert json.loads(sync.hget(keys.orders("dev-box-2"), "a1b2"))["behavior"] == "deny"
    assert sync.ttl(keys.orders("dev-box-2")) > 86000
    bell.close()


def test_a_settled_request_gets_no_order(settings: SharedSettings) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    publish(sync, keys, "ci", "c3d4", status="answered_in_terminal")
    first, found = orders.decide(sync, keys, "c3d4@ci", dict(ORDER))
    assert not first and found["status"] == "answered_in_terminal"
    assert not sync.exists(keys.orders("ci"))


def test_a_request_replaced_meanwhile_gets_no_order(settings: SharedSettings) -> None:
    """The record changed between the read and the script (same id, another request)."""
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    publish(sync, keys, "ci", "e5f6")
    script = sync.register_script(orders._DECIDE)
    code, _ = script(keys=[keys.requests("ci"), keys.orders("ci")],
                     args=["e5f6", json.dumps(ORDER), keys.bell("ci"), 60, repr(1.5)])
    assert code == 0 and not sync.exists(keys.orders("ci"))


def test_operations_go_to_the_machines_stream_in_order(settings: SharedSettings) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    first = orders.send_op(sync, keys, "dev-box", {"op": "revoke", "timer": "t1"})
    second = orders.send_op(sync, keys, "dev-box", {"op": "revoke_all"})
    entries = sync.xrange(keys.ops("dev-box"))
    assert [e[0] for e in entries] == [first, second]
    assert [json.loads(e[1]["op"]) for e in entries] == [{"op": "revoke", "timer": "t1"},
                                                         {"op": "revoke_all"}]

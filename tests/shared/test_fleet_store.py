"""FleetStore over a real Redis: decide once, fleet ids, snapshot refresh, timers routed to
the right machine. Machines' records are written here as a station writes them (the contract
in docs/shared-build.md)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis
import redis.asyncio
from harness.redis import RedisServer

from tether_hooks import approvals, grammar, timers
from tether_hooks.errors import NotFound, UsageError
from tether_hooks.shared import orders
from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.keys import Keys


def request(rid: str, **fields: Any) -> dict[str, Any]:
    now = time.time()
    return {"id": rid, "agent": "claude", "event": "PermissionRequest", "session_id": "s-1",
            "cwd": "/srv/proj", "tool_name": "Bash", "tool_input": {"command": "make test"},
            "summary": "make test", "status": "pending", "decision": None,
            "created_at": now, "expires_at": now + 300, **fields}


def publish(client: redis.Redis, keys: Keys, machine: str, *, requests: Any = (),
            sessions: Any = (), timers: Any = ()) -> None:
    """What station ``machine`` writes: its hashes and a rev bump, in one MULTI."""
    pipe = client.pipeline(transaction=True)
    for name, items in ((keys.requests(machine), requests), (keys.sessions(machine), sessions),
                        (keys.timers(machine), timers)):
        for item in items:
            pipe.hset(name, item["id"], json.dumps({**item, "machine": machine}))
    pipe.hincrby(keys.rev, machine, 1)
    pipe.publish(keys.fleet_bell, machine)
    pipe.execute()


@pytest.fixture
def fleet(keys: Keys, client: redis.Redis, tmp_path: Any) -> FleetStore:
    store = FleetStore(keys, client, str(tmp_path / "state.json"))
    return store


def orders_of(client: redis.Redis, keys: Keys, machine: str) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in client.hgetall(keys.orders(machine)).items()}


def ops_of(client: redis.Redis, keys: Keys, machine: str) -> list[dict[str, Any]]:
    return [json.loads(fields["op"]) for _, fields in client.xrange(keys.ops(machine))]


def test_a_request_is_decided_once_and_the_second_gets_the_first_order(
        fleet: FleetStore, client: redis.Redis, keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    assert fleet.refresh()
    first, req = fleet.decide("a1b2", "allow", by="ann", via="telegram")
    assert first and req["id"] == "a1b2@devbox" and req["status"] == "allowed"
    again, req2 = fleet.decide("a1b2@devbox", "deny", by="bob", via="slack")
    assert not again and req2["status"] == "allowed" and req2["decision"]["by"] == "ann"
    (order,) = orders_of(client, keys, "devbox").values()
    assert order["behavior"] == "allow" and order["by"] == "ann"
    # straight through orders.decide: the existing order comes back
    ok, existing = orders.decide(client, keys, "a1b2@devbox",
                                 orders.make_order("deny", by="eve", via="cli"))
    assert not ok and existing["by"] == "ann"


def test_a_settled_record_takes_no_order(fleet: FleetStore, client: redis.Redis,
                                         keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("c3d4", status="answered_in_terminal")])
    fleet.refresh()
    first, req = fleet.decide("c3d4", "allow", by="ann", via="telegram")
    assert not first and req["status"] == "answered_in_terminal"
    assert orders_of(client, keys, "devbox") == {}


def test_an_unknown_request_is_not_found(fleet: FleetStore, client: redis.Redis,
                                         keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    fleet.refresh()
    with pytest.raises(NotFound, match="no request with id 'ffff'"):
        fleet.decide("ffff", "allow", by="ann", via="cli")
    with pytest.raises(NotFound):
        orders.decide(client, keys, ("devbox", "9e9e"), orders.make_order("allow", by="a",
                                                                          via="cli"))
    assert orders_of(client, keys, "devbox") == {}


def test_an_ambiguous_prefix_names_every_match(fleet: FleetStore, client: redis.Redis,
                                               keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    publish(client, keys, "laptop", requests=[request("a1b2")])
    fleet.refresh()
    with pytest.raises(UsageError, match="matches several requests: a1b2@devbox, a1b2@laptop"):
        fleet.find_request("a1")
    assert fleet.find_request("#a1b2@laptop")["machine"] == "laptop"
    assert fleet.find_request("a1@devbox")["local_id"] == "a1b2"


def test_the_snapshot_follows_a_rev_bump(fleet: FleetStore, client: redis.Redis,
                                         keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    assert fleet.refresh()
    seen = fleet.signature()
    assert not fleet.refresh() and fleet.signature() == seen  # nothing new
    publish(client, keys, "devbox", requests=[request("a1b2", status="denied")])
    assert set(fleet.read()["requests"]) == {"a1b2@devbox"}
    assert fleet.read()["requests"]["a1b2@devbox"]["status"] == "pending"  # not refreshed yet
    assert fleet.refresh() and fleet.signature() != seen
    assert fleet.read()["requests"]["a1b2@devbox"]["status"] == "denied"


def test_an_order_written_elsewhere_shows_as_provisional(
        fleet: FleetStore, client: redis.Redis, keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    fleet.refresh()
    assert approvals.pending(fleet)[0]["id"] == "a1b2@devbox"
    orders.decide(client, keys, ("devbox", "a1b2"),
                  orders.make_order("deny", by="bob", via="cli", reason="not now"))
    assert fleet.refresh()
    req = fleet.read()["requests"]["a1b2@devbox"]
    assert req["status"] == "denied" and req.get("delivering") is True
    assert req["decision"]["reason"] == "not now"
    assert approvals.pending(fleet) == []


def test_a_timer_like_a_request_goes_to_its_machine_and_a_cli_one_to_every_machine(
        fleet: FleetStore, client: redis.Redis, keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2")])
    fleet.refresh()
    drafted = timers.draft_like(fleet.find_request("a1b2"), "tool", "30m", created_by="ann")
    assert drafted.get("machine") == "devbox"
    sent, allowed = fleet.add_drafted(drafted)
    assert allowed == [] and sent["id"]
    (op,) = ops_of(client, keys, "devbox")
    assert op["op"] == "timer" and op["timer"]["tool"] == "bash"
    assert op["timer"]["session_id"] == "s-1" and op["timer"]["machine"] == "devbox"
    assert client.hlen(keys.fleet_timers) == 0

    everywhere, _ = fleet.add_drafted(timers.draft("bash", "1h", created_by="ann",
                                                   prefix="git status*"))
    assert everywhere["origin"] == "fleet" and len(everywhere["id"]) == 6
    stored = json.loads(client.hget(keys.fleet_timers, everywhere["id"]) or "{}")
    assert stored["prefix"] == "git status*" and "machine" not in stored
    assert len(ops_of(client, keys, "devbox")) == 1  # no op for a fleet timer
    with pytest.raises(UsageError, match="belong to one machine"):
        fleet.add_drafted(timers.draft("session", "1h", created_by="ann", session_id="s-1"))


def test_a_dir_timer_for_another_machines_directory_is_drafted_here(
        fleet: FleetStore, client: redis.Redis, keys: Keys) -> None:
    publish(client, keys, "devbox", requests=[request("a1b2", cwd="/nowhere/on/this/host")])
    fleet.refresh()
    first, req, added = fleet.decide_with_timer(
        "a1b2", "allow", by="ann", via="telegram",
        timer=timers.draft_like(fleet.find_request("a1b2"), "dir", "1h", created_by="ann"))
    assert first and added is not None and added[0]["path"] == "/nowhere/on/this/host"
    (order,) = orders_of(client, keys, "devbox").values()
    assert order["timer"]["scope"] == "dir" and order["timer"]["machine"] == "devbox"


def test_revoke_a_fleet_timer_and_another_machines_timer(
        fleet: FleetStore, client: redis.Redis, keys: Keys) -> None:
    now = time.time()
    local = {"id": "7f3a", "scope": "tool", "tool": "bash", "session_id": None,
             "created_at": now, "expires_at": now + 600, "created_by": "ann"}
    publish(client, keys, "devbox", timers=[local])
    everywhere = fleet.add_fleet(timers.draft("tool", "1h", created_by="ann", tool="Read"))
    fleet.refresh()
    assert {t.get("machine") for t in fleet.read()["timers"].values()} == {"devbox", "all"}
    (gone,) = fleet.revoke(everywhere["id"][:4])
    assert gone["id"] == everywhere["id"] and client.hlen(keys.fleet_timers) == 0
    (gone,) = fleet.revoke("7f3a")
    assert gone["machine"] == "devbox"
    assert ops_of(client, keys, "devbox") == [{"op": "revoke", "timer": "7f3a"}]
    with pytest.raises(NotFound):
        fleet.revoke(everywhere["id"])


def test_set_session_is_an_op_to_its_machine(fleet: FleetStore, client: redis.Redis,
                                             keys: Keys) -> None:
    publish(client, keys, "devbox", sessions=[{"id": "s-1", "agent": "claude",
                                               "status": "active"}])
    fleet.refresh()
    stop = {"by": "ann", "via": "telegram", "at": 1.0}
    session = fleet.set_session("s-1", stop=stop)
    assert session is not None and session["stop"] == stop
    assert ops_of(client, keys, "devbox") == [
        {"op": "session", "session": "s-1", "fields": {"stop": stop}}]
    assert fleet.set_session("nope", stop=stop) is None


def test_chat_text_names_a_request_by_its_fleet_id_or_its_unique_local_id() -> None:
    pending = {"a1b2@devbox", "c3d4@devbox", "c3d4@laptop"}
    assert grammar.parse("allow a1b2", pending) == grammar.Command(
        "allow", request_id="a1b2@devbox")
    assert grammar.parse("deny #c3d4@laptop: not there", pending) == grammar.Command(
        "deny", request_id="c3d4@laptop", reason="not there")
    ambiguous = grammar.parse("deny c3d4", pending)  # on two machines: names neither
    assert ambiguous is not None and ambiguous.request_id is None
    assert grammar.parse("allow a1b2@laptop", pending) is None  # no such request there
    assert grammar.parse("allow 7f3a@devbox").request_id == "7f3a@devbox"  # type: ignore[union-attr]


def test_follow_refreshes_when_a_machine_rings(fleet: FleetStore, client: redis.Redis,
                                               keys: Keys, redis_server: RedisServer) -> None:
    async def scenario() -> set[str]:
        aclient = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
        changed = asyncio.Event()
        task = asyncio.create_task(fleet.follow(aclient, changed.set))
        try:
            await asyncio.sleep(0)  # (the first refresh finds nothing: no change)
            publish(client, keys, "devbox", requests=[request("e5f6")])
            await asyncio.wait_for(changed.wait(), 3)
            return set(fleet.read()["requests"])
        finally:
            task.cancel()
            await aclient.aclose()

    assert asyncio.run(scenario()) == {"e5f6@devbox"}

"""A station's records go to Redis (Forwarder) and the orders and operations written for
it come back into its store (Applier): two machines are two stores on one real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from harness.redis import RedisServer
from harness.waiting import until_async

from tether_hooks.errors import NotFound
from tether_hooks.shared import orders
from tether_hooks.shared.apply import Applier
from tether_hooks.shared.client import connect, connect_sync
from tether_hooks.shared.forward import Forwarder
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.store import Store

TOKEN = "ghp_" + "Q7w8E9r0T1" * 3 + "y2U3i4"
REQ = {"agent": "claude", "event": "PermissionRequest", "session_id": "s-1", "cwd": "/tmp",
       "tool_name": "Bash", "tool_input": {"command": f"GITHUB_TOKEN={TOKEN} gh pr list"}}


def run(coro: Awaitable[Any], timeout: float = 20) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


@pytest.fixture
def settings(redis_server: RedisServer, namespace: str) -> SharedSettings:
    return SharedSettings(url=redis_server.url, machine="dev-box", namespace=namespace)


@pytest.fixture
def keys(namespace: str) -> Keys:
    return Keys(namespace)


def machine(tmp_path: Path, name: str) -> Store:
    return Store(path=str(tmp_path / name / "state.json"))


@contextlib.asynccontextmanager
async def client(settings: SharedSettings) -> AsyncIterator[redis.asyncio.Redis]:
    c = connect(settings)
    try:
        yield c
    finally:
        await c.aclose()


ALLOW = {"behavior": "allow", "by": "alice", "via": "telegram", "reason": None,
         "status": None, "extra": None, "timer": None}


def test_forwarder_sends_redacted_changes_and_removes_what_the_store_dropped(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)

    async def scenario() -> None:
        async with client(settings) as c:
            fwd = Forwarder(c, keys, "dev-box", store)
            first = store.add_request(REQ, 60)
            assert await fwd.sync()
            stored = json.loads(sync.hget(keys.requests("dev-box"), first["id"]) or "{}")
            assert stored["status"] == "pending" and stored["machine"] == "dev-box"
            assert TOKEN not in json.dumps(stored) and "pid" not in stored
            assert sync.hget(keys.rev, "dev-box") == "1"
            assert not await fwd.sync()  # nothing changed: nothing written
            assert sync.hget(keys.rev, "dev-box") == "1"
            assert sync.ttl(keys.requests("dev-box")) > 86000

            second = store.add_request(REQ, 60)
            with store.edit() as data:  # the store drops the first (as pruning does)
                del data["requests"][first["id"]]
            assert await fwd.sync()
            assert sorted(sync.hkeys(keys.requests("dev-box"))) == [second["id"]]
            assert sync.hget(keys.rev, "dev-box") == "2"

            sync.hset(keys.requests("dev-box"), "zzzz", "{}")  # something Redis should not hold
            await fwd.sync(full=True)
            assert sorted(sync.hkeys(keys.requests("dev-box"))) == [second["id"]]
            assert list(sync.hgetall(keys.sessions("dev-box"))) == ["s-1"]

    run(scenario())


def test_local_fleet_timer_copies_are_not_forwarded(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    store.add_timer("tool", 600, created_by="me", tool="Read")
    store.sync_fleet_timers({"f00001": {"id": "f00001", "scope": "tool", "tool": "grep",
                                        "tool_label": "Grep", "created_at": 1.0,
                                        "expires_at": 9e9, "created_by": "alice"}})

    async def scenario() -> None:
        async with client(settings) as c:
            await Forwarder(c, keys, "dev-box", store).sync()

    run(scenario())
    shown = [json.loads(v) for v in connect_sync(settings).hvals(keys.timers("dev-box"))]
    assert [(t["tool"], t["machine"]) for t in shown] == [("read", "dev-box")]


def test_an_order_is_applied_once_even_scanned_twice_and_after_a_restart(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)
    cursor = str(tmp_path / "dev-box" / "shared.json")
    woken: list[str] = []

    async def scenario() -> str:
        async with client(settings) as c:
            request = store.add_request(REQ, 60)
            await Forwarder(c, keys, "dev-box", store).sync()
            first, order = orders.decide(sync, keys, f"{request['id']}@dev-box", dict(ALLOW))
            assert first and order["behavior"] == "allow"
            again, existing = orders.decide(sync, keys, ("dev-box", request["id"]),
                                            {**ALLOW, "behavior": "deny", "by": "bob"})
            assert not again and existing["by"] == "alice"  # one order per request, ever
            applier = Applier(c, keys, "dev-box", store, woken.append, cursor_path=cursor)
            await applier.scan()
            await applier.scan()
            await Applier(c, keys, "dev-box", store, woken.append, cursor_path=cursor).scan()
            return str(request["id"])

    rid = run(scenario())
    assert woken == [rid]
    decided = store.find_request(rid)
    assert decided["status"] == "allowed" and decided["decision"]["by"] == "alice"
    assert decided["decision"]["via"] == "telegram"


def test_an_unknown_request_cannot_be_decided(settings: SharedSettings, keys: Keys) -> None:
    with pytest.raises(NotFound, match="ffff@dev-box"):
        orders.decide(connect_sync(settings), keys, "ffff@dev-box", dict(ALLOW))
    assert not connect_sync(settings).exists(keys.orders("dev-box"))


def test_terminal_answer_first_stays_and_a_later_order_changes_nothing(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)
    woken: list[str] = []

    async def scenario() -> None:
        async with client(settings) as c:
            fwd = Forwarder(c, keys, "dev-box", store)
            request = store.add_request(REQ, 60)
            await fwd.sync()
            store.decide(request["id"], "ask", by="terminal", via="terminal",
                         status="answered_in_terminal")
            # the leader has not seen it yet: its order is written, and must change nothing
            assert orders.decide(sync, keys, ("dev-box", request["id"]), dict(ALLOW))[0]
            await Applier(c, keys, "dev-box", store, woken.append,
                          cursor_path=str(tmp_path / "c.json")).scan()
            assert store.find_request(request["id"])["status"] == "answered_in_terminal"
            await fwd.sync()
            shared = json.loads(sync.hget(keys.requests("dev-box"), request["id"]) or "{}")
            assert shared["status"] == "answered_in_terminal"

    run(scenario())
    assert woken == []


def test_an_order_for_an_earlier_request_with_the_same_id_is_never_applied(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)

    async def scenario() -> None:
        async with client(settings) as c:
            old = store.add_request(REQ, 60)
            await Forwarder(c, keys, "dev-box", store).sync()
            assert orders.decide(sync, keys, ("dev-box", old["id"]), dict(ALLOW))[0]
            new = store.add_request({**REQ, "tool_input": {"command": "rm -rf /"}}, 60)
            with store.edit() as data:  # the old one pruned, its id given to the new one
                del data["requests"][old["id"]]
                data["requests"][old["id"]] = {**data["requests"].pop(new["id"]),
                                               "id": old["id"]}
            await Applier(c, keys, "dev-box", store, lambda rid: None,
                          cursor_path=str(tmp_path / "c.json")).scan()
            assert store.find_request(old["id"])["status"] == "pending"
            assert sync.hget(keys.orders("dev-box"), old["id"]) is None  # dropped

    run(scenario())


def test_order_timer_is_added_here_and_this_machines_never_list_still_refuses(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)
    never = {**REQ, "never": ["Bash"]}  # never_auto_approve = ["Bash"] on this machine

    async def scenario() -> None:
        async with client(settings) as c:
            asked = store.add_request(never, 60)
            waiting = store.add_request(never, 60)
            await Forwarder(c, keys, "dev-box", store).sync()
            timer = {"id": "", "scope": "tool", "session_id": "s-1", "tool": "bash",
                     "tool_label": "Bash", "created_at": 1e9, "expires_at": 9e9,
                     "created_by": "alice", "key": "tg:77"}
            orders.decide(sync, keys, ("dev-box", asked["id"]), {**ALLOW, "timer": timer})
            await Applier(c, keys, "dev-box", store, lambda rid: None,
                          cursor_path=str(tmp_path / "c.json")).scan()
            assert store.find_request(asked["id"])["status"] == "allowed"
            (added,) = store.read()["timers"].values()
            assert added["key"] == "tg:77" and added["session_id"] == "s-1"
            assert store.find_request(waiting["id"])["status"] == "pending"

    run(scenario())


def test_operations_apply_once_in_order(
        tmp_path: Path, settings: SharedSettings, keys: Keys) -> None:
    store = machine(tmp_path, "dev-box")
    sync = connect_sync(settings)
    cursor = tmp_path / "dev-box" / "shared.json"
    woken: list[str] = []
    kept = store.add_timer("tool", 600, created_by="me", tool="Read")[0]
    pending = store.add_request({**REQ, "tool_input": {"command": "make"}}, 60)
    store.touch_session(REQ)
    timer = {"id": "", "scope": "bash", "prefix": "make", "created_at": 1e9,
             "expires_at": 9e9, "created_by": "bob"}

    async def scenario() -> None:
        async with client(settings) as c:
            orders.send_op(sync, keys, "dev-box", {"op": "revoke", "timer": kept["id"]})
            orders.send_op(sync, keys, "dev-box", {"op": "timer", "timer": timer})
            orders.send_op(sync, keys, "dev-box", {"op": "session", "session": "s-1",
                                                   "fields": {"stop": {"by": "bob",
                                                                       "via": "slack",
                                                                       "at": 1.0}}})
            await Applier(c, keys, "dev-box", store, woken.append,
                          cursor_path=str(cursor)).scan()
            os.unlink(cursor)  # as if it crashed before saving its cursor: all replayed
            await Applier(c, keys, "dev-box", store, woken.append,
                          cursor_path=str(cursor)).scan()

    run(scenario())
    data = store.read()
    assert [t["prefix"] for t in data["timers"].values()] == ["make"]  # one, not two
    assert data["requests"][pending["id"]]["status"] == "allowed"
    assert woken == [pending["id"]]
    assert data["sessions"]["s-1"]["stop"]["by"] == "bob"
    assert json.loads(cursor.read_text())["ops"] == sync.xrevrange(keys.ops("dev-box"))[0][0]


def test_run_loops_survive_redis_stopping_and_then_deliver(
        tmp_path: Path, redis_server: RedisServer, settings: SharedSettings,
        keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    store = machine(tmp_path, "dev-box")
    woken: list[str] = []

    async def scenario() -> None:
        async with client(settings) as c:
            fwd = Forwarder(c, keys, "dev-box", store)
            app = Applier(c, keys, "dev-box", store, woken.append,
                          cursor_path=str(tmp_path / "c.json"))
            tasks = [asyncio.create_task(fwd.run(poll=0.05)),
                     asyncio.create_task(app.run(interval=0.1))]
            try:
                await asyncio.to_thread(redis_server.stop)
                request = store.add_request(REQ, 60)  # made while Redis is down
                fwd.wake()
                await asyncio.sleep(0.5)  # the loops meet the outage
                assert not any(t.done() for t in tasks)
            finally:
                await asyncio.to_thread(redis_server.start)
            sync = connect_sync(settings)
            await until_async(lambda: sync.hexists(keys.requests("dev-box"), request["id"]),
                              what="the request forwarded after Redis came back")
            orders.decide(sync, keys, ("dev-box", request["id"]), dict(ALLOW))
            await until_async(lambda: woken, what="the order applied")
            assert not any(t.done() for t in tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert store.find_request(request["id"])["status"] == "allowed"

    run(scenario(), timeout=40)
    failures = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert any("forwarding" in m for m in failures)
    assert all(redis_server.password not in r.getMessage() for r in caplog.records)

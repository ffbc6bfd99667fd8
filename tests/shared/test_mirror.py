"""Timers for every machine (``tmr:all``) mirrored into a machine's store: they allow what
they cover there, a revocation (HDEL) removes the copy, the machine's own never list still
refuses, and without Redis for the grace period the copies are dropped."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from harness.redis import RedisServer
from harness.waiting import until_async

from tether_hooks import heartbeat, paths, rules
from tether_hooks.shared.client import connect, connect_sync
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.mirror import Mirror
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.store import Store

REQ = {"agent": "claude", "event": "PermissionRequest", "session_id": "s-1", "cwd": "/tmp",
       "tool_name": "Bash", "tool_input": {"command": "make test"}}


def run(coro: Awaitable[Any], timeout: float = 20) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


@pytest.fixture
def settings(redis_server: RedisServer, namespace: str) -> SharedSettings:
    return SharedSettings(url=redis_server.url, machine="dev-box", namespace=namespace)


def fleet_timer(**over: object) -> str:
    now = time.time()
    timer = {"id": "f1a2b3", "scope": "bash", "prefix": "make test", "created_at": now,
             "expires_at": now + 600, "created_by": "alice", "origin": "fleet",
             "session_id": None, "path": None}
    return json.dumps({**timer, **over})


def fleet_copies(store: Store) -> dict[str, dict[str, Any]]:
    return {k: dict(t) for k, t in store.read()["timers"].items() if t.get("origin") == "fleet"}


def test_a_fleet_timer_allows_a_covered_request_and_its_revocation_removes_the_copy(
        tmp_path: Path, settings: SharedSettings) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    store = Store(path=str(tmp_path / "dev-box" / "state.json"))
    os.makedirs(paths.state_dir(), exist_ok=True)
    heartbeat.beat()  # this machine's listener runs (a copy allows only then)
    mine = store.add_timer("tool", 600, created_by="me", tool="Read")[0]
    pending = store.add_request(REQ, 60)
    other = store.add_request({**REQ, "tool_input": {"command": "rm -rf /"}}, 60)
    woken: list[str] = []

    async def scenario() -> None:
        c = connect(settings)
        task = asyncio.create_task(Mirror(c, keys, store, on_decided=woken.append).run(
            interval=0.1))
        try:
            sync.hset(keys.fleet_timers, "f1a2b3", fleet_timer())
            sync.publish(keys.fleet_bell, "*")
            await until_async(lambda: fleet_copies(store), what="the fleet timer mirrored")
            sync.hdel(keys.fleet_timers, "f1a2b3")
            await until_async(lambda: not fleet_copies(store), what="the copy removed")
            assert not task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await c.aclose()

    run(scenario())
    data = store.read()
    assert data["requests"][pending["id"]]["status"] == "allowed"
    assert data["requests"][pending["id"]]["decision"]["timer_id"] == "f1a2b3"
    assert data["requests"][other["id"]]["status"] == "pending"  # not covered
    assert woken == [pending["id"]]
    assert list(data["timers"]) == [mine["id"]]  # the machine's own timer untouched


def test_the_machines_never_list_still_refuses_a_fleet_timer(
        tmp_path: Path, settings: SharedSettings) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    store = Store(path=str(tmp_path / "dev-box" / "state.json"))
    refused = store.add_request({**REQ, "never": ["Bash", *rules.DEFAULT_NEVER]}, 60)
    sync.hset(keys.fleet_timers, "f1a2b3", fleet_timer())

    async def scenario() -> list[Any]:
        c = connect(settings)
        try:
            return await Mirror(c, keys, store).sync()
        finally:
            await c.aclose()

    assert run(scenario()) == []
    assert list(fleet_copies(store)) == ["f1a2b3"]  # mirrored, and still refused
    assert store.find_request(refused["id"])["status"] == "pending"


@pytest.mark.parametrize("bad", [
    {"scope": "dir", "path": "/", "prefix": None},  # directories are per machine
    {"session_id": "s-1"},  # so are sessions
    {"expires_at": 1.0},  # expired
    {"scope": "tool", "tool": "*", "prefix": None, "path": "/tmp"},
])
def test_only_live_tool_and_bash_timers_for_no_session_or_directory_are_mirrored(
        tmp_path: Path, settings: SharedSettings, bad: dict[str, object]) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    store = Store(path=str(tmp_path / "dev-box" / "state.json"))
    pending = store.add_request(REQ, 60)
    sync.hset(keys.fleet_timers, "f1a2b3", fleet_timer(**bad))

    async def scenario() -> None:
        c = connect(settings)
        try:
            await Mirror(c, keys, store).sync()
        finally:
            await c.aclose()

    run(scenario())
    assert fleet_copies(store) == {}
    assert store.find_request(pending["id"])["status"] == "pending"


def test_copies_are_dropped_after_the_grace_without_redis_and_come_back(
        tmp_path: Path, redis_server: RedisServer, settings: SharedSettings,
        caplog: pytest.LogCaptureFixture) -> None:
    keys, sync = Keys(settings.namespace), connect_sync(settings)
    store = Store(path=str(tmp_path / "dev-box" / "state.json"))
    sync.hset(keys.fleet_timers, "f1a2b3", fleet_timer())

    async def scenario() -> None:
        c = connect(settings)
        task = asyncio.create_task(Mirror(c, keys, store, grace=0.5).run(interval=0.1))
        try:
            await until_async(lambda: fleet_copies(store), what="the fleet timer mirrored")
            try:
                await asyncio.to_thread(redis_server.stop)
                await until_async(lambda: not fleet_copies(store), what="the copies dropped")
                assert not task.done()
            finally:
                await asyncio.to_thread(redis_server.start)
            await until_async(lambda: fleet_copies(store), what="the copy back with Redis")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await c.aclose()

    run(scenario())
    assert any("no longer apply here" in r.getMessage() for r in caplog.records)
    assert all(redis_server.password not in r.getMessage() for r in caplog.records)

"""Notices from every machine, followed by the leader: replies reach the machine that
waits, a stale note is dropped, a note a dead leader took is handled by the next one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Any

import pytest
from harness.redis import RedisServer

from tether_hooks.shared.client import connect, connect_sync
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.notes import GROUP, Notes
from tether_hooks.shared.settings import SharedSettings

TOKEN = "ghp_" + "Z9y8X7w6V5" * 3 + "u4T3s2"


def run(coro: Awaitable[Any], timeout: float = 20) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


@pytest.fixture
def settings(redis_server: RedisServer, namespace: str) -> SharedSettings:
    return SharedSettings(url=redis_server.url, machine="dev-box", namespace=namespace)


def test_a_note_that_waits_gets_the_leaders_reply(settings: SharedSettings) -> None:
    keys = Keys(settings.namespace)
    seen: list[dict[str, Any]] = []

    async def handle(note: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(note)
        return {"ok": True, "reply": f"keep going on {note['machine']}"}

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        station, leader = connect(settings), connect(settings)
        follower = asyncio.create_task(Notes(leader, keys, "laptop").follow("laptop", handle))
        try:
            notes = Notes(station, keys, "dev-box")
            told = await notes.send("waiting", {"text": f"idle; export GITHUB_TOKEN={TOKEN}"})
            answered = await notes.send("finished", {"text": "done"}, wait=5)
            return told, answered
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
            await station.aclose()
            await leader.aclose()

    told, answered = run(scenario())
    assert told == {"ok": True, "reply": None}
    assert answered == {"ok": True, "reply": "keep going on dev-box"}
    assert [(n["kind"], n["body"]["text"], n["wait_id"] is None) for n in seen] == [
        ("waiting", "idle; export GITHUB_TOKEN=«secret: GitHub token»", True),
        ("finished", "done", False)]
    assert TOKEN not in json.dumps(connect_sync(settings).xrange(keys.notes))
    sync = connect_sync(settings)
    assert sync.hlen(keys.replies("dev-box")) == 0  # taken
    assert sync.xpending(keys.notes, GROUP)["pending"] == 0  # all acknowledged


def test_a_stale_note_is_acknowledged_and_dropped(settings: SharedSettings) -> None:
    keys = Keys(settings.namespace)
    sync = connect_sync(settings)
    old_ms = int(time.time() * 1000) - 200_000  # written 200 s ago (by Redis's clock)
    note = {"machine": "dev-box", "kind": "waiting", "body": {"text": "old"}, "wait_id": None,
            "at": time.time() - 200}
    sync.xadd(keys.notes, {"note": json.dumps(note)}, id=f"{old_ms}-0")
    sync.xadd(keys.notes, {"note": json.dumps({**note, "body": {"text": "new"}})})
    seen: list[str] = []

    async def handle(n: dict[str, Any]) -> None:
        seen.append(n["body"]["text"])

    async def scenario() -> None:
        c = connect(settings)
        try:
            notes = Notes(c, keys, "laptop")
            await notes._group()
            assert await notes.round("laptop", handle, block=0.1) == 2
        finally:
            await c.aclose()

    run(scenario())
    assert seen == ["new"]
    assert sync.xpending(keys.notes, GROUP)["pending"] == 0


def test_a_note_a_dead_leader_took_is_handled_by_the_next(settings: SharedSettings) -> None:
    keys = Keys(settings.namespace)
    seen: list[str] = []

    async def dies(n: dict[str, Any]) -> None:
        raise RuntimeError("the old leader's chat is gone")

    async def posts(n: dict[str, Any]) -> None:
        seen.append(n["body"]["text"])

    async def scenario() -> None:
        c = connect(settings)
        try:
            await Notes(c, keys, "dev-box").send("error", {"text": "boom"})
            old = Notes(c, keys, "laptop", claim_idle=0.2)
            await old._group()
            assert await old.round("laptop", dies, block=0.1) == 0  # left pending
            await asyncio.sleep(0.3)  # idle past claim_idle
            new = Notes(c, keys, "ci", claim_idle=0.2)
            assert await new.round("ci", posts, block=0.1) == 1
        finally:
            await c.aclose()

    run(scenario())
    assert seen == ["boom"]


def test_follow_survives_redis_stopping(redis_server: RedisServer,
                                       settings: SharedSettings) -> None:
    keys = Keys(settings.namespace)
    seen: list[str] = []

    async def handle(n: dict[str, Any]) -> None:
        seen.append(n["body"]["text"])

    async def scenario() -> None:
        c = connect(settings)
        follower = asyncio.create_task(Notes(c, keys, "laptop").follow("laptop", handle))
        try:
            await asyncio.sleep(0.2)
            try:
                await asyncio.to_thread(redis_server.stop)
                await asyncio.sleep(0.5)
                assert not follower.done()
            finally:
                await asyncio.to_thread(redis_server.start)
            await Notes(c, keys, "dev-box").send("info", {"text": "after"})
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert not follower.done()
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
            await c.aclose()

    run(scenario())
    assert seen == ["after"]

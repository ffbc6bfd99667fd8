"""Leader election and fencing against the real Redis server (``redis_server``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.asyncio
from harness.redis import RedisServer
from harness.waiting import until_async

from tether_hooks.shared.keys import Keys
from tether_hooks.shared.leader import Elector, Lease, NotLeader, fenced_set, lease_clock


class Station:
    """One candidate: its elector and what it was told."""

    def __init__(self, server: RedisServer, keys: Keys, name: str, **options: Any) -> None:
        self.name = name
        self.client = redis.asyncio.Redis.from_url(server.url, decode_responses=True,
                                                   socket_timeout=5)
        self.leases: list[Lease] = []
        self.deposed: list[float] = []
        self.on_deposed_hook: Callable[[], Awaitable[None]] | None = None
        self.elector = Elector(self.client, keys, f"{name}:1:0a1b2c3d", self._elected,
                               self._deposed, **options)
        self.task: asyncio.Task[None] | None = None

    async def _elected(self, lease: Lease) -> None:
        self.leases.append(lease)

    async def _deposed(self) -> None:
        self.deposed.append(lease_clock())
        if self.on_deposed_hook is not None:
            await self.on_deposed_hook()

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.elector.run())

    @property
    def leading(self) -> bool:
        return self.elector.lease is not None

    async def stop(self) -> None:
        await self.elector.release()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)
        await self.client.aclose()


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def test_exactly_one_leader_among_three(redis_server: RedisServer, namespace: str) -> None:
    keys = Keys(namespace)
    sync = redis_server.client()

    async def body() -> None:
        stations = [Station(redis_server, keys, n, renew_every=0.1, campaign_every=0.1)
                    for n in ("laptop", "devbox", "ci")]
        for s in stations:
            s.start()
        try:
            await until_async(lambda: any(s.leases for s in stations), what="a leader")
            leader = next(s for s in stations if s.leases)
            deadline = time.monotonic() + 1.0  # ten renewals and ten campaigns each
            while time.monotonic() < deadline:
                assert [s.name for s in stations if s.leading] == [leader.name]
                await asyncio.sleep(0.05)
            assert [len(s.leases) for s in stations].count(1) == 1
            assert sum(len(s.leases) for s in stations) == 1
            assert sync.get(keys.leader) == leader.elector.token
            assert leader.leases[0].left() > 7.0  # renewed: about the whole 8 s
        finally:
            for s in stations:
                await s.stop()

    run(body)


def test_clean_release_hands_over_at_once(redis_server: RedisServer, namespace: str) -> None:
    keys = Keys(namespace)
    sync = redis_server.client()

    async def body() -> None:
        first = Station(redis_server, keys, "laptop", renew_every=0.2)
        # they campaign every 30 s: only the "free" bell can hand over within 2 s
        others = [Station(redis_server, keys, n, campaign_every=30.0) for n in ("devbox", "ci")]
        first.start()
        await until_async(lambda: first.leases, what="laptop to lead")
        for s in others:
            s.start()
        await until_async(lambda: sync.pubsub_numsub(keys.bell("leader"))[0][1] >= 3,
                          what="everyone to listen for the bell")
        try:
            released = time.monotonic()
            await first.stop()
            await until_async(lambda: any(s.leases for s in others), timeout=2.0,
                              what="another station to lead within 2 s")
            assert time.monotonic() - released < 2.0
            assert first.deposed == []  # released, not deposed: it closed its bridges itself
            assert first.leases[0].allows(0) is False
            assert sum(len(s.leases) for s in others) == 1
        finally:
            for s in others:
                await s.stop()

    run(body)


def test_failing_renewals_depose_before_the_key_expires(redis_server: RedisServer,
                                                        namespace: str) -> None:
    keys = Keys(namespace)
    sync = redis_server.client()
    watch = redis_server.client()  # reads work while writes are paused

    async def body() -> None:
        leader = Station(redis_server, keys, "laptop", lease_ms=3000, renew_every=0.2)
        seen: dict[str, Any] = {}

        async def on_deposed() -> None:
            seen["pttl"] = watch.pttl(keys.leader)
            seen["allows"] = leader.leases[0].allows(0)

        leader.on_deposed_hook = on_deposed
        leader.start()
        await until_async(lambda: leader.leases, what="laptop to lead")
        paused = time.monotonic()
        sync.execute_command("CLIENT", "PAUSE", "2500", "WRITE")
        try:
            await until_async(lambda: leader.deposed, timeout=5, what="laptop deposed")
            assert time.monotonic() - paused < 2.5  # while Redis still paused its renewals
        finally:
            sync.execute_command("CLIENT", "UNPAUSE")
        assert seen["pttl"] > 0  # its key had not expired
        assert seen["allows"] is False  # and its lease allowed nothing any more
        await leader.stop()

    run(body)


def test_a_stopped_server_deposes_the_leader_and_it_leads_again_after(
        redis_server: RedisServer, namespace: str) -> None:
    keys = Keys(namespace)

    async def body() -> None:
        leader = Station(redis_server, keys, "laptop", lease_ms=3000, renew_every=0.2,
                         campaign_every=0.2)
        leader.start()
        await until_async(lambda: leader.leases, what="laptop to lead")
        redis_server.stop()
        try:
            await until_async(lambda: leader.deposed, timeout=5, what="laptop deposed")
        finally:
            redis_server.start()
        await until_async(lambda: len(leader.leases) == 2, timeout=10, what="leading again")
        await leader.stop()

    run(body)


def test_lease_on_a_clock() -> None:
    now = [100.0]
    lease = Lease("laptop:1:0a1b2c3d", 108.0, clock=lambda: now[0])
    assert lease.left() == 8.0 and lease.allows(5.5) and not lease.allows(8.5)
    now[0] = 103.0
    assert not lease.allows(5.5) and lease.allows(4.0)
    lease.conflict()
    assert not lease.allows(0)  # a 409: nothing until renewed
    lease.renewed(111.0)
    assert lease.allows(5.5) and lease.left() == 8.0
    lease.renewed(109.0)  # an older renewal's answer arriving late never shortens it
    assert lease.left() == 8.0
    lease.end()
    lease.renewed(120.0)
    assert not lease.allows(0)


def test_fenced_set_refuses_a_stale_token(redis_server: RedisServer, namespace: str) -> None:
    keys = Keys(namespace)
    sync: redis.Redis = redis_server.client()
    sync.set(keys.leader, "devbox:2:ffffffff", px=8000)
    with pytest.raises(NotLeader):
        fenced_set(sync, keys, "laptop:1:0a1b2c3d", keys.book, '{"stale": true}')
    assert sync.get(keys.book) is None
    fenced_set(sync, keys, "devbox:2:ffffffff", keys.book, '{"fresh": true}', px=60000)
    assert sync.get(keys.book) == '{"fresh": true}'
    assert 0 < sync.pttl(keys.book) <= 60000
    sync.delete(keys.leader)  # nobody leads: nobody writes
    with pytest.raises(NotLeader):
        fenced_set(sync, keys, "devbox:2:ffffffff", keys.book, "{}")

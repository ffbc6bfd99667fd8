"""Attack (issue 11): one malformed ``machine:{m}`` hash in Redis (a machine that left a
bad ``platforms`` field, another version, a hand edit) makes every station's presence
fail as if Redis were unreachable: after FALLBACK_AFTER a member with chat platforms falls
back to its own platforms while the leader still polls: two pollers, Telegram 409."""

from __future__ import annotations

import time

from emulators.telegram import TelegramEmulator
from harness.fleet import Fleet, leader_of
from harness.redis import RedisServer


def test_a_malformed_machine_hash_makes_a_member_fall_back_and_poll_beside_the_leader(
        fleet: Fleet, telegram_emulator: TelegramEmulator, redis_server: RedisServer,
        namespace: str) -> None:
    laptop, devbox = fleet.machine("laptop"), fleet.machine("devbox")
    laptop.start()
    devbox.start()
    lead = leader_of([laptop, devbox])
    member = devbox if lead is laptop else laptop
    client = redis_server.client()
    prefix = f"th:{namespace}:"
    client.zadd(prefix + "machines", {"ghost": time.time() * 1000})
    client.hset(prefix + "machine:ghost", mapping={"version": "0.9", "platforms": "telegram",
                                                   "state": "member", "beat": "1"})
    time.sleep(20)  # FALLBACK_AFTER is 14 s
    conflicts = [c for c in telegram_emulator.calls("getUpdates") if c.status == 409]
    assert member.role() == "member" and lead.role() == "leader", (
        member.role(), member.health().get("shared"), len(conflicts))
    assert not conflicts, f"{len(conflicts)} getUpdates answered 409 (two pollers)"

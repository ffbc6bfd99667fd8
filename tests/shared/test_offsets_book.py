"""The leader's offsets and chat book in Redis: fenced by the lease's token, carried over
to the next leader (real Redis server)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from emulators.telegram import TelegramEmulator
from harness.redis import RedisServer
from harness.telegram import ALLOWED_USER_ID

from tether_hooks.platforms.base import BridgeContext, Incoming
from tether_hooks.platforms.telegram import TelegramBridge
from tether_hooks.shared.book import SharedBook
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.leader import Lease, NotLeader
from tether_hooks.shared.offsets import SharedOffsets

LAPTOP, DEVBOX = "laptop:1:0a1b2c3d", "devbox:2:ffffffff"
ACCOUNT = "a1b2c3d4e5f60718"
PRESS = {"update_id": 812346, "callback_query": {"id": "q1", "data": "a:1f2e3d4c"}}


def elect(client: redis.Redis, keys: Keys, token: str) -> None:
    """What the elector does: the lease key holds the leader's token."""
    client.set(keys.leader, token, px=8000)


def test_a_held_update_survives_a_leader_change_and_is_applied_once(
        redis_server: RedisServer, namespace: str) -> None:
    keys, client = Keys(namespace), redis_server.client()
    elect(client, keys, LAPTOP)
    first = SharedOffsets(client, keys, LAPTOP)
    first.bind("telegram", ACCOUNT)
    first.done("telegram", 812345)
    first.hold("telegram", [(812346, PRESS)])  # fetched, then the leader froze

    elect(client, keys, DEVBOX)  # its lease expired; devbox was elected
    with pytest.raises(NotLeader):
        first.done("telegram", 812346)  # the old leader's late write never lands
    second = SharedOffsets(client, keys, DEVBOX)
    second.bind("telegram", ACCOUNT)
    assert second.get("telegram") == 812345
    assert second.backlog("telegram") == [PRESS]  # given to dispatch by the new leader
    second.done("telegram", 812346)

    again = SharedOffsets(client, keys, DEVBOX)
    again.bind("telegram", ACCOUNT)
    assert again.backlog("telegram") == []
    assert not again.fresh("telegram", 812346)  # a redelivery from Telegram is dropped
    assert json.loads(client.get(keys.offsets("telegram")) or "{}")["id"] == 812346


def test_keyed_events_and_bridges_kept_apart(redis_server: RedisServer,
                                             namespace: str) -> None:
    keys, client = Keys(namespace), redis_server.client()
    elect(client, keys, LAPTOP)
    first = SharedOffsets(client, keys, LAPTOP)
    first.bind("slack", ACCOUNT)
    first.bind("telegram", ACCOUNT)
    first.hold_keyed("slack", [("slack:E1", {"envelope": 1}), ("slack:E2", {"envelope": 2})])
    first.done_key("slack", "slack:E1")
    first.done("telegram", 7)
    assert client.ttl(keys.offsets("slack")) > 24 * 3600  # forgotten when unused for days

    elect(client, keys, DEVBOX)
    with pytest.raises(NotLeader):
        first.hold_keyed("slack", [("slack:E3", {"envelope": 3})])
    second = SharedOffsets(client, keys, DEVBOX)
    second.bind("slack", ACCOUNT)
    second.bind("telegram", ACCOUNT)
    assert second.held_keys("slack") == ["slack:E2"]  # E3 was never held
    assert not second.fresh_key("slack", "slack:E1")
    assert second.get("telegram") == 7


def test_another_bots_offsets_are_not_used(redis_server: RedisServer, namespace: str) -> None:
    keys, client = Keys(namespace), redis_server.client()
    elect(client, keys, LAPTOP)
    first = SharedOffsets(client, keys, LAPTOP)
    first.bind("telegram", ACCOUNT)
    first.hold("telegram", [(5, {"update_id": 5})])
    second = SharedOffsets(client, keys, LAPTOP)
    second.bind("telegram", "another-bot-token")
    assert second.backlog("telegram") == [] and second.get("telegram") is None


def test_the_chat_book_survives_a_leader_change(redis_server: RedisServer,
                                                namespace: str) -> None:
    keys, client = Keys(namespace), redis_server.client()
    ref = {"bridge": "telegram", "chat_id": "42", "message_id": "7", "thread_id": None,
           "sent_at": None}
    elect(client, keys, LAPTOP)
    first = SharedBook(client, keys, LAPTOP)
    first.stage("a1b2@devbox", "1f2e3d4c")
    first.add_refs("a1b2@devbox", [ref], session_id="s-1")  # type: ignore[list-item]
    first.toggle("a1b2@devbox", 0, "Auth", ["Auth", "Logs"], key="telegram:9")

    elect(client, keys, DEVBOX)
    with pytest.raises(NotLeader):
        first.answer("a1b2@devbox", 0, "late")
    second = SharedBook(client, keys, DEVBOX)
    assert second.by_nonce("1f2e3d4c") == "a1b2@devbox"
    assert second.by_message("telegram", "42", "7") is not None
    assert second.session_chat("s-1") == {"telegram": {"chat_id": "42", "thread_id": None}}
    assert "answers" not in second.request("a1b2@devbox")  # the refused write is not there
    # a replayed toggle (same event) changes nothing under the new leader either
    assert second.toggle("a1b2@devbox", 0, "Auth", ["Auth", "Logs"], key="telegram:9") == [
        "Auth"]


def test_a_corrupt_book_starts_afresh_and_is_replaced(redis_server: RedisServer,
                                                      namespace: str) -> None:
    keys, client = Keys(namespace), redis_server.client()
    elect(client, keys, LAPTOP)
    client.set(keys.book, "{not json")
    book = SharedBook(client, keys, LAPTOP)
    assert book.by_nonce("1f2e3d4c") is None
    book.stage("a1b2@laptop", "1f2e3d4c")
    book.update("a1b2@laptop", shown=True)
    assert json.loads(client.get(keys.book) or "{}")["requests"]["a1b2@laptop"]["nonce"] == (
        "1f2e3d4c")


def test_telegram_updates_a_deposed_leader_cannot_hold_never_reach_dispatch(
        redis_server: RedisServer, namespace: str, telegram_emulator: TelegramEmulator) -> None:
    emu, keys, client = telegram_emulator, Keys(namespace), redis_server.client()
    elect(client, keys, DEVBOX)  # laptop still believes it leads (its lease says so)
    held = Lease(LAPTOP, time.monotonic() + 60, clock=time.monotonic)
    section = {"bot_token": emu.token, "chat_id": ALLOWED_USER_ID,
               "allowed_user_ids": [ALLOWED_USER_ID], "api_base": emu.base_url,
               "retry_delay": 0.05}

    async def main() -> None:
        bridge = TelegramBridge(BridgeContext(
            section, inbox=SharedOffsets(client, keys, LAPTOP), lease=held))
        events: asyncio.Queue[Incoming] = asyncio.Queue()
        await bridge.start(events.put)
        try:
            emu.send_text(ALLOWED_USER_ID, "allow")
            await asyncio.to_thread(emu.wait_until, lambda: any(
                c.result for c in emu.calls("getUpdates")), 5.0, "the update fetched")
            with pytest.raises(TimeoutError):  # fetched, refused by Redis, not applied
                await asyncio.wait_for(events.get(), 0.5)
            assert emu.pending_updates  # nor confirmed to Telegram: the leader gets it
            assert client.get(keys.offsets("telegram")) is None
            elect(client, keys, LAPTOP)  # (here: laptop leads again) the retry holds it
            event = await asyncio.wait_for(events.get(), 10)
            assert event.data == "allow"
        finally:
            await bridge.close()

    asyncio.run(main())

"""Several machines, one bot: a bridge given a lease waits on its platform only while the
lease allows it (the real SDKs against the platform emulators; the real
``shared.leader.Lease`` on the monotonic clock)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import pytest
from emulators.discord import DiscordEmulator
from emulators.slack import SlackEmulator
from emulators.telegram import TelegramEmulator
from harness.discord import ALICE as DISCORD_ALICE
from harness.discord import Dispatch as DiscordDispatch
from harness.discord import drive as discord_drive
from harness.slack import CHANNEL
from harness.slack import Dispatch as SlackDispatch
from harness.slack import drive as slack_drive
from harness.slack import wait as slack_wait
from harness.telegram import ALLOWED_USER_ID
from harness.waiting import until_async

from tether_hooks.listener.offsets import Offsets
from tether_hooks.platforms.base import BridgeContext, Button, Incoming
from tether_hooks.platforms.discord import DiscordBridge
from tether_hooks.platforms.slack import SlackBridge
from tether_hooks.platforms.telegram import TelegramBridge
from tether_hooks.shared.leader import Lease

ALICE = ALLOWED_USER_ID


def config(emu: TelegramEmulator, **extra: Any) -> dict[str, Any]:
    return {"bot_token": emu.token, "chat_id": ALICE, "allowed_user_ids": [ALICE],
            "api_base": emu.base_url, "poll_timeout": 10, "retry_delay": 0.05, **extra}


def lease(allowed: bool) -> Lease:
    now = time.monotonic()
    return Lease("laptop:1:0a1b2c3d", now + 8 if allowed else now - 1, clock=time.monotonic)


def raw_get_updates(emu: TelegramEmulator) -> None:
    """Another program polls the bot (its open poll is ended with 409)."""
    req = urllib.request.Request(f"{emu.base_url}{emu.token}/getUpdates",
                                 data=json.dumps({"timeout": 0}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5):
        pass


async def started(emu: TelegramEmulator, held: Lease) -> tuple[TelegramBridge,
                                                                asyncio.Queue[Incoming]]:
    bridge = TelegramBridge(BridgeContext(config(emu), lease=held))
    events: asyncio.Queue[Incoming] = asyncio.Queue()
    await bridge.start(events.put)
    return bridge, events


def test_no_get_updates_until_the_lease_allows_then_short_polls(telegram_emulator) -> None:
    emu = telegram_emulator
    held = lease(allowed=False)

    async def main() -> None:
        bridge, events = await started(emu, held)
        try:
            assert emu.calls("getMe")  # started: the token was checked
            with pytest.raises(TimeoutError):  # the gate looks every 0.1 s: chances to poll
                await asyncio.to_thread(emu.wait_for_poll, 0.6)
            assert emu.calls("getUpdates") == []
            emu.send_text(ALICE, "hello")
            held.renewed(time.monotonic() + 8)
            event = await asyncio.wait_for(events.get(), 10)
            assert (event.kind, event.data) == ("text", "hello")
            polls = emu.calls("getUpdates")
            assert polls and all(int(c.params.get("timeout", 0)) <= held.max_wait
                                 for c in polls)  # capped from the configured 10 s
            held.end()  # deposed: not even PTB's confirming call on close goes out
            count = len(emu.calls("getUpdates"))
        finally:
            await bridge.close()
        assert len(emu.calls("getUpdates")) == count

    asyncio.run(main())


def test_a_409_is_told_to_the_lease_and_polling_waits_for_the_renewal(
        telegram_emulator) -> None:
    emu = telegram_emulator
    held = lease(allowed=True)

    async def main() -> None:
        bridge, events = await started(emu, held)
        try:
            await asyncio.to_thread(emu.wait_for_poll)
            await asyncio.to_thread(raw_get_updates, emu)
            await until_async(lambda: not held.allows(0), what="the lease to yield")
            assert any(c.status == 409 for c in emu.calls("getUpdates"))
            count = len(emu.calls("getUpdates"))
            with pytest.raises(TimeoutError):  # PTB retries after 1 s: the gate holds it
                await asyncio.to_thread(emu.wait_for_poll, 1.5)
            assert len(emu.calls("getUpdates")) == count
            emu.send_text(ALICE, "after")
            held.renewed(time.monotonic() + 8)
            event = await asyncio.wait_for(events.get(), 10)
            assert event.data == "after"
        finally:
            await bridge.close()

    asyncio.run(main())


# -- Slack: no hold, no ack while the lease does not allow --------------------------------


def test_slack_leaves_an_envelope_to_slack_while_the_lease_does_not_allow(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.ack_timeout = 0.3  # Slack sends an envelope not acknowledged in time again
    held, inbox = lease(allowed=True), Offsets()
    buttons = [[Button("✅ Allow", "a:1f2e3d4c"), Button("❌ Deny", "d:1f2e3d4c")]]
    req = {"id": "7f3a", "agent": "claude", "session_id": "s-1", "cwd": "/p",
           "tool_name": "Bash", "tool_input": {"command": "make"}}

    async def body(bridge: SlackBridge, d: SlackDispatch) -> None:
        ref = await bridge.post_request(req, buttons)
        held.conflict()  # allows nothing until renewed
        env = await slack_wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        await slack_wait(emu.wait_for_delivery, env.envelope_id, 1)  # sent again: no ack
        assert await d.none_within(0.3)
        assert emu.envelope(env.envelope_id).status != "acked"
        assert inbox.held_keys("slack") == []
        held.renewed(time.monotonic() + 8)
        event = await d.next()
        await slack_wait(emu.wait_for_ack, env.envelope_id)
        assert event.data == "a:1f2e3d4c"

    slack_drive(emu, body, context={"inbox": inbox, "lease": held})


# -- Discord: no read round while the lease does not allow --------------------------------


def test_discord_reads_nothing_while_the_lease_does_not_allow(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    held = lease(allowed=False)

    def reads() -> int:
        return len(emu.calls("GET", rf"/channels/{emu.channel_id}/messages$"))

    async def body(bridge: DiscordBridge, d: DiscordDispatch) -> None:
        emu.post_user_message("!status", DISCORD_ALICE, mention_bot=True)
        assert await d.none_within(1.2)  # polls every 0.5 s: two rounds skipped
        assert reads() == 0
        held.renewed(time.monotonic() + 8)
        event = await d.next()
        assert (event.kind, event.data) == ("command", "status")
        assert reads() > 0

    discord_drive(emu, body, context={"lease": held})

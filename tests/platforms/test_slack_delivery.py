"""SlackBridge's connection against the Slack emulator: envelopes held, acknowledged and
delivered once (re-deliveries, disconnects, a listener killed mid-way), and Web API calls
never repeated when they may have been done (429s waited out, lost answers reported)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from emulators.slack import SlackEmulator
from harness.slack import ALICE, CHANNEL, Dispatch, bridge_for, drive, wait

from tether_hooks.listener.offsets import Offsets
from tether_hooks.platforms.base import (
    BridgeError,
    Button,
    DeliveryUnknown,
    MessageRef,
    RateLimited,
)
from tether_hooks.platforms.slack import SlackBridge

BUTTONS = [[Button("✅ Allow", "a:1f2e3d4c"), Button("❌ Deny", "d:1f2e3d4c")]]


def request(**extra: Any) -> dict[str, Any]:
    return {"id": "7f3a", "agent": "claude", "session_id": "s-1", "cwd": "/p",
            "tool_name": "Bash", "tool_input": {"command": "make"}, **extra}


class SlowInbox(Offsets):
    """The listener's inbox on a slow disk: holding an envelope takes ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.holds = 0

    def hold_keyed(self, bridge: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        self.holds += 1
        time.sleep(self.delay)
        super().hold_keyed(bridge, items)


# -- envelopes --------------------------------------------------------------------------------


def test_an_envelope_acked_late_is_delivered_again_with_the_same_key(
        slack_emulator: SlackEmulator) -> None:
    """Slack re-sends an envelope not acked in time (slack_sdk's builtin client acks late
    after a disconnect): the bridge hands it to dispatch once, and any later delivery has
    the same ``event_key``, so dispatch would drop it."""
    emu = slack_emulator
    emu.ack_timeout = 0.2
    inbox = SlowInbox(0.5)

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[Any, list[str]]:
        ref = await bridge.post_request(request(), BUTTONS)
        env = await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        await wait(emu.wait_for_delivery, env.envelope_id, 1)  # sent again before our ack
        event = await d.next()
        await wait(emu.wait_until, lambda: emu.envelope(env.envelope_id).status == "acked")
        assert await d.none_within(0.8)  # the second delivery was acked and dropped
        again = bridge._accept({"type": "interactive", "envelope_id": "another-id",
                                "payload": env.payload})  # Slack may mint a new envelope id
        assert again is not None
        return event, [bridge.event_key(event), again[0]]

    event, keys = drive(emu, body, context={"inbox": inbox})
    assert event.data == "a:1f2e3d4c" and keys[0] == keys[1]
    assert len(emu.envelope(emu.envelopes("interactive")[0].envelope_id).deliveries) >= 2


def test_envelopes_are_held_before_the_ack_and_dropped_once_applied(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    inbox = Offsets()

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[str, list[str], list[str]]:
        ref = await bridge.post_request(request(), BUTTONS)
        env = await wait(emu.click, CHANNEL, ref.message_id, "tether_0_1")
        await wait(emu.wait_for_ack, env.envelope_id)
        event = await d.next()
        held = inbox.held_keys("slack")
        inbox.done_key("slack", bridge.event_key(event))  # what dispatch does once applied
        return bridge.event_key(event), held, inbox.held_keys("slack")

    key, held, after = drive(emu, body, context={"inbox": inbox})
    assert held == [key] and after == []
    assert not inbox.fresh_key("slack", key)


def test_what_a_killed_listener_held_is_delivered_first_on_the_next_start(
        slack_emulator: SlackEmulator, tether_home: Path) -> None:
    emu = slack_emulator
    inbox = Offsets()

    async def first(bridge: SlackBridge, d: Dispatch) -> MessageRef:
        d.hang = True  # dispatch never finishes: the listener dies before applying it
        ref = await bridge.post_request(request(), BUTTONS)
        env = await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        await wait(emu.wait_for_ack, env.envelope_id)
        await d.next()
        return ref

    ref = drive(emu, first, context={"inbox": inbox})
    assert len(inbox.held_keys("slack")) == 1

    async def second(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        await wait(emu.post_user_message, CHANNEL, "allow", ALICE, ref.thread_id)
        return [await d.next(), await d.next()]

    replayed, text = drive(emu, second, context={"inbox": Offsets()})
    assert (replayed.kind, replayed.data) == ("press", "a:1f2e3d4c")  # the held one, first
    assert (text.kind, text.data) == ("text", "allow")
    assert len(emu.envelopes("interactive")[0].deliveries) == 1  # from the inbox, not Slack


def test_a_disconnect_reconnects_and_the_next_click_arrives(slack_emulator: SlackEmulator
                                                           ) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.disconnect, "refresh_requested")
        await wait(emu.wait_for_connection, 2)
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        after_notice = await d.next()
        await wait(emu.drop_socket)  # no close frame: noticed within a ping interval
        await wait(emu.wait_for_connection, 3, 15)
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_1")
        return [after_notice, await d.next(), bridge.health()]

    one, two, health = drive(emu, body)
    assert (one.data, two.data) == ("a:1f2e3d4c", "d:1f2e3d4c")
    assert health["state"] == "ok" and health["connected"] is True
    assert len(emu.calls("apps.connections.open")) == 3


def test_a_socket_client_that_ended_is_replaced_by_restart_polling(
        slack_emulator: SlackEmulator) -> None:
    """The listener's watchdog (``polling_alive`` / ``restart_polling``) revives a Socket
    Mode client that ended for good; the next click arrives."""
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        ref = await bridge.post_request(request(), BUTTONS)
        alive_before = bridge.polling_alive()
        assert bridge.receiver.client is not None
        await bridge.receiver.client.close()  # type: ignore[no-untyped-call]
        dead = bridge.polling_alive()
        await bridge.restart_polling()
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        return [alive_before, dead, bridge.polling_alive(), (await d.next()).data]

    assert drive(emu, body) == [True, False, True, "a:1f2e3d4c"]
    assert len(emu.calls("apps.connections.open")) == 2


def test_a_click_made_while_no_socket_was_open_arrives_after_the_start(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    ref = drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    emu.click(CHANNEL, ref.message_id, "tether_0_1")  # queued by Slack for the next socket
    event = drive(emu, lambda b, d: d.next())
    assert event.data == "d:1f2e3d4c"


# -- calls that must not be repeated ----------------------------------------------------------


def test_a_429_on_post_is_waited_out_and_posted_once(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.fail_next("chat.postMessage", retry_after=1, times=2)  # the root's post, twice
    started = time.monotonic()
    ref = drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    assert time.monotonic() - started >= 2.0  # Retry-After, each time
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 429, 200, 200]
    assert [m.ts for m in emu.messages(CHANNEL)] == [ref.thread_id, ref.message_id]


def test_a_429_longer_than_max_retry_after_is_rate_limited(slack_emulator: SlackEmulator
                                                           ) -> None:
    emu = slack_emulator
    emu.fail_next("chat.postMessage", retry_after=90)
    with pytest.raises(RateLimited, match="wait 90 s") as info:
        drive(emu, lambda b, d: b.post_notice(None, _notice()), start=False)
    assert info.value.retry_after == 90 and emu.messages(CHANNEL) == []


def test_a_post_whose_answer_was_lost_is_never_sent_again(slack_emulator: SlackEmulator
                                                          ) -> None:
    emu = slack_emulator
    emu.drop_next("chat.postMessage", after=True)  # posted, then the connection dropped
    with pytest.raises(DeliveryUnknown, match="not trying again to post a message"):
        drive(emu, lambda b, d: b.post_notice(None, _notice()), start=False)
    assert len(emu.messages(CHANNEL)) == 1
    assert [c.status for c in emu.calls("chat.postMessage")] == [0]


def test_a_post_that_timed_out_is_unknown_too(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.delay_next("chat.postMessage", 3, after=True)
    with pytest.raises(DeliveryUnknown, match="timed out"):
        drive(emu, lambda b, d: b.post_notice(None, _notice()), start=False, send_timeout=1)
    assert len(emu.calls("chat.postMessage")) == 1


def test_edits_are_idempotent_and_retried(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.drop_next("chat.update", after=True)
        emu.fail_next("chat.update", "internal_error", status=500)
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")
        return ref

    ref = drive(emu, body, start=False)
    assert [c.status for c in emu.calls("chat.update")] == [0, 500, 200]
    assert emu.message(CHANNEL, ref.message_id).buttons() == []


def test_a_slack_that_cannot_be_reached_is_retried_then_reported(tether_home: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    section = {"bot_token": "xoxb-1-2-unreachable", "app_token": "xapp-1-A1-2-unreachable",
               "channel_id": CHANNEL, "allowed_user_ids": [ALICE],
               "api_base": f"http://127.0.0.1:{port}/api/", "retries": 1}

    async def main() -> None:
        from tether_hooks.platforms.base import BridgeContext

        bridge = SlackBridge(BridgeContext(section))
        try:
            await bridge.post_notice(None, _notice())
        finally:
            await bridge.close()

    with pytest.raises(BridgeError, match="cannot reach the Slack API .*connection refused"
                       ) as info:
        asyncio.run(main())
    assert not isinstance(info.value, DeliveryUnknown)  # it never left: nothing to doubt


def _notice() -> Any:
    from tether_hooks.platforms.base import Notice

    return Notice("info", "hello")


def test_the_worker_survives_a_failing_dispatch(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[str]:
        d.fail = True
        await wait(emu.post_user_message, CHANNEL, "one")
        first = await d.next()
        d.fail = False
        await wait(emu.post_user_message, CHANNEL, "two")
        return [first.data, (await d.next()).data]

    assert drive(emu, body) == ["one", "two"]


def test_close_while_connecting_does_not_hang(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def main() -> None:
        bridge = bridge_for(emu)
        task = asyncio.ensure_future(bridge.start(Dispatch()))
        await asyncio.sleep(0)
        await asyncio.wait_for(bridge.close(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())  # returns: nothing waits for a hello that never comes

"""Discord's failures as the user meets them: health, errors and logs say what to do in one
line and never show the bot token or the webhook URL's token. Faults are injected at the
emulator only."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from emulators.discord import DiscordEmulator
from harness.discord import (
    ALICE,
    ALLOW,
    BUTTONS,
    Dispatch,
    bridge_for,
    drive,
    request,
    seeded,
    wait,
)

from tether_hooks.platforms.base import BridgeAuthError, BridgeError, DeliveryUnknown
from tether_hooks.platforms.discord import DiscordBridge


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="tether_hooks")
    return caplog


def secrets_of(emu: DiscordEmulator) -> list[str]:
    return [emu.bot_token, emu.webhook_token, emu.bot_token[-20:], emu.webhook_token[-20:]]


def assert_clean(emu: DiscordEmulator, *texts: str, logs: pytest.LogCaptureFixture) -> None:
    everything = [*texts, logs.text, *(r.getMessage() for r in logs.records)]
    for secret in secrets_of(emu):
        assert not any(secret in t for t in everything), secret
    for text in texts:
        assert "\n" not in text and "Traceback" not in text, text


async def health_becomes(bridge: DiscordBridge, state: str, timeout: float = 5) -> dict[str, Any]:
    """The bridge's health once it is ``state`` (it changes inside the reading loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while bridge.health()["state"] != state and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return dict(bridge.health())


def list_calls(emu: DiscordEmulator) -> list[Any]:
    return emu.calls("GET", rf"/channels/{emu.channel_id}/messages$")


# -- the bot and the channel ------------------------------------------------------------------


def test_a_revoked_bot_token_says_to_reset_it(discord_emulator: DiscordEmulator,
                                              logs: pytest.LogCaptureFixture) -> None:
    emu = discord_emulator
    old = emu.bot_token
    emu.revoke_bot_token()

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[str, dict[str, Any]]:
        with pytest.raises(BridgeAuthError) as info:
            await bridge.start(d)
        return str(info.value), dict(bridge.health())

    error, health = drive(emu, body, start=False, bot_token=old)
    assert health["state"] == "auth" and health["detail"] == error
    assert "refused the bot token" in error and "Reset Token" in error
    assert "setup discord --bot-token" in error
    assert old not in error and old not in str(health)
    assert_clean(emu, error, str(health), logs=logs)
    assert not any(old in r.getMessage() for r in logs.records)


def test_a_token_revoked_while_reading_turns_health_to_auth_and_back(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> dict[str, Any]:
        assert bridge.health()["state"] == "ok"
        emu.revoke_bot_token()
        n = len(emu.calls())
        await wait(emu.wait_until, lambda: any(c.status == 401 for c in emu.calls()[n:]), 5,
                   "a refused poll")
        health = await health_becomes(bridge, "auth")
        assert bridge.polling_alive()  # it keeps trying: a new token in place works again
        return health

    health = drive(emu, body)
    assert health["state"] == "auth" and "Reset Token" in health["detail"]
    assert_clean(emu, health["detail"], logs=logs)


@pytest.mark.parametrize(("fault", "said"), [
    ("no-view", "the bot cannot see channel"),
    ("other-channel", "the bot cannot see channel"),
    ("no-history", "Read Message History"),
])
def test_a_channel_the_bot_cannot_read_says_what_to_do(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture, fault: str,
        said: str) -> None:
    emu = discord_emulator
    extra: dict[str, Any] = {}
    if fault == "no-view":
        emu.permissions.discard("VIEW_CHANNEL")
    elif fault == "other-channel":
        extra["channel_id"] = "123456789012345678"  # Unknown Channel
    else:
        emu.permissions.discard("READ_MESSAGE_HISTORY")

    async def body(bridge: DiscordBridge, d: Dispatch) -> dict[str, Any]:
        try:
            await bridge.start(d)
        except BridgeAuthError:
            return dict(bridge.health())
        await wait(emu.wait_until, lambda: any(c.status == 403 for c in emu.calls()), 5)
        return await health_becomes(bridge, "auth")

    health = drive(emu, body, start=False, **extra)
    assert health["state"] == "auth", health
    assert said in health["detail"] and "invite it to the server" in health["detail"]
    assert_clean(emu, health["detail"], logs=logs)


# -- the webhook ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["deleted", "wrong-token"])
def test_a_gone_or_refused_webhook_is_one_clear_line_without_its_token(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture, fault: str) -> None:
    emu = discord_emulator
    url = emu.webhook_url
    if fault == "deleted":
        emu.delete_webhook()
    else:
        url = url[:-6] + "zzzzzz"

    async def body(bridge: DiscordBridge, d: Dispatch) -> str:
        with pytest.raises(BridgeAuthError) as info:
            await bridge.post_request(request(), BUTTONS)
        return str(info.value)

    error = drive(emu, body, start=False, webhook_url=url)
    if fault == "deleted":
        assert "the webhook is gone (Unknown Webhook): create one" in error
    else:
        assert "the webhook's token was refused" in error and "copy the webhook URL" in error
    assert "setup discord --webhook-url" in error
    assert url.rsplit("/", 1)[1] not in error
    assert_clean(emu, error, logs=logs)
    assert emu.messages() == []


@pytest.mark.parametrize(("after", "stored"), [(True, 1), (False, 0)])
def test_a_connection_dropped_on_the_post_is_delivery_unknown_and_not_posted_again(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture, after: bool,
        stored: int) -> None:
    """The request went out and no answer came: posted or not, we cannot know, so it is
    not sent again (a second copy would be answerable twice)."""
    emu = discord_emulator
    emu.drop_next("POST", "/webhooks/", after=after)

    async def body(bridge: DiscordBridge, d: Dispatch) -> str:
        with pytest.raises(DeliveryUnknown) as info:
            await bridge.post_request(request(), BUTTONS)
        return str(info.value)

    error = drive(emu, body, start=False)
    assert error == ("cannot post a request: the answer was lost (ConnectionError); it may "
                     "have been posted")
    assert len(emu.messages()) == stored
    assert len(emu.calls("POST", "/webhooks/")) == 1
    assert_clean(emu, error, logs=logs)


@pytest.mark.parametrize(("status", "raw"), [
    (200, "<html>captive portal</html>"), (502, "<html>502 Bad Gateway</html>"),
    (503, b""), (500, "oops")])
def test_a_post_answered_by_something_else_is_delivery_unknown_in_one_line(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture, status: int,
        raw: str | bytes) -> None:
    emu = discord_emulator
    emu.fail_next("POST", "/webhooks/", status, raw)

    async def body(bridge: DiscordBridge, d: Dispatch) -> str:
        with pytest.raises(DeliveryUnknown) as info:
            await bridge.post_request(request(), BUTTONS)
        return str(info.value)

    error = drive(emu, body, start=False)
    assert f"Discord answered HTTP {status}" in error and "may have been posted" in error
    assert "<html>" not in error
    assert len(emu.calls("POST", "/webhooks/")) == 1  # not repeated: it may be there
    assert_clean(emu, error, logs=logs)


@pytest.mark.parametrize("answer", [{"id": ""}, {"channel_id": "1"}, {"id": "abc"},
                                    {"id": "\u00b2"}])
def test_a_post_answered_without_a_message_id_is_delivery_unknown_and_reading_goes_on(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture,
        answer: dict[str, Any]) -> None:
    """A 200 whose message has no usable id: nothing can be watched or edited, so it is
    not a posted copy; the next request's reactions are still read (the reading loop must
    not die on an id it cannot compare)."""
    emu = discord_emulator
    emu.fail_next("POST", "/webhooks/", 200, answer)

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[str, str]:
        with pytest.raises(DeliveryUnknown) as info:
            await bridge.post_request(request(), BUTTONS)
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, ALICE)
        event = await d.next()
        assert bridge.polling_alive()
        return str(info.value), event.event_id

    error, event_id = drive(emu, body)
    assert "may have been posted" in error
    assert event_id.startswith("r:") and event_id.endswith(f":{ALLOW}:{ALICE}")
    assert_clean(emu, error, logs=logs)


def test_a_read_answered_by_something_else_is_one_line_in_health(
        discord_emulator: DiscordEmulator, logs: pytest.LogCaptureFixture) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> dict[str, Any]:
        n = len(list_calls(emu))
        emu.fail_next("GET", r"/channels/\d+/messages$", 200, "<html>proxy login</html>")
        await wait(emu.wait_until, lambda: any(c.error == "injected" for c in emu.calls()), 5)
        health = await health_becomes(bridge, "error")
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= n + 3, 8, "polls again")
        assert (await health_becomes(bridge, "ok"))["detail"] != health["detail"]
        return health

    health = drive(emu, body)
    assert health["state"] == "error"
    assert health["detail"] == ("cannot read the channel: the answer (HTTP 200) is not "
                                "Discord's; check api_base (Discord's REST API: "
                                "https://discord.com/api/v10) and the proxy")
    assert_clean(emu, health["detail"], logs=logs)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_a_read_is_retried(discord_emulator: DiscordEmulator, status: int) -> None:
    emu = discord_emulator
    emu.fail_next("GET", r"/users/@me$", status, {"message": "upstream", "code": 0})

    async def body(bridge: DiscordBridge, d: Dispatch) -> dict[str, Any]:
        await bridge.start(d)
        return dict(bridge.health())

    health = drive(emu, body, start=False)
    me = emu.calls("GET", "/users/@me")
    assert [c.status for c in me] == [status, 200]
    assert health["state"] == "ok" and health["bot"] == f"@{emu.bot_user['username']}"


def test_5xx_on_reads_beyond_the_retries_is_an_error_not_auth(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.fail_next("GET", r"/users/@me$", 503, "busy", times=3)

    async def body(bridge: DiscordBridge, d: Dispatch) -> str:
        with pytest.raises(BridgeError) as info:
            await bridge.start(d)
        assert not isinstance(info.value, BridgeAuthError)
        return str(info.value)

    error = drive(emu, body, start=False, retries=2)
    assert error == "cannot check the bot: Discord answered HTTP 503"
    assert len(emu.calls("GET", "/users/@me")) == 3


def test_an_unreachable_api_base_is_one_line(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def main() -> str:
        bridge = bridge_for(emu, api_base="http://127.0.0.1:9/api/v10", retries=0)
        try:
            with pytest.raises(BridgeError) as info:
                await bridge.start(Dispatch())
        finally:
            await bridge.close()
        return str(info.value)

    error = asyncio.run(main())
    assert error.startswith("cannot check the bot: cannot reach Discord")
    assert "check api_base" in error and "\n" not in error

"""The Slack emulator, driven by the real slack_sdk (WebClient, the builtin and the aiohttp
SocketModeClient); nothing patched."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient as AioSocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from emulators.slack import Channel, SlackEmulator, check_view
from emulators.slack_clients import ALICE, BOB, Inbox, builtin_client

BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Approve* `rm -rf build`?"}},
    {"type": "actions", "block_id": "req-1", "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": "req-1",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "deny", "style": "danger", "value": "req-1",
         "text": {"type": "plain_text", "text": "Deny"}}]},
]
MODAL: dict[str, Any] = {
    "type": "modal", "callback_id": "why", "private_metadata": "req-1",
    "title": {"type": "plain_text", "text": "Deny"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [{"type": "input", "block_id": "reason", "label": {
        "type": "plain_text", "text": "Why?"}, "element": {
        "type": "plain_text_input", "action_id": "text"}}],
}


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    # The Socket Mode clients take HTTP(S)_PROXY from the environment and ignore NO_PROXY.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    emulator = SlackEmulator().start()
    emulator.add_user(ALICE, "alice")
    emulator.add_user(BOB, "bob")
    emulator.default_user_id = ALICE
    try:
        yield emulator
    finally:
        emulator.stop()
    assert not emulator.internal_errors, "\n".join(emulator.internal_errors)


@pytest.fixture
def channel(emu: SlackEmulator) -> Channel:
    return emu.create_channel("approvals")


def web(emu: SlackEmulator, token: str | None = None) -> WebClient:
    return WebClient(token=token or emu.bot_token, base_url=emu.base_url)


def refused(call: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    return info.value


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


# -- Web API --------------------------------------------------------------------------------


def test_auth_test_and_token_errors(emu: SlackEmulator, channel: Channel) -> None:
    me = web(emu).auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == (
        emu.bot_user_id, emu.bot_id, emu.team_id)
    assert refused(web(emu, "xoxb-wrong").auth_test).response["error"] == "invalid_auth"
    anonymous = WebClient(base_url=emu.base_url)
    assert refused(anonymous.auth_test).response["error"] == "not_authed"
    app = web(emu, emu.app_token)
    error = refused(app.chat_postMessage, channel=channel.id, text="hi")
    assert error.response["error"] == "not_allowed_token_type"
    error = refused(web(emu).apps_connections_open, app_token=emu.bot_token)
    assert error.response["error"] == "not_allowed_token_type"
    url = app.apps_connections_open(app_token=emu.app_token)["url"]
    assert url.startswith(f"ws://127.0.0.1:{emu.port}/link/?ticket=")
    error = refused(web(emu).api_call, api_method="chat.nothing")
    assert (error.response.status_code, error.response["error"]) == (404, "unknown_method")


def test_post_message_stores_normalised_blocks(emu: SlackEmulator, channel: Channel) -> None:
    sent = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)
    assert sent["channel"] == channel.id and isinstance(sent["ts"], str)
    message = sent["message"]
    assert (message["bot_id"], message["user"], message["text"]) == (
        emu.bot_id, emu.bot_user_id, "Approve?")
    section, actions = message["blocks"]
    assert len(section["block_id"]) == 4  # Slack generates one
    assert section["text"]["verbatim"] is False
    assert actions["block_id"] == "req-1"
    assert actions["elements"][0]["text"] == {"type": "plain_text", "text": "Approve",
                                              "emoji": True}
    stored = emu.wait_for_message(lambda m: m.text == "Approve?", channel=channel.id)
    assert stored.ts == sent["ts"] and stored.button("deny")["value"] == "req-1"
    reply = web(emu).chat_postMessage(channel=channel.id, text="detail", thread_ts=sent["ts"])
    assert reply["message"]["thread_ts"] == sent["ts"]
    assert emu.message(channel.id, sent["ts"]).reply_count == 1
    error = refused(web(emu).chat_postMessage, channel=channel.id, text="x", thread_ts="1.2")
    assert error.response["error"] == "thread_not_found"


def test_update_and_delete(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    ts = client.chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    done = [{"type": "section", "text": {"type": "mrkdwn", "text": "Approved by <@U1>"}}]
    updated = client.chat_update(channel=channel.id, ts=ts, text="Approved", blocks=done)
    assert updated["ts"] == ts and updated["text"] == "Approved"
    now = emu.wait_for_update(channel.id, ts)
    assert now.buttons() == [] and now.updates == 1 and now.versions[0]["text"] == "Approve?"
    assert refused(client.chat_update, channel=channel.id, ts="1.000001", text="x"
                   ).response["error"] == "message_not_found"
    theirs = emu.post_user_message(channel.id, "hello")
    assert refused(client.chat_update, channel=channel.id, ts=theirs.ts, text="x"
                   ).response["error"] == "cant_update_message"
    client.chat_delete(channel=channel.id, ts=ts)
    assert emu.messages(channel.id) == []


def test_channel_and_scope_errors(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    outside = emu.create_channel("general", bot_member=False)
    secret = emu.create_channel("secret", private=True, bot_member=False)
    for where, code in ((outside.id, "not_in_channel"), (secret.id, "channel_not_found"),
                        ("C0NOSUCH", "channel_not_found"), ("", "channel_not_found")):
        assert refused(client.chat_postMessage, channel=where, text="x"
                       ).response["error"] == code
    assert refused(client.conversations_replies, channel=outside.id, ts="1.000001"
                   ).response["error"] == "not_in_channel"
    assert refused(client.conversations_info, channel=secret.id
                   ).response["error"] == "channel_not_found"
    assert client.conversations_info(channel=outside.id)["channel"]["is_member"] is False
    emu.archive_channel(outside.id)
    emu.set_bot_member(outside.id, True)
    assert refused(client.chat_postMessage, channel=outside.id, text="x"
                   ).response["error"] == "is_archived"
    by_name = client.chat_postMessage(channel="#approvals", text="by name")
    assert by_name["channel"] == channel.id
    dm = client.chat_postMessage(channel=ALICE, text="to Alice")  # a user id: the DM
    assert dm["channel"].startswith("D")
    emu.scopes.discard("chat:write")
    error = refused(client.chat_postMessage, channel=channel.id, text="x")
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "chat:write"
    assert "chat:write" not in error.response["provided"].split(",")


def _button(**overrides: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "A"},
            **overrides}


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def _section(text: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": "section", "text": {"type": kind, "text": text}}


@pytest.mark.parametrize(("blocks", "message"), [
    ([{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
    ([_section("x" * 3001)], "must be less than 3001 characters "
                             "[json-pointer:/blocks/0/text/text]"),
    ([_section("x", "markdown")], "must be a valid enum value [json-pointer:/blocks/0/text/type]"),
    ([{"type": "section"}], "must define either `text` or `fields` [json-pointer:/blocks/0/type]"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
     "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
     "must be a valid enum value [json-pointer:/blocks/0/text/type]"),
    ([_actions(_button(text={"type": "plain_text", "text": "b" * 76}))],
     "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"),
    ([_actions(_button(value="v" * 2001))],
     "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"),
    ([_actions(_button(action_id="a" * 256))],
     "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]"),
    ([_actions(_button(), _button())],
     "duplicate action_id [json-pointer:/blocks/0/elements/1/action_id]"),
    ([{"type": "divider", "block_id": "b"}, {"type": "divider", "block_id": "b"}],
     "duplicate block_id [json-pointer:/blocks/1/block_id]"),
    ([_actions(*[_button(action_id=f"a{i}") for i in range(26)])],
     "no more than 25 items allowed [json-pointer:/blocks/0/elements]"),
    ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
     "no more than 10 items allowed [json-pointer:/blocks/0/elements]"),
    ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
    ([_actions({"type": "button", "action_id": "a"})],
     "missing required field: text [json-pointer:/blocks/0/elements/0]"),
])
def test_block_kit_violations_are_invalid_blocks(
    emu: SlackEmulator, channel: Channel, blocks: list[dict[str, Any]], message: str
) -> None:
    error = refused(web(emu).chat_postMessage, channel=channel.id, text="t", blocks=blocks)
    assert error.response["error"] == "invalid_blocks"
    assert message in error.response["errors"]
    assert f"[ERROR] {message}" in error.response["response_metadata"]["messages"]
    assert emu.messages(channel.id) == []


def test_text_limits_and_block_encoding(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    same_ids = [_actions(_button()), _actions(_button())]  # unique per block, not per message
    client.chat_postMessage(channel=channel.id, text="ok", blocks=same_ids)
    client.chat_postMessage(channel=channel.id, text="x" * 40_000)
    assert refused(client.chat_postMessage, channel=channel.id, text="x" * 40_001
                   ).response["error"] == "msg_too_long"
    with pytest.warns(UserWarning, match="top-level `text`"):  # slack_sdk warns first
        assert refused(client.chat_postMessage, channel=channel.id
                       ).response["error"] == "no_text"
    error = refused(client.api_call, api_method="chat.postMessage",
                    params={"channel": channel.id, "blocks": "[{not json"})
    assert error.response["error"] == "invalid_blocks_format"
    form = client.api_call("chat.postMessage", params={
        "channel": channel.id, "text": "form", "blocks": json.dumps(BUTTONS)})
    assert form["message"]["blocks"][1]["block_id"] == "req-1"


def test_post_ephemeral(emu: SlackEmulator) -> None:
    room = emu.create_channel("team", members={ALICE})
    sent = web(emu).chat_postEphemeral(channel=room.id, user=ALICE, text="only you")
    shown = emu.wait_for_ephemeral(user=ALICE)
    assert (shown.message_ts, shown.text, shown.source) == (
        sent["message_ts"], "only you", "chat.postEphemeral")
    assert refused(web(emu).chat_postEphemeral, channel=room.id, user=BOB, text="x"
                   ).response["error"] == "user_not_in_channel"


def test_conversations_and_permalink(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    info = client.conversations_info(channel=channel.id)["channel"]
    assert (info["id"], info["name"], info["is_member"], info["is_private"]) == (
        channel.id, "approvals", True, False)
    parent = client.chat_postMessage(channel=channel.id, text="Approve?")["ts"]
    emu.post_user_message(channel.id, "yes", thread_ts=parent)
    client.chat_postMessage(channel=channel.id, text="noted", thread_ts=parent)
    replies = client.conversations_replies(channel=channel.id, ts=parent)["messages"]
    assert [(m["text"], m.get("bot_id")) for m in replies] == [
        ("Approve?", emu.bot_id), ("yes", None), ("noted", emu.bot_id)]
    assert replies[0]["reply_count"] == 2 and replies[1]["user"] == ALICE
    paged = client.conversations_replies(channel=channel.id, ts=parent, limit=1)
    assert paged["has_more"] and paged["response_metadata"]["next_cursor"]
    assert refused(client.conversations_replies, channel=channel.id, ts="9.000001"
                   ).response["error"] == "thread_not_found"
    history = client.conversations_history(channel=channel.id)["messages"]
    assert [m["text"] for m in history] == ["Approve?"]
    link = client.chat_getPermalink(channel=channel.id, message_ts=parent)["permalink"]
    assert link.endswith(f"/archives/{channel.id}/p{parent.replace('.', '')}")


def test_ratelimit_429_and_retry_handler(emu: SlackEmulator, channel: Channel) -> None:
    emu.fail_next("chat.postMessage", retry_after=1)
    error = refused(web(emu).chat_postMessage, channel=channel.id, text="x")
    assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
    assert error.response.headers["Retry-After"] == "1"
    assert emu.messages(channel.id) == []
    client = web(emu)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    emu.fail_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    client.chat_postMessage(channel=channel.id, text="after the wait")
    assert time.monotonic() - started >= 1.0  # Retry-After (+ up to 1 s of jitter)
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 429, 200]
    emu.fail_next("chat.update", "internal_error", status=500)
    assert refused(client.chat_update, channel=channel.id, ts="1.1", text="x"
                   ).response.status_code == 500
    emu.delay_next("auth.test", 1.0)
    slow = WebClient(token=emu.bot_token, base_url=emu.base_url)
    slow.timeout = 0.3  # type: ignore[assignment]  # typed int, works as float
    with pytest.raises(TimeoutError):  # a read timeout is neither a SlackApiError nor retried
        slow.auth_test()


def test_dropped_connection_after_processing_posts_twice(
    emu: SlackEmulator, channel: Channel
) -> None:
    """slack_sdk's default retry handler re-sends a call whose connection died, so a post
    Slack did make is made again: a bridge must not assume one call = one message."""
    emu.drop_next("chat.postMessage", after=True)
    web(emu).chat_postMessage(channel=channel.id, text="Approve?")
    assert [m.text for m in emu.messages(channel.id)] == ["Approve?", "Approve?"]
    assert [c.status for c in emu.calls("chat.postMessage")] == [0, 200]


def test_views_open_trigger_rules(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    ts = client.chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    now = [1000.0]
    emu.clock = lambda: now[0]
    trigger = emu.click(channel.id, ts, "deny").payload["trigger_id"]
    bad = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    error = refused(client.views_open, trigger_id=trigger, view=bad)
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"]
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["callback_id"] == "why" and opened["private_metadata"] == "req-1"
    assert emu.views_opened[0].user == ALICE
    assert refused(client.views_open, trigger_id=trigger, view=MODAL
                   ).response["error"] == "exchanged_trigger_id"
    late = emu.click(channel.id, ts, "deny").payload["trigger_id"]
    now[0] += 3.1
    assert refused(client.views_open, trigger_id=late, view=MODAL
                   ).response["error"] == "expired_trigger_id"
    assert refused(client.views_open, trigger_id="nonsense", view=MODAL
                   ).response["error"] == "invalid_trigger_id"
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    assert check_view(MODAL) == [] and check_view(no_submit) == [
        "must provide `submit` when `blocks` has an input block [json-pointer:/view]"]


def test_response_urls(emu: SlackEmulator, channel: Channel) -> None:
    ts = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    url = emu.click(channel.id, ts, "approve").payload["response_url"]
    assert post(url, {"text": "only for you"}) == {"ok": True}
    assert emu.wait_for_ephemeral(user=ALICE).source == "response_url"
    post(url, {"replace_original": True, "text": "Approved"})
    assert emu.wait_for_update(channel.id, ts).text == "Approved"
    slash_url = emu.slash(text="status", channel_id=channel.id).payload["response_url"]
    post(slash_url, {"response_type": "in_channel", "text": "all quiet"})
    assert emu.wait_for_message(lambda m: m.text == "all quiet").channel == channel.id
    assert [r.kind for r in emu.responses] == ["actions", "actions", "commands"]


# -- Socket Mode, builtin client ------------------------------------------------------------


def test_builtin_hello_click_ack_and_views_open(emu: SlackEmulator, channel: Channel) -> None:
    client = web(emu)
    ts = client.chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    inbox = Inbox()

    def open_modal(req: SocketModeRequest) -> None:  # runs on a worker thread of the client
        if req.payload.get("type") == "block_actions":
            inbox.opened.append(client.views_open(trigger_id=req.payload["trigger_id"],
                                                  view=MODAL)["view"]["id"])

    inbox.then = open_modal
    with builtin_client(emu, inbox):
        hello = inbox.wait_raw(lambda m: m.get("type") == "hello")
        assert hello["connection_info"] == {"app_id": emu.app_id}
        assert hello["num_connections"] == 1
        env = emu.click(channel.id, ts, "approve", BOB)
        req = inbox.wait_request(lambda r: r.envelope_id == env.envelope_id)
        assert req.type == "interactive" and not req.accepts_response_payload
        p = req.payload
        assert (p["type"], p["user"]["id"], p["user"]["username"]) == (
            "block_actions", BOB, "bob")
        assert p["container"] == {"type": "message", "message_ts": ts,
                                  "channel_id": channel.id, "is_ephemeral": False}
        assert p["channel"] == {"id": channel.id, "name": "approvals"}
        assert p["message"]["ts"] == ts and len(p["message"]["blocks"]) == 2
        action = p["actions"][0]
        assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
            "approve", "req-1", "req-1", "button")
        assert p["response_url"].startswith(f"http://127.0.0.1:{emu.port}/actions/")
        ack = emu.wait_for_ack(env.envelope_id)
        assert ack.known and ack.payload is None and ack.attempt == 0
        emu.wait_until(lambda: inbox.opened, what="views.open from the listener")
        assert emu.views_opened[0].user == BOB
        env = emu.submit_view("why", {"reason": {"text": "too risky"}})
        req = inbox.wait_request(lambda r: r.envelope_id == env.envelope_id)
        assert req.accepts_response_payload and req.payload["type"] == "view_submission"
        view = req.payload["view"]
        assert (view["id"], view["callback_id"], view["private_metadata"]) == (
            inbox.opened[0], "why", "req-1")
        assert view["state"]["values"] == {"reason": {"text": {
            "type": "plain_text_input", "value": "too risky"}}}
        assert req.payload["user"]["id"] == BOB
        emu.wait_until(lambda: emu.views_opened[0].closed, what="the modal closed by the ack")
        assert emu.connections[0].pings >= 1  # the client pings right after the handshake


def test_builtin_unacked_envelope_is_redelivered(emu: SlackEmulator, channel: Channel) -> None:
    ts = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    emu.ack_timeout = 0.5
    inbox = Inbox()
    inbox.ack = lambda req: req.retry_attempt == 1  # ignore the first delivery
    with builtin_client(emu, inbox):
        emu.wait_for_connection()
        env = emu.click(channel.id, ts, "deny")
        again = inbox.wait_request(lambda r: r.envelope_id == env.envelope_id
                                   and r.retry_attempt == 1)
        assert again.retry_reason == "timeout"
        first = inbox.wait_request(lambda r: r.envelope_id == env.envelope_id)
        assert first.retry_attempt is None  # interactive envelopes carry it only on retries
        assert emu.wait_for_ack(env.envelope_id).attempt == 1
        assert emu.envelope(env.envelope_id).status == "acked"


def test_builtin_disconnect_reconnects(emu: SlackEmulator, channel: Channel) -> None:
    ts = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    inbox = Inbox()
    with builtin_client(emu, inbox):
        first = emu.wait_for_connection()
        emu.disconnect("refresh_requested")
        second = emu.wait_for_connection(2)
        assert second.id != first.id
        assert len(emu.calls("apps.connections.open")) == 2
        assert len([m for m in inbox.raw if m.get("type") == "hello"]) >= 1
        env = emu.click(channel.id, ts, "approve")
        inbox.wait_request(lambda r: r.envelope_id == env.envelope_id)
        assert emu.wait_for_ack(env.envelope_id, timeout=10).connection == second.id
        emu.wait_until(lambda: not emu.connections[0].open, what="the old socket closed")


def test_builtin_slash_command_and_message_events(emu: SlackEmulator, channel: Channel) -> None:
    parent = web(emu).chat_postMessage(channel=channel.id, text="Approve?")["ts"]
    inbox = Inbox()
    inbox.ack = lambda req: ({"text": "Pending: 1"} if req.type == "slash_commands" else True)
    with builtin_client(emu, inbox):
        env = emu.slash("/tether", "status", channel_id=channel.id)
        req = inbox.wait_request(lambda r: r.envelope_id == env.envelope_id)
        assert req.type == "slash_commands" and req.accepts_response_payload
        assert (req.payload["command"], req.payload["text"], req.payload["user_id"]) == (
            "/tether", "status", ALICE)
        assert req.payload["trigger_id"] and req.payload["response_url"]
        assert emu.wait_for_ephemeral(user=ALICE).text == "Pending: 1"
        said = emu.post_user_message(channel.id, "approve please", BOB, thread_ts=parent)
        req = inbox.wait_request(lambda r: r.type == "events_api"
                                 and r.payload["event"].get("user") == BOB)
        event = req.payload["event"]
        assert req.payload["type"] == "event_callback" and req.retry_attempt == 0
        assert (event["type"], event["ts"], event["thread_ts"], event["channel_type"]) == (
            "message", said.ts, parent, "channel")
        echo = inbox.wait_request(lambda r: r.type == "events_api"
                                  and r.payload["event"].get("bot_id") == emu.bot_id)
        assert echo.payload["event"]["text"] == "Approve?"  # the bot's own post comes back
    with pytest.raises(ValueError):
        emu.slash("/unknown")


def test_tickets_are_single_use_and_envelopes_give_up(emu: SlackEmulator, channel: Channel
                                                      ) -> None:
    emu.api.echo_bot_messages = False  # only the click on this socket
    ts = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    emu.ack_timeout = 0.2
    url = web(emu, emu.app_token).apps_connections_open(app_token=emu.app_token)["url"]

    async def main() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            frames = [await ws.receive_json()]
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(url)
            env = await asyncio.to_thread(emu.click, channel.id, ts, "approve")
            while len(frames) < 5:
                frames.append(await ws.receive_json(timeout=5))
            await asyncio.to_thread(
                emu.wait_until, lambda: emu.envelope(env.envelope_id).status == "failed")
            return frames

    frames = asyncio.run(main())
    assert frames[0]["type"] == "hello"
    clicks = [f for f in frames if f.get("type") == "interactive"]
    assert [f.get("retry_attempt") for f in clicks] == [None, 1, 2, 3]
    assert len({f["envelope_id"] for f in clicks}) == 1


# -- Socket Mode, aiohttp client ------------------------------------------------------------


def test_aiohttp_client_click_disconnect_and_drop(emu: SlackEmulator, channel: Channel) -> None:
    ts = web(emu).chat_postMessage(channel=channel.id, text="Approve?", blocks=BUTTONS)["ts"]
    got: list[SocketModeRequest] = []

    async def listener(client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        got.append(req)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    async def click_and_ack(user: str) -> None:
        env = await asyncio.to_thread(emu.click, channel.id, ts, "approve", user)
        ack = await asyncio.to_thread(emu.wait_for_ack, env.envelope_id, 10)
        assert any(r.envelope_id == env.envelope_id and r.type == "interactive" for r in got)
        assert ack.known

    async def main() -> None:
        client = AioSocketModeClient(
            app_token=emu.app_token, ping_interval=1,
            web_client=AsyncWebClient(token=emu.bot_token, base_url=emu.base_url))
        client.socket_mode_request_listeners.append(listener)
        try:
            await client.connect()  # type: ignore[no-untyped-call]
            await asyncio.to_thread(emu.wait_for_connection)
            thread = await client.web_client.conversations_replies(channel=channel.id, ts=ts)
            assert thread["messages"][0]["ts"] == ts  # the async client sends a GET
            await click_and_ack(ALICE)
            emu.disconnect("warning")
            await asyncio.to_thread(emu.wait_for_connection, 2)
            await click_and_ack(BOB)
            emu.drop_socket()
            await asyncio.to_thread(emu.wait_for_connection, 3, 15)
            await click_and_ack(ALICE)
        finally:
            await client.close()  # type: ignore[no-untyped-call]

    asyncio.run(main())
    assert len(emu.calls("apps.connections.open")) == 3
    assert all(c.pings >= 1 for c in emu.connections)

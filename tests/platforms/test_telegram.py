"""TelegramBridge driven through the real python-telegram-bot against the Bot API emulator."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import telegram.error
from emulators.telegram import MAX_TEXT, TelegramEmulator, parse_html
from harness.telegram import ALLOWED_USER_ID, ALLOWED_USERNAME, STRANGER_USER_ID
from harness.waiting import until_async

from tether_hooks.platforms.base import (
    BridgeAuthError,
    BridgeContext,
    BridgeError,
    Button,
    DeliveryUnknown,
    Incoming,
    MessageRef,
    Notice,
    RateLimited,
)
from tether_hooks.platforms.telegram import TelegramBridge, map_error

T = TypeVar("T")
ALICE = ALLOWED_USER_ID
NONCE = "1f2e3d4c"
BUTTONS = [
    [Button("✅ Allow", f"a:{NONCE}"), Button("❌ Deny", f"d:{NONCE}"),
     Button("💬 Deny with reason", f"r:{NONCE}")],
    [Button("⏱ Allow mcp__very_long_server_name__some_tool 30m", "t:" + "x" * 62)],
]


def request(sid: str = "0a1b2c3d-0000-4000-8000-000000000001", **extra: Any) -> dict:
    return {"id": "7f3a", "agent": "claude", "session_id": sid, "cwd": "/home/user/proj",
            "tool_name": "Bash", "tool_input": {"command": "rm -rf build <now> && echo &"},
            **extra}


def config(emu: TelegramEmulator, **extra: Any) -> dict:
    return {"bot_token": emu.token, "chat_id": ALICE, "allowed_user_ids": [ALICE],
            "api_base": emu.base_url, "poll_timeout": 2, "retry_delay": 0.05, **extra}


class Dispatch:
    """Collects events; ``answer_with`` makes it answer presses the way dispatch does."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Incoming] = asyncio.Queue()
        self.bridge: TelegramBridge | None = None
        self.answer_with: str | None = None
        self.fail = False

    async def __call__(self, event: Incoming) -> None:
        await self.events.put(event)
        if self.fail:
            raise RuntimeError("dispatch blew up")
        if self.answer_with is not None and self.bridge is not None:
            await self.bridge.answer(event, self.answer_with)

    async def next(self) -> Incoming:
        return await asyncio.wait_for(self.events.get(), 10)


def drive(emu: TelegramEmulator, body: Callable[[TelegramBridge, Dispatch], Awaitable[T]],
          *, start: bool = True, options: dict | None = None, **extra: Any) -> T:
    """Run ``body`` with a bridge (config ``extra``, constructor ``options``), then close it."""

    async def main() -> T:
        bridge = TelegramBridge(BridgeContext(config(emu, **extra), **(options or {})))
        dispatch = Dispatch()
        dispatch.bridge = bridge
        try:
            if start:
                await bridge.start(dispatch)
            return await body(bridge, dispatch)
        finally:
            await bridge.close()

    return asyncio.run(main())


def wait(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
    """A blocking emulator wait, off the event loop the bridge runs in."""
    return asyncio.to_thread(fn, *args, **kwargs)


def raw_get_updates(emu: TelegramEmulator) -> int:
    body = json.dumps({"timeout": 0}).encode()
    req = urllib.request.Request(f"{emu.base_url}{emu.token}/getUpdates", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as response:
        return response.status


# -- posting -----------------------------------------------------------------------------


def test_post_request_arrives_with_buttons_and_a_valid_preview(telegram_emulator) -> None:
    emu = telegram_emulator
    ref = drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    assert ref == MessageRef("telegram", str(ALICE), ref.message_id, None)
    msg = emu.message(ALICE, int(ref.message_id))
    assert msg.parse_mode == "HTML"
    assert "rm -rf build <now> && echo &" in msg.text
    assert "Claude Code wants to use Bash" in msg.text
    assert [[b["callback_data"] for b in row] for row in msg.keyboard] == [
        [b.data for b in row] for row in BUTTONS]
    assert len(msg.button("t:" + "x" * 62)["callback_data"].encode()) == 64


def test_button_data_over_64_bytes_is_refused_before_sending(telegram_emulator) -> None:
    emu = telegram_emulator
    with pytest.raises(BridgeError, match="1-64 bytes"):
        drive(emu, lambda b, d: b.post_request(request(), [[Button("x", "é" * 33)]]),
              start=False)
    assert emu.calls("sendMessage") == []


def test_long_input_preview_fits_and_show_full_sends_it_all(telegram_emulator) -> None:
    emu = telegram_emulator
    command = "\n".join(f"echo {i} '<{'&' * 40}>'" for i in range(600))
    req = request(tool_input={"command": command})

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> list:
        ref = await bridge.post_request(req, BUTTONS)
        qid = emu.press(emu.message(ALICE, int(ref.message_id)), f"a:{NONCE}")
        event = await dispatch.next()
        assert event.event_id == qid
        await bridge.show_full(event, req)
        return await wait(emu.messages, ALICE)

    posted, *parts = drive(emu, body)
    assert len(posted.text) <= MAX_TEXT
    assert len(parts) > 1
    for part in parts:
        assert part.reply_to in (None, posted.message_id)
        assert len(parse_html(part.source)[0].strip()) <= MAX_TEXT
    shown = "\n".join(p.text for p in parts)
    assert all(f"echo {i} '<{'&' * 40}>'" in shown for i in range(600))
    assert parts[0].reply_to == posted.message_id


def test_show_outcome_edits_the_text_and_removes_the_buttons(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")  # not modified: fine
        return ref

    ref = drive(emu, body, start=False)
    msg = emu.message(ALICE, int(ref.message_id))
    assert msg.text.endswith("✅ Allowed by @alice")
    assert "rm -rf build <now>" in msg.text
    assert msg.keyboard == []
    assert msg.edit_date is not None


def test_notice_reply_and_commands_menu(telegram_emulator) -> None:
    emu = telegram_emulator
    notice = Notice("waiting", "Claude is waiting for your input", session_id="abc123",
                    cwd="/home/user/proj")

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> None:
        await bridge.post_notice(None, notice)
        await bridge.set_commands([("help", "What I can do"), ("pending", "Pending requests")])

    drive(emu, body, start=False)
    (msg,) = emu.messages(ALICE)
    assert msg.text.startswith("⏳ Claude is waiting for your input")
    assert emu.commands() == [{"command": "help", "description": "What I can do"},
                              {"command": "pending", "description": "Pending requests"}]


# -- what users do -------------------------------------------------------------------------


def test_a_press_arrives_with_its_fields_and_is_answered(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> tuple:
        dispatch.answer_with = "Allowed"
        ref = await bridge.post_request(request(), BUTTONS)
        qid = emu.press(emu.message(ALICE, int(ref.message_id)), f"a:{NONCE}")
        event = await dispatch.next()
        answer = await wait(emu.wait_for_callback_answer, qid)
        return ref, qid, event, answer

    ref, qid, event, answer = drive(emu, body)
    assert event.kind == "press" and event.bridge == "telegram"
    assert event.data == f"a:{NONCE}"
    assert (event.user_id, event.user_name) == (str(ALICE), f"@{ALLOWED_USERNAME}")
    assert event.chat_id == str(ALICE) and event.thread_id is None
    assert event.event_id == qid and isinstance(event.update_id, int)
    assert event.reply_to == ref
    assert answer.text == "Allowed"


def test_every_press_is_answered_even_when_dispatch_does_not(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> tuple:
        ref = await bridge.post_request(request(), BUTTONS)
        msg = emu.message(ALICE, int(ref.message_id))
        silent = emu.press(msg, f"d:{NONCE}", STRANGER_USER_ID)
        stranger = await dispatch.next()
        dispatch.fail = True
        failing = emu.press(msg, f"a:{NONCE}")
        await dispatch.next()
        return (stranger, await wait(emu.wait_for_callback_answer, silent),
                await wait(emu.wait_for_callback_answer, failing))

    stranger, silent, failing = drive(emu, body)
    assert stranger.user_id == str(STRANGER_USER_ID)  # dispatch decides who is allowed
    assert silent.text is None and failing.text is None


def test_texts_replies_and_commands(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> list[Incoming]:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.send_text(ALICE, "allow 7f3a", reply_to=int(ref.message_id))
        emu.send_text(ALICE, "just talking")
        emu.send_text(ALICE, "/revoke@other_bot all")  # for another bot: dropped
        emu.send_text(ALICE, "/revoke@emu_bot  all ")
        emu.send_text(ALICE, "/HELP")
        events = [await dispatch.next() for _ in range(4)]
        await bridge.reply(events[1], "⛔ Not <authorized>")
        return events

    reply, plain, revoke, help_ = drive(emu, body)
    assert (reply.kind, reply.data) == ("text", "allow 7f3a")
    sent = emu.message(ALICE, int(plain.event_id)).date  # when the user sent it
    assert plain.sent_at == float(sent) and revoke.sent_at is not None
    assert reply.reply_to is not None and reply.reply_to.message_id == "1"
    assert plain.reply_to is None and plain.event_id.isdigit()
    assert (revoke.kind, revoke.data, revoke.args) == ("command", "revoke", "all")
    assert (help_.kind, help_.data, help_.args) == ("command", "help", "")
    answer = emu.messages(ALICE)[-1]
    assert answer.text == "⛔ Not <authorized>"
    assert answer.reply_to == int(plain.event_id)


def test_update_offset_skips_what_was_handled_before_a_restart(telegram_emulator) -> None:
    emu = telegram_emulator
    emu.send_text(ALICE, "old, handled before the restart")
    old = emu.pending_updates[-1]["update_id"]

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> Incoming:
        emu.send_text(ALICE, "new")
        return await dispatch.next()

    event = drive(emu, body, options={"offset": old})
    assert event.data == "new" and event.update_id == old + 1
    emu.wait_until_confirmed(old + 1)

    async def last(bridge: TelegramBridge, dispatch: Dispatch) -> int | None:
        emu.send_text(ALICE, "again")
        await dispatch.next()
        return bridge.last_update_id

    assert drive(emu, last) == old + 2


# -- forum topics --------------------------------------------------------------------------


def test_forum_mode_gives_each_session_its_topic(telegram_emulator) -> None:
    emu = telegram_emulator
    emu.privacy_mode = False  # the bot is an admin: it sees every message in the group
    forum = emu.create_forum("Agents").id
    created: list[tuple[str, str]] = []

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> tuple:
        first = await bridge.post_request(request("aaaaaaaa-1"), BUTTONS)
        again = await bridge.post_request(request("aaaaaaaa-1"), BUTTONS)
        other = await bridge.post_request(request("bbbbbbbb-2", cwd="/srv/api"), BUTTONS)
        note = await bridge.post_notice({"id": "bbbbbbbb-2", "cwd": "/srv/api"},
                                        Notice("finished", "Claude finished"))
        emu.send_text(forum, "allow", thread_id=int(first.thread_id))
        emu.send_text(forum, "deny", reply_to=int(other.message_id))
        return first, again, other, note, await dispatch.next(), await dispatch.next()

    first, again, other, note, topic_text, reply = drive(
        emu, body, chat_id=forum, forum=True,
        options={"on_thread": lambda sid, thread: created.append((sid, thread))})
    topics = emu.chat(forum).topics
    assert sorted(t.name for t in topics.values()) == ["api · bbbbbbbb", "proj · aaaaaaaa"]
    assert first.thread_id == again.thread_id != other.thread_id == note.thread_id
    assert created == [("aaaaaaaa-1", first.thread_id), ("bbbbbbbb-2", other.thread_id)]
    assert [m.thread_id for m in emu.messages(forum)] == [int(first.thread_id)] * 2 + [
        int(other.thread_id)] * 2
    # In a topic every message "replies" to the topic's first message: that is no reply.
    assert (topic_text.thread_id, topic_text.reply_to) == (first.thread_id, None)
    assert reply.thread_id == other.thread_id and reply.reply_to == other


def test_forum_topic_is_reused_from_the_session_and_replaced_when_deleted(
    telegram_emulator,
) -> None:
    emu = telegram_emulator
    forum = emu.create_forum("Agents").id
    known = emu.create_topic(forum, "proj · cccccccc", ALICE).thread_id
    session = {"id": "cccccccc-3", "cwd": "/home/user/proj",
               "chat": {"telegram": {"chat_id": str(forum), "thread_id": str(known)}}}

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> tuple:
        reused = await bridge.post_request(request("cccccccc-3", session=session), BUTTONS)
        body = json.dumps({"chat_id": forum, "message_thread_id": known}).encode()
        req = urllib.request.Request(f"{emu.base_url}{emu.token}/deleteForumTopic", data=body,
                                     headers={"Content-Type": "application/json"})
        await wait(urllib.request.urlopen, req, timeout=5)
        replaced = await bridge.post_request(request("cccccccc-3", session=session), BUTTONS)
        return reused, replaced

    reused, replaced = drive(emu, body, chat_id=forum, forum=True, start=False)
    assert reused.thread_id == str(known)
    assert replaced.thread_id not in (None, str(known))
    assert len(emu.calls("createForumTopic")) == 1


def test_forum_mode_in_a_plain_group_says_what_to_do(telegram_emulator) -> None:
    emu = telegram_emulator
    group = emu.create_supergroup("Not a forum").id
    with pytest.raises(BridgeError, match="enable Topics"):
        drive(emu, lambda b, d: b.post_request(request(), BUTTONS), chat_id=group, forum=True,
              start=False)


# -- failures ------------------------------------------------------------------------------


def test_429_is_waited_out(telegram_emulator) -> None:
    emu = telegram_emulator
    emu.fail_next("sendMessage", 429, retry_after=1)
    drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    limited, sent = emu.calls("sendMessage")
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 0.9
    assert len(emu.messages(ALICE)) == 1


def test_429_beyond_max_retry_after_raises_rate_limited(telegram_emulator) -> None:
    emu = telegram_emulator
    emu.fail_next("sendMessage", 429, retry_after=30)
    with pytest.raises(RateLimited) as caught:
        drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False,
              max_retry_after=5)
    assert caught.value.retry_after == 30
    assert isinstance(caught.value.__cause__, telegram.error.RetryAfter)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_send_answered_5xx_is_not_sent_again(telegram_emulator, status: int) -> None:
    """A gateway's 5xx may come after the Bot API did the call: the bridge says it cannot
    tell, and never risks a second copy (only a refused connection and a 429 are retried)."""
    emu = telegram_emulator
    emu.fail_next("sendMessage", status)
    with pytest.raises(DeliveryUnknown, match="not trying again") as caught:
        drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    assert isinstance(caught.value.__cause__, telegram.error.NetworkError)
    assert [c.status for c in emu.calls("sendMessage")] == [status]


def test_an_edit_answered_5xx_is_retried(telegram_emulator) -> None:
    """An edit is idempotent: after a 5xx it is tried again until it is done."""
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.fail_next("editMessageText", 502)
        emu.fail_next("editMessageText", 500)
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")
        return ref

    ref = drive(emu, body, start=False)
    assert [c.status for c in emu.calls("editMessageText")] == [502, 500, 200]
    (msg,) = emu.messages(ALICE)
    assert msg.message_id == int(ref.message_id)
    assert msg.text.endswith("✅ Allowed by @alice") and msg.keyboard == []


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_a_send_whose_connection_dropped_is_not_sent_again(telegram_emulator,
                                                            after: bool) -> None:
    """The bridge cannot tell whether the call was done: it says so instead of resending."""
    emu = telegram_emulator
    emu.drop_connection_next("sendMessage", after=after)
    with pytest.raises(DeliveryUnknown, match="not trying again") as caught:
        drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    assert isinstance(caught.value, BridgeError)
    assert isinstance(caught.value.__cause__, telegram.error.NetworkError)
    assert [c.status for c in emu.calls("sendMessage")] == [0]
    assert len(emu.messages(ALICE)) == (1 if after else 0)


def test_a_send_accepted_but_answered_late_is_posted_exactly_once(telegram_emulator) -> None:
    emu = telegram_emulator
    emu.delay_next("sendMessage", 3, after=True)  # done at once; the answer comes too late

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> None:
        with pytest.raises(DeliveryUnknown) as caught:
            await bridge.post_request(request(), BUTTONS)
        assert isinstance(caught.value.__cause__, telegram.error.TimedOut)

    drive(emu, body, start=False, send_timeout=0.5)
    (sent,) = emu.calls("sendMessage")
    (msg,) = emu.messages(ALICE)
    assert sent.status == 200 and msg.keyboard  # one copy, with its buttons


def test_edits_are_retried_after_a_dropped_connection(telegram_emulator) -> None:
    """An edit is idempotent: repeating it cannot make a second copy."""
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.drop_connection_next("editMessageText", after=True)
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")
        return ref

    ref = drive(emu, body, start=False)
    dropped, again = emu.calls("editMessageText")  # done, answer lost; then "already so"
    assert (dropped.status, again.status) == (0, 400) and "not modified" in str(again.error)
    msg = emu.message(ALICE, int(ref.message_id))
    assert msg.text.endswith("✅ Allowed by @alice") and msg.keyboard == []


def test_a_refused_connection_is_retried_not_reported_as_unknown(telegram_emulator) -> None:
    """Nothing listens there: the request never left, so it is tried again (and then the
    error says what failed), never taken for a post that may have arrived."""
    emu = telegram_emulator
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    closed = f"http://127.0.0.1:{port}/bot"

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> None:
        bridge._initialized = True  # getMe needs the same server: skip it (tested elsewhere)
        await bridge.post_request(request(), BUTTONS)

    with pytest.raises(BridgeError, match="connection refused") as caught:
        drive(emu, body, start=False, api_base=closed, retries=2)
    assert not isinstance(caught.value, DeliveryUnknown)


def test_network_errors_give_up_after_the_retries(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> None:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.fail_next("editMessageText", 502, times=10)
        await bridge.show_outcome(ref, request(), "✅ Allowed by @alice")

    with pytest.raises(BridgeError, match="cannot reach the Telegram Bot API") as caught:
        drive(emu, body, start=False, retries=2)
    assert not isinstance(caught.value, DeliveryUnknown)
    assert isinstance(caught.value.__cause__, telegram.error.NetworkError)
    assert len(emu.calls("editMessageText")) == 3


def test_409_conflict_shows_in_health(telegram_emulator) -> None:
    emu = telegram_emulator

    async def body(bridge: TelegramBridge, dispatch: Dispatch) -> tuple[dict, dict]:
        await wait(emu.wait_for_poll)
        before = bridge.health()
        assert raw_get_updates(emu) == 200  # a second poller on the same token
        await wait(emu.wait_for_call, "getUpdates", lambda c: c.status == 409)
        # The bridge records the 409 as it handles it; it shows until a poll succeeds again
        # (the next long poll, 2 s later): read it in between, as `status` would.
        return before, await until_async(
            lambda: (h := bridge.health())["state"] == "conflict" and h, timeout=10,
            what="the conflict in health")

    before, after = drive(emu, body)
    assert before["state"] == "ok" and before["bot"] == "@emu_bot"
    assert after["state"] == "conflict" and after["conflict"] and after["conflicts"] >= 1
    assert "409" in after["detail"]


def test_bad_token_is_a_bridge_auth_error(telegram_emulator) -> None:
    emu = telegram_emulator

    async def main() -> TelegramBridge:
        cfg = config(emu, bot_token=emu.token.split(":")[0] + ":AAWrongWrongWrongWrongWrong")
        bridge = TelegramBridge(BridgeContext(cfg))
        try:
            await bridge.start(Dispatch())
        finally:
            await bridge.close()
        return bridge

    with pytest.raises(BridgeAuthError, match="rejected the bot token") as caught:
        asyncio.run(main())
    assert isinstance(caught.value.__cause__, telegram.error.InvalidToken)
    assert "AAWrong" not in str(caught.value)


def test_unknown_chat_is_a_bridge_auth_error(telegram_emulator) -> None:
    with pytest.raises(BridgeAuthError, match="chat not found"):
        drive(telegram_emulator, lambda b, d: b.post_request(request(), BUTTONS),
              start=False, chat_id=-100999)


def _instances() -> list[telegram.error.TelegramError]:
    made = []
    for _, cls in inspect.getmembers(telegram.error, inspect.isclass):
        if not issubclass(cls, telegram.error.TelegramError):
            continue
        if cls is telegram.error.RetryAfter:
            made.append(cls(3))
        elif cls is telegram.error.ChatMigrated:
            made.append(cls(-100123))
        else:
            made.append(cls("Something: went wrong"))
    return made


@pytest.mark.parametrize("exc", _instances(), ids=lambda e: type(e).__name__)
def test_every_ptb_error_maps_to_a_bridge_error(exc: telegram.error.TelegramError) -> None:
    mapped = map_error(exc, "send a message", "secret-token")
    assert isinstance(mapped, BridgeError)
    assert str(mapped)
    if isinstance(exc, telegram.error.RetryAfter):
        assert isinstance(mapped, RateLimited) and mapped.retry_after == 3
    if isinstance(exc, telegram.error.InvalidToken | telegram.error.Forbidden):
        assert isinstance(mapped, BridgeAuthError)


def test_poll_errors_are_kept_without_the_token() -> None:
    from tether_hooks.platforms.telegram_poll import PollHealth

    token = "7000000001:AAHsome-bot-token-in-an-error-0123"
    health = PollHealth(token)
    health.polling = True
    health.failed(telegram.error.NetworkError(f"httpx.ConnectError: https://h/bot{token}/x"))
    other = "8000000002:AAHanother-token-shaped-value-999"
    health.failed(RuntimeError(f"proxy refused https://h/bot{token}/getUpdates, {other}"))
    report = json.dumps(health.report(60))
    assert token not in report and other not in report
    assert ("proxy refused https://h/bot«secret»/getUpdates, «secret: Telegram bot token»"
            in json.dumps(health.report(60), ensure_ascii=False))

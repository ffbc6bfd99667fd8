"""The Telegram emulator, driven by the real python-telegram-bot (nothing patched)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from harness.telegram import ALLOWED_USER_ID, STRANGER_USER_ID, ptb_urls
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from emulators.telegram import TelegramEmulator, parse_html

T = TypeVar("T")
ALICE = ALLOWED_USER_ID
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Approve", callback_data="ap:1"),
      InlineKeyboardButton("Deny", callback_data="dn:1")]]
)


def with_bot(emu: TelegramEmulator, body: Callable[[Bot], Awaitable[T]]) -> T:
    """Run ``body(bot)`` with an initialised PTB Bot pointed at ``emu``."""

    async def main() -> T:
        async with Bot(emu.token, **ptb_urls(emu)) as bot:
            return await body(bot)

    return asyncio.run(main())


def raw_call(emu: TelegramEmulator, method: str, body: dict[str, Any]) -> tuple[int, dict]:
    """POST a JSON body straight to the emulator, as non-PTB clients do."""
    request = urllib.request.Request(
        f"{emu.base_url}{emu.token}/{method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_send_message_with_html_and_inline_keyboard(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator

    async def body(bot: Bot) -> Any:
        return await bot.send_message(
            ALICE, "<b>Approve</b> <code>rm -rf build</code>?", parse_mode="HTML",
            reply_markup=KEYBOARD,
        )

    sent = with_bot(emu, body)
    assert sent.text == "Approve rm -rf build?"
    spans = [(e.type, e.offset, e.length) for e in sent.entities]
    assert spans == [("bold", 0, 7), ("code", 8, 12)]
    assert sent.reply_markup == KEYBOARD
    (stored,) = emu.messages(ALICE)
    assert stored.message_id == sent.message_id
    assert stored.buttons == ["Approve", "Deny"]
    assert stored.button("Deny")["callback_data"] == "dn:1"
    assert stored.source == "<b>Approve</b> <code>rm -rf build</code>?"
    call = emu.calls("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML" and call.status == 200


def test_callback_data_over_64_bytes_is_button_data_invalid(
    telegram_emulator: TelegramEmulator,
) -> None:
    async def body(bot: Bot) -> list[str]:
        errors = []
        for data in ("x" * 65, "é" * 33, "x" * 64):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])
            try:
                await bot.send_message(ALICE, "pick", reply_markup=markup)
                errors.append("ok")
            except BadRequest as exc:
                errors.append(exc.message)
        return errors

    # PTB strips "Bad Request: " and capitalises what is left.
    assert with_bot(telegram_emulator, body) == ["Button_data_invalid"] * 2 + ["ok"]
    assert len(telegram_emulator.messages(ALICE)) == 1


def test_text_limit_counts_characters_after_entity_parsing(
    telegram_emulator: TelegramEmulator,
) -> None:
    async def body(bot: Bot) -> None:
        with pytest.raises(BadRequest, match="^Message is too long$"):
            await bot.send_message(ALICE, "a" * 4097)
        with pytest.raises(BadRequest, match="^Message is too long$"):
            await bot.send_message(ALICE, "&lt;" * 4097, parse_mode="HTML")
        await bot.send_message(ALICE, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="^Message text is empty$"):
            await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")

    with_bot(telegram_emulator, body)
    assert [len(m.text or "") for m in telegram_emulator.messages(ALICE)] == [4096]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x">l', 'Can\'t find end tag corresponding to start tag "a"'),
    ],
)
def test_bad_html_cannot_parse_entities(
    telegram_emulator: TelegramEmulator, html: str, error: str
) -> None:
    async def body(bot: Bot) -> str:
        with pytest.raises(BadRequest) as exc:
            await bot.send_message(ALICE, html, parse_mode="HTML")
        return exc.value.message

    # PTB's str.capitalize() lowercases all but the first letter.
    assert with_bot(telegram_emulator, body) == f"can't parse entities: {error}".capitalize()


def test_html_parser_entities_and_escapes() -> None:
    text, entities = parse_html(
        'R&amp;D &#128512; <a href="https://x.io/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-sh">ls</code></pre> a & b > c'
    )
    assert text == "R&D \U0001f600 link ls a & b > c"
    assert entities == [
        {"type": "text_link", "offset": 7, "length": 4, "url": "https://x.io/?a=1&b=2"},
        {"type": "pre", "offset": 12, "length": 2, "language": "sh"},
    ]


def test_application_polls_a_press_a_text_and_a_command(
    telegram_emulator: TelegramEmulator,
) -> None:
    emu = telegram_emulator
    seen: list[tuple[str, Any]] = []

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        seen.append(("press", (query.data, query.from_user.id, query.message.message_id)))
        await query.answer("Approved")
        await query.edit_message_text("Approved by @alice")

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None and message.reply_to_message is not None
        seen.append(("text", (message.text, message.reply_to_message.message_id)))

    async def on_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"status: {context.args}")

    async def main() -> None:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        app.add_handler(CallbackQueryHandler(on_press))
        app.add_handler(CommandHandler("status", on_status))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=["message", "callback_query"])
            sent = await app.bot.send_message(ALICE, "Run `ls`?", reply_markup=KEYBOARD)
            qid = emu.press(emu.message(ALICE, sent.message_id), "Approve")
            answer = await asyncio.to_thread(emu.wait_for_callback_answer, qid)
            assert answer.text == "Approved"
            await asyncio.to_thread(
                emu.wait_for_message, lambda m: m.text == "Approved by @alice"
            )
            emu.send_text(ALICE, "deny: too risky", reply_to=sent.message_id)
            emu.send_text(ALICE, "/status now")
            reply = await asyncio.to_thread(
                emu.wait_for_message, lambda m: (m.text or "").startswith("status:")
            )
            assert reply.text == "status: ['now']"
            await asyncio.to_thread(emu.wait_until_confirmed)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert seen == [("press", ("ap:1", ALICE, 1)), ("text", ("deny: too risky", 1))]
    (request,) = [m for m in emu.messages(ALICE) if m.message_id == 1]
    assert request.text == "Approved by @alice" and request.keyboard == []  # edit dropped it
    assert emu.calls("deleteWebhook") and not emu.pending_updates


def test_edits_show_up_in_messages(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator

    async def body(bot: Bot) -> None:
        sent = await bot.send_message(ALICE, "Approve?", reply_markup=KEYBOARD)
        await bot.edit_message_text(
            "<i>Approved</i>", ALICE, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        )
        with pytest.raises(BadRequest, match="^Message is not modified"):
            await bot.edit_message_text(
                "<i>Approved</i>", ALICE, sent.message_id, parse_mode="HTML",
                reply_markup=KEYBOARD,
            )
        await bot.edit_message_reply_markup(ALICE, sent.message_id)
        with pytest.raises(BadRequest, match="^Message to edit not found$"):
            await bot.edit_message_text("x", ALICE, 999)
        await bot.delete_message(ALICE, sent.message_id)
        with pytest.raises(BadRequest, match="^Message to delete not found$"):
            await bot.delete_message(ALICE, sent.message_id)

    with_bot(emu, body)
    assert emu.messages(ALICE) == []
    (gone,) = emu.messages(ALICE, include_deleted=True)
    assert gone.text == "Approved" and gone.entities[0]["type"] == "italic"
    assert gone.reply_markup is None and gone.edit_date is not None


def test_callback_answers_are_once_only(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    with_bot(emu, lambda bot: bot.send_message(ALICE, "Approve?", reply_markup=KEYBOARD))
    qid = emu.press(emu.messages(ALICE)[0], "dn:1", STRANGER_USER_ID, username="mallory")
    update = emu.pending_updates[-1]["callback_query"]
    assert update["from"]["id"] == STRANGER_USER_ID and update["data"] == "dn:1"

    async def body(bot: Bot) -> None:
        await bot.answer_callback_query(qid, "Not allowed", show_alert=True)
        for bad in (qid, "nope"):
            with pytest.raises(BadRequest, match="^Query is too old"):
                await bot.answer_callback_query(bad)

    with_bot(emu, body)
    assert [(a.callback_query_id, a.text, a.show_alert) for a in emu.answered_callbacks] == [
        (qid, "Not allowed", True)
    ]
    with pytest.raises(LookupError):
        emu.press(emu.messages(ALICE)[0], "Maybe")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_429_surfaces_as_retry_after(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    emu.fail_next("sendMessage", 429, retry_after=3)

    async def body(bot: Bot) -> None:
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(ALICE, "hello")
        # .retry_after is an int that warns about becoming a timedelta: read the message.
        assert str(exc.value) == "Flood control exceeded. Retry in 3 seconds"
        await bot.send_message(ALICE, "hello again")

    with_bot(emu, body)
    assert [m.text for m in emu.messages(ALICE)] == ["hello again"]
    assert [c.status for c in emu.calls("sendMessage")] == [429, 200]


def test_server_errors_and_dropped_connections_are_network_errors(
    telegram_emulator: TelegramEmulator,
) -> None:
    emu = telegram_emulator
    emu.fail_next("sendMessage", 502)
    emu.fail_next("sendMessage", 500)
    emu.drop_connection_next("sendMessage")
    emu.drop_connection_next("sendMessage", after=True)

    async def body(bot: Bot) -> list[str]:
        kinds = []
        for _ in range(4):
            with pytest.raises(NetworkError) as exc:
                await bot.send_message(ALICE, "ping")
            kinds.append(type(exc.value).__name__)
        return kinds

    assert with_bot(emu, body) == ["NetworkError"] * 4
    # Only the call dropped after processing was delivered: the client cannot know.
    assert [m.text for m in emu.messages(ALICE)] == ["ping"]


def test_new_poll_terminates_the_open_one_with_conflict(
    telegram_emulator: TelegramEmulator,
) -> None:
    emu = telegram_emulator

    async def main() -> None:
        first, second = Bot(emu.token, **ptb_urls(emu)), Bot(emu.token, **ptb_urls(emu))
        async with first, second:
            open_poll = asyncio.create_task(first.get_updates(timeout=5))
            await asyncio.to_thread(emu.wait_for_poll)
            started = time.monotonic()
            assert await second.get_updates(timeout=0) == ()
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await open_poll
            assert time.monotonic() - started < 2

    asyncio.run(main())
    assert [c.status for c in emu.calls("getUpdates")] == [200, 409]


def test_long_poll_returns_as_soon_as_an_update_arrives(
    telegram_emulator: TelegramEmulator,
) -> None:
    emu = telegram_emulator

    async def body(bot: Bot) -> None:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.to_thread(emu.wait_for_poll)
        started = time.monotonic()
        emu.send_text(ALICE, "hi")
        (update,) = await poll
        assert time.monotonic() - started < 2
        assert update.message is not None and update.message.text == "hi"
        emu.send_text(ALICE, "again")
        # offset confirms the first; allowed_updates drops what the bot did not ask for
        later = await bot.get_updates(
            offset=update.update_id + 1, allowed_updates=["callback_query"]
        )
        assert later == ()
        assert emu.pending_updates == []
        assert await bot.get_updates(timeout=0) == ()

    with_bot(emu, body)
    assert emu.calls("getUpdates")[-1].params == {"timeout": "0"}


def test_forum_topics_and_threads(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    forum = emu.create_forum("Ops")
    group = emu.create_group("Plain")

    async def body(bot: Bot) -> None:
        topic = await bot.create_forum_topic(forum.id, "claude: repo-a", icon_color=0xFFD67E)
        sent = await bot.send_message(
            forum.id, "Approve?", message_thread_id=topic.message_thread_id, reply_markup=KEYBOARD
        )
        assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
        await bot.send_message(
            forum.id, "quoted", message_thread_id=topic.message_thread_id,
            reply_parameters=ReplyParameters(sent.message_id),
        )
        await bot.edit_forum_topic(forum.id, topic.message_thread_id, name="claude: repo-a (idle)")
        await bot.close_forum_topic(forum.id, topic.message_thread_id)
        with pytest.raises(BadRequest, match="^Topic_closed$"):
            await bot.send_message(forum.id, "late", message_thread_id=topic.message_thread_id)
        with pytest.raises(BadRequest, match="^Message thread not found$"):
            await bot.send_message(forum.id, "lost", message_thread_id=999)
        with pytest.raises(BadRequest, match="^The chat is not a forum$"):
            await bot.create_forum_topic(group.id, "nope")
        with pytest.raises(BadRequest, match="^Chat not found$"):
            await bot.send_message(-100999, "nobody")

    with_bot(emu, body)
    (topic,) = emu.chat(forum.id).topics.values()
    assert (topic.name, topic.icon_color, topic.closed) == ("claude: repo-a (idle)", 0xFFD67E, True)
    request, quoted = emu.messages(forum.id, thread_id=topic.thread_id)
    assert (request.text, request.reply_to) == ("Approve?", topic.thread_id)
    assert (quoted.text, quoted.reply_to) == ("quoted", request.message_id)
    # Privacy mode: a plain message in a group is not for the bot; a reply to it is.
    chatter = emu.send_text(forum.id, "lunch?", thread_id=topic.thread_id)
    assert chatter.reply_to == topic.thread_id and emu.pending_updates == []
    emu.send_text(forum.id, "deny: no", reply_to=request)
    update = emu.pending_updates[-1]["message"]
    assert update["message_thread_id"] == topic.thread_id and update["is_topic_message"]
    assert update["reply_to_message"]["text"] == "Approve?"


def test_commands_documents_and_wire_details(telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator

    async def body(bot: Bot) -> None:
        await bot.set_my_commands([("status", "Show pending requests")])
        assert [c.command for c in await bot.get_my_commands()] == ["status"]
        doc = await bot.send_document(
            ALICE, b"diff --git a b", filename="change.diff", caption="<b>diff</b>",
            parse_mode="HTML",
        )
        assert doc.document is not None and doc.document.file_size == 14
        assert doc.caption == "diff"
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")

    with_bot(emu, body)
    assert emu.commands() == [{"command": "status", "description": "Show pending requests"}]

    status, data = raw_call(emu, "SENDMESSAGE", {"chat_id": ALICE, "text": "json body"})
    assert status == 200 and data["result"]["text"] == "json body"
    status, data = raw_call(emu, "sendMessage", {"chat_id": ALICE})
    assert (status, data) == (
        400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
    )
    status, data = raw_call(emu, "nope", {})
    assert (status, data) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def wrong_token() -> None:
        async with Bot("7000000001:AAHwrong-token-for-the-emulator-xx", **ptb_urls(emu)):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(wrong_token())

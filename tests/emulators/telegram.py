"""A Telegram Bot API emulator on 127.0.0.1 for driving the real python-telegram-bot.

Point PTB at it with ``ApplicationBuilder().token(emu.token).base_url(emu.base_url)
.base_file_url(emu.base_file_url)``. The server runs aiohttp in a background thread; every
control method below is thread-safe and meant for synchronous tests.

Emulated, on the real wire protocol (POST/GET, query, form, multipart or JSON bodies; method
names case-insensitive; errors as non-2xx ``{"ok":false,"error_code","description"}``):

* getMe, logOut/close (no-ops), getUpdates (long polling; ``offset`` confirms, negative offsets;
  ``limit``; ``allowed_updates`` kept between calls; a new call terminates an open one with 409
  "terminated by other getUpdates request", as Telegram does; 409 while a webhook is set),
  setWebhook, deleteWebhook (``drop_pending_updates``), getWebhookInfo.
* sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, sendChatAction,
  sendDocument, answerCallbackQuery, setMyCommands, getMyCommands, deleteMyCommands,
  createForumTopic, editForumTopic, closeForumTopic, reopenForumTopic, deleteForumTopic.

Strict like the server: parse_mode=HTML is parsed with the tdlib rules (the same error texts);
text is limited to 4096 characters (code points, measured after entity parsing and trimming);
captions to 1024; callback_data must be 1-64 UTF-8 bytes (BUTTON_DATA_INVALID); buttons need an
action; unknown chats, threads, closed topics, replied-to and edited messages are refused;
an edit that changes nothing is "message is not modified"; editMessageText without reply_markup
drops the inline keyboard; a callback query can be answered once, within ``callback_ttl``
seconds. Unknown methods give 404 "Not Found", a wrong token 401, a malformed one 404.

Groups use privacy mode (``privacy_mode=True``, as BotFather sets it): the bot only gets
commands, @mentions and explicit replies to its own messages. The implicit reply to a forum
topic's first message does not count.

Not emulated: MarkdownV2/Markdown parsing (text is kept verbatim), automatic entities in bot
messages (urls, mentions), flood control (inject it with :meth:`TelegramEmulator.fail_next`),
inline mode, payments, media other than documents, getChat and chat member methods.
Error texts seen from the real server: BUTTON_DATA_INVALID, message is too long, message text is
empty, can't parse entities, message is not modified, message to edit/delete not found, query
is too old, chat not found, message thread not found, the 409s. Others (topic errors, "inline
keyboard expected", bad parameter types) are close guesses.

Control API (tests): ``create_private_chat``/``create_group``/``create_supergroup``/
``create_forum``/``create_topic``, ``send_text`` and ``press`` (inject updates as a user),
``push_update``/``redeliver`` (raw and replayed updates),
``messages``/``message``/``answered_callbacks``/``calls``/``pending_updates`` (inspect),
``wait_for_message``/``wait_for_callback_answer``/``wait_for_call``/``wait_for_poll``/
``wait_until_confirmed``/``wait_until`` (block on a threading.Condition, raise TimeoutError),
``fail_next``/``delay_next``/``drop_connection_next`` (faults). ``internal_errors`` holds
emulator crashes.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "Chat",
    "Message",
    "TelegramEmulator",
    "Topic",
    "parse_html",
]

T = TypeVar("T")

MAX_TEXT = 4096
MAX_CAPTION = 1024
_UNAUTHORIZED = (401, "Unauthorized")
_NOT_FOUND = (404, "Not Found")
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_DEFAULT_ALLOWED = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
        "inline_query", "chosen_inline_result", "my_chat_member", "chat_join_request",
    }
)
_ICON_COLORS = {0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F}
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------------------------------------
# HTML parse mode, ported from tdlib's parse_html (td/telegram/MessageEntity.cpp)

_HTML_TAGS = {
    "a": "text_link", "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "tg-emoji": "custom_emoji",
    "code": "code", "pre": "pre", "blockquote": "blockquote",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    """Raised by :func:`parse_html` with tdlib's wording."""


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    m = _HTML_ENTITY_RE.match(text, i)
    if not m:
        return None
    if m.group(3):
        return _NAMED[m.group(3)], m.end()
    cp = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return None
    return chr(cp), m.end()


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: ``(plain_text, entities)``; offsets in UTF-16 units."""
    out: list[str] = []
    pos = 0  # UTF-16 offset in the output
    stack: list[tuple[str, dict[str, Any], int]] = []
    entities: list[dict[str, Any]] = []
    n, i = len(text), 0

    def at(p: int) -> str:
        return text[p] if p < n else "\0"

    def byte_offset(p: int) -> int:
        return len(text[:p].encode())

    while i < n:
        c = text[i]
        if c == "&" and (decoded := _decode_entity(text, i)):
            out.append(decoded[0])
            pos += _u16(decoded[0])
            i = decoded[1]
            continue
        if c != "<":
            out.append(c)
            pos += _u16(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while i < n and not at(i).isspace() and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            attrs: dict[str, Any] = {}
            while at(i) != ">":
                while i < n and at(i).isspace():
                    i += 1
                if at(i) == ">":
                    break
                name_start = i
                while i < n and not at(i).isspace() and at(i) not in "=>":
                    i += 1
                attr = text[name_start:i].lower()
                if not attr and i < n:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and at(i).isspace():
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        attrs["expandable"] = True
                        continue
                    if i >= n:
                        raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                    raise HtmlError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and at(i).isspace():
                    i += 1
                if i >= n:
                    raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if at(i) not in "'\"":
                    token_start = i
                    while at(i).isalnum() or at(i) in ".-":
                        i += 1
                    value = text[token_start:i].lower()
                    if not at(i).isspace() and at(i) != ">":
                        raise HtmlError(
                            f"Unexpected end of name token at byte offset "
                            f"{byte_offset(token_start)}"
                        )
                else:
                    quote, chars = at(i), []
                    i += 1
                    while i < n and at(i) != quote:
                        if at(i) == "&" and (decoded := _decode_entity(text, i)):
                            chars.append(decoded[0])
                            i = decoded[1]
                            continue
                        chars.append(at(i))
                        i += 1
                    if i >= n:
                        raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                    i += 1
                    value = "".join(chars)
                attrs[attr] = value
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append((tag, attrs, pos))
        else:
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            while i < n and not at(i).isspace() and at(i) != ">":
                i += 1
            end_name = text[begin + 2 : i]
            while i < n and at(i).isspace():
                i += 1
            if at(i) != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            tag, attrs, start = stack.pop()
            if end_name and end_name.lower() != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            if pos > start:
                entities.append(_html_entity(tag, attrs, start, pos - start))
        i += 1
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), _merge_pre_code([e for e in entities if e])


def _html_entity(tag: str, attrs: dict[str, Any], offset: int, length: int) -> dict[str, Any]:
    kind = _HTML_TAGS[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        if not attrs.get("href"):
            return {}
        entity["url"] = attrs["href"]
    elif kind == "custom_emoji":
        if not attrs.get("emoji-id"):
            return {}
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif kind == "code" and str(attrs.get("class", "")).startswith("language-"):
        entity["language"] = attrs["class"][len("language-") :]
    elif kind == "blockquote" and attrs.get("expandable"):
        entity["type"] = "expandable_blockquote"
    return entity


def _merge_pre_code(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``<pre><code class="language-x">`` is one pre entity with a language."""
    pres = {(e["offset"], e["length"]): e for e in entities if e["type"] == "pre"}
    result = []
    for e in entities:
        pre = pres.get((e["offset"], e["length"]))
        if e["type"] == "code" and pre is not None:
            if "language" in e:
                pre["language"] = e["language"]
            continue
        if e["type"] == "code":
            e.pop("language", None)
        result.append(e)
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips surrounding whitespace and empty entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _u16(text[: len(text) - len(text.lstrip())])
    size = _u16(stripped)
    fixed = []
    for e in entities:
        start = min(max(e["offset"] - lead, 0), size)
        end = min(max(e["offset"] + e["length"] - lead, 0), size)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return stripped, fixed


# ---------------------------------------------------------------------------------------------
# Model


@dataclass
class Topic:
    """A forum topic; ``thread_id`` is the id of its creation message."""

    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False


@dataclass
class Chat:
    """A chat the emulator knows; private chats use the user id as chat id."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    topics: dict[int, Topic] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Message:
    """A message as Telegram holds it now (after edits). Snapshots are copies."""

    chat_id: int
    message_id: int
    sender_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None  # the text as sent, before entity parsing
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    thread_id: int | None = None
    reply_to: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    document: dict[str, Any] | None = None
    caption: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # service fields

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard rows ([] when there is none)."""
        return list((self.reply_markup or {}).get("inline_keyboard", []))

    @property
    def buttons(self) -> list[str]:
        """Labels of all inline buttons, row by row."""
        return [b["text"] for row in self.keyboard for b in row]

    def button(self, label_or_data: str) -> dict[str, Any]:
        """The inline button whose callback_data, else label, equals ``label_or_data``."""
        flat = [b for row in self.keyboard for b in row]
        for key in ("callback_data", "text"):
            for b in flat:
                if b.get(key) == label_or_data:
                    return b
        raise LookupError(f"no button {label_or_data!r} on message {self.message_id}: {flat}")


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made and its outcome (status 0: connection dropped).

    ``params`` are as sent: strings from form bodies (PTB), JSON values from JSON bodies.
    """

    method: str
    params: dict[str, Any]
    status: int
    result: Any = None
    error: str | None = None
    at: float = 0.0


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery the bot sent."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class _Query:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created: float
    answer: CallbackAnswer | None = None


@dataclass
class _Fault:
    method: str
    status: int | None  # None: drop the connection
    description: str | None
    retry_after: int | None
    after: bool = False
    delay: float = 0.0  # answer normally, this many seconds late


@dataclass
class _Poll:
    terminated: bool = False


@dataclass(frozen=True)
class _Upload:
    filename: str
    content_type: str
    data: bytes


class _Params:
    """Request parameters as strings (form/query) or JSON values, coerced on access."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def get_str(self, name: str, *, required: bool = False, empty: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _bad(empty or f"{name} is empty")
            return None
        if isinstance(value, _Upload):
            raise _bad(f"wrong type of the parameter {name}")
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise _bad(f"invalid {name} specified")

    def get_bool(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, error: str | None = None) -> Any:
        value = self.data.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error or f"can't parse {name} JSON object") from None


def _validate_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only:
            raise _bad("inline keyboard expected")
        if not ({"keyboard", "remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: Text must be a String")
            actions = [a for a in _BUTTON_ACTIONS if a in button]
            if not actions:
                raise _bad("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                raise _bad("BUTTON_URL_INVALID")
    return {"inline_keyboard": rows} if rows else None


# ---------------------------------------------------------------------------------------------
# The emulator


class TelegramEmulator:
    """One bot's view of Telegram, served on ``base_url``; see the module docstring."""

    def __init__(
        self,
        token: str = "123456789:TEST-token_for_the_emulator",
        *,
        bot_username: str = "emu_bot",
        bot_name: str = "EmuBot",
        callback_ttl: float | None = 15.0,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.privacy_mode = privacy_mode
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.callback_ttl = callback_ttl
        self.default_user_id: int | None = None
        self.internal_errors: list[str] = []  # tracebacks of emulator bugs; should stay empty
        self._cond = threading.Condition(threading.RLock())
        self._users: dict[int, dict[str, Any]] = {
            self.bot_id: {
                "id": self.bot_id, "is_bot": True, "first_name": bot_name,
                "username": bot_username,
            }
        }
        self._chats: dict[int, Chat] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], Message] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._sent_updates: dict[int, dict[str, Any]] = {}  # every update queued, by id
        self._update_ids = itertools.count(10_000)
        self._last_update_id = 0
        self._confirmed_up_to = 0  # every update id below this has been confirmed
        self._allowed = _DEFAULT_ALLOWED
        self._webhook: str | None = None
        self._poll: _Poll | None = None
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(7_000_000_001)
        self._answers: list[CallbackAnswer] = []
        self._calls: list[ApiCall] = []
        self._faults: list[_Fault] = []
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._pulse_event: asyncio.Event | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()``: PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> TelegramEmulator:
        """Serve on a random port in a daemon thread; returns once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        loop = self._loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._pulse_event = asyncio.Event()
        self._thread = threading.Thread(target=loop.run_forever, name="tg-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answer open long polls, close the server and its thread."""
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        with self._cond:
            self._stopping = True
        loop.call_soon_threadsafe(self._pulse)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = self._runner = None

    def __enter__(self) -> TelegramEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- world setup ------------------------------------------------------------------------

    def add_user(
        self, user_id: int, first_name: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Register (or update) a human user; returns its User object."""
        with self._cond:
            user = self._users.setdefault(
                user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
            )
            if first_name:
                user["first_name"] = first_name
            if username:
                user["username"] = username
            return dict(user)

    def create_private_chat(
        self, user_id: int, first_name: str | None = None, username: str | None = None
    ) -> Chat:
        """The user's chat with the bot (the user has pressed Start)."""
        user = self.add_user(user_id, first_name, username)
        name, username = user["first_name"], user.get("username")
        return self._add_chat(Chat(user_id, "private", first_name=name, username=username))

    def create_group(self, title: str = "Group", chat_id: int | None = None) -> Chat:
        """A basic group with the bot in it."""
        return self._add_chat(Chat(chat_id or -(4000 + len(self._chats)), "group", title=title))

    def create_supergroup(
        self,
        title: str = "Supergroup",
        *,
        forum: bool = False,
        chat_id: int | None = None,
        username: str | None = None,
    ) -> Chat:
        """A supergroup (a forum if ``forum``) where the bot is an admin."""
        cid = chat_id or -(1_001_000_000_000 + len(self._chats))
        chat = Chat(cid, "supergroup", title=title, username=username, is_forum=forum)
        return self._add_chat(chat)

    def create_forum(self, title: str = "Forum", chat_id: int | None = None) -> Chat:
        """A forum supergroup where the bot may manage topics."""
        return self.create_supergroup(title, forum=True, chat_id=chat_id)

    def create_topic(
        self, chat_id: int, name: str, user_id: int | None = None, icon_color: int = 0x6FB9F0
    ) -> Topic:
        """A topic created by a user in a forum."""
        uid = self._user_for(user_id, None)
        with self._cond:
            chat = self._chat_or_raise(chat_id)
            if not chat.is_forum:
                raise ValueError(f"chat {chat_id} is not a forum")
            return copy.copy(self._create_topic(chat, name, icon_color, None, uid))

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends to their chat get 403."""
        with self._cond:
            self._blocked.add(user_id)

    def _add_chat(self, chat: Chat) -> Chat:
        with self._cond:
            self._chats[chat.id] = chat
            self._next_message_id.setdefault(chat.id, 1)
            return copy.deepcopy(chat)

    def chat(self, chat_id: int) -> Chat:
        with self._cond:
            return copy.deepcopy(self._chats[chat_id])

    # -- user actions -----------------------------------------------------------------------

    def send_text(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        *,
        reply_to: Message | int | None = None,
        thread_id: int | None = None,
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> Message:
        """A user writes ``text``; /commands get bot_command entities.

        Queues a message update unless privacy mode hides it from the bot (see ``_bot_sees``).
        """
        uid = self._user_for(user_id, username)
        with self._cond:
            chat = self._chat_or_raise(chat_id)
            if isinstance(reply_to, Message):
                reply_to = reply_to.message_id
            if reply_to is not None:
                target = self._messages.get((chat_id, reply_to))
                if target is None or target.deleted:
                    raise LookupError(f"no message {reply_to} in chat {chat_id}")
                if thread_id is None and chat.is_forum:
                    thread_id = target.thread_id
            if thread_id is not None and chat.is_forum and thread_id not in chat.topics:
                raise LookupError(f"no topic {thread_id} in chat {chat_id}")
            if entities is None:
                entities = [
                    {"type": "bot_command", "offset": _u16(text[: m.start()]),
                     "length": _u16(m.group())}
                    for m in _COMMAND_RE.finditer(text)
                ]
            explicit_reply = reply_to
            msg = self._store(
                chat, uid, text=text, entities=entities, thread_id=thread_id, reply_to=reply_to
            )
            if self._bot_sees(chat, msg, explicit_reply):
                self._push_update("message", self._message_json(msg))
            return copy.deepcopy(msg)

    def _bot_sees(self, chat: Chat, msg: Message, reply_to: int | None) -> bool:
        """Privacy mode: in groups only commands, @mentions and replies to the bot arrive."""
        if chat.type == "private" or not self.privacy_mode:
            return True
        replied = self._messages.get((chat.id, reply_to)) if reply_to is not None else None
        return (
            (replied is not None and replied.from_bot)
            or any(e["type"] == "bot_command" for e in msg.entities)
            or f"@{self.bot_username}".lower() in (msg.text or "").lower()
        )

    def press(
        self,
        message: Message | int,
        button: str,
        user_id: int | None = None,
        *,
        chat_id: int | None = None,
        username: str | None = None,
        force: bool = False,
    ) -> str:
        """A user presses the inline button with this callback_data (or label).

        The button must be on the message *now* (after edits) unless ``force``, which sends
        ``button`` as the data anyway (a stale client). Returns the callback query id.
        """
        uid = self._user_for(user_id, username)
        with self._cond:
            if isinstance(message, Message):
                chat_id, message = message.chat_id, message.message_id
            if chat_id is None:
                raise ValueError("press(message_id, ...) needs chat_id")
            msg = self._messages.get((chat_id, message))
            if msg is None or msg.deleted:
                raise LookupError(f"no message {message} in chat {chat_id}")
            if force:
                data = button
            else:
                found = msg.button(button)
                if "callback_data" not in found:
                    raise ValueError(f"button {button!r} has no callback_data: {found}")
                data = found["callback_data"]
            qid = str(next(self._query_ids))
            self._queries[qid] = _Query(qid, chat_id, message, uid, data, time.monotonic())
            self._push_update(
                "callback_query",
                {
                    "id": qid,
                    "from": dict(self._users[uid]),
                    "message": self._message_json(msg),
                    "chat_instance": str(abs(chat_id) * 7919 % 10**12),
                    "data": data,
                },
            )
            return qid

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue any raw update (``{"update_id": N, kind: payload}``); returns its id."""
        with self._cond:
            return self._push_update(kind, payload)

    def _user_for(self, user_id: int | None, username: str | None) -> int:
        uid = user_id if user_id is not None else self.default_user_id
        if uid is None:
            raise ValueError("pass user_id (no default_user_id set)")
        self.add_user(uid, username=username)
        return uid

    def redeliver(self, update_id: int) -> None:
        """Queue an update again with its own id, as Telegram does with one it believes
        unconfirmed (or a proxy replaying traffic)."""
        with self._cond:
            self._updates.append(copy.deepcopy(self._sent_updates[update_id]))
            self._updates.sort(key=lambda u: u["update_id"])
            self._changed()

    def _push_update(self, kind: str, payload: dict[str, Any]) -> int:
        uid = next(self._update_ids)
        self._sent_updates[uid] = {"update_id": uid, kind: copy.deepcopy(payload)}
        self._updates.append({"update_id": uid, kind: payload})
        self._last_update_id = uid
        self._changed()
        return uid

    # -- inspection -------------------------------------------------------------------------

    def messages(
        self,
        chat_id: int | None = None,
        *,
        thread_id: int | None = None,
        include_user: bool = False,
        include_deleted: bool = False,
    ) -> list[Message]:
        """What the bot sent (and, with ``include_user``, what users wrote), as it is now."""
        with self._cond:
            return [
                copy.deepcopy(m)
                for m in self._messages.values()
                if (chat_id is None or m.chat_id == chat_id)
                and (thread_id is None or m.thread_id == thread_id)
                and (include_user or m.from_bot)
                and (include_deleted or not m.deleted)
                and not m.extra
            ]

    def message(self, chat_id: int, message_id: int) -> Message:
        with self._cond:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    @property
    def answered_callbacks(self) -> list[CallbackAnswer]:
        with self._cond:
            return list(self._answers)

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every API request so far (or those of ``method``), oldest first."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict[str, Any]]:
        """The command list set with setMyCommands for ``scope`` (its type) and language."""
        with self._cond:
            return list(self._commands.get(f"{scope}|{language_code}", []))

    @property
    def sent_updates(self) -> dict[int, dict[str, Any]]:
        """Every update ever queued, by id (confirmed or not)."""
        with self._cond:
            return copy.deepcopy(self._sent_updates)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        with self._cond:
            return copy.deepcopy(self._updates)

    # -- waiting ----------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], T], timeout: float = 5.0, what: str = "") -> T:
        """Block until ``predicate()`` (run under the emulator lock) is truthy; return it."""
        with self._cond:
            result = self._cond.wait_for(predicate, timeout)
            if not result:
                recent = [f"{c.method}:{c.status}" for c in self._calls[-15:]]
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"recent calls: {recent}"
                )
            return result

    def wait_for_message(
        self,
        predicate: Callable[[Message], bool] | None = None,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,
        include_user: bool = False,
    ) -> Message:
        """The first message (current state) the bot sent that satisfies ``predicate``."""

        def find() -> Message | None:
            for m in self.messages(chat_id, include_user=include_user):
                if predicate is None or predicate(m):
                    return m
            return None

        return self.wait_until(find, timeout, "a matching message")

    def wait_for_callback_answer(
        self, callback_query_id: str, timeout: float = 5.0
    ) -> CallbackAnswer:
        def find() -> CallbackAnswer | None:
            query = self._queries.get(callback_query_id)
            return query.answer if query else None

        return self.wait_until(find, timeout, f"answerCallbackQuery {callback_query_id}")

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 5.0,
    ) -> ApiCall:
        """The first call of ``method`` at index >= ``after`` in the log (``len(calls())``)."""

        def find() -> ApiCall | None:
            for c in self._calls[after:]:
                if c.method.lower() == method.lower() and (predicate is None or predicate(c)):
                    return c
            return None

        return self.wait_until(find, timeout, f"a {method} call")

    def wait_for_poll(self, timeout: float = 5.0) -> None:
        """Until a getUpdates long poll is open (the bot is listening)."""
        self.wait_until(lambda: self._poll is not None, timeout, "an open getUpdates")

    def wait_until_confirmed(self, update_id: int | None = None, timeout: float = 5.0) -> None:
        """Until the bot confirmed ``update_id`` (default: every update queued so far)."""
        with self._cond:
            target = self._last_update_id if update_id is None else update_id
            self.wait_until(lambda: self._confirmed_up_to > target, timeout, f"update {target}")

    # -- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any) fail without side effects.

        429 carries ``parameters.retry_after`` (default 1); 502 answers with nginx's HTML page.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            self._faults += [_Fault(method.lower(), status, description, retry_after)] * times

    def delay_next(self, method: str, seconds: float, *, after: bool = False,
                   times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are answered normally, ``seconds`` late
        (longer than the client's read timeout: a timeout on its side). ``after``: the call
        is done at once and only its answer is late (accepted, then the answer is lost)."""
        with self._cond:
            self._faults += [_Fault(method.lower(), None, None, None, after, delay=seconds)] * times

    def drop_connection_next(self, method: str, *, after: bool = False, times: int = 1) -> None:
        """Close the connection without a response, before (or ``after``) doing the call."""
        with self._cond:
            self._faults += [_Fault(method.lower(), None, None, None, after)] * times

    # -- HTTP -------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._cond.notify_all()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._pulse()
        else:
            loop.call_soon_threadsafe(self._pulse)

    def _pulse(self) -> None:
        if self._pulse_event is not None:
            self._pulse_event.set()
            self._pulse_event = asyncio.Event()

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if request.body_exists and ctype == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                raise _bad("can't parse JSON") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON")
            params.update(body)
        elif request.body_exists and ctype in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = _Upload(
                        value.filename or key, value.content_type, value.file.read()
                    )
                else:
                    params[key] = value
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value[len("attach://") :], value)
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        m = re.fullmatch(r"bot([^/]*)/([^/]*)", request.match_info["path"])
        if not m:
            return self._error_response(*_NOT_FOUND)
        token, method = m.groups()
        if token != self.token:
            well_formed = re.fullmatch(r"\d+:[\w-]{20,}", token)
            error = _ApiError(*(_UNAUTHORIZED if well_formed else _NOT_FOUND))
            return self._record(method, {}, error)
        name = method.lower()
        try:
            raw = await self._read_params(request)
        except _ApiError as exc:
            return self._record(method, {}, exc)
        with self._cond:
            fault = next((f for f in self._faults if f.method in (name, "*")), None)
            if fault is not None:
                self._faults.remove(fault)
        late = 0.0
        if fault is not None and fault.delay:
            if fault.after:
                late = fault.delay
            else:
                await asyncio.sleep(fault.delay)
            fault = None
        if fault is not None and fault.status is not None:
            return self._fault_response(method, raw, fault)
        if fault is not None and not fault.after:
            return self._drop(request, method, raw)
        handler = getattr(self, f"_api_{name}", None) if name.isalnum() else None
        if handler is None and name != "getupdates":
            return self._record(method, raw, _ApiError(*_NOT_FOUND))
        try:
            if handler is None:
                result = await self._get_updates(_Params(raw))
            else:
                with self._cond:
                    result = handler(_Params(raw))
        except _ApiError as exc:
            return self._record(method, raw, exc)
        except Exception:  # an emulator bug: keep it visible to the test
            with self._cond:
                self.internal_errors.append(traceback.format_exc())
            return self._record(method, raw, _ApiError(500, "Internal Server Error"))
        if fault is not None:
            return self._drop(request, method, raw, result)
        response = self._record(method, raw, result=result)
        if late:
            await self._linger(late)
        return response

    async def _linger(self, seconds: float) -> None:
        """Wait ``seconds`` before answering, or until the emulator stops."""
        assert self._loop is not None
        deadline = self._loop.time() + seconds
        while not self._stopping and (remaining := deadline - self._loop.time()) > 0:
            event = self._pulse_event
            assert event is not None
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def _drop(
        self, request: web.Request, method: str, raw: dict[str, Any], result: Any = None
    ) -> web.StreamResponse:
        """Abort the TCP connection; the call is logged with status 0."""
        with self._cond:
            error = "connection dropped" + (" after processing" if result is not None else "")
            self._calls.append(ApiCall(method, raw, 0, result, error, time.time()))
            self._changed()
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # aiohttp then writes nothing on the closed socket

    def _fault_response(self, method: str, raw: dict[str, Any], fault: _Fault) -> web.Response:
        status = fault.status or 500
        if status == 502:
            with self._cond:
                self._calls.append(ApiCall(method, raw, 502, error="Bad Gateway", at=time.time()))
                self._changed()
            html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            html += "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            return web.Response(status=502, text=html + "</body>\r\n</html>\r\n",
                                content_type="text/html")
        if fault.description:
            description = fault.description
        elif status == 429:
            description = f"Too Many Requests: retry after {fault.retry_after}"
        else:
            description = {500: "Internal Server Error", 400: "Bad Request"}.get(status, "Error")
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        return self._record(method, raw, _ApiError(status, description, parameters))

    def _record(
        self,
        method: str,
        raw: dict[str, Any],
        error: _ApiError | None = None,
        result: Any = None,
    ) -> web.Response:
        shown = {k: f"<file {v.filename}>" if isinstance(v, _Upload) else v for k, v in raw.items()}
        with self._cond:
            self._calls.append(
                ApiCall(
                    method, shown, error.status if error else 200, result,
                    error.description if error else None, time.time(),
                )
            )
            self._changed()
        if error is not None:
            return self._error_response(error.status, error.description, error.parameters)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error_response(
        status: int, description: str, parameters: dict | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    # -- getUpdates -------------------------------------------------------------------------

    async def _get_updates(self, p: _Params) -> list[dict[str, Any]]:
        offset = p.get_int("offset") or 0
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_int("timeout") or 0, 0)
        allowed = p.get_json("allowed_updates")
        poll = _Poll()
        with self._cond:
            if self._webhook:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if isinstance(allowed, list):
                self._allowed = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
            self._confirm(offset)
            if self._poll is not None:
                self._poll.terminated = True
            self._poll = poll
            self._changed()
        assert self._loop is not None
        deadline = self._loop.time() + timeout
        try:
            while True:
                event = self._pulse_event
                assert event is not None
                with self._cond:
                    if poll.terminated:
                        raise _ApiError(
                            409,
                            "Conflict: terminated by other getUpdates request; make sure "
                            "that only one bot instance is running",
                        )
                    self._updates = [u for u in self._updates if self._allowed & u.keys()]
                    ready = [u for u in self._updates if u["update_id"] >= offset][:limit]
                    remaining = deadline - self._loop.time()
                    if ready or remaining <= 0 or self._stopping:
                        return copy.deepcopy(ready)
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            with self._cond:
                if self._poll is poll:
                    self._poll = None
                    self._changed()

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed_up_to = max(self._confirmed_up_to, offset)

    # -- API methods (called under the lock) ------------------------------------------------

    def _api_getme(self, p: _Params) -> dict[str, Any]:
        return {
            **self._users[self.bot_id], "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    def _api_logout(self, p: _Params) -> bool:
        return True

    _api_close = _api_logout

    def _api_setwebhook(self, p: _Params) -> bool:
        url = p.get_str("url")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = url
        if url and self._poll is not None:
            self._poll.terminated = True
            self._changed()
        return True

    def _api_deletewebhook(self, p: _Params) -> bool:
        self._webhook = None
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, p: _Params) -> dict[str, Any]:
        return {
            "url": self._webhook or "", "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _resolve_chat(self, p: _Params) -> Chat:
        raw = p.get_str("chat_id", required=True)
        assert raw is not None
        if raw.startswith("@"):
            chat = next((c for c in self._chats.values() if c.username == raw[1:]), None)
        else:
            chat = self._chats.get(int(raw)) if re.fullmatch(r"-?\d+", raw) else None
        if chat is None:
            raise _bad("chat not found")
        if chat.type == "private" and chat.id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _thread_of(self, chat: Chat, p: _Params) -> int | None:
        thread_id = p.get_int("message_thread_id")
        if thread_id is None or not chat.is_forum:
            return None  # ignored outside forums, like the server does for plain chats
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise _bad("message thread not found")
        if topic.closed:
            raise _bad("TOPIC_CLOSED")
        return thread_id

    def _formatted(
        self, p: _Params, key: str, limit: int, *, required: bool
    ) -> tuple[str | None, list[dict[str, Any]], str | None]:
        source = p.get_str(key)
        mode = p.get_str("parse_mode")
        if source is None:
            if required:
                raise _bad("message text is empty")
            return None, [], mode
        if mode is not None and mode.lower() not in ("html", "markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        entities = p.get_json(f"{'caption_' if key == 'caption' else ''}entities") or []
        text = source
        if mode and mode.lower() == "html":
            try:
                text, entities = parse_html(source)
            except HtmlError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        text, entities = _trim(text, entities)
        if not text and required:
            raise _bad("message text is empty")
        if len(text) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        return text, entities, mode

    def _reply_target(self, chat: Chat, p: _Params) -> int | None:
        params = p.get_json("reply_parameters", "can't parse reply parameters JSON object") or {}
        mid = params.get("message_id") if isinstance(params, dict) else None
        if mid is None:
            mid = p.get_int("reply_to_message_id")
        if mid is None:
            return None
        target = self._messages.get((chat.id, int(mid)))
        if target is None or target.deleted:
            lenient = params.get("allow_sending_without_reply") or p.get_bool(
                "allow_sending_without_reply"
            )
            if lenient:
                return None
            raise _bad("message to be replied not found")
        return int(mid)

    def _api_sendmessage(self, p: _Params) -> dict[str, Any]:
        chat = self._resolve_chat(p)
        text, entities, mode = self._formatted(p, "text", MAX_TEXT, required=True)
        markup = _validate_markup(p.get_json("reply_markup"))
        thread_id = self._thread_of(chat, p)
        reply_to = self._reply_target(chat, p)
        msg = self._store(
            chat, self.bot_id, text=text, entities=entities, source=p.get_str("text"),
            parse_mode=mode, reply_markup=markup, thread_id=thread_id, reply_to=reply_to,
        )
        return self._message_json(msg)

    def _api_senddocument(self, p: _Params) -> dict[str, Any]:
        chat = self._resolve_chat(p)
        doc = p.data.get("document")
        if isinstance(doc, _Upload):
            file_id = f"BQAC{len(self._files) + 1:06d}{self.bot_id}"
            info = {
                "file_id": file_id, "file_unique_id": f"AgAD{len(self._files) + 1:06d}",
                "file_name": doc.filename, "mime_type": doc.content_type,
                "file_size": len(doc.data),
            }
            self._files[file_id] = {**info, "data": doc.data}
        elif isinstance(doc, str) and doc in self._files:
            info = {k: v for k, v in self._files[doc].items() if k != "data"}
        elif doc:
            raise _bad("wrong file identifier/HTTP URL specified")
        else:
            raise _bad("there is no document in the request")
        caption, entities, mode = self._formatted(p, "caption", MAX_CAPTION, required=False)
        msg = self._store(
            chat, self.bot_id, caption=caption, entities=entities, source=p.get_str("caption"),
            parse_mode=mode, reply_markup=_validate_markup(p.get_json("reply_markup")),
            thread_id=self._thread_of(chat, p), reply_to=self._reply_target(chat, p),
            document=info,
        )
        return self._message_json(msg)

    def _editable(self, p: _Params) -> Message:
        if p.has("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(p)
        mid = p.get_int("message_id", required=True)
        msg = self._messages.get((chat.id, mid or 0))
        if msg is None or msg.deleted or msg.extra:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _api_editmessagetext(self, p: _Params) -> dict[str, Any]:
        msg = self._editable(p)
        if msg.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities, mode = self._formatted(p, "text", MAX_TEXT, required=True)
        # Omitting reply_markup removes the inline keyboard, as on the real server.
        markup = _validate_markup(p.get_json("reply_markup"), inline_only=True)
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise _bad(_NOT_MODIFIED)
        msg.text, msg.entities, msg.reply_markup = text, entities, markup
        msg.source, msg.parse_mode, msg.edit_date = p.get_str("text"), mode, int(time.time())
        return self._message_json(msg)

    def _api_editmessagereplymarkup(self, p: _Params) -> dict[str, Any]:
        msg = self._editable(p)
        markup = _validate_markup(p.get_json("reply_markup"), inline_only=True)
        if markup == msg.reply_markup:
            raise _bad(_NOT_MODIFIED)
        msg.reply_markup, msg.edit_date = markup, int(time.time())
        return self._message_json(msg)

    def _api_deletemessage(self, p: _Params) -> bool:
        chat = self._resolve_chat(p)
        msg = self._messages.get((chat.id, p.get_int("message_id", required=True) or 0))
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        msg.deleted = True
        return True

    def _api_sendchataction(self, p: _Params) -> bool:
        chat = self._resolve_chat(p)
        if p.get_str("action", required=True) not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._thread_of(chat, p)
        return True

    def _api_answercallbackquery(self, p: _Params) -> bool:
        qid = p.get_str("callback_query_id", required=True) or ""
        query = self._queries.get(qid)
        expired = (
            query is not None
            and self.callback_ttl is not None
            and time.monotonic() - query.created > self.callback_ttl
        )
        if query is None or query.answer is not None or expired:
            raise _bad(_QUERY_INVALID)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answer = CallbackAnswer(
            qid, text, p.get_bool("show_alert"), p.get_str("url"), p.get_int("cache_time")
        )
        self._answers.append(query.answer)
        return True

    def _command_key(self, p: _Params) -> str:
        scope = p.get_json("scope", "can't parse BotCommandScope JSON object") or {}
        kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
        return f"{kind}|{p.get_str('language_code') or ''}"

    def _api_setmycommands(self, p: _Params) -> bool:
        commands = p.get_json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        for c in commands:
            if not isinstance(c, dict):
                raise _bad("can't parse BotCommand")
            name, desc = c.get("command"), c.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._command_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _api_getmycommands(self, p: _Params) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._command_key(p), []))

    def _api_deletemycommands(self, p: _Params) -> bool:
        self._commands.pop(self._command_key(p), None)
        return True

    def _forum(self, p: _Params) -> Chat:
        chat = self._resolve_chat(p)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        return chat

    def _topic(self, p: _Params) -> tuple[Chat, Topic]:
        chat = self._forum(p)
        topic = chat.topics.get(p.get_int("message_thread_id", required=True) or 0)
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return chat, topic

    def _api_createforumtopic(self, p: _Params) -> dict[str, Any]:
        chat = self._forum(p)
        name = p.get_str("name") or ""
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        color = p.get_int("icon_color")
        if color is not None and color not in _ICON_COLORS:
            raise _bad("TOPIC_COLOR_INVALID")
        topic = self._create_topic(
            chat, name, color or 0x6FB9F0, p.get_str("icon_custom_emoji_id"), self.bot_id
        )
        result: dict[str, Any] = {"message_thread_id": topic.thread_id, "name": name}
        result["icon_color"] = topic.icon_color
        if topic.icon_custom_emoji_id:
            result["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        return result

    def _create_topic(
        self, chat: Chat, name: str, color: int, emoji: str | None, creator: int
    ) -> Topic:
        created = {"name": name, "icon_color": color}
        msg = self._store(chat, creator, extra={"forum_topic_created": created})
        msg.thread_id = msg.message_id
        topic = chat.topics[msg.message_id] = Topic(msg.message_id, name, color, emoji)
        return topic

    def _api_editforumtopic(self, p: _Params) -> bool:
        _, topic = self._topic(p)
        name, emoji = p.get_str("name"), p.get_str("icon_custom_emoji_id")
        if name is not None and len(name) > 128:
            raise _bad("TOPIC_TITLE_TOO_LONG")
        if (name is None or name == topic.name) and emoji in (None, topic.icon_custom_emoji_id):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.name = name or topic.name
        topic.icon_custom_emoji_id = emoji if emoji is not None else topic.icon_custom_emoji_id
        return True

    def _set_closed(self, p: _Params, closed: bool) -> bool:
        _, topic = self._topic(p)
        if topic.closed == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        return True

    def _api_closeforumtopic(self, p: _Params) -> bool:
        return self._set_closed(p, True)

    def _api_reopenforumtopic(self, p: _Params) -> bool:
        return self._set_closed(p, False)

    def _api_deleteforumtopic(self, p: _Params) -> bool:
        chat, topic = self._topic(p)
        del chat.topics[topic.thread_id]
        for m in self._messages.values():
            if m.chat_id == chat.id and m.thread_id == topic.thread_id:
                m.deleted = True
        return True

    # -- storage ----------------------------------------------------------------------------

    def _chat_or_raise(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise LookupError(f"unknown chat {chat_id}; create it first")
        return chat

    def _store(self, chat: Chat, sender: int, **fields: Any) -> Message:
        mid = self._next_message_id[chat.id]
        self._next_message_id[chat.id] = mid + 1
        if fields.get("thread_id") is not None and fields.get("reply_to") is None:
            # In a topic, a message that replies to nothing replies to the topic's first message.
            fields["reply_to"] = fields["thread_id"]
        msg = Message(
            chat.id, mid, sender, sender == self.bot_id, int(time.time()), **fields
        )
        self._messages[(chat.id, mid)] = msg
        self._changed()
        return msg

    def _message_json(self, m: Message, *, nested: bool = True) -> dict[str, Any]:
        chat = self._chats[m.chat_id]
        data: dict[str, Any] = {
            "message_id": m.message_id, "date": m.date, "chat": chat.to_api(),
            "from": dict(self._users[m.sender_id]),
        }
        if m.thread_id is not None and chat.is_forum:
            data["message_thread_id"] = m.thread_id
            data["is_topic_message"] = True
        if nested and m.reply_to is not None and (chat.id, m.reply_to) in self._messages:
            data["reply_to_message"] = self._message_json(
                self._messages[(chat.id, m.reply_to)], nested=False
            )
        if m.text is not None:
            data["text"] = m.text
        if m.document is not None:
            data["document"] = dict(m.document)
        if m.caption is not None:
            data["caption"] = m.caption
        if m.entities:
            data["entities" if m.text is not None else "caption_entities"] = copy.deepcopy(
                m.entities
            )
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            data["reply_markup"] = copy.deepcopy(m.reply_markup)
        if m.edit_date is not None:
            data["edit_date"] = m.edit_date
        data.update(copy.deepcopy(m.extra))
        return data

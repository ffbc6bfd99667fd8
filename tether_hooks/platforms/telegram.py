"""The Telegram bridge: python-telegram-bot 22, long polling inside the listener's event loop.

The bridge only translates (see ``base.py``). What the listener can rely on:

* **Every update reaches dispatch**, whoever sent it and from whichever chat (dispatch
  refuses other chats and users). Messages from bots, edits and non-text messages are
  dropped. A press is always answered (an empty answer if dispatch gave none).
  ``on_event`` is awaited one update at a time.
* **Texts**: ``reply_to`` only for a reply to one of the bot's messages (not the implicit
  reply to a topic's first message); a **press**: the message pressed; ``event_id``: the
  message id of a text or command.
* **At least once**: with ``ctx.inbox`` (``listener/offsets.py``) each getUpdates answer is
  held before PTB (and Telegram) take it as received, and what a dead listener held comes
  back first on ``start``; ``ctx.offset`` (highest applied + 1) skips older redeliveries.
* **No blind resend**: a call is retried only when it certainly did not take effect: a 429
  (waited out), an error the Bot API answered (5xx), or a connection that never opened.
  A ``sendMessage`` or ``createForumTopic`` whose answer was lost (timed out, connection
  dropped after the request went out) may have been done: it raises ``DeliveryUnknown``
  instead of posting a second copy. Edits and callback answers are idempotent: retried.
* **Polling never stops for good**: a 401/403/404 is retried like a network error
  (``telegram_poll``), and :meth:`restart_polling` revives a poller that ended anyway.
* **Several machines, one bot** (``ctx.lease``): a getUpdates is sent only while the lease
  allows its whole timeout (capped to ``lease.max_wait``), a 409 is told to the lease, and
  updates that cannot be held under it are left to Telegram (``telegram_poll``).
* **Secrets**: the bot token is blanked in every error and health report (``redact``).
* **Forum topics** (``forum = true``): one per session, named "<folder> · <session id[:8]>",
  created on first use, known from ``ctx.threads`` or the session record; MessageRefs carry
  the thread id; ``ctx.on_thread(session_id, thread_id)`` when one is created. A deleted topic is
  replaced, a closed one reopened.
* Text for :meth:`reply`, :meth:`answer`, :meth:`show_outcome` and notices is plain text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar, cast

from telegram import (
    BotCommand,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from tether_hooks import redact
from tether_hooks.platforms import telegram_render as render
from tether_hooks.platforms.base import (
    BridgeBase,
    BridgeContext,
    BridgeError,
    BridgeHealth,
    Button,
    Capabilities,
    Inbox,
    Incoming,
    MessageRef,
    Notice,
    OnEvent,
    account_digest,
)
from tether_hooks.platforms.recent import remember
from tether_hooks.platforms.telegram_config import TelegramSettings, settings
from tether_hooks.platforms.telegram_errors import map_error
from tether_hooks.platforms.telegram_poll import (
    PollHealth,
    PollRequest,
    polling_alive,
    restart_polling,
)
from tether_hooks.platforms.telegram_retry import call
from tether_hooks.platforms.telegram_secrets import SECRET_PATTERNS
from tether_hooks.platforms.telegram_topics import Topics
from tether_hooks.platforms.telegram_updates import (
    fetched_updates,
    keyboard,
    to_incoming,
)

__all__ = ["TelegramBridge", "map_error"]

log = logging.getLogger(__name__)

_ALLOWED_UPDATES = ["message", "callback_query"]
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramBridge(BridgeBase):
    """The :class:`~tether_hooks.platforms.base.BridgeBase` for Telegram; see the module doc."""

    name: ClassVar[str] = "telegram"
    title: ClassVar[str] = "Telegram"
    capabilities: ClassVar[Capabilities] = Capabilities(
        full_input=True, button_updates=True, commands=True)
    secret_patterns: ClassVar[tuple[str, ...]] = SECRET_PATTERNS
    replays_by_order: ClassVar[bool] = True  # update_id grows: at/below the last is a replay

    def __init__(self, ctx: BridgeContext) -> None:
        self._section = dict(ctx.section)
        self.settings: TelegramSettings = settings(self._section)
        self.topics = Topics(self.settings, ctx.threads, ctx.on_thread)
        self.bot_id: int | None = None
        self.bot_username: str | None = None
        # ctx.offset: the highest update applied; fetch from the next one
        self._skip_below = 0 if ctx.offset is None else ctx.offset + 1
        self._last_update_id: int | None = None
        self._on_event: OnEvent | None = None
        self._answered: dict[str, None] = {}
        self._ready_lock: asyncio.Lock | None = None
        self._initialized = False
        self.inbox: Inbox | None = ctx.inbox  # holds fetched updates until applied
        self.resolved_chat_id: str | None = None  # chat_id "@name" as the number events carry
        s = self.settings
        self.lease = ctx.lease  # several machines, one bot: polls only while it allows
        # a leased poll is short: it must end within the lease
        self.poll_timeout = min(s.poll_timeout, max(1, int(ctx.lease.max_wait))) if ctx.lease else (
            s.poll_timeout)
        self._health = PollHealth(s.bot_token)
        self._app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(s.bot_token).base_url(s.api_base)
            .base_file_url(s.base_file_url)
            .request(HTTPXRequest(connection_pool_size=8, read_timeout=s.send_timeout,
                                  write_timeout=s.send_timeout, connect_timeout=10,
                                  pool_timeout=10))
            .get_updates_request(PollRequest(
                self._health, self._fetched, lease=ctx.lease, poll_timeout=self.poll_timeout,
                connection_pool_size=1, read_timeout=self.poll_timeout + 10,
                write_timeout=10, connect_timeout=10, pool_timeout=10))
            .concurrent_updates(False).job_queue(None).build()
        )

    # -- identity -----------------------------------------------------------------------------

    def account(self) -> str:
        """The bot (its token, from config or the environment) and the API it is reached
        at, digested (never shown): update ids are numbered per bot."""
        return account_digest(self.settings.bot_token, self.settings.api_base)

    def event_key(self, event: Incoming) -> str:
        return f"telegram:{event.update_id}"

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def last_update_id(self) -> int | None:
        """The id of the last update handed to dispatch."""
        return self._last_update_id

    async def _ready(self) -> None:
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if not self._initialized:
                # one try: the listener reports a failure at once and retries with backoff
                await self._call("connect to Telegram", self._app.initialize, retries=0)
                self.bot_id, self.bot_username = self._app.bot.bot.id, self._app.bot.bot.username
                self._initialized = True

    async def start(self, on_event: OnEvent) -> None:
        """Check the token (getMe), then long-poll; returns once polling runs."""
        # httpx logs every request URL at INFO level, and the URL holds the bot token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._on_event = on_event
        await self._ready()
        if not self._app.handlers:
            self._app.add_handler(TypeHandler(Update, self._handle))
        await self._app.start()
        if self.inbox is not None:  # fetched before the last listener died, never applied
            for raw in await asyncio.to_thread(self.inbox.backlog, self.name):
                update = Update.de_json(raw, self._app.bot)
                if update is not None:
                    await self._app.update_queue.put(update)
        self._health.closed = False
        try:
            await self._start_polling()
        except TelegramError as exc:
            await self.close()
            raise map_error(exc, "start polling", self.settings.bot_token) from exc
        self._health.polling = True

    async def _fetched(self, payload: bytes) -> None:
        """A getUpdates answer, before PTB (and so Telegram) takes it as received: held."""
        inbox = self.inbox
        held = fetched_updates(payload, self._skip_below) if inbox is not None else []
        if held and inbox is not None:
            await asyncio.to_thread(inbox.hold, self.name, held)

    def polling_alive(self) -> bool:
        return polling_alive()

    async def restart_polling(self) -> None:
        """Start polling again after PTB's polling task ended (a watchdog's remedy)."""
        await restart_polling(self._app, self.settings.bot_token, self._start_polling)

    async def _start_polling(self) -> None:
        updater = self._app.updater
        assert updater is not None  # built with the default updater
        await updater.start_polling(
            timeout=timedelta(seconds=self.poll_timeout),
            allowed_updates=_ALLOWED_UPDATES, error_callback=self._poll_error,
        )

    def _poll_error(self, exc: TelegramError) -> None:
        """PTB retries polling by itself; this only logs, without a traceback per retry."""
        if self._health.polling:
            log.warning("telegram: %s", map_error(exc, "poll for updates", self.settings.bot_token))

    async def close(self) -> None:
        """Stop polling (confirming what was fetched) and release the connections."""
        self._health.polling = False
        self._health.closed = True
        app = self._app
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if self._initialized:
                await app.shutdown()
        except (TelegramError, RuntimeError) as exc:
            log.warning("telegram: error while closing: %s", exc)
        self._initialized = False

    def health(self) -> BridgeHealth:
        """``state`` (ok, conflict, auth, error, starting), ``detail`` and poll counters."""
        report: dict[str, Any] = dict(self._health.report(
            max(60.0, 3.0 * self.settings.poll_timeout)))
        report.update(
            bridge=self.name, bot=f"@{self.bot_username}" if self.bot_username else None,
            chat_id=str(self.settings.chat_id), last_update_id=self._last_update_id,
        )
        return cast(BridgeHealth, report)  # extra keys are kept (see BridgeHealth)

    # -- incoming ---------------------------------------------------------------------------

    async def _handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.update_id < self._skip_below:
            return  # handed to dispatch before a restart
        event = None
        try:
            event = to_incoming(update, self.bot_id, self.bot_username)
            if event is not None and self._on_event is not None:
                await self._on_event(event)
        except Exception:
            log.exception("telegram: handling update %s failed", update.update_id)
        finally:
            self._last_update_id = max(self._last_update_id or 0, update.update_id)
            if event is not None and event.kind == "press" and event.event_id not in self._answered:
                await self._answer_query(event.event_id, None)

    # -- outgoing ---------------------------------------------------------------------------

    async def _call(self, what: str, fn: Callable[..., Awaitable[Any]], *args: Any,
                    retries: int | None = None, once: bool = False, **kwargs: Any) -> Any:
        """``fn`` with 429s waited out and what certainly failed retried (``telegram_retry``)."""
        return await call(self.settings, what, fn, *args, retries=retries, once=once, **kwargs)

    async def _send(self, chat_id: int | str, html: str, thread: int | None,
                    markup: InlineKeyboardMarkup | None = None,
                    quote: int | None = None) -> MessageRef:
        reply = ReplyParameters(quote, allow_sending_without_reply=True) if quote else None
        msg: Message = await self._call(
            "send a message", self._app.bot.send_message, once=True, chat_id=chat_id,
            text=html, parse_mode=ParseMode.HTML, reply_markup=markup, message_thread_id=thread,
            reply_parameters=reply, link_preview_options=_NO_PREVIEW,
        )
        thread_id = str(msg.message_thread_id) if msg.is_topic_message else None
        sent = msg.date.timestamp() if msg.date else None
        if str(chat_id) == str(self.settings.chat_id):
            self.resolved_chat_id = str(msg.chat.id)
        return MessageRef(self.name, str(msg.chat.id), str(msg.message_id), thread_id, sent)

    async def _post(self, messages: list[str], sid: str, cwd: object,
                    record: dict[str, Any] | None,
                    markup: InlineKeyboardMarkup | None = None) -> list[MessageRef]:
        await self._ready()
        return await self.topics.post(self._app.bot, self._call, self._send, messages, sid, cwd,
                                      record, markup)

    async def post_request(self, request: dict[str, Any],
                           buttons: list[list[Button]]) -> MessageRef:
        """Post the request with its preview and buttons (in the session's topic in forums)."""
        markup = keyboard(buttons)
        html = render.request_message(request).text
        session = request.get("session")
        refs = await self._post([html], str(request.get("session_id") or ""),
                                request.get("cwd"), session if isinstance(session, dict) else None,
                                markup)
        return refs[-1]

    async def _edit(self, what: str, fn: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
        """An edit; "message is not modified" (already so) is success."""
        await self._ready()
        try:
            await self._call(what, fn, **kwargs)
        except BridgeError as err:
            if "not modified" not in str(err.__cause__ or err).lower():
                raise

    async def show_outcome(self, ref: MessageRef, request: dict[str, Any], outcome: str) -> None:
        """Re-render the request with ``outcome`` (plain text) at the end; remove the buttons."""
        html = render.request_message(request, footer=outcome).text
        await self._edit(
            "edit a message", self._app.bot.edit_message_text, text=html,
            chat_id=ref.chat_id, message_id=int(ref.message_id), parse_mode=ParseMode.HTML,
            reply_markup=None, link_preview_options=_NO_PREVIEW,  # None: no more buttons
        )

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        """Replace the buttons of a posted message (a multi-select's ☑ toggles)."""
        await self._edit("edit the buttons", self._app.bot.edit_message_reply_markup,
                         chat_id=ref.chat_id, message_id=int(ref.message_id),
                         reply_markup=keyboard(buttons))

    async def post_notice(self, session: dict[str, Any] | None,
                          notice: Notice) -> MessageRef | None:
        """Post a notice (several messages if long) in the session's topic; the first ref."""
        sid = str((session or {}).get("id") or notice.session_id or "")
        cwd = (session or {}).get("cwd") or notice.cwd
        messages = render.notice_messages(notice, context=not self.settings.forum)
        return (await self._post(messages, sid, cwd, session))[0]

    async def _answer_query(self, query_id: str, text: str | None) -> None:
        remember(self._answered, query_id, None, 1000)
        if text is not None:  # masked before the cut: a toast shows no secret, nor part of one
            text = render.clip(redact.chat(text), 200)
        try:
            await self._call("answer a button press", self._app.bot.answer_callback_query,
                             callback_query_id=query_id, text=text)
        except BridgeError as err:
            # Too late, or answered already: the press is gone and nobody waits for it.
            log.info("telegram: cannot answer press %s: %s", query_id, err)

    async def answer(self, event: Incoming, text: str) -> None:
        """A press gets a callback answer (a toast); texts and commands get a reply."""
        if event.kind == "press" and event.event_id:
            await self._ready()
            await self._answer_query(event.event_id, text)
        else:
            await self.reply(event, text)

    async def reply(
        self, event: Incoming, text: str, buttons: list[list[Button]] | None = None
    ) -> MessageRef:
        """Plain ``text`` in the event's chat and topic, quoting the user's message."""
        await self._ready()
        markup = keyboard(buttons)
        quote = int(event.event_id) if event.kind != "press" and event.event_id.isdigit() else None
        thread = _thread(event.thread_id)
        messages = render.text_messages(text)
        refs = [
            await self._send(event.chat_id, html, thread,
                             markup if i == len(messages) - 1 else None, quote if i == 0 else None)
            for i, html in enumerate(messages)
        ]
        return refs[-1]

    async def show_full(self, event: Incoming, request: dict[str, Any]) -> list[MessageRef]:
        """Post the whole input of ``request``, split at 4,096 characters, where ``event``
        happened (quoting the request message)."""
        await self._ready()
        thread = _thread(event.thread_id)
        quote = _thread(event.reply_to.message_id) if event.reply_to else None
        return [await self._send(event.chat_id, html, thread, None, quote if i == 0 else None)
                for i, html in enumerate(render.full_input(request))]

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        """Register the command menu (setMyCommands): ``[("help", "What I can do"), ...]``."""
        await self._ready()
        await self._call("set the command list", self._app.bot.set_my_commands,
                         [BotCommand(name, description) for name, description in commands])


def _thread(value: str | None) -> int | None:
    """An opaque id as the Bot API's int (thread or message id); None if it is none."""
    return int(value) if value and value.lstrip("-").isdigit() else None


_: type[BridgeBase] = TelegramBridge  # conformance: mypy checks it is a concrete BridgeBase

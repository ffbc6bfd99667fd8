"""The Slack bridge: slack_sdk's Web API (bot token) and Socket Mode (app-level token), both
on the listener's event loop.

The bridge only translates (see ``base.py``). What the listener can rely on:

* **Every envelope reaches dispatch** once, whoever sent it and from whichever channel
  (dispatch refuses other channels and users), except the bot's own messages (they come back
  as events), other bots', edits, deletions and system messages. Each is acknowledged
  within Slack's 3 s, after it was held (``slack_socket``). ``on_event`` is awaited one
  event at a time, in the order they arrived; what a dead listener held comes first on
  ``start``.
* **Replays by key** (``replays_by_order`` False): ``event_key`` comes from the payload
  (``slack_events``), the same for Slack's re-deliveries.
* **Clicks** (``block_actions``): ``data`` is the button's ``value``, untouched; ``reply_to``
  the clicked message; ``answer`` is an ephemeral message to the clicker in that thread.
* **Texts**: ``thread_id`` is the thread written in (the session's scope), ``sent_at`` the
  message's ``ts``; no ``reply_to`` (a thread reply answers no message in particular).
  ``!status``... and ``/tether status`` are commands; a slash command is answered
  ephemerally, anything else in its thread.
* **One thread per session** (``slack_threads``); a request is Block Kit (``slack_render``).
* **No blind resend** (``slack_retry``): a post whose answer was lost raises
  ``DeliveryUnknown``; 429s are waited out; edits are retried.
* **Errors a user can act on** (``slack_errors``) go to ``health`` (status, the log), with
  the tokens masked; a channel or token problem met later is checked again every
  ``RECHECK`` s (through ``polling_alive``/``restart_polling``) until it is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, cast

from slack_sdk.web.async_client import AsyncWebClient

from tether_hooks.platforms import slack_render as render
from tether_hooks.platforms.base import (
    BridgeAuthError,
    BridgeBase,
    BridgeContext,
    BridgeError,
    BridgeHealth,
    Button,
    Capabilities,
    Incoming,
    MessageRef,
    Notice,
    OnEvent,
    account_digest,
)
from tether_hooks.platforms.recent import remember
from tether_hooks.platforms.slack_config import SlackSettings, settings
from tether_hooks.platforms.slack_errors import Where, map_error, masked, not_slack
from tether_hooks.platforms.slack_events import OddPayload, event_key, obj_at, str_at, to_incoming
from tether_hooks.platforms.slack_retry import call, retry_handlers
from tether_hooks.platforms.slack_secrets import SECRET_PATTERNS
from tether_hooks.platforms.slack_socket import Receiver
from tether_hooks.platforms.slack_threads import Threads

__all__ = ["SlackBridge", "map_error"]

log = logging.getLogger(__name__)

RECHECK = 30.0  # seconds between checks of a token or channel problem
REOPEN = 5.0  # seconds between attempts to replace a socket client that ended
NAME_RETRY = 600.0  # seconds before a failed users.info is tried again for that user
DRAIN_SECONDS = 5.0  # on close, the event being applied may take this long to finish
_MINOR = ("chat.postEphemeral", "users.info", "conversations.replies")  # never "down" for these


class SlackBridge(BridgeBase):
    """The :class:`~tether_hooks.platforms.base.BridgeBase` for Slack; see the module doc."""

    name: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack"
    capabilities: ClassVar[Capabilities] = Capabilities(full_input=True, button_updates=True)
    secret_patterns: ClassVar[tuple[str, ...]] = SECRET_PATTERNS
    replays_by_order: ClassVar[bool] = False  # event ids do not grow: replays by event_key

    def __init__(self, ctx: BridgeContext) -> None:
        self._section = dict(ctx.section)
        self.settings: SlackSettings = settings(self._section)
        s = self.settings
        self.resolved_chat_id: str | None = s.channel_id  # the table says channel_id
        self.bot_user_id: str | None = None
        self.bot_name: str | None = None
        self.channel_name: str | None = None
        self.names: dict[str, str] = {}  # user id -> "@name", learned from clicks and users.info
        self._name_failed: dict[str, float] = {}
        self.web = AsyncWebClient(token=s.bot_token, base_url=s.api_base,
                                  timeout=s.send_timeout,  # type: ignore[arg-type]  # float works
                                  proxy=s.proxy,
                                  retry_handlers=retry_handlers(s.retries, s.max_retry_after))
        self.threads = Threads(ctx.threads, ctx.on_thread)
        self.receiver = Receiver(s, self.web, self._where, self._accept, ctx.inbox, self.name,
                                 lease=ctx.lease)
        self.inbox = ctx.inbox
        self._on_event: OnEvent | None = None
        self._worker: asyncio.Task[None] | None = None
        self._applying: asyncio.Future[None] | None = None  # the event dispatch is applying
        self._content: dict[tuple[str, str], render.Rendered] = {}  # posted, without buttons
        self._checked_at = self._reopened_at = -RECHECK  # both due at once
        self._backlog_taken = False

    # -- identity -----------------------------------------------------------------------------

    def account(self) -> str:
        """The tokens as used and the API base, digested (never shown)."""
        return account_digest(self.settings.bot_token, self.settings.app_token,
                              self.settings.api_base)

    def event_key(self, event: Incoming) -> str:
        return event_key(event)

    def _where(self) -> Where:
        s = self.settings
        return Where(s.channel_id, self.channel_name, self.bot_name,
                     masked((s.bot_token, s.app_token)))

    # -- lifecycle ------------------------------------------------------------------------------

    async def _check(self) -> None:
        """The bot token and the channel (found, the bot in it, not archived), or why not."""
        what = "check the bot token"
        try:  # (an answer with a field of the wrong type is no Slack answer: api_base?)
            me = await self._call(what, self.web.auth_test)
            self.bot_user_id, self.bot_name = str_at(me, "user_id"), str_at(me, "user")
            what = "find the channel"
            info = await self._call(what, self.web.conversations_info,
                                    channel=self.settings.channel_id)
            channel = obj_at(info, "channel")
            self.channel_name = str_at(channel, "name", "channel") or self.channel_name
        except OddPayload as exc:
            self.receiver.health.problem(odd := not_slack(what, str(exc)), auth=False)
            raise BridgeError(odd) from None
        where, problem = self._where(), None
        if channel.get("is_archived"):
            problem = (f"{where.channel_label} is archived (is_archived): unarchive it or set "
                       "another channel_id")
        elif channel.get("is_member") is False:
            bot = f"@{self.bot_name}" if self.bot_name else "@your-bot"
            problem = (f"the bot is not in {where.channel_label} (not_in_channel): invite the "
                       f"bot to {where.channel_label}: /invite {bot}")
        if problem is not None:
            self.receiver.health.problem(problem, auth=True)
            raise BridgeAuthError(problem)
        self.receiver.health.api_problem = None
        self._checked_at = time.monotonic()

    async def start(self, on_event: OnEvent) -> None:
        """Check the token and the channel, hand over what a dead listener held, then open
        the socket; returns once Slack said hello."""
        for noisy in ("slack_sdk.web", "slack_sdk.http_retry", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self._on_event = on_event
        self.receiver.health.closed = False
        await self._check()
        if self.inbox is not None and not self._backlog_taken:
            self._backlog_taken = True  # (each take counts as a try: once per bridge)
            # received before the last listener died, never applied: first, in order
            for raw in await asyncio.to_thread(self.inbox.backlog, self.name):
                item = self._accept(raw)
                if item is not None:
                    self.receiver.enqueue(*item)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._work())
        await self.receiver.open()

    def _accept(self, raw: dict[str, Any]) -> tuple[str, Incoming] | None:
        """The key and event of an envelope; None for what dispatch never needs, and for an
        odd envelope (a field of the wrong type), logged in one line."""
        try:
            event = to_incoming(raw, self.bot_user_id, self.names)
        except OddPayload as exc:
            log.warning("slack: ignored a %s envelope (%s): %s", str(raw.get("type"))[:40],
                        repr(raw.get("envelope_id"))[:80], exc)
            return None
        if event is None:
            return None
        if event.user_name.startswith("@"):  # a click or a slash command names the user
            self.names[event.user_id] = event.user_name
        return event_key(event), event

    async def _work(self) -> None:
        """Hand queued events to dispatch, one at a time, in order."""
        while True:
            _, event = await self.receiver.queue.get()
            try:
                if self._on_event is not None:
                    self._applying = asyncio.ensure_future(
                        self._on_event(await self._named(event)))
                    await self._applying
            except Exception:
                log.exception("slack: handling a %s from %s failed", event.kind, event.user_id)
            finally:
                self._applying = None

    async def _named(self, event: Incoming) -> Incoming:
        """``event`` with the user's @name (texts carry only the id): learned from clicks
        and slash commands, else users.info (users:read), else the id."""
        uid = event.user_id
        if event.user_name.startswith("@"):
            return event
        name = self.names.get(uid)
        if name is None and time.monotonic() - self._name_failed.get(uid, -NAME_RETRY) >= \
                NAME_RETRY:
            try:
                info = await asyncio.wait_for(
                    self._call("look up a user", self.web.users_info, user=uid), 5)
                user = obj_at(info, "user")
                found = str_at(user, "name", "user") or str_at(
                    obj_at(user, "profile", "user"), "display_name", "user.profile")
                if found:
                    name = self.names[uid] = f"@{found}"
            except (BridgeError, TimeoutError, OddPayload) as exc:
                self._name_failed[uid] = time.monotonic()
                log.info("slack: no name for %s: %s", uid, exc)
        return dataclasses.replace(event, user_name=name) if name else event

    def polling_alive(self) -> bool:
        """False (for ``restart_polling``) while a token or channel problem stands, every
        ``RECHECK`` s; or once the socket client ended, every ``REOPEN`` s."""
        now, health = time.monotonic(), self.receiver.health
        if health.api_problem or health.socket_auth:
            return now - self._checked_at < RECHECK
        return self.receiver.alive() or now - self._reopened_at < REOPEN

    async def restart_polling(self) -> None:
        """Check the token and channel again; open a new socket if the old one ended."""
        if self.receiver.health.api_problem or self.receiver.health.socket_auth:
            self._checked_at = time.monotonic()
            await self._check()
        if not self.receiver.alive() or self.receiver.health.socket_auth:
            self._reopened_at = time.monotonic()
            log.warning("slack: opening a new Socket Mode connection (%s)",
                        self.receiver.health.socket_problem or "the client stopped")
            await self.receiver.open()

    async def close(self) -> None:
        """Stop receiving (what is held stays held) and release the connections."""
        await self.receiver.close()  # nothing new comes in
        applying = self._applying  # the event being applied is finished, not cut short
        if applying is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(applying), DRAIN_SECONDS)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()

    def health(self) -> BridgeHealth:
        """``state`` (ok, auth, error, starting) with an actionable ``detail``."""
        connected = self.receiver.connected()  # (notes since when it is down)
        report: dict[str, Any] = dict(self.receiver.health.report())
        report.update(bridge=self.name, bot=f"@{self.bot_name}" if self.bot_name else None,
                      channel_id=self.settings.channel_id, connected=connected)
        return cast(BridgeHealth, report)

    # -- outgoing -------------------------------------------------------------------------------

    async def _call(self, what: str, fn: Callable[..., Awaitable[Any]], *args: Any,
                    once: bool = False, **kwargs: Any) -> Any:
        """A Web API call (``slack_retry``); a token or channel problem goes to health."""
        try:
            return await call(what, fn, *args, where=self._where(), once=once, **kwargs)
        except BridgeError as err:
            method = getattr(fn, "__name__", "").replace("_", ".", 1)
            auth = isinstance(err, BridgeAuthError) and method not in _MINOR
            self.receiver.health.problem(str(err), auth=auth)
            if auth:
                log.error("slack: %s", err)
            raise

    async def _send(self, message: render.Rendered, thread: str | None,
                    buttons: list[list[Button]] | None = None) -> MessageRef:
        channel = self.settings.channel_id
        blocks = message.blocks + render.actions(buttons or [])
        answer = await self._call(
            "post a message", self.web.chat_postMessage, once=True, channel=channel,
            text=message.text, blocks=blocks, thread_ts=thread, unfurl_links=False,
            unfurl_media=False)
        ts = str(answer["ts"])
        self._remember(answer.get("channel") or channel, ts, message)
        return MessageRef(self.name, str(answer.get("channel") or channel), ts, thread, float(ts))

    def _remember(self, channel: str, ts: str, message: render.Rendered) -> None:
        remember(self._content, (channel, ts), message, 500)

    async def _post(self, messages: list[render.Rendered], sid: str, agent: object, cwd: object,
                    record: dict[str, Any] | None,
                    buttons: list[list[Button]] | None = None) -> list[MessageRef]:
        last = len(messages) - 1

        async def send(message: render.Rendered, thread: str | None) -> MessageRef:
            return await self._send(message, thread, buttons if message is messages[last]
                                    else None)

        refs = await self.threads.post(send, messages, sid, agent, cwd, record)
        self.receiver.health.api_problem = None
        return refs

    async def post_request(self, request: dict[str, Any],
                           buttons: list[list[Button]]) -> MessageRef:
        """The request as Block Kit with its buttons, in the session's thread."""
        render.actions(buttons)  # a bad button is refused before anything is posted
        session = request.get("session") if isinstance(request.get("session"), dict) else None
        agent = request.get("agent") or (session or {}).get("agent")
        refs = await self._post([render.request(request)], str(request.get("session_id") or ""),
                                agent, request.get("cwd"), session, buttons)
        return refs[-1]

    async def _update(self, what: str, ref: MessageRef, message: render.Rendered,
                      buttons: list[list[Button]] | None = None) -> None:
        try:
            await self._call(what, self.web.chat_update, channel=ref.chat_id,
                             ts=ref.message_id, text=message.text,
                             blocks=message.blocks + render.actions(buttons or []))
        except BridgeError as err:
            if "message_not_found" not in str(err):
                raise
            log.info("slack: message %s is gone: nothing to %s", ref.message_id, what)
            return
        self._remember(ref.chat_id, ref.message_id, message)

    async def show_outcome(self, ref: MessageRef, request: dict[str, Any], outcome: str) -> None:
        """The request shown again with ``outcome`` at the end and no buttons (chat.update)."""
        await self._update("show the outcome", ref, render.request(request, footer=outcome))

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        """The same message with new buttons (a multi-select's ☑ toggles)."""
        message = self._content.get((ref.chat_id, ref.message_id))
        if message is None:  # posted before a restart: read it back
            answer = await self._call(
                "read a message", self.web.conversations_replies, channel=ref.chat_id,
                ts=ref.thread_id or ref.message_id, oldest=ref.message_id,
                latest=ref.message_id, inclusive=True, limit=1)
            found = [m for m in answer.get("messages") or [] if m.get("ts") == ref.message_id]
            if not found:
                raise BridgeError(f"Slack has no message {ref.message_id} to edit")
            message = render.Rendered(str(found[0].get("text") or "…"), [
                b for b in found[0].get("blocks") or [] if b.get("type") != "actions"])
        await self._update("edit the buttons", ref, message, buttons)

    async def post_notice(self, session: dict[str, Any] | None,
                          notice: Notice) -> MessageRef | None:
        """A notice in the session's thread (at the top of the channel without a session)."""
        sid = str((session or {}).get("id") or notice.session_id or "")
        cwd = (session or {}).get("cwd") or notice.cwd
        agent = (session or {}).get("agent") or notice.agent
        messages = render.notice(notice, context=not sid)
        return (await self._post(messages, sid, agent, cwd, session))[0]

    async def _ephemeral(self, event: Incoming, text: str,
                         buttons: list[list[Button]] | None = None) -> MessageRef:
        message = render.text(text)[0]
        answer = await self._call(
            "answer privately", self.web.chat_postEphemeral, once=True, channel=event.chat_id,
            user=event.user_id, text=message.text, blocks=message.blocks + render.actions(
                buttons or []), thread_ts=event.thread_id)
        return MessageRef(self.name, event.chat_id, str(answer.get("message_ts") or ""),
                          event.thread_id)

    async def answer(self, event: Incoming, text: str) -> None:
        """A click gets an ephemeral message (only the clicker sees it); texts and commands
        get a reply (a slash command's is ephemeral too)."""
        if event.kind != "press":
            await self.reply(event, text)
            return
        try:
            await self._ephemeral(event, text)
        except BridgeError as err:  # nobody waits for it: the click is handled
            log.info("slack: cannot answer %s's click: %s", event.user_id, err)

    async def reply(
        self, event: Incoming, text: str, buttons: list[list[Button]] | None = None
    ) -> MessageRef:
        """``text`` where ``event`` happened: ephemerally for a slash command, else in its
        thread (a message at the top of the channel gets a thread of its own)."""
        if event.event_id.startswith("cmd:"):
            return await self._ephemeral(event, text, buttons)
        thread = event.thread_id
        if thread is None and event.kind != "press" and event.event_id[:1].isdigit():
            thread = event.event_id  # the user's own message
        messages = render.text(text)
        refs = []
        for i, message in enumerate(messages):
            refs.append(await self._send(message, thread,
                                         buttons if i == len(messages) - 1 else None))
        return refs[-1]

    async def show_full(self, event: Incoming, request: dict[str, Any]) -> list[MessageRef]:
        """The whole input of ``request``, split at Slack's limits, in the click's thread."""
        return [await self._send(message, event.thread_id)
                for message in render.full_input(request)]


_: type[BridgeBase] = SlackBridge  # conformance: mypy checks it is a concrete BridgeBase

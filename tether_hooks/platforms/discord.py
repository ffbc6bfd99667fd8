"""The Discord bridge: requests posted through a webhook (discord-webhook), answers read
with a bot token over the REST API (httpx): reactions on the request messages, replies
and ``!commands`` in the channel. No gateway and no public endpoint.

The bridge only translates (see ``base.py``). What the listener can rely on:

* **Posting** needs only ``webhook_url``. Without a bot (``bot_token`` + ``channel_id``)
  the bridge posts only: nothing is ever answered from Discord, and ``health`` says so.
* **Reactions are the buttons**: each button dispatch gives that has an emoji
  (``discord_render.EMOJI``: ✅ allow, ❌ deny, ⏱️ the tool for the default timer, 📁 the
  directory, 📄 the whole input) is added to the request message by the bot, and a user's
  reaction arrives as a press with that button's data. After a restart the pending
  requests' messages come back from ``BridgeContext.posted``.
* **Texts and commands**: a user's message (``!status``... are commands); a reply names
  its request (``reply_to``). Without the MESSAGE_CONTENT intent Discord hides a message's
  text unless it mentions the bot: ``@bot deny: reason`` works either way.
* **Replays by key**: ``discord:r:<msg>:<emoji>:<user>``, ``discord:m:<msg>``; events read
  are held (``inbox``) until applied.
* **Reading adapts** (``discord_read``): every ``poll_pending`` s (1) while a request
  waits or someone spoke lately, else every ``poll_idle`` s (20); within the rate limits.
* **Outcomes**: the request message is edited through the webhook (the outcome instead
  of how to answer) and its reactions are cleared (Manage Messages; else only ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, ClassVar, cast

from tether_hooks import pairing
from tether_hooks.platforms import discord_render as render
from tether_hooks.platforms.base import (
    BridgeAuthError,
    BridgeBase,
    BridgeContext,
    BridgeError,
    BridgeHealth,
    Button,
    Capabilities,
    DeliveryUnknown,
    Incoming,
    MessageRef,
    Notice,
    OnEvent,
    RateLimited,
    account_digest,
    redact,
)
from tether_hooks.platforms.discord_config import DiscordSettings, settings
from tether_hooks.platforms.discord_events import from_held, sent_at, to_held
from tether_hooks.platforms.discord_limits import RateLimits
from tether_hooks.platforms.discord_post import Poster
from tether_hooks.platforms.discord_reactions import Reactions
from tether_hooks.platforms.discord_read import Reader, nap
from tether_hooks.platforms.discord_rest import DiscordApiError, Rest
from tether_hooks.platforms.discord_secrets import SECRET_PATTERNS
from tether_hooks.platforms.recent import remember
from tether_hooks.wording import clip

__all__ = ["DiscordBridge"]

log = logging.getLogger(__name__)

RECHECK = 30.0  # seconds between tries while Discord refuses us (a token, the channel)
FOLLOW = 180.0  # seconds of fast reading after a post or a user's message
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
TOLD_EVERY = 600.0  # a user is told about the same thing at most once per 10 minutes
# press confirmations (a toast elsewhere) that the edited message already shows
SHOWN_BY_EDIT = frozenset({"Allowed", "Denied", "Plan approved", "Answered", "Keep planning",
                           "Full input below"})
POSTS_ONLY = ("posts only: no bot_token/channel_id, so nothing is answered from Discord "
              "(set them with `tether-hooks setup discord --bot-token ... --channel ID`)")


class DiscordBridge(BridgeBase):
    """The :class:`~tether_hooks.platforms.base.BridgeBase` for Discord; see the module doc."""

    name: ClassVar[str] = "discord"
    title: ClassVar[str] = "Discord"
    capabilities: ClassVar[Capabilities] = Capabilities(full_input=True)
    secret_patterns: ClassVar[tuple[str, ...]] = SECRET_PATTERNS
    replays_by_order: ClassVar[bool] = False
    command_prefix: ClassVar[str] = "!"

    def __init__(self, ctx: BridgeContext) -> None:
        self.settings: DiscordSettings = settings(dict(ctx.section))
        s = self.settings
        self.resolved_chat_id: str | None = s.channel_id
        self.allowed = set(s.allowed_user_ids)
        self.limits = RateLimits()
        secrets = tuple(x for x in (s.webhook_url.rsplit("/", 1)[-1], s.bot_token) if x)
        self._secrets = secrets
        self.poster = Poster(s.webhook_url, username=s.username, timeout=s.send_timeout,
                             proxy=s.proxy, retries=s.retries,
                             max_retry_after=s.max_retry_after, limits=self.limits,
                             mask=self.mask)
        self.rest = Rest(s.api_base, s.bot_token, timeout=s.send_timeout, proxy=s.proxy,
                         retries=s.retries, max_retry_after=s.max_retry_after,
                         limits=self.limits, mask=self.mask, channel=s.channel_id)
        self.reader = Reader(self.rest, s.channel_id or "", s.webhook_id, lease=ctx.lease)
        self.reactions = Reactions(self.rest)
        self.inbox = ctx.inbox
        self._posted = ctx.posted
        self.bot_name: str | None = None
        self._on_event: OnEvent | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._active_until = 0.0
        self._state, self._detail = "starting", ""
        self._problem_at: float | None = None
        self._told: dict[tuple[str, str], float] = {}
        self._unreadable_told = 0
        self._applying: asyncio.Future[None] | None = None

    # -- identity -----------------------------------------------------------------------------

    def account(self) -> str:
        s = self.settings
        return account_digest(s.webhook_url, s.bot_token or "", s.api_base)

    def event_key(self, event: Incoming) -> str:
        return f"{self.name}:{event.event_id}"

    def mask(self, text: str) -> str:
        return redact(text, self._secrets, SECRET_PATTERNS)

    # -- lifecycle ----------------------------------------------------------------------------

    async def _check(self) -> None:
        """The bot token and the channel (readable), or why not."""
        me = await self.rest.call("GET", "/users/@me", "check the bot")
        if isinstance(me, dict):
            self.reader.bot_id = str(me.get("id") or "") or None
            self.bot_name = str(me.get("username") or "") or None
        await self.rest.call("GET", f"/channels/{self.settings.channel_id}",
                             "find the channel")

    async def start(self, on_event: OnEvent) -> None:
        """Check the bot and the channel, watch the pending requests' messages again, hand
        over what a dead listener held, then read the channel in the background."""
        self._on_event = on_event
        if not self.settings.receives:
            self._state, self._detail = "ok", POSTS_ONLY
            return
        try:
            await self._check()
        except BridgeAuthError as exc:
            self._problem(str(exc), auth=True)
            raise
        for ref, buttons in self._posted():
            self.reader.watch(MessageRef.from_dict(ref), buttons)
        held = await asyncio.to_thread(self.inbox.backlog, self.name) if self.inbox else []
        backlog = [e for e in (from_held(raw) for raw in held) if e is not None]
        self._state, self._detail, self._problem_at = "ok", "", None
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run(backlog))

    def polling_alive(self) -> bool:
        return not self.settings.receives or (self._task is not None and not self._task.done())

    async def restart_polling(self) -> None:
        if self._on_event is not None:
            await self.start(self._on_event)

    async def close(self) -> None:
        task, self._task = self._task, None
        applying = self._applying
        if applying is not None:  # the event being applied is finished, not cut short
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(applying), 5.0)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.reactions.close()
        await self.rest.close()

    def health(self) -> BridgeHealth:
        report: dict[str, Any] = {
            "state": self._state, "detail": self._detail, "bridge": self.name,
            "bot": f"@{self.bot_name}" if self.bot_name else None,
            "channel_id": self.settings.channel_id, "receives": self.settings.receives,
            "allowed_users": len(self.allowed), "watching": len(self.reader.watched),
            "api_calls": self.rest.calls + self.poster.calls,
            "rate_limited": self.limits.limited}
        if self.settings.receives and not self.allowed and self._state == "ok":
            report["detail"] = ("nobody may answer yet: run `tether-hooks pair discord` "
                                "(or set allowed_user_ids)")
        return cast(BridgeHealth, report)

    def _problem(self, detail: str, *, auth: bool) -> None:
        if (self._state, self._detail) != ("auth" if auth else "error", detail):
            log.error("discord: %s", detail)
        self._state, self._detail = ("auth" if auth else "error"), detail
        self._problem_at = self._problem_at or time.monotonic()

    # -- reading ------------------------------------------------------------------------------

    def _busy(self) -> bool:
        return bool(self.reader.watched) or time.monotonic() < self._active_until

    def _follow(self) -> None:
        self._active_until = time.monotonic() + FOLLOW
        self._wake.set()

    async def _run(self, backlog: list[Incoming]) -> None:
        """Apply what was held, then poll for ever (errors reported, waited out)."""
        for event in backlog:
            await self._deliver(event)
        failures = 0
        while True:
            try:
                events = await self.reader.poll()
                if self._state != "ok" or self._detail:
                    log.info("discord: reading the channel again")
                self._state, self._detail, self._problem_at = "ok", "", None
                failures = 0
            except RateLimited as exc:
                await asyncio.sleep(min(exc.retry_after, RECHECK))
                continue
            except BridgeAuthError as exc:
                self._problem(str(exc), auth=True)
                await asyncio.sleep(RECHECK)
                continue
            except BridgeError as exc:
                self._problem(str(exc), auth=False)
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
                continue
            if self.reader.hidden:
                await self._hidden_lines(self.reader.hidden)
            if events and self.inbox is not None:
                await asyncio.to_thread(self.inbox.hold_keyed, self.name, [
                    (self.event_key(e), to_held(e)) for e in events])
            for event in events:
                await self._deliver(event)
            await self._tell_unreadable()
            self._wake.clear()
            pause = self.settings.poll_pending if self._busy() else self.settings.poll_idle
            await nap(self._wake, pause or None)

    async def _deliver(self, event: Incoming) -> None:
        if event.kind != "press":
            self._follow()  # someone is here: read fast for a while
        if self._on_event is None:
            return
        try:
            self._applying = asyncio.ensure_future(self._on_event(event))
            await self._applying
        except Exception:
            log.exception("discord: handling a %s from %s failed", event.kind, event.user_id)
        finally:
            self._applying = None
        if event.kind == "press" and event.user_id not in self.allowed:
            _, mid, emoji, uid = event.event_id.split(":", 3)
            if await self.reactions.drop(event.chat_id, mid, emoji, uid):
                self.reader.forget(mid, emoji, uid)

    async def _hidden_lines(self, sent: list[float]) -> None:
        """Lines whose text Discord hid from us: one may be a pairing's code, shown to
        everyone in the channel; the pairing ends before a copy of it pairs a stranger."""
        try:
            if await asyncio.to_thread(pairing.exposed, self.name, sent):
                log.warning("discord: pairing stopped: a line the bot cannot read (no "
                            "Message Content intent) may have been its code")
        except Exception as exc:
            log.error("discord: cannot check the pairing: %s", exc)

    async def _tell_unreadable(self) -> None:
        """A reply whose text Discord hid from us (no MESSAGE_CONTENT intent): say once per
        10 minutes how to make such replies work."""
        message = self.reader.last_unreadable
        if message is None or self.reader.unreadable == self._unreadable_told:
            return
        self._unreadable_told = self.reader.unreadable
        author = message.get("author") or {}
        key = (str(author.get("id")), "unreadable")
        if time.monotonic() - self._told.get(key, -TOLD_EVERY) < TOLD_EVERY:
            return
        self._told[key] = time.monotonic()
        with contextlib.suppress(BridgeError):
            hint = await self._bot_post(render.unreadable(self.bot_name), str(message.get("id")))
            about = message.get("message_reference") or {}
            remember(self.reader.aliases, hint.message_id, str(about.get("message_id")), 500)

    # -- posting ------------------------------------------------------------------------------

    def _ref(self, message: dict[str, Any]) -> MessageRef:
        """The posted message's ref; DeliveryUnknown when the answer has no usable id (it
        may be in the channel, but nothing could watch, edit or compare it)."""
        mid = str(message.get("id") or "")
        when = sent_at(mid)
        if when is None:
            raise DeliveryUnknown("Discord's answer has no message id: the message may have "
                                  "been posted")
        channel = str(message.get("channel_id") or self.settings.channel_id or "")
        return MessageRef(self.name, channel, mid, None, when)

    async def post_request(self, request: dict[str, Any], buttons: list[list[Button]]
                           ) -> MessageRef:
        """The request (content + embed); the bot adds its reactions in the background."""
        shown = buttons if self.settings.receives else []
        message = await self.poster.execute("post a request", render.request(request, shown))
        ref = self._ref(message)
        if self.settings.receives and shown:
            self.reader.watch(ref, shown)
            self._follow()
            self.reactions.start_seeding(ref, shown,
                                         lambda: ref.message_id in self.reader.watched)
        return ref

    async def show_outcome(self, ref: MessageRef, request: dict[str, Any], outcome: str
                           ) -> None:
        """The message shows the outcome instead of how to answer; reactions cleared."""
        self.reader.unwatch(ref.message_id)
        status = str(request.get("status") or "")
        color = {"allowed": "allow", "denied": "deny"}.get(status, "other")
        try:
            await self.poster.edit("show the outcome", ref.message_id,
                                   render.request(request, outcome=outcome, color=color))
        except DiscordApiError as exc:
            if exc.code != 10008:
                raise
            log.info("discord: message %s is gone: nothing to edit", ref.message_id)
            return
        if self.settings.receives:
            await self.reactions.clear(ref)

    async def post_notice(self, session: dict[str, Any] | None, notice: Notice
                          ) -> MessageRef | None:
        refs = [self._ref(await self.poster.execute("post a notice", {"content": part}))
                for part in render.notice(notice)]
        if notice.kind in ("waiting", "finished") and self.settings.receives:
            self._follow()  # a reply may come: the next instruction
        return refs[0] if refs else None

    async def _bot_post(self, content: str, reply_to: str | None) -> MessageRef:
        body: dict[str, Any] = {"content": content, "allowed_mentions": {"parse": []}}
        if reply_to:
            body["message_reference"] = {"message_id": reply_to, "fail_if_not_exists": False}
        message = await self.rest.call("POST", f"/channels/{self.settings.channel_id}/messages",
                                       "post a reply", json_body=body, once=True)
        return self._ref(message if isinstance(message, dict) else {})

    async def reply(self, event: Incoming, text: str,
                    buttons: list[list[Button]] | None = None) -> MessageRef:
        """``text`` as the bot's reply to the event's message (a press: to the request);
        through the webhook if the bot may not post."""
        target = (event.reply_to.message_id if event.kind == "press" and event.reply_to
                  else event.event_id.partition(":")[2] if event.event_id.startswith("m:")
                  else None)
        parts = render.text(text)
        ref: MessageRef | None = None
        for i, part in enumerate(parts):
            try:
                ref = await self._bot_post(part, target if i == 0 else None)
            except DiscordApiError as exc:
                if exc.code != 50013:
                    raise
                ref = self._ref(await self.poster.execute("post a reply", {"content": part}))
        assert ref is not None
        return ref

    async def answer(self, event: Incoming, text: str) -> None:
        """A press has no private answer on Discord: a reply to the request, at most once
        per user and text in 10 minutes (a stranger tapping on and on floods nothing)."""
        if event.kind != "press":
            await self.reply(event, text)
            return
        if text in SHOWN_BY_EDIT:
            return  # the request's message says it already (its outcome, the file below)
        key = (event.user_id, text)
        if time.monotonic() - self._told.get(key, -TOLD_EVERY) < TOLD_EVERY:
            return
        self._told[key] = time.monotonic()
        try:
            await self.reply(event, f"{event.user_name}: {text}")
        except BridgeError as exc:
            log.info("discord: cannot answer %s's reaction: %s", event.user_id, exc)

    async def show_full(self, event: Incoming, request: dict[str, Any]) -> list[MessageRef]:
        """The whole input (secrets masked) as a text file, through the webhook."""
        name, data = render.full_input(request)
        tool = render.escape(clip(str(request.get("tool_name") or "?"), 200))
        message = await self.poster.execute("send the whole input", {
            "content": f"📄 **{tool}** · request `{request.get('id')}` · the whole input "
                       "(secrets masked)", "files": [(name, data)]})
        return [self._ref(message)]


_: type[BridgeBase] = DiscordBridge  # conformance: mypy checks it is a concrete BridgeBase

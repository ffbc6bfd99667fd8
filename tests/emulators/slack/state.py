"""The emulated workspace: one team, one app with its bot, users, channels and messages.

Everything here is guarded by ``World.cond`` (a Condition over an RLock); every change calls
``changed()`` so that waiting tests wake up.
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import (
    Ack,
    ApiCall,
    Channel,
    Connection,
    Envelope,
    Ephemeral,
    Fault,
    Message,
    ResponsePost,
    SlackError,
    Trigger,
    User,
    View,
)

__all__ = ["DEFAULT_SCOPES", "Identity", "World"]

DEFAULT_SCOPES = frozenset({
    "chat:write", "commands", "channels:read", "groups:read", "im:read", "mpim:read",
    "channels:history", "groups:history", "im:history", "mpim:history", "users:read",
})
_ALNUM = string.ascii_uppercase + string.digits


@dataclass
class Identity:
    """The app and workspace the emulator plays."""

    bot_token: str = "xoxb-100000000001-200000000002-EmulatorBotToken0000"
    app_token: str = "xapp-1-A0EMUAPP01-300000000003-0123456789abcdef0123456789abcdef"
    team_id: str = "T0EMUTEAM1"
    team_domain: str = "emu"
    team_name: str = "Emulated Workspace"
    app_id: str = "A0EMUAPP01"
    bot_id: str = "B0EMUBOT01"
    bot_user_id: str = "U0EMUBOT01"
    bot_name: str = "tether"
    verification_token: str = "emuVerificationToken0000"


@dataclass
class World:
    me: Identity = field(default_factory=Identity)
    clock: Callable[[], float] = time.monotonic  # trigger, ticket and response_url expiry
    cond: threading.Condition = field(default_factory=lambda: threading.Condition(
        threading.RLock()))
    scopes: set[str] = field(default_factory=lambda: set(DEFAULT_SCOPES))
    commands: set[str] = field(default_factory=lambda: {"/tether"})
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    envelopes: dict[str, Envelope] = field(default_factory=dict)
    acks: list[Ack] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    tickets: dict[str, float] = field(default_factory=dict)  # unused ticket -> issued at
    responses: list[ResponsePost] = field(default_factory=list)
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    internal_errors: list[str] = field(default_factory=list)
    port: int = 0
    _last_ts: int = 0
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def changed(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # -- ids ----------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts: seconds.microseconds, strictly increasing across the workspace."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str, length: int = 10) -> str:
        return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))

    def new_block_id(self) -> str:
        return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(4))

    def new_trigger(self, user: str, channel: str | None) -> str:
        n = next(self._counter)
        tid = f"{int(time.time() * 1000)}{n:03d}.{self.team_number}.{secrets.token_hex(16)}"
        self.triggers[tid] = Trigger(tid, user, self.clock(), channel)
        return tid

    @property
    def team_number(self) -> int:
        return 100000000001

    def new_response_url(self, kind: str, context: dict[str, Any]) -> str:
        path = f"/{kind}/{self.me.team_id}/{next(self._counter)}/{secrets.token_urlsafe(18)}"
        self.response_urls[path] = {**context, "kind": kind, "issued": self.clock(), "uses": 0}
        return f"http://127.0.0.1:{self.port}{path}"

    # -- lookups ------------------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        if user_id not in self.users:
            self.users[user_id] = User(user_id, f"user_{user_id.lower()}", f"User {user_id}")
        return self.users[user_id]

    def im_with(self, user_id: str) -> Channel:
        """The bot's direct-message channel with ``user_id`` (opened on first use)."""
        self.user(user_id)
        for ch in self.channels.values():
            if ch.kind == "im" and ch.im_user == user_id:
                return ch
        ch = Channel(self.new_id("D"), user_id, kind="im", im_user=user_id)
        self.channels[ch.id] = ch
        return ch

    def channel_or_raise(self, channel_id: str) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise LookupError(f"no channel {channel_id}")
        return ch

    def message_or_raise(self, channel: str, ts: str) -> Message:
        msg = self.messages.get((channel, ts))
        if msg is None or msg.deleted:
            raise LookupError(f"no message {ts} in {channel}")
        return msg

    def thread_of(self, channel: str, ts: str) -> list[Message]:
        """A thread's parent then its replies, oldest first (the one message if unthreaded)."""
        root = self.messages[(channel, ts)]
        parent_ts = root.thread_ts or root.ts
        found = [m for m in self.messages.values()
                 if m.channel == channel and not m.deleted
                 and (m.ts == parent_ts or m.thread_ts == parent_ts)]
        return sorted(found, key=lambda m: float(m.ts))

    # -- writes -------------------------------------------------------------------------------

    def store(self, channel: Channel, user: str, text: str, blocks: list[dict[str, Any]],
              thread_ts: str | None, *, bot: bool) -> Message:
        """A new message; a reply updates its parent's reply_count/reply_users/latest_reply."""
        if thread_ts is not None:
            parent = self.messages.get((channel.id, thread_ts))
            if parent is None or parent.deleted:
                raise SlackError("thread_not_found")
            thread_ts = parent.thread_ts or parent.ts
            parent = self.messages[(channel.id, thread_ts)]
        msg = Message(channel.id, self.next_ts(), text, user, blocks,
                      bot_id=self.me.bot_id if bot else None, thread_ts=thread_ts)
        if thread_ts is not None:
            parent = self.messages[(channel.id, thread_ts)]
            parent.thread_ts = parent.ts
            parent.reply_count += 1
            if user not in parent.reply_users:
                parent.reply_users.append(user)
            parent.latest_reply = msg.ts
        self.messages[(channel.id, msg.ts)] = msg
        self.changed()
        return msg

    def edit(self, msg: Message, text: str | None, blocks: list[dict[str, Any]] | None,
             editor: str) -> dict[str, Any]:
        """Apply an update, keeping the previous state in ``versions``; returns it."""
        previous = {"text": msg.text, "blocks": msg.blocks, "edited": msg.edited}
        msg.versions.append(previous)
        if text is not None:
            msg.text = text
        if blocks is not None:
            msg.blocks = blocks
        msg.edited = {"user": editor, "ts": self.next_ts()}
        self.changed()
        return previous

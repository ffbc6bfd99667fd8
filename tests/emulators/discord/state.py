"""The emulated guild: one text channel, one webhook, the bot user, users and messages.

Everything here is guarded by ``World.cond`` (a Condition over an RLock); every change calls
``changed()`` so that waiting tests wake up. ``message_json`` renders the wire form.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .models import ApiCall, DiscordError, Fault, Message, Snowflakes, Violation

__all__ = ["DEFAULT_PERMISSIONS", "Identity", "World", "iso"]

DEFAULT_PERMISSIONS = frozenset({"VIEW_CHANNEL", "READ_MESSAGE_HISTORY", "SEND_MESSAGES",
                                 "ADD_REACTIONS", "MANAGE_MESSAGES"})
_MENTION_RE = re.compile(r"<@!?(\d+)>")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


@dataclass
class Identity:
    """The application, its bot, the guild, channel and webhook the emulator plays."""

    bot_token: str = ""
    bot_user_id: str = ""
    bot_name: str = "tether-bot"
    application_id: str = ""
    guild_id: str = ""
    channel_id: str = ""
    channel_name: str = "approvals"
    webhook_id: str = ""
    webhook_token: str = ""
    webhook_name: str = "Tether"


@dataclass
class World:
    me: Identity
    cond: threading.Condition = field(default_factory=lambda: threading.Condition(
        threading.RLock()))
    ids: Snowflakes = field(default_factory=Snowflakes)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    permissions: set[str] = field(default_factory=lambda: set(DEFAULT_PERMISSIONS))
    message_content_intent: bool = False
    webhook_deleted: bool = False
    calls: list[ApiCall] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        me = self.me
        me.application_id = me.application_id or self.ids.next()
        me.bot_user_id = me.bot_user_id or me.application_id
        me.guild_id = me.guild_id or self.ids.next()
        me.channel_id = me.channel_id or self.ids.next()
        me.webhook_id = me.webhook_id or self.ids.next()
        me.webhook_token = me.webhook_token or secrets.token_urlsafe(51)
        if not me.bot_token:
            import base64
            head = base64.b64encode(me.bot_user_id.encode()).decode().rstrip("=")
            me.bot_token = f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"
        self.users[me.bot_user_id] = {
            "id": me.bot_user_id, "username": me.bot_name, "global_name": None,
            "avatar": None, "discriminator": "0000", "bot": True, "public_flags": 0}

    def changed(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # -- lookups ------------------------------------------------------------------------------

    def add_user(self, user_id: str | None, username: str | None,
                 global_name: str | None) -> dict[str, Any]:
        uid = user_id or self.ids.next()
        user = {"id": uid, "username": username or f"user{uid[-6:]}",
                "global_name": global_name, "avatar": None, "discriminator": "0000",
                "public_flags": 0}
        self.users[uid] = user
        self.changed()
        return user

    def user(self, user_id: str) -> dict[str, Any]:
        """A known user, or a new one with a generated name."""
        return self.users.get(user_id) or self.add_user(user_id, None, None)

    def message(self, message_id: str, channel_id: str | None = None) -> Message:
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or (channel_id and msg.channel_id != channel_id):
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    def live(self) -> list[Message]:
        """Messages not deleted, oldest first."""
        return sorted((m for m in self.messages.values() if not m.deleted),
                      key=lambda m: int(m.id))

    def parse_mentions(self, content: str, allowed: Any = None) -> list[str]:
        """User ids ``<@id>``-mentioned in ``content`` that are known users (allowed_mentions
        limits them as Discord does: ``parse`` without "users" keeps only ``users``)."""
        ids = [m for m in dict.fromkeys(_MENTION_RE.findall(content)) if m in self.users]
        if isinstance(allowed, dict):
            parse = allowed.get("parse") or []
            listed = [str(u) for u in allowed.get("users") or []]
            if "users" not in parse:
                ids = [i for i in ids if i in listed]
        return ids

    # -- writes -------------------------------------------------------------------------------

    def store(self, msg: Message) -> Message:
        self.messages[msg.id] = msg
        self.changed()
        return msg

    def react(self, msg: Message, emoji: str, user_id: str) -> None:
        users = msg.reactions.setdefault(emoji, [])
        if user_id not in users:
            users.append(user_id)
        self.changed()

    def unreact(self, msg: Message, emoji: str, user_id: str | None = None) -> None:
        """Remove one user's reaction, or (``user_id`` None) the whole emoji."""
        users = msg.reactions.get(emoji)
        if users is None:
            return
        if user_id is None:
            users.clear()
        elif user_id in users:
            users.remove(user_id)
        if not users:
            del msg.reactions[emoji]
        self.changed()

    # -- rendering ----------------------------------------------------------------------------

    def author_json(self, msg: Message) -> dict[str, Any]:
        if msg.webhook_id is not None:
            return {"id": msg.webhook_id, "username": msg.username or self.me.webhook_name,
                    "avatar": None, "discriminator": "0000", "public_flags": 0, "flags": 0,
                    "bot": True, "global_name": None}
        user = self.user(msg.author_id)
        return {k: user[k] for k in ("id", "username", "global_name", "avatar",
                                     "discriminator", "public_flags") if k in user} | (
            {"bot": True} if user.get("bot") else {})

    def hidden(self, msg: Message) -> bool:
        """Without MESSAGE_CONTENT the bot reads others' messages emptied, unless they
        mention it."""
        me = self.me.bot_user_id
        return not (self.message_content_intent or msg.author_id == me
                    or me in msg.mentions)

    def message_json(self, msg: Message, *, for_bot: bool = False, depth: int = 0
                     ) -> dict[str, Any]:
        hide = for_bot and self.hidden(msg)
        out: dict[str, Any] = {
            "type": 19 if msg.reference else 0,
            "channel_id": msg.channel_id,
            "content": "" if hide else msg.content,
            "attachments": [] if hide else [dict(a) for a in msg.attachments],
            "embeds": [] if hide else [dict(e) for e in msg.embeds],
            "timestamp": iso(msg.timestamp),
            "edited_timestamp": iso(msg.edited),
            "flags": msg.flags,
            "components": [] if hide else list(msg.components),
            "id": msg.id,
            "author": self.author_json(msg),
            "mentions": [self.author_json(Message("", "", u)) for u in msg.mentions],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": msg.tts,
            "guild_id": self.me.guild_id,
        }
        if msg.webhook_id is not None:
            out["webhook_id"] = msg.webhook_id
        if msg.webhook_id is None and msg.author_id == self.me.bot_user_id:
            out["application_id"] = self.me.application_id
        if msg.reactions:
            me = self.me.bot_user_id
            out["reactions"] = [{
                "emoji": {"id": None, "name": emoji}, "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "burst_colors": [], "me_burst": False, "burst_me": False,
                "me": me in users, "burst_count": 0} for emoji, users in msg.reactions.items()]
        if msg.reference:
            out["message_reference"] = {"type": 0, "channel_id": msg.channel_id,
                                        "message_id": msg.reference,
                                        "guild_id": self.me.guild_id}
            ref = self.messages.get(msg.reference)
            if depth == 0:  # Discord nests one level only
                out["referenced_message"] = (
                    self.message_json(ref, for_bot=for_bot, depth=1)
                    if ref is not None and not ref.deleted else None)
        return out

"""Discord messages and reactions as ``Incoming`` events, and back (held events).

* A **reaction** by a user on a request message is a press: ``data`` is the data of the
  button that emoji stands for; ``event_id`` ``r:<message>:<emoji>:<user>`` (the same
  reaction seen again is the same event). The bare ``⏱`` counts as ``⏱️``.
* A **message** from a user is a text, or a command when it starts with ``!`` (``!status``,
  ``!pair CODE``); ``event_id`` ``m:<message id>``; a reply names the message it answers
  (``reply_to``). A leading mention of the bot (``<@id> deny: no``) is dropped: it is how
  a text reaches a bot without the MESSAGE_CONTENT intent.
* Ids are snowflakes: ``sent_at`` is the time in a message's id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tether_hooks.platforms.base import Incoming, MessageRef

__all__ = ["NAME", "from_held", "is_snowflake", "message_event", "reaction_event", "sent_at",
           "snowflake_at", "to_held", "user_name"]

NAME = "discord"
DISCORD_EPOCH_MS = 1420070400000
_COMMAND_RE = re.compile(r"!([A-Za-z][A-Za-z0-9_-]{0,31})(?=\s|$)")


def is_snowflake(value: object) -> bool:
    """An id as Discord writes one: a string of ASCII digits (``int`` would also take
    ``" 12"``, ``"1_2"`` or ``"²"``)."""
    return isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and \
        value.isdigit()


def sent_at(snowflake: object) -> float | None:
    """The time (epoch s) in a snowflake id; None if it is not one."""
    if not is_snowflake(snowflake):
        return None
    return ((int(str(snowflake)) >> 22) + DISCORD_EPOCH_MS) / 1000


def snowflake_at(when: float) -> str:
    """The smallest id of a message sent at ``when`` (epoch s): an ``after`` cursor."""
    return str(max(int(when * 1000) - DISCORD_EPOCH_MS, 0) << 22)


def user_name(user: Mapping[str, Any]) -> str:
    """``@handle`` (the unique user name), else the display name, else the id."""
    for key in ("username", "global_name"):
        value = user.get(key)
        if isinstance(value, str) and value.strip():
            return f"@{value.strip()[:64]}"
    return str(user.get("id") or "?")


def reaction_event(channel: str, message_id: str, emoji: str, user: Mapping[str, Any],
                   data: str) -> Incoming:
    uid = str(user.get("id") or "")
    return Incoming(NAME, "press", uid, user_name(user), channel, data=data,
                    reply_to=MessageRef(NAME, channel, message_id),
                    event_id=f"r:{message_id}:{emoji}:{uid}")


def message_event(message: Mapping[str, Any], channel: str, bot_id: str | None
                  ) -> Incoming | None:
    """A user's message as a text or command; None for a bot's, a webhook's, a system
    message or one whose fields are not what Discord sends."""
    author = message.get("author")
    mid = message.get("id")
    if not isinstance(author, Mapping) or not is_snowflake(mid):
        return None
    if author.get("bot") or message.get("webhook_id") or str(author.get("id")) == bot_id:
        return None
    if message.get("type") not in (0, 19):  # a default message or a reply
        return None
    content = message.get("content")
    text = content.strip() if isinstance(content, str) else ""
    if bot_id:
        text = re.sub(rf"^<@!?{re.escape(bot_id)}>\s*", "", text)
    reference = message.get("message_reference")
    reply_to = None
    if isinstance(reference, Mapping) and isinstance(reference.get("message_id"), str):
        reply_to = MessageRef(NAME, channel, str(reference["message_id"]))
    uid, name = str(author.get("id") or ""), user_name(author)
    when = sent_at(mid)
    match = _COMMAND_RE.match(text)
    if match:
        return Incoming(NAME, "command", uid, name, channel, data=match.group(1).lower(),
                        args=text[match.end():].strip(), reply_to=reply_to,
                        event_id=f"m:{mid}", sent_at=when)
    return Incoming(NAME, "text", uid, name, channel, data=text, reply_to=reply_to,
                    event_id=f"m:{mid}", sent_at=when)


def to_held(event: Incoming) -> dict[str, Any]:
    """An event as held in the inbox until applied (JSON)."""
    ref = event.reply_to
    return {"kind": event.kind, "user_id": event.user_id, "user_name": event.user_name,
            "chat_id": event.chat_id, "data": event.data, "args": event.args,
            "event_id": event.event_id, "sent_at": event.sent_at,
            "reply_to": None if ref is None else ref.message_id,
            "selected": None if event.selected is None else list(event.selected)}


def from_held(raw: Mapping[str, Any]) -> Incoming | None:
    """A held event back; None when it is not one (an older or damaged record)."""
    try:
        chat = str(raw["chat_id"])
        reply = raw.get("reply_to")
        sent = raw.get("sent_at")
        chosen = raw.get("selected")
        kind = str(raw["kind"])
        if kind not in ("press", "text", "command") or not str(raw["event_id"]):
            return None
        return Incoming(NAME, kind, str(raw["user_id"]), str(raw["user_name"]), chat,
                        data=str(raw.get("data") or ""), args=str(raw.get("args") or ""),
                        reply_to=None if reply is None else MessageRef(NAME, chat, str(reply)),
                        event_id=str(raw["event_id"]),
                        sent_at=float(sent) if isinstance(sent, (int, float)) else None,
                        selected=tuple(str(x) for x in chosen) if isinstance(chosen, list)
                        else None)
    except (KeyError, TypeError, ValueError):
        return None

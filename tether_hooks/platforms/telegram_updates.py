"""Telegram updates as ``Incoming`` events (presses, texts, commands), the updates of a
getUpdates answer, and inline keyboards: pure, no I/O."""

from __future__ import annotations

import json
import re
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)

from tether_hooks.platforms.base import BridgeError, Button, Incoming, MessageRef
from tether_hooks.platforms.telegram_config import THREAD_KEY

__all__ = ["fetched_updates", "keyboard", "known_thread", "to_incoming"]

_NAME = "telegram"
_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?=\s|$)")


def _user_name(user: User) -> str:
    return f"@{user.username}" if user.username else (user.full_name or str(user.id))


def _thread(msg: object) -> str | None:
    """The topic of a message; a General-topic reply carries a thread id that is no topic."""
    if isinstance(msg, Message) and msg.is_topic_message and msg.message_thread_id:
        return str(msg.message_thread_id)
    return None


def _replied(msg: Message, bot_id: int | None) -> MessageRef | None:
    """The bot message ``msg`` replies to; not the topic's first message (sdk-quirks.md)."""
    target = msg.reply_to_message
    if target is None or target.from_user is None or target.from_user.id != bot_id:
        return None
    if target.forum_topic_created is not None or (
        msg.is_topic_message and target.message_id == msg.message_thread_id
    ):
        return None
    return MessageRef(_NAME, str(msg.chat.id), str(target.message_id), _thread(msg))


def to_incoming(update: Update, bot_id: int | None, bot_username: str | None) -> Incoming | None:
    """The event for ``update``; None for what dispatch never needs (bots, edits, media)."""
    query = update.callback_query
    if query is not None:
        msg = query.message
        if query.data is None or msg is None:
            return None
        chat, thread = str(msg.chat.id), _thread(msg)
        return Incoming(
            _NAME, "press", str(query.from_user.id), _user_name(query.from_user), chat,
            data=query.data, thread_id=thread, event_id=query.id, update_id=update.update_id,
            reply_to=MessageRef(_NAME, chat, str(msg.message_id), thread),
        )
    msg = update.message
    if msg is None or msg.from_user is None or msg.from_user.is_bot or msg.text is None:
        return None
    text = msg.text
    who = (str(msg.from_user.id), _user_name(msg.from_user), str(msg.chat.id))
    common: dict[str, Any] = {
        "thread_id": _thread(msg), "event_id": str(msg.message_id), "update_id": update.update_id,
        "sent_at": msg.date.timestamp() if msg.date else None,
    }
    match = _COMMAND_RE.match(text)
    if match and any(e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in msg.entities):
        target = match.group(2)
        if target and bot_username and target.lower() != bot_username.lower():
            return None  # a command for another bot in the group
        return Incoming(_NAME, "command", *who, data=match.group(1).lower(),
                        args=text[match.end():].strip(), **common)
    return Incoming(_NAME, "text", *who, data=text, reply_to=_replied(msg, bot_id), **common)


def fetched_updates(payload: bytes, skip_below: int = 0) -> list[tuple[int, dict[str, Any]]]:
    """``(update_id, raw update)`` of a getUpdates answer, from ``skip_below`` on."""
    try:
        result = json.loads(payload).get("result")
    except (ValueError, AttributeError, RecursionError):
        return []
    if not isinstance(result, list):
        return []
    return [(u["update_id"], u) for u in result if isinstance(u, dict)
            and isinstance(u.get("update_id"), int) and u["update_id"] >= skip_below]


def keyboard(buttons: list[list[Button]] | None) -> InlineKeyboardMarkup | None:
    """Inline keyboard rows; callback data must be 1-64 bytes (BridgeError otherwise)."""
    rows = []
    for row in buttons or []:
        for b in row:
            if not 1 <= len(b.data.encode()) <= 64:
                raise BridgeError(f"button {b.label!r}: callback data must be 1-64 bytes")
        if row:
            rows.append([InlineKeyboardButton(b.label, callback_data=b.data) for b in row])
    return InlineKeyboardMarkup(rows) if rows else None


def known_thread(record: dict[str, Any] | None) -> int | None:
    """The forum topic recorded on a session record (``chat.telegram`` or the old key)."""
    record = record or {}
    ref = (record.get("chat") or {}).get("telegram") or {}
    value = ref.get("thread_id") if isinstance(ref, dict) else None
    value = value or record.get(THREAD_KEY)
    return int(value) if value else None

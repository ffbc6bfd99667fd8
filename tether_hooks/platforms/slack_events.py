"""Socket Mode envelopes as ``Incoming`` events (clicks, texts, commands) and their keys:
pure, no I/O.

Slack's event ids do not grow, so a replay is recognised by ``event_key``, derived from the
payload alone: a re-delivered envelope (Slack retries one acknowledged late, possibly under
a new envelope id) gives the same key. Clicks: the action's ``action_ts``, the message and
the user; texts: the channel and the message ``ts``; slash commands: the ``trigger_id``;
anything else the envelope id.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from tether_hooks.platforms.base import Incoming, MessageRef

__all__ = ["clean_text", "envelope", "event_key", "to_incoming"]

_NAME = "slack"
_COMMAND_RE = re.compile(r"!([A-Za-z][A-Za-z0-9_-]{0,31})(?=\s|$)")
# Slack's markup in a message: <@U1>, <#C1|name>, <!here>, <https://x|label>, <mailto:...>
_LINK_RE = re.compile(r"<([@#!][^<>|\s]*|[a-z][a-z0-9+.-]*:[^<>|\s]*)(?:\|([^<>]*))?>")
# Message subtypes that are a user's words; edits, deletions, joins, bots are not.
_WORDS = (None, "thread_broadcast")


def envelope(kind: str, envelope_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What is held in the inbox for an envelope (enough to build its event again)."""
    return {"type": kind, "envelope_id": envelope_id, "payload": dict(payload)}


def clean_text(text: str, bot_user_id: str | None = None) -> str:
    """A message's text as the user typed it: a leading @mention of the bot dropped, Slack's
    ``<...>`` markup shown as text (``<@U1>`` -> ``@U1``, ``<url|label>`` -> ``label``,
    ``<!here>`` -> ``@here``), then ``&amp;``, ``&lt;`` and ``&gt;`` decoded."""
    text = text.strip()
    if bot_user_id:
        text = re.sub(rf"^<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[\s,:]*", "", text)

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return f"@{label}" if label else target
        if target.startswith("#"):
            return f"#{label}" if label else target
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            return label or f"@{name}"
        return label or target

    return html.unescape(_LINK_RE.sub(shown, text)) if "<" in text or "&" in text else text


def _at(user: Mapping[str, Any], fallback: str) -> str:
    name = user.get("username") or user.get("name")
    return f"@{name}" if name else fallback


def _press(payload: Mapping[str, Any], envelope_id: str) -> Incoming | None:
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    value = action.get("value") if isinstance(action, dict) else None
    found = payload.get("user")
    user: Mapping[str, Any] = found if isinstance(found, dict) else {}
    uid = str(user.get("id") or "")
    if not value or not uid or not isinstance(action, dict):
        return None
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
    ts = str(message.get("ts") or container.get("message_ts") or "")
    thread = message.get("thread_ts") or container.get("thread_ts")
    thread_id = str(thread) if thread and thread != ts else None
    return Incoming(
        _NAME, "press", uid, _at(user, uid), channel, data=str(value), thread_id=thread_id,
        reply_to=MessageRef(_NAME, channel, ts, thread_id) if ts else None,
        event_id=str(action.get("action_ts") or f"env:{envelope_id}"),
    )


def _message(payload: Mapping[str, Any], envelope_id: str, bot_user_id: str | None,
             names: Mapping[str, str]) -> Incoming | None:
    event = payload.get("event")
    if payload.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != "message" or event.get("subtype") not in _WORDS:
        return None
    uid = str(event.get("user") or "")
    if event.get("bot_id") or not uid or uid == bot_user_id:
        return None  # ours (our own posts come back as events), another bot's, or a system one
    text = clean_text(str(event.get("text") or ""), bot_user_id)
    ts = str(event.get("ts") or "")
    thread = event.get("thread_ts")
    try:
        sent = float(ts)
    except ValueError:
        sent = None
    common: dict[str, Any] = {
        "thread_id": str(thread) if thread and thread != ts else None,
        "event_id": ts or f"env:{envelope_id}", "sent_at": sent,
    }
    who = (uid, names.get(uid) or uid, str(event.get("channel") or ""))
    match = _COMMAND_RE.match(text)
    if match:
        return Incoming(_NAME, "command", *who, data=match.group(1).lower(),
                        args=text[match.end():].strip(), **common)
    if not text:
        return None
    return Incoming(_NAME, "text", *who, data=text, **common)


def _slash(payload: Mapping[str, Any], envelope_id: str) -> Incoming | None:
    uid = str(payload.get("user_id") or "")
    if not uid:
        return None
    words = clean_text(str(payload.get("text") or "")).split(None, 1)
    name = (words[0].lstrip("!/") if words else "help").lower()
    trigger = payload.get("trigger_id")
    user_name = payload.get("user_name")
    return Incoming(_NAME, "command", uid, f"@{user_name}" if user_name else uid,
                    str(payload.get("channel_id") or ""), data=name or "help",
                    args=words[1].strip() if len(words) > 1 else "",
                    event_id=f"cmd:{trigger}" if trigger else f"cmd:env:{envelope_id}")


def to_incoming(raw: Mapping[str, Any], bot_user_id: str | None = None,
                names: Mapping[str, str] | None = None) -> Incoming | None:
    """The event of a held envelope (``envelope``); None for what dispatch never needs (the
    bot's own messages and other bots', edits, deletions, modal submissions...)."""
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        return None
    kind, envelope_id = raw.get("type"), str(raw.get("envelope_id") or "")
    if kind == "interactive" and payload.get("type") == "block_actions":
        return _press(payload, envelope_id)
    if kind == "events_api":
        return _message(payload, envelope_id, bot_user_id, names or {})
    if kind == "slash_commands":
        return _slash(payload, envelope_id)
    return None


def event_key(event: Incoming) -> str:
    """Unique per event and the same for every delivery of it (see the module doc)."""
    if event.event_id.startswith("cmd:"):
        return f"{_NAME}:{event.event_id}"
    if event.kind == "press":
        message = event.reply_to.message_id if event.reply_to else ""
        return f"{_NAME}:press:{event.chat_id}:{message}:{event.user_id}:{event.event_id}"
    return f"{_NAME}:msg:{event.chat_id}:{event.event_id}"

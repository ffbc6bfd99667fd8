"""Socket Mode envelopes as ``Incoming`` events (clicks, texts, commands) and their keys:
pure, no I/O.

Slack's event ids do not grow, so a replay is recognised by ``event_key``, derived from the
payload alone: a re-delivered envelope (Slack retries one acknowledged late, possibly under
a new envelope id) gives the same key. Clicks: the action's ``action_ts``, the message and
the user; texts: the channel and the message ``ts``; slash commands: the ``trigger_id``;
anything else the envelope id.

Fields are read with ``obj_at`` and ``str_at``: an envelope carrying something else where
Slack sends an object or a string (``"container": "C0.."``, ``"ts": ["5.6"]``; a forged or
broken envelope) raises ``OddPayload`` naming the field, and is ignored.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import Any

from tether_hooks.platforms.base import Incoming, MessageRef

__all__ = ["OddPayload", "clean_text", "envelope", "event_key", "obj_at", "str_at",
           "to_incoming"]

_NAME = "slack"
_COMMAND_RE = re.compile(r"!([A-Za-z][A-Za-z0-9_-]{0,31})(?=\s|$)")
# Slack's markup in a message: <@U1>, <#C1|name>, <!here>, <https://x|label>, <mailto:...>
_LINK_RE = re.compile(r"<([@#!][^<>|\s]*|[a-z][a-z0-9+.-]*:[^<>|\s]*)(?:\|([^<>]*))?>")
# Message subtypes that are a user's words; edits, deletions, joins, bots are not.
_WORDS = (None, "thread_broadcast")


class OddPayload(ValueError):
    """A field holds what Slack never sends there (a string where an object goes...)."""


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def obj_at(data: Mapping[str, Any], key: str, at: str = "") -> Mapping[str, Any]:
    """The object at ``key`` of ``data`` ({} when absent or null); OddPayload naming
    ``at.key`` when it is anything else."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OddPayload(f"{at}{'.' if at else ''}{key} is {_kind(value)}, not an object")
    return value


def str_at(data: Mapping[str, Any], key: str, at: str = "") -> str | None:
    """The string at ``key`` of ``data`` (None when absent, null or empty); OddPayload
    naming ``at.key`` when it is anything else."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OddPayload(f"{at}{'.' if at else ''}{key} is {_kind(value)}, not a string")
    return value or None


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


def _action(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first of a click's ``actions`` ({} when there is none)."""
    actions = payload.get("actions")
    if actions is None or actions == []:
        return {}
    if not isinstance(actions, list):
        raise OddPayload(f"actions is {_kind(actions)}, not a list")
    if not isinstance(actions[0], dict):
        raise OddPayload(f"actions[0] is {_kind(actions[0])}, not an object")
    return actions[0]


def _press(payload: Mapping[str, Any], envelope_id: str) -> Incoming | None:
    # every field is read (an odd one anywhere makes the envelope odd), then the first found
    action, user = _action(payload), obj_at(payload, "user")
    container, message = obj_at(payload, "container"), obj_at(payload, "message")
    value, action_ts = (str_at(action, k, "actions[0]") for k in ("value", "action_ts"))
    uid, username, name = (str_at(user, k, "user") for k in ("id", "username", "name"))
    channel = str_at(obj_at(payload, "channel"), "id", "channel")
    at_channel, at_ts, at_thread = (str_at(container, k, "container")
                                    for k in ("channel_id", "message_ts", "thread_ts"))
    ts, thread = (str_at(message, k, "message") for k in ("ts", "thread_ts"))
    if not value or not uid:
        return None
    chat, ts, thread = channel or at_channel or "", ts or at_ts or "", thread or at_thread
    thread_id = thread if thread and thread != ts else None
    name = username or name
    return Incoming(
        _NAME, "press", uid, f"@{name}" if name else uid, chat, data=value,
        thread_id=thread_id, reply_to=MessageRef(_NAME, chat, ts, thread_id) if ts else None,
        event_id=action_ts or f"env:{envelope_id}",
    )


def _message(payload: Mapping[str, Any], envelope_id: str, bot_user_id: str | None,
             names: Mapping[str, str]) -> Incoming | None:
    if str_at(payload, "type") != "event_callback":
        return None
    event = obj_at(payload, "event")
    if str_at(event, "type", "event") != "message" or \
            str_at(event, "subtype", "event") not in _WORDS:
        return None
    uid, bot_id, typed, ts, thread, channel = (
        str_at(event, k, "event") for k in ("user", "bot_id", "text", "ts", "thread_ts", "channel"))
    if bot_id or not uid or uid == bot_user_id:
        return None  # ours (our own posts come back as events), another bot's, or a system one
    text, ts = clean_text(typed or "", bot_user_id), ts or ""
    try:
        sent: float | None = float(ts) if math.isfinite(float(ts)) else None
    except ValueError:
        sent = None
    common: dict[str, Any] = {
        "thread_id": thread if thread and thread != ts else None,
        "event_id": ts or f"env:{envelope_id}", "sent_at": sent,
    }
    who = (uid, names.get(uid) or uid, channel or "")
    match = _COMMAND_RE.match(text)
    if match:
        return Incoming(_NAME, "command", *who, data=match.group(1).lower(),
                        args=text[match.end():].strip(), **common)
    if not text:
        return None
    return Incoming(_NAME, "text", *who, data=text, **common)


def _slash(payload: Mapping[str, Any], envelope_id: str) -> Incoming | None:
    uid, typed, trigger, user_name, channel = (
        str_at(payload, k) for k in ("user_id", "text", "trigger_id", "user_name", "channel_id"))
    if not uid:
        return None
    words = clean_text(typed or "").split(None, 1)
    name = (words[0].lstrip("!/") if words else "help").lower()
    return Incoming(_NAME, "command", uid, f"@{user_name}" if user_name else uid,
                    channel or "", data=name or "help",
                    args=words[1].strip() if len(words) > 1 else "",
                    event_id=f"cmd:{trigger}" if trigger else f"cmd:env:{envelope_id}")


def to_incoming(raw: Mapping[str, Any], bot_user_id: str | None = None,
                names: Mapping[str, str] | None = None) -> Incoming | None:
    """The event of a held envelope (``envelope``); None for what dispatch never needs (the
    bot's own messages and other bots', edits, deletions, modal submissions...). Raises
    OddPayload for a field that is not what Slack sends there."""
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

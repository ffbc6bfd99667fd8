"""JSON shapes Slack sends: message objects, Events API callbacks, interactive payloads.

Shapes follow real payloads (slack_sdk's own test fixtures and captured traffic in public
code); field order and the rarely read fields (enterprise, is_ext_shared_channel, ...) are
filled the way Slack fills them for a single-workspace app.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from .models import Channel, Message, View
from .state import World

__all__ = [
    "block_actions",
    "bot_profile",
    "event_callback",
    "message_event",
    "message_json",
    "rich_text",
    "slash_command",
    "view_json",
    "view_submission",
]


def rich_text(text: str) -> list[dict[str, Any]]:
    """The blocks Slack's clients attach to a plain user message."""
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5],
             "elements": [{"type": "rich_text_section",
                           "elements": [{"type": "text", "text": text}]}]}]


def bot_profile(w: World) -> dict[str, Any]:
    return {
        "id": w.me.bot_id, "app_id": w.me.app_id, "name": w.me.bot_name, "deleted": False,
        "icons": {"image_48": "https://a.slack-edge.com/80588/img/plugins/app/bot_48.png"},
        "updated": 1700000000, "team_id": w.me.team_id,
    }


def message_json(w: World, m: Message) -> dict[str, Any]:
    """A stored message as chat.postMessage, conversations.replies and payloads show it."""
    out: dict[str, Any] = {"user": m.user, "type": "message", "ts": m.ts}
    if m.from_bot:
        out.update(bot_id=m.bot_id, app_id=w.me.app_id)
    out["text"] = m.text
    out["team"] = w.me.team_id
    if m.from_bot:
        out["bot_profile"] = bot_profile(w)
    if m.blocks:
        out["blocks"] = copy.deepcopy(m.blocks)
    if m.edited:
        out["edited"] = dict(m.edited)
    if m.thread_ts is not None:
        out["thread_ts"] = m.thread_ts
        if m.is_reply:
            parent = w.messages.get((m.channel, m.thread_ts))
            out["parent_user_id"] = parent.user if parent else m.user
        else:
            out.update(reply_count=m.reply_count, reply_users_count=len(m.reply_users),
                       latest_reply=m.latest_reply, reply_users=list(m.reply_users),
                       is_locked=False, subscribed=False)
    return out


def event_callback(w: World, event: dict[str, Any]) -> dict[str, Any]:
    """The Events API wrapper around one event (an ``events_api`` envelope's payload)."""
    kind = event.get("type", "")
    return {
        "token": w.me.verification_token,
        "team_id": w.me.team_id,
        "context_team_id": w.me.team_id,
        "context_enterprise_id": None,
        "api_app_id": w.me.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": w.new_id("Ev", 9),
        "event_time": int(time.time()),
        "authorizations": [{
            "enterprise_id": None, "team_id": w.me.team_id, "user_id": w.me.bot_user_id,
            "is_bot": True, "is_enterprise_install": False,
        }],
        "is_ext_shared_channel": False,
        "event_context": f"4-{kind}-{w.me.team_id}-{event.get('channel', '')}",
    }


def message_event(w: World, ch: Channel, m: Message, subtype: str | None = None,
                  previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``message`` event: new (``subtype`` None), ``message_changed`` or
    ``message_deleted`` (``previous`` = the message before)."""
    if subtype is None:
        event = message_json(w, m)
        for key in ("reply_count", "reply_users_count", "latest_reply", "reply_users",
                    "is_locked", "subscribed"):
            event.pop(key, None)
        if not m.from_bot:
            event["client_msg_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, m.channel + m.ts))
        event.update(channel=ch.id, event_ts=m.ts, channel_type=ch.channel_type)
        return event
    ts = w.next_ts()
    event = {"type": "message", "subtype": subtype, "hidden": True, "channel": ch.id,
             "ts": ts, "event_ts": ts, "channel_type": ch.channel_type}
    if subtype == "message_changed":
        event["message"] = message_json(w, m)
        event["previous_message"] = previous
    else:
        event["deleted_ts"] = m.ts
        event["previous_message"] = previous
    return event


def block_actions(w: World, ch: Channel, m: Message, button: dict[str, Any], user: str,
                  trigger_id: str, response_url: str, *, ephemeral: bool = False,
                  value: str | None = None) -> dict[str, Any]:
    """What Slack sends when ``user`` presses ``button`` on ``m``."""
    action: dict[str, Any] = {
        "action_id": button.get("action_id", ""),
        "block_id": button["block_id"],
        "text": copy.deepcopy(button.get("text")),
    }
    if value is not None:
        action["value"] = value
    if "style" in button:
        action["style"] = button["style"]
    action.update(type="button", action_ts=f"{time.time():.6f}")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": w.user(user).to_api(w.me.team_id),
        "api_app_id": w.me.app_id,
        "token": w.me.verification_token,
        "container": {"type": "message", "message_ts": m.ts, "channel_id": ch.id,
                      "is_ephemeral": ephemeral},
        "trigger_id": trigger_id,
        "team": {"id": w.me.team_id, "domain": w.me.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": ch.id, "name": ch.display_name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if m.thread_ts is not None:
        payload["container"]["thread_ts"] = m.thread_ts
    if not ephemeral:  # Slack leaves the message out for ephemeral ones
        payload["message"] = message_json(w, m)
    return payload


def view_json(w: World, v: View) -> dict[str, Any]:
    """A view as views.open returns it and view_submission carries it."""
    src = v.view
    out: dict[str, Any] = {
        "id": v.id, "team_id": w.me.team_id, "type": src.get("type", "modal"),
        "blocks": copy.deepcopy(src.get("blocks", [])),
        "private_metadata": src.get("private_metadata", ""),
        "callback_id": src.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(v.opened_at)}.{v.id.lower()}",
        "title": copy.deepcopy(src.get("title")),
        "clear_on_close": bool(src.get("clear_on_close", False)),
        "notify_on_close": bool(src.get("notify_on_close", False)),
        "close": copy.deepcopy(src.get("close")),
        "submit": copy.deepcopy(src.get("submit")),
        "previous_view_id": None, "root_view_id": v.id, "app_id": w.me.app_id,
        "external_id": src.get("external_id", ""), "app_installed_team_id": w.me.team_id,
        "bot_id": w.me.bot_id,
    }
    return out


def view_submission(w: World, v: View, user: str, values: dict[str, Any]) -> dict[str, Any]:
    """A modal submitted by ``user``; ``values`` are block_id -> action_id -> value (a string
    becomes ``{"type": <element type>, "value": ...}``; a dict is sent as it is)."""
    inputs = {
        b.get("block_id"): b["element"] for b in v.view.get("blocks", [])
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("element"), dict)
    }
    state: dict[str, dict[str, Any]] = {}
    for block_id, element in inputs.items():
        state[str(block_id)] = {str(element.get("action_id")): {
            "type": element.get("type"), "value": None}}
    for block_id, by_action in values.items():
        element = inputs.get(block_id)
        if element is None:
            raise LookupError(f"view {v.id} has no input block {block_id!r}")
        for action_id, value in by_action.items():
            if action_id != element.get("action_id"):
                raise LookupError(f"input block {block_id!r} has no action {action_id!r}")
            state[block_id][action_id] = (
                value if isinstance(value, dict) else {"type": element.get("type"),
                                                       "value": value})
    view = view_json(w, v)
    view["state"] = {"values": state}
    return {
        "type": "view_submission",
        "team": {"id": w.me.team_id, "domain": w.me.team_domain},
        "user": w.user(user).to_api(w.me.team_id),
        "api_app_id": w.me.app_id,
        "token": w.me.verification_token,
        "trigger_id": w.new_trigger(user, None),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(w: World, ch: Channel, user: str, command: str, text: str,
                  trigger_id: str, response_url: str) -> dict[str, Any]:
    """A slash command's payload (form fields of the HTTP variant, as a JSON object)."""
    return {
        "token": w.me.verification_token,
        "team_id": w.me.team_id,
        "team_domain": w.me.team_domain,
        "channel_id": ch.id,
        "channel_name": ch.display_name,
        "user_id": user,
        "user_name": w.user(user).name,
        "command": command,
        "text": text,
        "api_app_id": w.me.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }

"""The Web API methods (``/api/<method>``) and the response_url endpoints.

Handlers run on the emulator's loop under ``World.cond``; each returns the success body's
fields or raises :class:`SlackError`. Requests are recorded by ``SlackEmulator`` (faults,
auth and encoding are handled there); this module is the behaviour of each method.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from .blocks import (
    MAX_TEXT,
    check_blocks,
    check_view,
    invalid_arguments,
    invalid_blocks,
    normalise_blocks,
)
from .models import Channel, Ephemeral, Message, SlackError, View
from .payloads import event_callback, message_event, message_json, view_json
from .socket_mode import SocketHub
from .state import World

__all__ = ["METHOD_SCOPES", "Params", "WebApi"]

# The scope each method needs; "{kind}" is the conversation kind (channels, groups, im).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None, "apps.connections.open": "connections:write",
    "chat.postMessage": "chat:write", "chat.update": "chat:write", "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write", "chat.getPermalink": None, "views.open": None,
    "conversations.info": "{kind}:read", "conversations.replies": "{kind}:history",
    "conversations.history": "{kind}:history", "users.info": "users:read",
}
_TRIGGER_RE = re.compile(r"\d+\.\d+\.[0-9a-f]+")
_SCOPE_KIND = {"channel": "channels", "group": "groups", "im": "im"}


class Params:
    """A request's merged query, form and JSON parameters."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def get(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        return default if value is None else str(value)

    def flag(self, name: str) -> bool:
        return str(self.data.get(name, "")).lower() in ("1", "true")

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.data.get(name, default))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None

    def blocks(self) -> list[Any] | None:
        """``blocks`` as sent: a JSON array, or a JSON string in a form body."""
        if not self.has("blocks"):
            return None
        value = self.data["blocks"]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise SlackError("invalid_blocks_format") from None
        if not isinstance(value, list):
            raise SlackError("invalid_blocks_format")
        return value


class WebApi:
    def __init__(self, world: World, hub: SocketHub) -> None:
        self.w = world
        self.hub = hub
        self.echo_bot_messages = True
        self.trigger_ttl = 3.0
        self.response_url_ttl = 1800.0
        self.response_url_uses = 5
        self.methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "apps.connections.open": lambda p: {"url": self.hub.issue_url()},
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "chat.delete": self.delete,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.getPermalink": self.permalink,
            "views.open": self.views_open,
            "conversations.info": self.conversations_info,
            "conversations.replies": self.replies,
            "conversations.history": self.history,
            "users.info": self.users_info,
        }

    # -- shared -------------------------------------------------------------------------------

    def needed_scope(self, method: str, p: Params) -> str | None:
        needed = METHOD_SCOPES.get(method)
        if needed and "{kind}" in needed:
            ch = self.w.channels.get(p.get("channel"))
            return needed.format(kind=_SCOPE_KIND[ch.kind if ch else "channel"])
        return needed

    def emit(self, ch: Channel, event: dict[str, Any], *, bot: bool) -> None:
        """Deliver a message event over Socket Mode if the bot can see the conversation."""
        if (bot and not self.echo_bot_messages) or not (ch.bot_member or ch.kind == "im"):
            return
        self.hub.enqueue("events_api", event_callback(self.w, event),
                         accepts_response_payload=False)

    def conversation(self, name: str, *, reading: bool = False) -> Channel:
        """A conversation the bot may use, by id or #name: channel_not_found for unknown and
        private ones it is not in; not_in_channel for public ones (unless chat:write.public)."""
        ch = self.w.channels.get(name)
        if ch is None:
            bare = name.removeprefix("#")
            ch = next((c for c in self.w.channels.values()
                       if c.kind != "im" and c.name == bare), None)
        if ch is None:
            raise SlackError("channel_not_found")
        if not ch.bot_member and ch.kind != "im":
            if ch.is_private:
                raise SlackError("channel_not_found")
            if reading or "chat:write.public" not in self.w.scopes:
                raise SlackError("not_in_channel")
        return ch

    def writable(self, p: Params) -> Channel:
        name = p.get("channel")
        if name in self.w.users:  # a user id: the app's DM with them
            return self.w.im_with(name)
        ch = self.conversation(name)
        if ch.archived:
            raise SlackError("is_archived")
        return ch

    def content(self, p: Params, *, required: bool = True
                ) -> tuple[str | None, list[dict[str, Any]] | None]:
        """Validated ``text`` and (normalised) ``blocks``; None where not sent."""
        text = p.get("text") if p.has("text") else None
        blocks = p.blocks()
        if required and not text and not blocks and not p.has("attachments"):
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if blocks is not None:
            errors = check_blocks(blocks)
            if errors:
                raise invalid_blocks(errors)
            blocks = normalise_blocks(blocks, self.w.new_block_id)
        return text, blocks

    def own_message(self, ch: Channel, ts: str, refusal: str) -> Message:
        msg = self.w.messages.get((ch.id, ts))
        if msg is None or msg.deleted:
            raise SlackError("message_not_found")
        if not msg.from_bot:
            raise SlackError(refusal)
        return msg

    # -- methods ------------------------------------------------------------------------------

    def auth_test(self, p: Params) -> dict[str, Any]:
        me = self.w.me
        return {"url": f"https://{me.team_domain}.slack.com/", "team": me.team_name,
                "user": me.bot_name, "team_id": me.team_id, "user_id": me.bot_user_id,
                "bot_id": me.bot_id, "is_enterprise_install": False}

    def users_info(self, p: Params) -> dict[str, Any]:
        """A user the workspace knows (``add_user``, or one who wrote or clicked);
        user_not_found for any other id."""
        user = self.w.users.get(p.get("user") or "")
        if user is None:
            raise SlackError("user_not_found")
        return {"user": {"id": user.id, "team_id": self.w.me.team_id, "name": user.name,
                         "deleted": False, "real_name": user.real_name, "is_bot": user.is_bot,
                         "profile": {"real_name": user.real_name,
                                     "display_name": user.name}}}

    def post_message(self, p: Params) -> dict[str, Any]:
        ch = self.writable(p)
        text, blocks = self.content(p)
        thread_ts = p.get("thread_ts") or None
        msg = self.w.store(ch, self.w.me.bot_user_id, text or "", blocks or [], thread_ts,
                           bot=True)
        self.emit(ch, message_event(self.w, ch, msg), bot=True)
        return {"channel": ch.id, "ts": msg.ts, "message": message_json(self.w, msg)}

    def update(self, p: Params) -> dict[str, Any]:
        ch = self.conversation(p.get("channel"))
        msg = self.own_message(ch, p.get("ts"), "cant_update_message")
        text, blocks = self.content(p)
        previous = message_json(self.w, msg)
        self.w.edit(msg, text, blocks, self.w.me.bot_user_id)
        self.emit(ch, message_event(self.w, ch, msg, "message_changed", previous), bot=True)
        return {"channel": ch.id, "ts": msg.ts, "text": msg.text,
                "message": message_json(self.w, msg)}

    def delete(self, p: Params) -> dict[str, Any]:
        ch = self.conversation(p.get("channel"))
        msg = self.own_message(ch, p.get("ts"), "cant_delete_message")
        self.remove(ch, msg)
        return {"channel": ch.id, "ts": msg.ts}

    def remove(self, ch: Channel, msg: Message) -> None:
        previous = message_json(self.w, msg)
        msg.deleted = True
        self.w.changed()
        self.emit(ch, message_event(self.w, ch, msg, "message_deleted", previous), bot=True)

    def post_ephemeral(self, p: Params) -> dict[str, Any]:
        ch = self.conversation(p.get("channel"))
        user = p.get("user")
        if user not in self.w.users or not ch.has_member(user):
            raise SlackError("user_not_in_channel")
        text, blocks = self.content(p)
        ts = self.w.next_ts()
        self.w.ephemerals.append(Ephemeral(ch.id, user, text or "", blocks or [], ts,
                                           "chat.postEphemeral", p.get("thread_ts") or None))
        self.w.changed()
        return {"message_ts": ts}

    def permalink(self, p: Params) -> dict[str, Any]:
        ch = self.w.channels.get(p.get("channel"))
        if ch is None:
            raise SlackError("channel_not_found")
        msg = self.w.messages.get((ch.id, p.get("message_ts")))
        if msg is None or msg.deleted:
            raise SlackError("message_not_found")
        link = f"https://{self.w.me.team_domain}.slack.com/archives/{ch.id}/p"
        link += msg.ts.replace(".", "")
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}

    def views_open(self, p: Params) -> dict[str, Any]:
        tid = p.get("trigger_id")
        if not tid:
            raise invalid_arguments(["missing required field: trigger_id"])
        trigger = self.w.triggers.get(tid)
        if not _TRIGGER_RE.fullmatch(tid) or trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.w.clock() - trigger.created > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        view = p.data.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                raise invalid_arguments(["failed to match all allowed schemas "
                                         "[json-pointer:/view]"]) from None
        errors = check_view(view)
        if errors:
            raise invalid_arguments(errors)
        assert isinstance(view, dict)
        trigger.used = True
        view = {**view, "blocks": normalise_blocks(view["blocks"], self.w.new_block_id)}
        v = View(self.w.new_id("V"), view, trigger.user, tid, self.w.clock())
        self.w.views[v.id] = v
        self.w.changed()
        return {"view": view_json(self.w, v)}

    def conversations_info(self, p: Params) -> dict[str, Any]:
        ch = self.w.channels.get(p.get("channel"))
        if ch is None or (ch.is_private and ch.kind != "im" and not ch.bot_member):
            raise SlackError("channel_not_found")
        if ch.kind == "im":
            return {"channel": {"id": ch.id, "created": ch.created, "is_im": True,
                                "is_org_shared": False, "user": ch.im_user,
                                "is_user_deleted": False, "priority": 0}}
        return {"channel": {
            "id": ch.id, "name": ch.name, "is_channel": ch.kind == "channel",
            "is_group": ch.kind == "group", "is_im": False, "is_mpim": False,
            "is_private": ch.is_private, "created": ch.created, "is_archived": ch.archived,
            "is_general": False, "unlinked": 0, "name_normalized": ch.name, "is_shared": False,
            "is_org_shared": False, "is_pending_ext_shared": False, "is_member": ch.bot_member,
            "creator": self.w.me.bot_user_id, "is_ext_shared": False, "shared_team_ids": [
                self.w.me.team_id],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": [],
        }}

    def _page(self, p: Params, found: list[Message], default_limit: int) -> dict[str, Any]:
        oldest, latest = p.get("oldest"), p.get("latest")
        inclusive = p.flag("inclusive")

        def keep(m: Message) -> bool:
            t = float(m.ts)
            low = not oldest or (t >= float(oldest) if inclusive else t > float(oldest))
            high = not latest or (t <= float(latest) if inclusive else t < float(latest))
            return low and high

        found = [m for m in found if keep(m)]
        cursor = p.get("cursor")
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        limit = max(1, p.number("limit", default_limit))
        page = found[start:start + limit]
        more = start + limit < len(found)
        nxt = base64.b64encode(f"next_ts:{start + limit}".encode()).decode() if more else ""
        return {"messages": [message_json(self.w, m) for m in page], "has_more": more,
                "response_metadata": {"next_cursor": nxt}}

    def replies(self, p: Params) -> dict[str, Any]:
        ch = self.conversation(p.get("channel"), reading=True)
        root = self.w.messages.get((ch.id, p.get("ts")))
        if root is None or root.deleted:
            raise SlackError("thread_not_found")
        thread = self.w.thread_of(ch.id, root.ts)
        parent, rest = thread[0], thread[1:]
        body = self._page(p, rest, 1000)
        body["messages"].insert(0, message_json(self.w, parent))
        return body

    def history(self, p: Params) -> dict[str, Any]:
        ch = self.conversation(p.get("channel"), reading=True)
        top = [m for m in self.w.messages.values()
               if m.channel == ch.id and not m.deleted and not m.is_reply]
        top.sort(key=lambda m: float(m.ts), reverse=True)
        return {**self._page(p, top, 100), "pin_count": 0, "channel_actions_ts": None,
                "channel_actions_count": 0}

    # -- response_url -------------------------------------------------------------------------

    def respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A POST to a response_url: update/delete the original, or post ephemeral/in_channel."""
        info = self.w.response_urls.get(path)
        if info is None:
            return 404, {"ok": False, "error": "no_service"}
        if self.w.clock() - info["issued"] > self.response_url_ttl:
            return 404, {"ok": False, "error": "expired_url"}
        if info["uses"] >= self.response_url_uses:
            return 404, {"ok": False, "error": "used_url"}
        try:
            text, blocks = self.content(Params(body))
        except SlackError as exc:
            return 200, exc.body()
        info["uses"] += 1
        ch = self.w.channels[info["channel"]]
        original = self.w.messages.get((ch.id, info.get("message_ts", "")))
        if info["kind"] == "actions" and original is not None and not info.get("ephemeral"):
            if body.get("delete_original") in (True, "true"):
                self.remove(ch, original)
                return 200, {"ok": True}
            if body.get("replace_original") in (True, "true"):
                previous = message_json(self.w, original)
                self.w.edit(original, text or "", blocks or [], self.w.me.bot_user_id)
                self.emit(ch, message_event(self.w, ch, original, "message_changed", previous),
                          bot=True)
                return 200, {"ok": True}
        if body.get("response_type") == "in_channel":
            msg = self.w.store(ch, self.w.me.bot_user_id, text or "", blocks or [],
                               body.get("thread_ts"), bot=True)
            self.emit(ch, message_event(self.w, ch, msg), bot=True)
        else:
            self.w.ephemerals.append(Ephemeral(ch.id, info["user"], text or "", blocks or [],
                                               self.w.next_ts(), "response_url"))
            self.w.changed()
        return 200, {"ok": True}

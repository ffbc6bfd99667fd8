"""The REST routes: webhook execute/edit/delete and the bot-token channel, message and
reaction endpoints. Handlers run on the emulator's loop under ``World.cond``; each returns
``(status, body)`` (body None = empty) or raises :class:`DiscordError`. Faults, auth, rate
limits and the call log are the server's job (``server.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import DiscordError, Message, form_error
from .state import World
from .validate import check_emoji, check_message, empty_message, is_empty

__all__ = ["ROUTES", "Request", "Route", "Routes"]

Result = tuple[int, Any]


@dataclass
class Request:
    method: str
    params: dict[str, str]  # path parameters, decoded
    query: dict[str, str]
    body: dict[str, Any]
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, bytes


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # segments; {x} = a parameter
    handler: str  # a Routes method name
    kind: str  # "webhook" (token in the path) or "bot" (Authorization: Bot)


def _embed(embed: dict[str, Any]) -> dict[str, Any]:
    """As Discord stores it: null and empty values dropped, ``type`` "rich" by default."""
    out = {k: v for k, v in embed.items() if v is not None and v != [] and v != {}}
    return {"type": "rich", **out}


_W = "webhooks/{wid}/{wtoken}"
_M = "channels/{cid}/messages/{mid}"
ROUTES: list[Route] = [
    Route("POST", _W, "execute_webhook", "webhook"),
    Route("GET", _W, "get_webhook", "webhook"),
    Route("GET", _W + "/messages/{mid}", "get_webhook_message", "webhook"),
    Route("PATCH", _W + "/messages/{mid}", "edit_webhook_message", "webhook"),
    Route("DELETE", _W + "/messages/{mid}", "delete_webhook_message", "webhook"),
    Route("GET", "users/@me", "get_me", "bot"),
    Route("GET", "channels/{cid}", "get_channel", "bot"),
    Route("GET", "channels/{cid}/messages", "list_messages", "bot"),
    Route("POST", "channels/{cid}/messages", "create_message", "bot"),
    Route("GET", _M, "get_message", "bot"),
    Route("PATCH", _M, "edit_message", "bot"),
    Route("DELETE", _M, "delete_message", "bot"),
    Route("PUT", _M + "/reactions/{emoji}/@me", "add_reaction", "bot"),
    Route("DELETE", _M + "/reactions/{emoji}/@me", "delete_own_reaction", "bot"),
    Route("DELETE", _M + "/reactions/{emoji}/{uid}", "delete_user_reaction", "bot"),
    Route("GET", _M + "/reactions/{emoji}", "list_reactions", "bot"),
    Route("DELETE", _M + "/reactions/{emoji}", "delete_emoji_reactions", "bot"),
    Route("DELETE", _M + "/reactions", "delete_all_reactions", "bot"),
]


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise form_error([name], "NUMBER_TYPE_COERCE",
                         f"Value \"{raw}\" is not int.") from None
    if not low <= value <= high:
        code = "NUMBER_TYPE_MAX" if value > high else "NUMBER_TYPE_MIN"
        bound = high if value > high else low
        word = "less" if value > high else "greater"
        raise form_error([name], code, f"int value should be {word} than or equal to {bound}.")
    return value


def _snowflake(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if not raw:
        return None
    if not raw.isdigit():
        raise form_error([name], "NUMBER_TYPE_COERCE", f"Value \"{raw}\" is not snowflake.")
    return int(raw)


def _flags(value: Any) -> int:
    """Only SUPPRESS_EMBEDS (4) and SUPPRESS_NOTIFICATIONS (4096) may be set on send."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise form_error(["flags"], "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not int.")
    return value & 4100


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


class Routes:
    def __init__(self, world: World) -> None:
        self.w = world
        self.attachment_base: Callable[[], str] = lambda: ""

    # -- checks -------------------------------------------------------------------------------

    def need(self, *perms: str, code: int = 50013, text: str = "Missing Permissions") -> None:
        missing = [p for p in perms if p not in self.w.permissions]
        if missing:
            raise DiscordError(403, code, text)

    def channel(self, r: Request) -> None:
        if r.params["cid"] != self.w.me.channel_id:
            raise DiscordError(404, 10003, "Unknown Channel")
        self.need("VIEW_CHANNEL", code=50001, text="Missing Access")

    def webhook(self, r: Request) -> None:
        me = self.w.me
        if r.params["wid"] != me.webhook_id or self.w.webhook_deleted:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if r.params["wtoken"] != me.webhook_token:
            raise DiscordError(401, 50027, "Invalid Webhook Token")

    def own_webhook_message(self, r: Request) -> Message:
        self.webhook(r)
        msg = self.w.message(r.params["mid"])
        if msg.webhook_id != self.w.me.webhook_id:
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    def bot_message(self, r: Request) -> Message:
        self.channel(r)
        self.need("READ_MESSAGE_HISTORY", code=50001, text="Missing Access")
        return self.w.message(r.params["mid"], self.w.me.channel_id)

    # -- message bodies -----------------------------------------------------------------------

    def attachments(self, r: Request, keep: list[dict[str, Any]] | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        out = [dict(a) for a in keep or []]
        files: dict[str, bytes] = {}
        for name, ctype, data in r.files:
            aid = self.w.ids.next()
            out.append({"id": aid, "filename": name, "size": len(data),
                        "url": f"{self.attachment_base()}/{self.w.me.channel_id}/{aid}/{name}",
                        "proxy_url": f"{self.attachment_base()}/{self.w.me.channel_id}/{aid}/"
                                     f"{name}", "content_type": ctype})
            files[name] = data
        return out, files

    def new_message(self, r: Request, *, webhook: bool) -> Message:
        body = r.body
        check_message(body, webhook=webhook)
        content = body.get("content") or ""
        embeds = [_embed(e) for e in body.get("embeds") or []]
        components = list(body.get("components") or [])
        attachments, files = self.attachments(r)
        if is_empty(content, embeds, attachments, components):
            raise empty_message()
        w, me = self.w, self.w.me
        msg = Message(w.ids.next(), me.channel_id, me.webhook_id if webhook else me.bot_user_id,
                      content, embeds, attachments, components,
                      mentions=w.parse_mentions(content, body.get("allowed_mentions")),
                      webhook_id=me.webhook_id if webhook else None,
                      username=body.get("username") if webhook else None,
                      tts=bool(body.get("tts")), flags=_flags(body.get("flags")),
                      timestamp=time.time(), files=files)
        return msg

    def apply_edit(self, msg: Message, r: Request) -> Message:
        body = r.body
        check_message(body, webhook=False)
        w = self.w
        content = msg.content if "content" not in body else body["content"] or ""
        embeds = msg.embeds if "embeds" not in body else [_embed(e) for e in body["embeds"] or []]
        components = (msg.components if "components" not in body
                      else list(body["components"] or []))
        keep = msg.attachments
        if "attachments" in body:  # the attachments to keep, by id
            ids = {str(a.get("id")) for a in body["attachments"] or [] if isinstance(a, dict)}
            keep = [a for a in msg.attachments if a["id"] in ids]
        attachments, files = self.attachments(r, keep)
        if is_empty(content, embeds, attachments, components):
            raise empty_message()
        msg.content, msg.embeds, msg.components = content, embeds, components
        kept = {a["filename"] for a in attachments}
        msg.files = {k: v for k, v in msg.files.items() if k in kept} | files
        msg.attachments = attachments
        if "content" in body or "allowed_mentions" in body:
            ref = w.messages.get(msg.reference or "")
            pinged = [u for u in msg.mentions if ref is not None and u == ref.author_id]
            parsed = w.parse_mentions(content, body.get("allowed_mentions"))
            msg.mentions = list(dict.fromkeys(parsed + pinged))
        msg.edited = time.time()
        msg.edits.append(dict(body))
        w.changed()
        return msg

    # -- webhooks -----------------------------------------------------------------------------

    def execute_webhook(self, r: Request) -> Result:
        self.webhook(r)
        msg = self.w.store(self.new_message(r, webhook=True))
        if _flag(r.query, "wait"):
            return 200, self.w.message_json(msg)
        return 204, None

    def get_webhook(self, r: Request) -> Result:
        self.webhook(r)
        me = self.w.me
        return 200, {"application_id": None, "avatar": None, "channel_id": me.channel_id,
                     "guild_id": me.guild_id, "id": me.webhook_id, "name": me.webhook_name,
                     "type": 1, "token": me.webhook_token}

    def get_webhook_message(self, r: Request) -> Result:
        return 200, self.w.message_json(self.own_webhook_message(r))

    def edit_webhook_message(self, r: Request) -> Result:
        msg = self.apply_edit(self.own_webhook_message(r), r)
        return 200, self.w.message_json(msg)

    def delete_webhook_message(self, r: Request) -> Result:
        msg = self.own_webhook_message(r)
        msg.deleted = True
        self.w.changed()
        return 204, None

    # -- bot: users, channels, messages -------------------------------------------------------

    def get_me(self, r: Request) -> Result:
        user = dict(self.w.users[self.w.me.bot_user_id])
        return 200, user | {"flags": 0, "mfa_enabled": False, "verified": True,
                            "banner": None, "accent_color": None, "bio": ""}

    def get_channel(self, r: Request) -> Result:
        self.channel(r)
        me, last = self.w.me, self.w.live()
        return 200, {"id": me.channel_id, "type": 0, "guild_id": me.guild_id,
                     "name": me.channel_name, "position": 0, "flags": 0, "parent_id": None,
                     "topic": None, "nsfw": False, "rate_limit_per_user": 0,
                     "permission_overwrites": [],
                     "last_message_id": last[-1].id if last else None}

    def list_messages(self, r: Request) -> Result:
        self.channel(r)
        self.need("READ_MESSAGE_HISTORY", code=50001, text="Missing Access")
        limit = _int(r.query, "limit", 50, 1, 100)
        msgs = [m for m in self.w.live() if m.channel_id == self.w.me.channel_id]
        after, around, before = (_snowflake(r.query, k) for k in ("after", "around", "before"))
        if after is not None:
            picked = [m for m in msgs if int(m.id) > after][:limit]
        elif around is not None:
            older = [m for m in msgs if int(m.id) < around][-(limit // 2):] if limit > 1 else []
            picked = older + [m for m in msgs if int(m.id) >= around][:limit - len(older)]
        elif before is not None:
            picked = [m for m in msgs if int(m.id) < before][-limit:]
        else:
            picked = msgs[-limit:]
        picked.sort(key=lambda m: int(m.id), reverse=True)  # always newest first
        return 200, [self.w.message_json(m, for_bot=True) for m in picked]

    def get_message(self, r: Request) -> Result:
        return 200, self.w.message_json(self.bot_message(r), for_bot=True)

    def create_message(self, r: Request) -> Result:
        self.channel(r)
        self.need("SEND_MESSAGES")
        ref = r.body.get("message_reference")
        target: Message | None = None
        if isinstance(ref, dict) and ref.get("message_id"):
            target = self.w.messages.get(str(ref["message_id"]))
            if target is not None and (target.deleted or target.channel_id
                                       != self.w.me.channel_id):
                target = None
            if target is None and ref.get("fail_if_not_exists", True) is not False:
                raise form_error(["message_reference"], "REPLIES_UNKNOWN_MESSAGE",
                                 "Unknown message")
        msg = self.new_message(r, webhook=False)
        if target is not None:
            msg.reference = target.id
            allowed = r.body.get("allowed_mentions")
            ping = not isinstance(allowed, dict) or bool(allowed.get("replied_user"))
            if ping and target.webhook_id is None and target.author_id not in msg.mentions:
                msg.mentions.append(target.author_id)
        self.w.store(msg)
        return 200, self.w.message_json(msg)

    def edit_message(self, r: Request) -> Result:
        msg = self.bot_message(r)
        if msg.author_id != self.w.me.bot_user_id or msg.webhook_id is not None:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        return 200, self.w.message_json(self.apply_edit(msg, r))

    def delete_message(self, r: Request) -> Result:
        msg = self.bot_message(r)
        if msg.author_id != self.w.me.bot_user_id or msg.webhook_id is not None:
            self.need("MANAGE_MESSAGES")
        msg.deleted = True
        self.w.changed()
        return 204, None

    # -- bot: reactions -----------------------------------------------------------------------

    def reaction_target(self, r: Request) -> tuple[Message, str]:
        msg = self.bot_message(r)
        emoji = r.params["emoji"]
        check_emoji(emoji)
        return msg, emoji

    def add_reaction(self, r: Request) -> Result:
        msg, emoji = self.reaction_target(r)
        self.need("ADD_REACTIONS")
        self.w.react(msg, emoji, self.w.me.bot_user_id)
        return 204, None

    def delete_own_reaction(self, r: Request) -> Result:
        msg, emoji = self.reaction_target(r)
        self.w.unreact(msg, emoji, self.w.me.bot_user_id)
        return 204, None

    def delete_user_reaction(self, r: Request) -> Result:
        msg, emoji = self.reaction_target(r)
        self.need("MANAGE_MESSAGES")
        self.w.unreact(msg, emoji, r.params["uid"])
        return 204, None

    def list_reactions(self, r: Request) -> Result:
        msg, emoji = self.reaction_target(r)
        limit = _int(r.query, "limit", 25, 1, 100)
        after = _snowflake(r.query, "after") or 0
        ids = sorted((u for u in msg.reactions.get(emoji, []) if int(u) > after), key=int)
        return 200, [self.w.author_json(Message("", "", u)) for u in ids[:limit]]

    def delete_emoji_reactions(self, r: Request) -> Result:
        msg, emoji = self.reaction_target(r)
        self.need("MANAGE_MESSAGES")
        self.w.unreact(msg, emoji)
        return 204, None

    def delete_all_reactions(self, r: Request) -> Result:
        msg = self.bot_message(r)
        self.need("MANAGE_MESSAGES")
        msg.reactions.clear()
        self.w.changed()
        return 204, None

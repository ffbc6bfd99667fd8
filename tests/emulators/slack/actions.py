"""User actions injected by tests: button presses, modal submissions, slash commands and
messages, each turned into the Socket Mode envelope Slack would send; and what Slack does
with the payload of an ack."""

from __future__ import annotations

import copy
from typing import Any

from .blocks import check_blocks, normalise_blocks
from .models import Ack, Envelope, Ephemeral, Message, SlackError
from .payloads import block_actions, event_callback, message_event, rich_text, slash_command
from .payloads import view_submission as view_submission_payload
from .socket_mode import SocketHub
from .state import World
from .web_api import WebApi

__all__ = ["UserActions"]


class UserActions:
    def __init__(self, world: World, hub: SocketHub, api: WebApi) -> None:
        self.world, self.hub, self.api = world, hub, api
        self.default_user_id: str | None = None

    def _user_for(self, user_id: str | None) -> str:
        uid = user_id or self.default_user_id
        if uid is None:
            raise ValueError("pass user_id (no default_user_id set)")
        self.world.user(uid)
        return uid

    def click(self, channel: str, ts: str, action_id: str, user_id: str | None = None, *,
              value: str | None = None, block_id: str | None = None, force: bool = False
              ) -> Envelope:
        """``user_id`` presses the button ``action_id`` on message ``ts`` (or on an ephemeral
        message shown to them) as it is now. ``value`` must match the button's unless
        ``force`` (which also allows a button no longer there: a stale client)."""
        w = self.world
        with w.cond:
            uid = self._user_for(user_id)
            ch = w.channel_or_raise(channel)
            if not ch.has_member(uid):
                raise LookupError(f"{uid} cannot see {channel}")
            msg, eph = w.messages.get((channel, ts)), None
            if msg is None or msg.deleted:
                eph = next((e for e in w.ephemerals
                            if e.channel == channel and e.message_ts == ts and e.user == uid), None)
                if eph is None:
                    raise LookupError(f"no message {ts} in {channel} visible to {uid}")
                msg = Message(channel, ts, eph.text, w.me.bot_user_id, eph.blocks,
                              bot_id=w.me.bot_id, thread_ts=eph.thread_ts)
            try:
                button = msg.button(action_id, block_id)
            except LookupError:
                if not force:
                    raise
                button = {"action_id": action_id, "block_id": block_id or "",
                          "text": {"type": "plain_text", "text": action_id, "emoji": True}}
            if value is not None and value != button.get("value") and not force:
                raise ValueError(f"button {action_id!r} has value {button.get('value')!r}")
            trigger = w.new_trigger(uid, ch.id)
            url = w.new_response_url("actions", {"channel": ch.id, "message_ts": ts,
                                                 "user": uid, "ephemeral": eph is not None})
            payload = block_actions(w, ch, msg, button, uid, trigger, url,
                                    ephemeral=eph is not None,
                                    value=value if value is not None else button.get("value"))
            return copy.deepcopy(self.hub.enqueue("interactive", payload,
                                                  accepts_response_payload=False))

    def submit_view(self, view: str, values: dict[str, Any] | None = None,
                    user_id: str | None = None) -> Envelope:
        """Submit an open modal (by view id, or the newest open one with this callback_id);
        ``values``: block_id -> action_id -> value."""
        w = self.world
        with w.cond:
            v = w.views.get(view) or next(
                (x for x in reversed(w.views.values()) if x.callback_id == view and not x.closed),
                None)
            if v is None or v.closed:
                raise LookupError(f"no open view {view!r}")
            uid = user_id or v.user
            if uid != v.user:
                raise ValueError(f"view {v.id} belongs to {v.user}")
            payload = view_submission_payload(w, v, uid, values or {})
            v.submissions += 1
            return copy.deepcopy(self.hub.enqueue("interactive", payload,
                                                  accepts_response_payload=True))

    def slash(self, command: str = "/tether", text: str = "", user_id: str | None = None,
              channel_id: str | None = None) -> Envelope:
        """``user_id`` runs ``command`` in ``channel_id`` (default: their DM with the bot)."""
        w = self.world
        with w.cond:
            if command not in w.commands:
                raise ValueError(f"the app has no command {command} (add it to .commands)")
            uid = self._user_for(user_id)
            ch = w.channel_or_raise(channel_id) if channel_id else w.im_with(uid)
            trigger = w.new_trigger(uid, ch.id)
            url = w.new_response_url("commands", {"channel": ch.id, "user": uid})
            payload = slash_command(w, ch, uid, command, text, trigger, url)
            return copy.deepcopy(self.hub.enqueue("slash_commands", payload,
                                                  accepts_response_payload=True))

    def post_user_message(self, channel: str, text: str, user_id: str | None = None,
                          thread_ts: str | None = None) -> Message:
        """A user writes in ``channel`` (in a thread if ``thread_ts``); the app gets a
        ``message`` event (and ``app_mention`` if the bot is @-mentioned) if it is a member."""
        w = self.world
        with w.cond:
            uid = self._user_for(user_id)
            ch = w.channel_or_raise(channel)
            if not ch.has_member(uid):
                raise LookupError(f"{uid} is not in {channel}")
            try:
                msg = w.store(ch, uid, text, rich_text(text), thread_ts, bot=False)
            except SlackError:
                raise LookupError(f"no message {thread_ts} in {channel}") from None
            self.api.emit(ch, message_event(w, ch, msg), bot=False)
            if f"<@{w.me.bot_user_id}>" in text and ch.bot_member:
                event = {"type": "app_mention", "user": uid, "text": text, "ts": msg.ts,
                         "team": w.me.team_id, "channel": ch.id, "event_ts": msg.ts}
                if msg.thread_ts:
                    event["thread_ts"] = msg.thread_ts
                self.hub.enqueue("events_api", event_callback(w, event),
                                 accepts_response_payload=False)
            return copy.deepcopy(msg)

    def on_ack(self, env: Envelope, ack: Ack) -> None:
        """What Slack does with an ack's payload (called under the lock)."""
        w, body = self.world, ack.payload or {}
        if env.type == "slash_commands" and (body.get("text") or body.get("blocks")):
            ch = w.channels[env.payload["channel_id"]]
            raw = body.get("blocks")
            blocks: list[Any] = raw if isinstance(raw, list) else []
            if check_blocks(blocks):
                return  # Slack shows the user an error instead
            blocks = normalise_blocks(blocks, w.new_block_id)
            text = str(body.get("text", ""))
            if body.get("response_type") == "in_channel":
                msg = w.store(ch, w.me.bot_user_id, text, blocks, None, bot=True)
                self.api.emit(ch, message_event(w, ch, msg), bot=True)
            else:
                w.ephemerals.append(Ephemeral(ch.id, env.payload["user_id"], text, blocks,
                                              w.next_ts(), "ack"))
        elif isinstance(env.payload, dict) and env.payload.get("type") == "view_submission":
            view = w.views.get(env.payload["view"]["id"])
            if view is None:
                return
            action = body.get("response_action")
            if action == "update" and isinstance(body.get("view"), dict):
                view.view = body["view"]
            elif action not in ("errors", "push"):
                view.closed = True

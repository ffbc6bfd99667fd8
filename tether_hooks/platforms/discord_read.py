"""Reading the channel with the bot token: new messages and the reactions on the request
messages, in one list call per poll.

Each poll reads the newest messages (``GET /channels/{id}/messages?limit=50``): the ones
past the cursor are new (texts, commands, pairing lines), and the request messages among
them carry their reaction counts. Who reacted is fetched only for an emoji whose count
changed (``GET .../reactions/{emoji}``, paged), and only users not seen before make
presses. A request message older than that page is read on its own. Discord lists newest
first, even with ``after``: sorted by id here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether_hooks.platforms.base import POLL_GUARD, Button, Incoming, Lease, MessageRef
from tether_hooks.platforms.discord_events import (
    is_snowflake,
    message_event,
    reaction_event,
    sent_at,
    snowflake_at,
)
from tether_hooks.platforms.discord_render import TIMER, TIMER_BARE, reactions
from tether_hooks.platforms.discord_rest import DiscordApiError, Rest, emoji_path

__all__ = ["LOOKBACK", "PAGE", "Reader", "Watched", "nap"]

PAGE = 50  # newest messages read per poll
MORE_PAGES = 4  # pages past the cursor read at most in one poll (a busy channel)
LOOKBACK = 600.0  # on start, messages this old are read again (replays are dropped by key)
OLD_EVERY = 5.0  # seconds between reads of a request message older than the page
ROUND = 2.0  # seconds a lease must allow for a poll (plus POLL_GUARD)


@dataclass
class Watched:
    """A pending request's message: which emoji stands for which button, and who has
    reacted with each already."""

    ref: MessageRef
    emoji: dict[str, str]  # emoji -> button data
    seen: dict[str, set[str]] = field(default_factory=dict)  # emoji -> user ids
    counts: dict[str, int] = field(default_factory=dict)  # emoji -> count last seen
    read_at: float = 0.0  # last read on its own (older than the page)

    @classmethod
    def of(cls, ref: MessageRef, buttons: list[list[Button]]) -> Watched:
        return cls(ref, {emoji: b.data for emoji, b in reactions(buttons)})

    def data_for(self, emoji: str) -> str | None:
        return self.emoji.get(TIMER if emoji == TIMER_BARE else emoji)


class Reader:
    """What changed in the channel since the last poll, as events."""

    def __init__(self, rest: Rest, channel: str, webhook_id: str, *,
                 lease: Lease | None = None) -> None:
        self.rest = rest
        self.lease = lease
        self.channel = channel
        self.webhook_id = webhook_id
        self.bot_id: str | None = None
        self.cursor = snowflake_at(time.time() - LOOKBACK)
        self.watched: dict[str, Watched] = {}  # message id -> what it offers
        self.unreadable = 0  # users' messages whose text we could not read (the intent)
        self.hidden: list[float] = []  # when the last poll's hidden messages were sent
        self.last_unreadable: Mapping[str, Any] | None = None
        # the bot's messages about a request (its hint under an unreadable reply) -> the
        # request's message: a reply to the bot mentions it, so Discord shows us its text
        self.aliases: dict[str, str] = {}

    def watch(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        if is_snowflake(ref.message_id) and ref.message_id not in self.watched:
            self.watched[ref.message_id] = Watched.of(ref, buttons)

    def unwatch(self, message_id: str) -> None:
        self.watched.pop(message_id, None)

    def forget(self, message_id: str, emoji: str, user_id: str) -> None:
        """A user's reaction was removed by us: count it gone, else a reaction added before
        the next read keeps the count the same, and that press is never read."""
        watched = self.watched.get(message_id)
        if watched is not None:
            watched.counts[emoji] = max(watched.counts.get(emoji, 0) - 1, 0)
            watched.seen.get(emoji, set()).discard(user_id)

    async def poll(self) -> list[Incoming]:
        """One poll: the new messages' events (oldest first), then new reactions; none
        (and nothing read) while a lease does not allow a round."""
        if self.lease is not None and not self.lease.allows(ROUND + POLL_GUARD):
            self.hidden = []
            return []
        path = f"/channels/{self.channel}/messages"
        page = await self.rest.call("GET", path, "read the channel",
                                    params={"limit": PAGE})
        page = [m for m in page if _is_message(m)] if isinstance(page, list) else []
        fresh = [m for m in page if int(m["id"]) > int(self.cursor)]
        if len(fresh) == len(page) == PAGE:  # more arrived than a page: read them all
            fresh = await self._since(path)
        events: list[Incoming] = []
        self.hidden = []
        for message in sorted(fresh, key=lambda m: int(m["id"])):
            self.cursor = max(self.cursor, message["id"], key=int)
            event = message_event(message, self.channel, self.bot_id)
            if event is None:
                continue
            target = self.aliases.get(event.reply_to.message_id) if event.reply_to else None
            if target is not None:  # a reply to the bot's hint answers the request it is about
                event = dataclasses.replace(event, reply_to=MessageRef(event.bridge,
                                                                       self.channel, target))
            if event.kind == "text" and not event.data:  # hidden: no MESSAGE_CONTENT intent
                if event.sent_at is not None and not any(message.get(k) for k in _SHOWN):
                    self.hidden.append(event.sent_at)
                if event.reply_to is not None and event.reply_to.message_id in self.watched:
                    self.unreadable += 1  # a reply to a request: say how to make it work
                    self.last_unreadable = message
                continue
            events.append(event)
        by_id = {m["id"]: m for m in page}
        oldest = min((int(m["id"]) for m in page), default=0)
        now = time.monotonic()
        for mid, watched in list(self.watched.items()):
            message = by_id.get(mid)
            if message is None and int(mid) < oldest or message is None and not page:
                if now - watched.read_at < OLD_EVERY:
                    continue
                watched.read_at = now
                try:
                    message = await self.rest.call("GET", f"{path}/{mid}", "read a request")
                except DiscordApiError as exc:
                    if exc.code == 10008:  # deleted: nothing to read any more
                        self.unwatch(mid)
                        continue
                    raise
            if isinstance(message, Mapping):
                events += await self._reactions(watched, message)
        return events

    async def _since(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after = self.cursor
        for _ in range(MORE_PAGES):
            page = await self.rest.call("GET", path, "read the channel",
                                        params={"limit": 100, "after": after})
            page = [m for m in page if _is_message(m)] if isinstance(page, list) else []
            out += page
            if len(page) < 100:
                break
            after = max((m["id"] for m in page), key=int)
        return out

    async def _reactions(self, watched: Watched, message: Mapping[str, Any]
                         ) -> list[Incoming]:
        events: list[Incoming] = []
        found = message.get("reactions")
        for item in found if isinstance(found, list) else ():
            emoji_obj = item.get("emoji") if isinstance(item, Mapping) else None
            name = emoji_obj.get("name") if isinstance(emoji_obj, Mapping) else None
            count = item.get("count") if isinstance(item, Mapping) else None
            if not isinstance(name, str) or not isinstance(count, int):
                continue
            data = watched.data_for(name)
            if data is None:
                continue
            others = count - (1 if item.get("me") is True else 0)
            if others == watched.counts.get(name, 0):
                continue
            watched.counts[name] = others
            if others <= 0:
                watched.seen[name] = set()
                continue
            users = await self._users(watched.ref.message_id, name)
            seen = watched.seen.setdefault(name, set())
            for user in users:
                uid = str(user.get("id") or "")
                if not uid or uid in seen or user.get("bot") or uid == self.bot_id:
                    continue
                seen.add(uid)
                events.append(reaction_event(self.channel, watched.ref.message_id, name,
                                             user, data))
            # one who took the reaction back may press again
            seen &= {str(u.get("id")) for u in users}
        return [self._with_selection(watched, e) for e in events]

    @staticmethod
    def _with_selection(watched: Watched, event: Incoming) -> Incoming:
        """A multi-select "Done" (☑️) carries the keycaps its user has on now: taking one
        back sends Discord no event, so the toggles read are not the truth."""
        if not event.data.startswith("y"):
            return event
        on = tuple(data for emoji, data in watched.emoji.items()
                   if data.startswith("x") and event.user_id in watched.seen.get(emoji, ()))
        return dataclasses.replace(event, selected=on)

    async def _users(self, message_id: str, emoji: str) -> list[Mapping[str, Any]]:
        path = (f"/channels/{self.channel}/messages/{message_id}/reactions/"
                f"{emoji_path(emoji)}")
        users: list[Mapping[str, Any]] = []
        after: str | None = None
        for _ in range(10):  # 1,000 reactions at most
            params: dict[str, str | int] = {"limit": 100}
            if after:
                params["after"] = after
            page = await self.rest.call("GET", path, "read who reacted", params=params)
            page = [u for u in page if isinstance(u, Mapping) and is_snowflake(u.get("id"))] \
                if isinstance(page, list) else []
            users += page
            if len(page) < 100:
                break
            after = max((str(u["id"]) for u in page), key=int)
        return users


async def nap(wake: asyncio.Event, seconds: float | None) -> None:
    """Until ``wake`` is set or ``seconds`` have passed. Not ``wait_for``: on Python 3.11 it
    swallows a cancel that comes as the event is set (a post just before ``close``), and the
    poll loop then never ends."""
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()


# what a message without text may still show (so it is not one whose text was hidden)
_SHOWN = ("attachments", "embeds", "sticker_items", "message_snapshots", "poll")


def _is_message(value: object) -> bool:
    return isinstance(value, dict) and sent_at(value.get("id")) is not None

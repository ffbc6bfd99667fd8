"""The bot's work on reactions: adding the ones a request offers (so the approver only
taps), clearing them once it is settled, removing a stranger's. All best effort: a missing
permission (Add Reactions, Manage Messages) is logged, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tether_hooks.platforms import discord_render as render
from tether_hooks.platforms.base import BridgeError, Button, MessageRef
from tether_hooks.platforms.discord_rest import DiscordApiError, Rest, emoji_path
from tether_hooks.platforms.recent import remember

__all__ = ["Reactions"]

log = logging.getLogger("tether_hooks.platforms.discord")


class Reactions:
    """Reaction calls on the channel's messages, through ``rest``."""

    def __init__(self, rest: Rest) -> None:
        self.rest = rest
        self.seeded: dict[str, list[str]] = {}  # message id -> the emoji we added
        self._tasks: set[asyncio.Task[None]] = set()

    def start_seeding(self, ref: MessageRef, buttons: list[list[Button]],
                      still: Callable[[], bool]) -> None:
        """:meth:`seed` in the background (the request is posted without waiting for it)."""
        task = asyncio.ensure_future(self.seed(ref, buttons, still))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop seeding: the bridge is closing."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _path(chat: str, message: str) -> str:
        return f"/channels/{chat}/messages/{message}/reactions"

    async def seed(self, ref: MessageRef, buttons: list[list[Button]],
                   still: Callable[[], bool]) -> None:
        """Add the request's reactions in order, while ``still()`` (not settled)."""
        added = remember(self.seeded, ref.message_id, self.seeded.get(ref.message_id, []), 500)
        for emoji, _ in render.reactions(buttons):
            if not still():
                return
            added.append(emoji)  # before the call: its answer may be lost after it is done
            try:
                await self.rest.call("PUT", f"{self._path(ref.chat_id, ref.message_id)}/"
                                     f"{emoji_path(emoji)}/@me", "add a reaction")
            except BridgeError as exc:
                log.warning("discord: %s (the emoji can still be added by hand)", exc)
                return

    async def clear(self, ref: MessageRef) -> None:
        """Every reaction removed (Manage Messages); without it, our own ones (the ones we
        added, or after a restart every emoji we may have added)."""
        path = self._path(ref.chat_id, ref.message_id)
        ours = self.seeded.pop(ref.message_id, None)
        try:
            await self.rest.call("DELETE", path, "clear the reactions")
        except DiscordApiError as exc:
            if exc.code != 50013:
                log.info("discord: %s", exc)
                return
            for emoji in dict.fromkeys(ours if ours is not None
                                       else (*render.EMOJI.values(), *render.KEYCAPS)):
                with contextlib.suppress(BridgeError):
                    await self.rest.call("DELETE", f"{path}/{emoji_path(emoji)}/@me",
                                         "remove our reaction")
        except BridgeError as exc:
            log.info("discord: %s", exc)

    async def drop(self, chat: str, message: str, emoji: str, user: str) -> bool:
        """A stranger's reaction removed (Manage Messages), so it misleads nobody; False if
        it could not be (it stays, and is not read again)."""
        try:
            await self.rest.call("DELETE", f"{self._path(chat, message)}/{emoji_path(emoji)}/"
                                 f"{user}", "remove a stranger's reaction")
        except BridgeError as exc:
            log.info("discord: %s", exc)
            return False
        return True

"""Forum topics of the Telegram bridge (mixed into ``TelegramBridge``): one topic per
session, created on first use, replaced when deleted, reopened when closed."""

from __future__ import annotations

import asyncio
import re

from telegram import InlineKeyboardMarkup

from tether_hooks import wording
from tether_hooks.platforms.base import BridgeError, MessageRef
from tether_hooks.platforms.telegram_updates import known_thread

__all__ = ["Topics"]

_TOPIC_COLOR = 0x6FB9F0
_TOPIC_GONE = re.compile(r"thread not found|topic_deleted|topic_id_invalid|topic_closed")


class Topics:
    """Uses the bridge's settings, ``topics``, ``_call``, ``_send``, ``_ready``."""

    async def _thread_for(self, sid: str, cwd: object, record: dict | None) -> int | None:
        """The session's topic in forum mode (created on first use), else None."""
        if not self.settings.forum or not sid:
            return None
        stored = known_thread(record)
        if sid not in self.topics and stored and stored not in self._dead_threads:
            self.topics[sid] = stored
        if sid in self.topics:
            return self.topics[sid]
        async with self._topic_locks.setdefault(sid, asyncio.Lock()):
            if sid in self.topics:
                return self.topics[sid]
            topic = await self._call(
                "create a forum topic", self._app.bot.create_forum_topic,
                chat_id=self.settings.chat_id, icon_color=_TOPIC_COLOR,
                name=f"{wording.project_name(cwd)} · {sid[:8]}"[:128],
            )
            thread = self.topics[sid] = int(topic.message_thread_id)
        if self.on_topic is not None:
            self.on_topic(sid, thread)
        return thread

    async def _post(self, messages: list[str], sid: str, cwd: object, record: dict | None,
                    markup: InlineKeyboardMarkup | None = None) -> list[MessageRef]:
        """Post messages (buttons on the last) in the session's topic, replacing a lost one."""
        await self._ready()
        chat = self.settings.chat_id
        thread = await self._thread_for(sid, cwd, record)
        refs = []
        for i, html in enumerate(messages):
            buttons = markup if i == len(messages) - 1 else None
            try:
                refs.append(await self._send(chat, html, thread, buttons))
                continue
            except BridgeError as err:
                problem = str(err.__cause__ or err).lower()
                if thread is None or not _TOPIC_GONE.search(problem):
                    raise
            if "closed" in problem:
                await self._call("reopen a forum topic", self._app.bot.reopen_forum_topic,
                                 chat_id=chat, message_thread_id=thread)
            else:
                self._dead_threads.add(thread)
                self.topics.pop(sid, None)
                thread = await self._thread_for(sid, cwd, record)
            refs.append(await self._send(chat, html, thread, buttons))
        return refs


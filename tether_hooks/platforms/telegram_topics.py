"""Forum topics of the Telegram bridge: one topic per session, created on first use,
replaced when deleted, reopened when closed. Thread ids are ints here (the Bot API's) and
opaque strings everywhere else."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import Bot, InlineKeyboardMarkup

from tether_hooks import wording
from tether_hooks.platforms.base import BridgeError, MessageRef
from tether_hooks.platforms.session_threads import SessionThreads
from tether_hooks.platforms.telegram_config import TelegramSettings
from tether_hooks.platforms.telegram_updates import known_thread

__all__ = ["Call", "Send", "Topics"]

_TOPIC_COLOR = 0x6FB9F0
_TOPIC_GONE = re.compile(r"thread not found|topic_deleted|topic_id_invalid|topic_closed")

# ``TelegramBridge._call`` and ``_send``: a Bot API call with retries, one message sent.
Call = Callable[..., Awaitable[Any]]
Send = Callable[[int | str, str, int | None, InlineKeyboardMarkup | None], Awaitable[MessageRef]]


class Topics:
    """The session -> topic map of one bridge and the posting that follows topics around."""

    def __init__(self, settings: TelegramSettings, known: Mapping[str, str],
                 on_thread: Callable[[str, str], None] | None) -> None:
        self.settings = settings
        self.threads = SessionThreads[int](
            {str(k): int(v) for k, v in known.items() if str(v).lstrip("-").isdigit()},
            on_thread)

    async def thread_for(self, bot: Bot, call: Call, sid: str, cwd: object,
                         record: dict[str, Any] | None) -> int | None:
        """The session's topic in forum mode (created on first use), else None."""
        if not self.settings.forum or not sid:
            return None

        async def create() -> int:
            topic = await call(
                "create a forum topic", bot.create_forum_topic, once=True,
                chat_id=self.settings.chat_id, icon_color=_TOPIC_COLOR,
                name=f"{wording.project_name(cwd)} · {sid[:8]}"[:128],
            )
            return int(topic.message_thread_id)

        return await self.threads.get(sid, known_thread(record), create)

    async def post(self, bot: Bot, call: Call, send: Send, messages: list[str], sid: str,
                   cwd: object, record: dict[str, Any] | None,
                   markup: InlineKeyboardMarkup | None = None) -> list[MessageRef]:
        """Post messages (buttons on the last) in the session's topic, replacing a lost one."""
        chat = self.settings.chat_id
        thread = await self.thread_for(bot, call, sid, cwd, record)
        refs = []
        for i, html in enumerate(messages):
            buttons = markup if i == len(messages) - 1 else None
            try:
                refs.append(await send(chat, html, thread, buttons))
                continue
            except BridgeError as err:
                problem = str(err.__cause__ or err).lower()
                if thread is None or not _TOPIC_GONE.search(problem):
                    raise
            if "closed" in problem:
                await call("reopen a forum topic", bot.reopen_forum_topic,
                           chat_id=chat, message_thread_id=thread)
            else:
                self.threads.gone(sid, thread)
                thread = await self.thread_for(bot, call, sid, cwd, record)
            refs.append(await send(chat, html, thread, buttons))
        return refs

"""One thread per session: a root message names the agent, the project and the session,
and every request, notice and answer of that session is a reply in its thread
(``thread_ts`` = the root's ``ts``). A thread is known from ``ctx.threads`` or the session
record (so it survives a listener restart), created on first use (``on_thread``), and
replaced when its root was deleted."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tether_hooks.platforms import slack_render as render
from tether_hooks.platforms.base import BridgeError, MessageRef
from tether_hooks.platforms.session_threads import SessionThreads

__all__ = ["Send", "Threads", "known_thread"]

_NAME = "slack"
_GONE = re.compile(r"thread_not_found|message_not_found")
# ``SlackBridge._send``: one message posted (in a thread, or at the top of the channel)
Send = Callable[[render.Rendered, str | None], Awaitable[MessageRef]]


def known_thread(record: Mapping[str, Any] | None) -> str | None:
    """The thread recorded on a session record (``chat.slack.thread_id``)."""
    chat = (record or {}).get("chat") or {}
    ref = chat.get(_NAME) if isinstance(chat, dict) else None
    value = ref.get("thread_id") if isinstance(ref, dict) else None
    return str(value) if value else None


class Threads:
    """The session -> thread map of one bridge, and the posting that follows threads."""

    def __init__(self, known: Mapping[str, str],
                 on_thread: Callable[[str, str], None] | None) -> None:
        self.threads = SessionThreads[str](
            {str(k): str(v) for k, v in known.items() if v}, on_thread)

    async def thread_for(self, send: Send, sid: str, agent: object, cwd: object,
                         record: Mapping[str, Any] | None) -> str | None:
        """The session's thread, its root posted on first use; None without a session."""
        if not sid:
            return None

        async def create() -> str:
            return (await send(render.root(agent, cwd, sid), None)).message_id

        return await self.threads.get(sid, known_thread(record), create)

    async def post(self, send: Send, messages: list[render.Rendered], sid: str, agent: object,
                   cwd: object, record: Mapping[str, Any] | None) -> list[MessageRef]:
        """Post ``messages`` in the session's thread (its root made again if deleted)."""
        thread = await self.thread_for(send, sid, agent, cwd, record)
        refs = []
        for message in messages:
            try:
                refs.append(await send(message, thread))
                continue
            except BridgeError as err:
                if thread is None or not _GONE.search(str(err)):
                    raise
            self.threads.gone(sid, thread)
            thread = await self.thread_for(send, sid, agent, cwd, record)
            refs.append(await send(message, thread))
        return refs

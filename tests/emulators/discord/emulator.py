"""``DiscordEmulator``: lifecycle and the control API tests use (see the package docstring)."""

from __future__ import annotations

import asyncio
import copy
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from .models import ApiCall, Fault, Message, Violation
from .ratelimit import Limiter
from .server import ApiServer
from .state import Identity, World

__all__ = ["DiscordEmulator"]

T = TypeVar("T")


class DiscordEmulator:
    """One bot, one guild text channel and one webhook into it, served on 127.0.0.1."""

    def __init__(self, *, bot_token: str | None = None, bot_user_id: str | None = None,
                 application_id: str | None = None, guild_id: str | None = None,
                 channel_id: str | None = None, webhook_id: str | None = None,
                 webhook_token: str | None = None, message_content_intent: bool = False
                 ) -> None:
        me = Identity(bot_token=bot_token or "", bot_user_id=bot_user_id or "",
                      application_id=application_id or "", guild_id=guild_id or "",
                      channel_id=channel_id or "", webhook_id=webhook_id or "",
                      webhook_token=webhook_token or "")
        self.world = World(me, message_content_intent=message_content_intent)
        self.limiter = Limiter()
        self.server = ApiServer(self.world, self.limiter)
        self.internal_errors = self.world.internal_errors  # tracebacks of emulator bugs
        self.violations: list[Violation] = self.world.violations  # real 429s given
        self.permissions = self.world.permissions  # the bot's permissions in the channel
        self.bot_user_id, self.application_id = me.bot_user_id, me.application_id
        self.guild_id, self.channel_id = me.guild_id, me.channel_id
        self.webhook_id, self.webhook_token = me.webhook_id, me.webhook_token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- identity and settings ----------------------------------------------------------------

    @property
    def bot_token(self) -> str:
        return self.world.me.bot_token

    @property
    def port(self) -> int:
        return self.world.port

    @property
    def webhook_url(self) -> str:
        return (f"http://127.0.0.1:{self.port}/api/webhooks/{self.webhook_id}/"
                f"{self.webhook_token}")

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def bot_user(self) -> dict[str, Any]:
        with self.world.cond:
            return dict(self.world.users[self.bot_user_id])

    @property
    def message_content_intent(self) -> bool:
        return self.world.message_content_intent

    @message_content_intent.setter
    def message_content_intent(self, on: bool) -> None:
        with self.world.cond:
            self.world.message_content_intent = on

    @property
    def bucket_limit(self) -> int:
        return self.limiter.bucket_limit

    @bucket_limit.setter
    def bucket_limit(self, n: int) -> None:
        with self.world.cond:
            self.limiter.bucket_limit = n

    @property
    def bucket_window(self) -> float:
        return self.limiter.bucket_window

    @bucket_window.setter
    def bucket_window(self, seconds: float) -> None:
        with self.world.cond:
            self.limiter.bucket_window = seconds

    @property
    def global_limit(self) -> int:
        return self.limiter.global_limit

    @global_limit.setter
    def global_limit(self, n: int) -> None:
        with self.world.cond:
            self.limiter.global_limit = n

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> DiscordEmulator:
        """Serve on a random port in a daemon thread; returns once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.world.port = sock.getsockname()[1]
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="discord-emu",
                                        daemon=True)
        self._thread.start()

        async def boot() -> web.AppRunner:  # on the loop: start() works inside async tests too
            runner = web.AppRunner(self.server.app(), access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            return runner

        self._runner = asyncio.run_coroutine_threadsafe(boot(), loop).result(10)
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        self.server.stopping = True
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = self._runner = None

    def __enter__(self) -> DiscordEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- world setup --------------------------------------------------------------------------

    def add_user(self, user_id: str | None = None, username: str | None = None,
                 global_name: str | None = None) -> dict[str, Any]:
        """A human in the guild (id: a new snowflake unless given); returns the user object."""
        with self.world.cond:
            return dict(self.world.add_user(user_id, username, global_name))

    def revoke_bot_token(self) -> None:
        """The bot token is reset in the developer portal: the old one gets 401."""
        with self.world.cond:
            self.world.me.bot_token = self.world.me.bot_token[:-8] + "revoked0"

    def delete_webhook(self) -> None:
        """The webhook is deleted in the channel settings: its URL gets 404 / 10015."""
        with self.world.cond:
            self.world.webhook_deleted = True

    # -- user actions -------------------------------------------------------------------------

    def react(self, message_id: str, emoji: str, user_id: str) -> None:
        """``user_id`` adds reaction ``emoji`` (kept exactly as given) to a message."""
        with self.world.cond:
            self.world.user(user_id)
            self.world.react(self.world.message(message_id), emoji, user_id)

    def unreact(self, message_id: str, emoji: str, user_id: str) -> None:
        with self.world.cond:
            self.world.unreact(self.world.message(message_id), emoji, user_id)

    def post_user_message(self, content: str, user_id: str, *, reply_to: str | None = None,
                          mention_bot: bool = False, ping_reply: bool = True
                          ) -> dict[str, Any]:
        """``user_id`` writes in the channel (a reply to ``reply_to``; ``ping_reply`` pings
        the replied author unless a webhook; ``mention_bot`` starts with ``<@bot> ``)."""
        w = self.world
        with w.cond:
            w.user(user_id)
            if mention_bot:
                content = f"<@{self.bot_user_id}> {content}"
            msg = Message(w.ids.next(), self.channel_id, user_id, content,
                          mentions=w.parse_mentions(content), timestamp=time.time())
            if reply_to is not None:
                target = w.message(reply_to)
                msg.reference = target.id
                if (ping_reply and target.webhook_id is None
                        and target.author_id not in msg.mentions):
                    msg.mentions.append(target.author_id)
            return w.message_json(w.store(msg))

    # -- inspection ---------------------------------------------------------------------------

    def messages(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every message in the channel as Discord stores it (nothing hidden), oldest first."""
        with self.world.cond:
            found = sorted((m for m in self.world.messages.values()
                            if include_deleted or not m.deleted), key=lambda m: int(m.id))
            return [self.world.message_json(m) for m in found]

    def message(self, message_id: str) -> dict[str, Any]:
        with self.world.cond:
            return self.world.message_json(self.world.messages[message_id])

    def reactions(self, message_id: str) -> dict[str, list[str]]:
        """Emoji -> user ids, in the order they reacted."""
        with self.world.cond:
            return copy.deepcopy(self.world.messages[message_id].reactions)

    def attachment_bytes(self, message_id: str, filename: str) -> bytes:
        with self.world.cond:
            return self.world.messages[message_id].files[filename]

    def edits(self, message_id: str) -> list[dict[str, Any]]:
        """The PATCH bodies applied to a message, oldest first."""
        with self.world.cond:
            return copy.deepcopy(self.world.messages[message_id].edits)

    def calls(self, method: str | None = None, path_pattern: str | None = None
              ) -> list[ApiCall]:
        """Requests seen, oldest first (``path_pattern`` searched in the masked path)."""
        with self.world.cond:
            return [copy.deepcopy(c) for c in self.world.calls if _call_matches(
                c, method, path_pattern)]

    # -- waiting ------------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], T | None], timeout: float = 5.0,
                   what: str = "") -> T:
        """Block until ``predicate()`` (run under the emulator lock) is truthy; return it."""
        with self.world.cond:
            result = self.world.cond.wait_for(predicate, timeout)
            if not result:
                recent = [f"{c.method} {c.path} {c.status}" for c in self.world.calls[-8:]]
                raise TimeoutError(f"timed out after {timeout}s waiting for "
                                   f"{what or predicate!r}; recent calls: {recent}")
            return result

    def wait_for_message(self, predicate: Callable[[dict[str, Any]], bool] | None = None,
                         timeout: float = 5.0) -> dict[str, Any]:
        """The oldest message (full object) matching ``predicate``."""
        def find() -> dict[str, Any] | None:
            return next((m for m in self.messages() if predicate is None or predicate(m)),
                        None)

        return self.wait_until(find, timeout, "a message")

    def wait_for_edit(self, message_id: str,
                      predicate: Callable[[dict[str, Any]], bool] | None = None,
                      timeout: float = 5.0) -> dict[str, Any]:
        """Until the message has been edited (and, as it is now, matches ``predicate``)."""
        def find() -> dict[str, Any] | None:
            msg = self.world.messages.get(message_id)
            if msg is None or not msg.edits:
                return None
            as_json = self.world.message_json(msg)
            return as_json if predicate is None or predicate(as_json) else None

        return self.wait_until(find, timeout, f"an edit of {message_id}")

    def wait_for_call(self, method: str, path_pattern: str,
                      predicate: Callable[[ApiCall], bool] | None = None,
                      timeout: float = 5.0) -> ApiCall:
        def find() -> ApiCall | None:
            return next((c for c in self.world.calls if _call_matches(c, method, path_pattern)
                         and (predicate is None or predicate(c))), None)

        return copy.deepcopy(self.wait_until(find, timeout,
                                             f"a {method} call on {path_pattern!r}"))

    # -- faults -------------------------------------------------------------------------------

    def _add(self, times: int, **kw: Any) -> None:
        with self.world.cond:
            self.world.faults += [Fault(**kw) for _ in range(times)]

    def rate_limit_next(self, method: str, path_pattern: str, retry_after: float = 0.2, *,
                        global_: bool = False, via: bool = True, times: int = 1) -> None:
        """The next matching requests get a 429 with no effect (not a violation)."""
        self._add(times, method=method, pattern=re.compile(path_pattern), kind="ratelimit",
                  retry_after=retry_after, global_=global_, via=via)

    def fail_next(self, method: str, path_pattern: str, status: int,
                  body: dict[str, Any] | str | bytes, *, headers: dict[str, str] | None = None,
                  times: int = 1) -> None:
        """The next matching requests get ``status`` and ``body`` as given, with no effect."""
        self._add(times, method=method, pattern=re.compile(path_pattern), kind="fail",
                  status=status, body=body, headers=dict(headers or {}))

    def delay_next(self, method: str, path_pattern: str, seconds: float, times: int = 1
                   ) -> None:
        """Handle the next matching requests ``seconds`` late."""
        self._add(times, method=method, pattern=re.compile(path_pattern), kind="delay",
                  seconds=seconds)

    def drop_next(self, method: str, path_pattern: str, *, after: bool = False,
                  times: int = 1) -> None:
        """Close the connection with no answer, before (or ``after``) doing the request."""
        self._add(times, method=method, pattern=re.compile(path_pattern), kind="drop",
                  after=after)


def _call_matches(call: ApiCall, method: str | None, pattern: str | None) -> bool:
    return (method is None or call.method == method.upper()) and (
        pattern is None or re.search(pattern, call.path) is not None)

"""``SlackEmulator``: lifecycle and the control API tests use (see the package docstring)."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from .actions import UserActions
from .models import (
    Ack,
    ApiCall,
    Channel,
    Connection,
    Envelope,
    Ephemeral,
    Fault,
    Message,
    ResponsePost,
    User,
    View,
)
from .server import ApiServer
from .socket_mode import SocketHub
from .state import Identity, World
from .web_api import WebApi

__all__ = ["SlackEmulator"]

T = TypeVar("T")


class SlackEmulator:
    """One app in one workspace, served on ``base_url``; see the package docstring."""

    def __init__(self, *, bot_token: str | None = None, app_token: str | None = None,
                 ack_timeout: float = 3.0, max_retries: int = 3) -> None:
        me = Identity()
        me.bot_token = bot_token or me.bot_token
        me.app_token = app_token or me.app_token
        self.world = World(me)
        self.hub = SocketHub(self.world)
        self.hub.ack_timeout, self.hub.max_retries = ack_timeout, max_retries
        self.api = WebApi(self.world, self.hub)
        self.actions = UserActions(self.world, self.hub, self.api)
        self.hub.on_ack = self.actions.on_ack
        self.server = ApiServer(self.world, self.api, self.hub)
        self.internal_errors = self.world.internal_errors  # tracebacks of emulator bugs
        self.scopes = self.world.scopes  # the bot token's scopes (edit to provoke missing_scope)
        self.commands = self.world.commands  # slash commands the app has
        self.bot_token, self.app_token = me.bot_token, me.app_token
        self.team_id, self.app_id = me.team_id, me.app_id
        self.bot_id, self.bot_user_id = me.bot_id, me.bot_user_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- identity and settings ----------------------------------------------------------------

    @property
    def default_user_id(self) -> str | None:
        """The user ``click``/``slash``/``post_user_message`` act as without ``user_id``."""
        return self.actions.default_user_id

    @default_user_id.setter
    def default_user_id(self, user_id: str | None) -> None:
        self.actions.default_user_id = user_id

    @property
    def port(self) -> int:
        return self.world.port

    @property
    def base_url(self) -> str:
        """For ``WebClient(base_url=...)`` (it must end in ``/api/``)."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def ack_timeout(self) -> float:
        return self.hub.ack_timeout

    @ack_timeout.setter
    def ack_timeout(self, seconds: float) -> None:
        self.hub.ack_timeout = seconds

    @property
    def trigger_ttl(self) -> float:
        return self.api.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        self.api.trigger_ttl = seconds

    @property
    def clock(self) -> Callable[[], float]:
        """Monotonic seconds used for trigger_id, ticket and response_url expiry."""
        return self.world.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.world.clock = clock

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        """Serve on a random port in a daemon thread; returns once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.world.port = sock.getsockname()[1]
        loop = self._loop = self.hub.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="slack-emu", daemon=True)
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
        asyncio.run_coroutine_threadsafe(self.hub.shutdown(), loop).result(10)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = self._runner = self.hub.loop = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- world setup --------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str | None = None, real_name: str | None = None
                 ) -> User:
        with self.world.cond:
            user = self.world.user(user_id)
            user.name = name or user.name
            user.real_name = real_name or user.real_name
            return copy.copy(user)

    def create_channel(self, name: str, *, channel_id: str | None = None, private: bool = False,
                       bot_member: bool = True, members: set[str] | None = None) -> Channel:
        """A public (or ``private``) channel; ``members`` None lets every user in."""
        with self.world.cond:
            cid = channel_id or self.world.new_id("C")
            ch = Channel(cid, name, "group" if private else "channel", bot_member,
                         None if members is None else set(members))
            self.world.channels[cid] = ch
            return copy.deepcopy(ch)

    def create_im(self, user_id: str) -> Channel:
        """The bot's direct-message conversation with ``user_id``."""
        with self.world.cond:
            return copy.deepcopy(self.world.im_with(user_id))

    def revoke_app_token(self) -> None:
        """The app-level token stops working (a new one is generated in the app's settings):
        new sockets cannot be had with it; open ones stay until dropped."""
        with self.world.cond:
            self.world.me.app_token = self.world.me.app_token[:-8] + "revoked0"

    def set_bot_member(self, channel_id: str, member: bool) -> None:
        with self.world.cond:
            self.world.channel_or_raise(channel_id).bot_member = member

    def archive_channel(self, channel_id: str) -> None:
        with self.world.cond:
            self.world.channel_or_raise(channel_id).archived = True

    # -- user actions (Socket Mode envelopes) -------------------------------------------------

    def click(self, channel: str, ts: str, action_id: str, user_id: str | None = None, *,
              value: str | None = None, block_id: str | None = None, force: bool = False
              ) -> Envelope:
        """``user_id`` presses the button ``action_id`` on message ``ts`` (or on an ephemeral
        message shown to them) as it is now: an ``interactive`` block_actions envelope whose
        trigger_id works with views.open. ``value`` must match the button's unless ``force``
        (which also allows a button no longer there: a stale client)."""
        return self.actions.click(channel, ts, action_id, user_id, value=value,
                                  block_id=block_id, force=force)

    def submit_view(self, view: str, values: dict[str, Any] | None = None,
                    user_id: str | None = None) -> Envelope:
        """Submit an open modal (by view id, or the newest open one with this callback_id);
        ``values``: block_id -> action_id -> value (a string, or the full state object)."""
        return self.actions.submit_view(view, values, user_id)

    def slash(self, command: str = "/tether", text: str = "", user_id: str | None = None,
              channel_id: str | None = None) -> Envelope:
        """``user_id`` runs ``command`` in ``channel_id`` (default: their DM with the bot)."""
        return self.actions.slash(command, text, user_id, channel_id)

    def post_user_message(self, channel: str, text: str, user_id: str | None = None,
                          thread_ts: str | None = None) -> Message:
        """A user writes in ``channel`` (in a thread if ``thread_ts``); the app gets a
        ``message`` event (and ``app_mention`` if the bot is @-mentioned) if it is a member."""
        return self.actions.post_user_message(channel, text, user_id, thread_ts)

    def push_envelope(self, kind: str, payload: Any, *,
                      accepts_response_payload: bool = False) -> Envelope:
        """Any raw envelope (``interactive``, ``events_api``, ``slash_commands``); ``payload``
        is sent as given (a forged one may be no object at all)."""
        return copy.deepcopy(self.hub.enqueue(kind, payload,
                                              accepts_response_payload=accepts_response_payload))

    # -- inspection ---------------------------------------------------------------------------

    def messages(self, channel: str | None = None, *, include_user: bool = False,
                 include_deleted: bool = False) -> list[Message]:
        """What the bot posted (and, with ``include_user``, what users wrote), as it is now,
        oldest first."""
        with self.world.cond:
            found = [copy.deepcopy(m) for m in self.world.messages.values()
                     if (channel is None or m.channel == channel)
                     and (include_user or m.from_bot) and (include_deleted or not m.deleted)]
        return sorted(found, key=lambda m: float(m.ts))

    def message(self, channel: str, ts: str) -> Message:
        with self.world.cond:
            return copy.deepcopy(self.world.messages[(channel, ts)])

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent then replies (what conversations.replies returns)."""
        with self.world.cond:
            return copy.deepcopy(self.world.thread_of(channel, ts))

    def ephemerals(self, channel: str | None = None, user: str | None = None
                   ) -> list[Ephemeral]:
        with self.world.cond:
            return [copy.deepcopy(e) for e in self.world.ephemerals
                    if channel in (None, e.channel) and user in (None, e.user)]

    @property
    def views_opened(self) -> list[View]:
        with self.world.cond:
            return copy.deepcopy(list(self.world.views.values()))

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self.world.cond:
            return [copy.deepcopy(c) for c in self.world.calls if method in (None, c.method)]

    @property
    def acks(self) -> list[Ack]:
        with self.world.cond:
            return copy.deepcopy(self.world.acks)

    def envelopes(self, kind: str | None = None) -> list[Envelope]:
        with self.world.cond:
            return [copy.deepcopy(e) for e in self.world.envelopes.values()
                    if kind in (None, e.type)]

    def envelope(self, envelope_id: str) -> Envelope:
        with self.world.cond:
            return copy.deepcopy(self.world.envelopes[envelope_id])

    @property
    def responses(self) -> list[ResponsePost]:
        """POSTs to response_urls."""
        with self.world.cond:
            return copy.deepcopy(self.world.responses)

    @property
    def connections(self) -> list[Connection]:
        with self.world.cond:
            return copy.deepcopy(self.world.connections)

    # -- waiting ------------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], T | None], timeout: float = 5.0,
                   what: str = "") -> T:
        """Block until ``predicate()`` (run under the emulator lock) is truthy; return it."""
        with self.world.cond:
            result = self.world.cond.wait_for(predicate, timeout)
            if not result:
                recent = [f"{c.method}:{c.error or 'ok'}" for c in self.world.calls[-10:]]
                raise TimeoutError(f"timed out after {timeout}s waiting for "
                                   f"{what or predicate!r}; recent calls: {recent}")
            return result

    def wait_for_message(self, predicate: Callable[[Message], bool] | None = None, *,
                         channel: str | None = None, timeout: float = 5.0,
                         include_user: bool = False) -> Message:
        def find() -> Message | None:
            return next((m for m in self.messages(channel, include_user=include_user)
                         if predicate is None or predicate(m)), None)

        return self.wait_until(find, timeout, "a matching message")

    def wait_for_update(self, channel: str, ts: str,
                        predicate: Callable[[Message], bool] | None = None, *, after: int = 0,
                        timeout: float = 5.0) -> Message:
        """The message once it has been updated more than ``after`` times (and matches)."""
        def find() -> Message | None:
            m = self.message(channel, ts)
            return m if m.updates > after and (predicate is None or predicate(m)) else None

        return self.wait_until(find, timeout, f"an update of {ts}")

    def wait_for_ephemeral(self, predicate: Callable[[Ephemeral], bool] | None = None, *,
                           channel: str | None = None, user: str | None = None,
                           timeout: float = 5.0) -> Ephemeral:
        def find() -> Ephemeral | None:
            return next((e for e in self.ephemerals(channel, user)
                         if predicate is None or predicate(e)), None)

        return self.wait_until(find, timeout, "an ephemeral message")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        def find() -> Ack | None:
            return next((a for a in self.world.acks if a.envelope_id == envelope_id), None)

        return copy.deepcopy(self.wait_until(find, timeout, f"the ack of {envelope_id}"))

    def wait_for_delivery(self, envelope_id: str, attempt: int = 0, timeout: float = 5.0
                          ) -> Envelope:
        """Until the envelope was sent with ``retry_attempt`` >= ``attempt``."""
        def find() -> Envelope | None:
            env = self.world.envelopes[envelope_id]
            return env if any(a >= attempt for a, _, _ in env.deliveries) else None

        return copy.deepcopy(self.wait_until(find, timeout, f"delivery {attempt} of "
                                             f"{envelope_id}"))

    def wait_for_connection(self, count: int = 1, timeout: float = 10.0) -> Connection:
        """Until ``count`` connections have had their hello and the newest is still open."""
        def find() -> Connection | None:
            hellos = [c for c in self.world.connections if c.hello_sent]
            return hellos[-1] if len(hellos) >= count and hellos[-1].open else None

        return copy.deepcopy(self.wait_until(find, timeout, f"Socket Mode connection {count}"))

    def wait_for_call(self, method: str, predicate: Callable[[ApiCall], bool] | None = None,
                      *, after: int = 0, timeout: float = 5.0) -> ApiCall:
        """The first ``method`` call at index >= ``after`` of the log (``len(calls())``)."""
        def find() -> ApiCall | None:
            return next((c for c in self.world.calls[after:] if c.method == method
                         and (predicate is None or predicate(c))), None)

        return copy.deepcopy(self.wait_until(find, timeout, f"a {method} call"))

    # -- faults -------------------------------------------------------------------------------

    def fail_next(self, method: str, error: str = "ratelimited", *, status: int | None = None,
                  retry_after: int | None = None, times: int = 1,
                  extra: dict[str, Any] | None = None) -> None:
        """The next ``times`` calls of ``method`` ("*" = any) fail with no effect: 429 +
        ``Retry-After`` (default 1) for "ratelimited", else HTTP ``status`` (default 200)."""
        with self.world.cond:
            self.world.faults += [Fault(method, error, status, retry_after,
                                        extra=dict(extra or {})) for _ in range(times)]

    def answer_next(self, method: str, body: str | bytes, *,
                    content_type: str = "text/html", status: int = 200, times: int = 1
                    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any) get ``body`` as it is, with no
        effect: what a proxy, a captive portal or a wrong ``api_base`` answers."""
        raw = body.encode() if isinstance(body, str) else body
        with self.world.cond:
            self.world.faults += [Fault(method, status=status, raw=raw,
                                        content_type=content_type) for _ in range(times)]

    def delay_next(self, method: str, seconds: float, *, after: bool = False, times: int = 1
                   ) -> None:
        """Answer the next calls ``seconds`` late (``after``: done at once, answer late)."""
        with self.world.cond:
            self.world.faults += [Fault(method, delay=seconds, after=after)
                                  for _ in range(times)]

    def drop_next(self, method: str, *, after: bool = False, times: int = 1) -> None:
        """Close the TCP connection with no answer, before (or ``after``) doing the call."""
        with self.world.cond:
            self.world.faults += [Fault(method, drop=True, after=after) for _ in range(times)]

    def disconnect(self, reason: str = "refresh_requested", *, close_after: float | None = 10.0,
                   connection: int | None = None) -> int:
        """Send ``{"type":"disconnect","reason":..}``; close the socket ``close_after`` seconds
        later if the client has not (None: never). Returns the connection id."""
        return self.hub.disconnect(reason, close_after=close_after, conn_id=connection)

    def close_socket(self, code: int = 1000, connection: int | None = None) -> int:
        """A close frame with no disconnect message first."""
        return self.hub.close_socket(code, connection)

    def drop_socket(self, connection: int | None = None) -> int:
        """Abort the TCP connection under the WebSocket (no close frame)."""
        return self.hub.drop(connection)

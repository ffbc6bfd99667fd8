"""The Socket Mode connection of the Slack bridge: every envelope is held, acknowledged,
then queued for dispatch, one at a time in the order it arrived; and the connection's health.

* **Hold, then ack**: Slack wants an ack within 3 s or it sends the envelope again (and
  disables apps that never ack). The envelope is written to the inbox (``hold_keyed``)
  first, then acknowledged, then queued: a listener killed at any moment loses nothing (the
  next one gets the held envelopes back first) and never keeps Slack waiting on dispatch.
* **Under a lease** (several machines, one bot): an envelope is held and acknowledged only
  while the lease ``allows(ACK_WINDOW)``, and one that cannot be held is not acknowledged:
  Slack sends it again, to the connection of the machine that leads then.
* **Once per key**: a key queued already in this process (Slack's retry of an envelope
  acknowledged late, e.g. across a ``disconnect``) is acknowledged and dropped; dispatch drops
  one applied before a restart (``event_key`` among the recent keys).
* slack_sdk's aiohttp client runs on the listener's loop and reconnects by itself (at once on
  ``disconnect`` or a close frame, after a ping interval on a dropped link); its log lines
  come through one logger, without tracebacks, and the last problem goes to ``health``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tether_hooks.models import BridgeHealth, HealthState
from tether_hooks.platforms.base import BridgeAuthError, BridgeError, Inbox, Incoming, Lease
from tether_hooks.platforms.recent import remember
from tether_hooks.platforms.slack_config import SlackSettings
from tether_hooks.platforms.slack_errors import Where, map_error
from tether_hooks.platforms.slack_events import envelope
from tether_hooks.platforms.slack_retry import call

__all__ = ["CONNECT_TIMEOUT", "Accept", "Receiver", "SocketHealth"]

log = logging.getLogger("tether_hooks.platforms.slack")
SDK_LOG = "tether_hooks.platforms.slack.socket"

CONNECT_TIMEOUT = 15.0  # seconds from apps.connections.open to Slack's hello
DOWN_AFTER = 15.0  # a socket gone this long makes the bridge "error" (clicks cannot arrive)
SEEN = 2000  # keys remembered in this process
ACK_WINDOW = 3.0  # seconds a lease must still allow for an envelope to be held and acked
# raw envelope -> (event key, event), or None for what dispatch never needs
Accept = Callable[[dict[str, Any]], tuple[str, Incoming] | None]


class SocketHealth:
    """What ``health()`` reports: the socket, and the last actionable Web API problem."""

    def __init__(self) -> None:
        self.started = False
        self.closed = False
        self.connected = False
        self.down_since: float | None = None
        self.last_hello: float | None = None
        self.socket_problem: str | None = None  # masked one-liner
        self.socket_auth: str | None = None  # why the app-level token was refused (reconnect)
        self.api_problem: str | None = None  # a BridgeAuthError's text (not in channel...)
        self.api_problem_at: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    def problem(self, text: str, *, auth: bool) -> None:
        self.last_error, self.last_error_at = text, time.time()
        if auth:
            self.api_problem, self.api_problem_at = text, time.time()

    def report(self) -> BridgeHealth:
        state: HealthState
        down = self.down_since is not None and time.monotonic() - self.down_since > DOWN_AFTER
        if self.closed:
            state, detail = "error", "closed"
        elif not self.started:
            state, detail = "starting", "connecting"
        elif self.api_problem:
            state, detail = "auth", self.api_problem
        elif self.socket_auth:
            state, detail = "auth", self.socket_auth
        elif down:
            why = f" ({self.socket_problem})" if self.socket_problem else ""
            state, detail = "error", f"Socket Mode is disconnected{why}; reconnecting"
        else:
            state, detail = "ok", "connected (Socket Mode)"
        return {"state": state, "detail": detail, "last_error": self.last_error,
                "last_error_at": self.last_error_at}


class _Client(SocketModeClient):
    """slack_sdk's aiohttp client, telling whether a new socket URL could be had, and handing
    over the envelopes slack_sdk cannot make a request of (``on_odd``)."""

    on_url: Callable[[BaseException | None], None] | None = None
    on_odd: Callable[[_Client, dict[str, Any]], Awaitable[None]] | None = None

    async def run_message_listeners(self, message: dict[str, Any], raw_message: str) -> None:
        # An envelope whose payload is no object (a list, a number, null): slack_sdk would
        # raise on it (a logged error, never acknowledged, so Slack sends it again).
        if ("envelope_id" in message and "type" in message and "payload" in message
                and not isinstance(message["payload"], dict | str)
                and self.on_odd is not None):
            await self.on_odd(self, message)
            return
        await super().run_message_listeners(message, raw_message)

    async def issue_new_wss_url(self) -> str:
        try:
            url = await super().issue_new_wss_url()
        except Exception as exc:
            if self.on_url is not None:
                self.on_url(exc)
            raise
        if self.on_url is not None:
            self.on_url(None)
        return url


class _OneLine(logging.Filter):
    """slack_sdk's log records on one line each, without a traceback, and a line repeated
    (each reconnect attempt, every second while Slack is unreachable) once per ``REPEAT``
    s; problems noted."""

    REPEAT = 300.0

    def __init__(self, health: SocketHealth, where: Where) -> None:
        super().__init__()
        self.health, self.where = health, where
        self._said: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = " ".join(record.getMessage().split())  # one line (the SDK's span several)
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{text} ({type(record.exc_info[1]).__name__})"
        text = self.where.mask(text)
        record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
        if record.levelno >= logging.WARNING:
            self.health.socket_problem = text[:300]
        now = time.monotonic()
        if now - self._said.get(text, -self.REPEAT) < self.REPEAT:
            return False
        if len(self._said) > 100:
            self._said.clear()
        self._said[text] = now
        return True


class Receiver:
    """One Socket Mode client at a time (``open`` / ``close``), feeding ``queue``."""

    def __init__(self, settings: SlackSettings, web: AsyncWebClient, where: Callable[[], Where],
                 accept: Accept, inbox: Inbox | None, name: str = "slack", *,
                 lease: Lease | None = None) -> None:
        self.settings, self.web, self.where = settings, web, where
        self.accept, self.inbox, self.name = accept, inbox, name
        self.lease = lease
        self.health = SocketHealth()
        self.queue: asyncio.Queue[tuple[str, Incoming]] = asyncio.Queue()
        self.client: _Client | None = None
        self._connect: asyncio.Future[Any] | None = None
        self._hello: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._seen: dict[str, None] = {}
        self._filter: _OneLine | None = None

    def enqueue(self, key: str, event: Incoming) -> bool:
        """Queue ``event`` unless its key was queued before in this process."""
        if key in self._seen:
            return False
        remember(self._seen, key, None, SEEN)
        self.queue.put_nowait((key, event))
        return True

    # -- the connection ---------------------------------------------------------------------

    async def open(self) -> None:
        """A new socket URL (apps.connections.open, app token), then the socket; returns
        once Slack said hello. BridgeError (auth: the app token) if it cannot."""
        await self.close_client()
        self._lock, self._hello = asyncio.Lock(), asyncio.Event()
        answer = await call("open a Socket Mode connection", self.web.apps_connections_open,
                            app_token=self.settings.app_token, where=self.where(), app=True)
        sdk_log = logging.getLogger(SDK_LOG)
        self._filter = _OneLine(self.health, self.where())
        sdk_log.addFilter(self._filter)
        client = _Client(app_token=self.settings.app_token, logger=sdk_log, web_client=self.web,
                         proxy=self.settings.proxy, ping_interval=self.settings.ping_interval)
        client.on_url, client.on_odd = self._on_url, self._on_odd
        client.wss_uri = str(answer["url"])
        client.message_listeners.append(self._on_message)
        client.socket_mode_request_listeners.append(self._on_request)
        self.client = client
        self.health.closed = False
        self._connect = asyncio.ensure_future(client.connect())  # type: ignore[no-untyped-call]
        try:
            await asyncio.wait_for(self._hello.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            why = self.health.socket_problem or "no hello"
            await self.close_client()
            raise BridgeError(f"the Socket Mode connection did not open within "
                              f"{CONNECT_TIMEOUT:g} s ({why}); check the network and proxy"
                              ) from None
        self.health.started = True

    def _on_url(self, exc: BaseException | None) -> None:
        if exc is None:
            self.health.socket_auth = None
            return
        mapped = map_error(exc, "open a Socket Mode connection", self.where(), app=True)
        self.health.socket_problem = str(mapped)
        # kept apart from socket_problem, which the SDK's own log lines overwrite
        self.health.socket_auth = str(mapped) if isinstance(mapped, BridgeAuthError) else None

    def alive(self) -> bool:
        """False once the client ended (it reconnects by itself otherwise)."""
        client, connect = self.client, self._connect
        if client is None or client.closed or client.message_processor.done():
            return False
        return not (connect is not None and connect.done() and connect.exception() is not None)

    def connected(self) -> bool:
        client = self.client
        session = client.current_session if client is not None else None
        up = session is not None and not session.closed and not (client and client.closed)
        if up:
            self.health.down_since = None
        elif self.health.down_since is None:
            self.health.down_since = time.monotonic()
        self.health.connected = up
        return up

    async def close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), 3)  # type: ignore[no-untyped-call]
            except Exception as exc:  # an unreachable Slack must not hold up a shutdown
                log.info("slack: closing the socket: %s", self.where().mask(repr(exc)))
        if self._connect is not None and not self._connect.done():
            self._connect.cancel()
        self._connect = None
        if self._filter is not None:
            logging.getLogger(SDK_LOG).removeFilter(self._filter)
            self._filter = None

    async def close(self) -> None:
        self.health.closed = True
        await self.close_client()

    # -- what arrives -----------------------------------------------------------------------

    async def _on_message(self, client: AsyncBaseSocketModeClient, message: dict[str, Any],
                          raw: str | None) -> None:
        if message.get("type") == "hello" and self._hello is not None:
            self.health.last_hello = time.time()
            self.health.down_since = None
            self.health.socket_problem = None
            self._hello.set()

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest
                          ) -> None:
        """Hold, ack, queue: listeners start in arrival order, and the lock keeps it."""
        assert self._lock is not None
        async with self._lock:
            if not self._leased():
                log.info("slack: not leading: envelope %s left for Slack to send again",
                         str(req.envelope_id)[:80])
                return
            raw: dict[str, Any] = {}
            try:
                raw = envelope(req.type, req.envelope_id, req.payload)
                item = self.accept(raw)  # None for an odd envelope too (a field's type)
            except Exception:
                log.exception("slack: cannot read a %s envelope", req.type)
                item = None
            fresh = item is not None and item[0] not in self._seen
            if item is not None and fresh and self.inbox is not None:
                try:
                    await asyncio.to_thread(self.inbox.hold_keyed, self.name, [(item[0], raw)])
                except Exception as exc:  # still acked: Slack disables apps that never ack
                    if self.lease is not None:  # unless another machine may take it
                        log.warning("slack: cannot hold %s under the lease (%s); left for "
                                    "Slack to send again", item[0], type(exc).__name__)
                        return
                    log.error("slack: cannot hold %s: %s", item[0], exc)
            try:
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=req.envelope_id))
            except Exception as exc:  # Slack sends it again; its key is known then
                log.warning("slack: cannot acknowledge envelope %s: %s", req.envelope_id, exc)
            if item is not None and fresh:
                self.enqueue(*item)

    async def _on_odd(self, client: AsyncBaseSocketModeClient, message: dict[str, Any]
                      ) -> None:
        """An envelope whose payload is no object: acknowledged (Slack would send it again)
        and ignored, in one line."""
        log.warning("slack: ignored a %s envelope (%s): payload is %s, not an object",
                    str(message.get("type"))[:40], repr(message.get("envelope_id"))[:80],
                    type(message.get("payload")).__name__)
        async with self._lock or asyncio.Lock():
            if not self._leased():
                return
            try:
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=message["envelope_id"]))
            except Exception as exc:
                log.warning("slack: cannot acknowledge envelope %r: %s",
                            str(message["envelope_id"])[:80], exc)

    def _leased(self) -> bool:
        """May an envelope be held and acknowledged now? (Always without a lease.)"""
        return self.lease is None or self.lease.allows(ACK_WINDOW)

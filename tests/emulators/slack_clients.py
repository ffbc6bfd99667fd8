"""Helpers for driving slack_sdk's Socket Mode clients against the Slack emulator.

How slack_sdk 3.48 behaves against it (measured; ping_interval left at its default 5 s):

* builtin ``SocketModeClient``: request listeners run on its ThreadPoolExecutor (10 workers),
  so arrival order is not guaranteed. It pings once after the handshake, then every
  ``ping_interval``. After a ``disconnect`` message it opens the new socket at once (new
  apps.connections.open, hello within ~0.1 s) but reads nothing on it for ~3 s (closing the
  old socket waits for a blocking recv with a 3 s timeout; the old one ends with 1006, no
  close frame): an envelope sent in that window is acked ~3 s late and, with Slack's 3 s ack
  timeout, delivered twice. After a bare close frame it reconnects at the next monitor tick
  (``ping_interval``); after a silent TCP drop only once the link is judged stale, ~30 s,
  spinning on EOF meanwhile (~18 s of CPU in 30 s). Without pongs: stale after > 4 pings,
  ~25-30 s. ``close()`` blocks up to 3 s. ``connect()`` does not raise if the socket cannot
  be opened.
* aiohttp ``SocketModeClient``: listeners run on the event loop (a slow listener delays all
  others). It pings twice per interval (its own ping plus aiohttp's heartbeat). It
  reconnects at once on ``disconnect`` or a close frame, after ``ping_interval`` on a drop,
  and every ~10 s when pongs stop (aiohttp's heartbeat gives up after 1.5 intervals). Waiting
  on the emulator from a coroutine must go through ``asyncio.to_thread`` (the waits block).
* ``WebClient``: a 429 raises SlackApiError unless ``RateLimitErrorRetryHandler`` is added
  (it sleeps Retry-After + up to 1 s of jitter); the default retry handler re-sends a call
  whose connection dropped (a post the server made is made twice); a read timeout raises a
  bare TimeoutError, not retried.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from emulators.slack import SlackEmulator

__all__ = ["ALICE", "BOB", "Inbox", "builtin_client"]

ALICE = "U0ALICE001"
BOB = "U0BOB00002"
T = TypeVar("T")


class Inbox:
    """What a (sync) Socket Mode client received, filled from its worker threads.

    ``ack(req)`` decides the answer: False = no ack, True = a bare ack, a dict = an ack with
    that payload. ``then(req)`` runs after the ack (like a handler doing its work)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.raw: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []
        self.opened: list[str] = []
        self.ack: Callable[[SocketModeRequest], bool | dict[str, Any]] = lambda req: True
        self.then: Callable[[SocketModeRequest], None] | None = None

    def on_message(self, client: BaseSocketModeClient, message: dict[str, Any],
                   raw: str | None) -> None:
        with self.cond:
            self.raw.append(message)
            self.cond.notify_all()

    def on_request(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
        decision = self.ack(req)
        if decision is not False:
            payload = decision if isinstance(decision, dict) else None
            client.send_socket_mode_response(
                SocketModeResponse(envelope_id=req.envelope_id, payload=payload))
        if self.then is not None:
            self.then(req)

    def _wait(self, items: list[T], predicate: Callable[[T], bool], timeout: float) -> T:
        def find() -> T | None:
            return next((x for x in items if predicate(x)), None)

        with self.cond:
            found = self.cond.wait_for(find, timeout)
        if found is None:
            raise TimeoutError(f"nothing matching after {timeout}s: {items}")
        return found

    def wait_raw(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
                 ) -> dict[str, Any]:
        return self._wait(self.raw, predicate, timeout)

    def wait_request(self, predicate: Callable[[SocketModeRequest], bool],
                     timeout: float = 10.0) -> SocketModeRequest:
        return self._wait(self.requests, predicate, timeout)


@contextmanager
def builtin_client(emu: SlackEmulator, inbox: Inbox, *, ping_interval: float = 1.0
                   ) -> Iterator[SocketModeClient]:
    """slack_sdk's builtin SocketModeClient, connected to ``emu``, feeding ``inbox``.

    ``ping_interval`` (default 5 in slack_sdk) is also its monitor tick: reconnects after a
    close happen on that tick, so tests shorten it."""
    client = SocketModeClient(
        app_token=emu.app_token, ping_interval=ping_interval,
        web_client=WebClient(token=emu.bot_token, base_url=emu.base_url))
    client.message_listeners.append(inbox.on_message)
    client.socket_mode_request_listeners.append(inbox.on_request)
    client.connect()
    try:
        yield client
    finally:
        client.close()

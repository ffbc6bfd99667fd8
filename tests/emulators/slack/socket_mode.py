"""Socket Mode: the WebSocket behind apps.connections.open, envelopes, acks and retries.

One ``SocketHub`` per emulator. Envelopes are queued (``enqueue``, any thread) and sent on the
newest open connection that got its hello and no disconnect notice (else the newest open
one). An envelope not acked within ``ack_timeout`` is sent again, same ``envelope_id``,
``retry_attempt`` + 1 and ``retry_reason`` "timeout", up to ``max_retries`` times; then it is
``failed``. Envelopes queued while no connection is open wait for the next hello.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from .models import Ack, Connection, Envelope
from .state import World

__all__ = ["SocketHub"]


class SocketHub:
    def __init__(self, world: World) -> None:
        self.w = world
        self.ack_timeout = 3.0
        self.max_retries = 3
        self.ticket_ttl = 30.0
        self.answer_pings = True
        self.on_ack: Callable[[Envelope, Ack], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[int, tuple[web.WebSocketResponse, asyncio.Transport | None]] = {}
        self._send_lock: asyncio.Lock | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- any thread ---------------------------------------------------------------------------

    def issue_url(self) -> str:
        """A fresh single-use WebSocket URL (apps.connections.open)."""
        ticket = str(uuid.uuid4())
        with self.w.cond:
            self.w.tickets[ticket] = self.w.clock()
        return f"ws://127.0.0.1:{self.w.port}/link/?ticket={ticket}&app_id={self.w.me.app_id}"

    def enqueue(self, kind: str, payload: Any, *, accepts_response_payload: bool
                ) -> Envelope:
        with self.w.cond:
            env = Envelope(str(uuid.uuid4()), kind, payload, accepts_response_payload,
                           time.time())
            self.w.envelopes[env.envelope_id] = env
            self.w.changed()
        self._soon(self._flush)
        return env

    def disconnect(self, reason: str, *, close_after: float | None, conn_id: int | None) -> int:
        """Send ``{"type":"disconnect"}`` on a connection (default: the current one)."""
        target = self._target(conn_id)

        async def run() -> None:
            await self._send(target, {"type": "disconnect", "reason": reason,
                                      "debug_info": {"host": f"applink-emu-{target}"}})
            if close_after is not None:
                await asyncio.sleep(close_after)
                await self._close(target, 1000)

        with self.w.cond:
            self._conn(target).notified = reason
            self.w.changed()
        self._soon(run)
        return target

    def close_socket(self, code: int, conn_id: int | None) -> int:
        """A clean close frame from the server, with no disconnect message first."""
        target = self._target(conn_id)
        self._soon(lambda: self._close(target, code))
        return target

    def drop(self, conn_id: int | None) -> int:
        """Abort the TCP connection: no close frame, the client just sees the socket die."""
        target = self._target(conn_id)

        async def run() -> None:
            ws_transport = self._sockets.get(target)
            if ws_transport is not None and ws_transport[1] is not None:
                ws_transport[1].abort()

        self._soon(run)
        return target

    def current(self) -> Connection | None:
        with self.w.cond:
            live = [c for c in self.w.connections if c.open and c.hello_sent]
            fresh = [c for c in live if c.notified is None]
            pick = fresh or live
            return pick[-1] if pick else None

    # -- internals ----------------------------------------------------------------------------

    def _target(self, conn_id: int | None) -> int:
        if conn_id is not None:
            return conn_id
        conn = self.current()
        if conn is None:
            raise LookupError("no open Socket Mode connection")
        return conn.id

    def _conn(self, conn_id: int) -> Connection:
        return next(c for c in self.w.connections if c.id == conn_id)

    def _soon(self, make: Callable[[], Any]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def start() -> None:
            task = loop.create_task(self._guard(make()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(start)

    async def _guard(self, coro: Any) -> None:
        try:
            await coro
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            with self.w.cond:
                self.w.internal_errors.append(traceback.format_exc())

    async def _send(self, conn_id: int, body: dict[str, Any]) -> bool:
        entry = self._sockets.get(conn_id)
        if entry is None or entry[0].closed:
            return False
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            try:
                await entry[0].send_str(json.dumps(body))
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def _close(self, conn_id: int, code: int) -> None:
        entry = self._sockets.get(conn_id)
        if entry is not None and not entry[0].closed:
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(entry[0].close(code=code), 5)

    async def _flush(self) -> None:
        """Send every queued envelope on the current connection, oldest first."""
        while True:
            conn = self.current()
            if conn is None:
                return
            with self.w.cond:
                env = next((e for e in self.w.envelopes.values() if e.status == "queued"), None)
                if env is None:
                    return
                env.status = "sending"
                frame, attempt = env.frame(), env.retry_attempt
            sent = await self._send(conn.id, frame)
            with self.w.cond:
                if sent:
                    env.deliveries.append((attempt, conn.id, time.time()))
                if env.status != "sending":  # acked meanwhile
                    self.w.changed()
                    continue
                env.status = "sent" if sent else "queued"
                self.w.changed()
            if not sent:
                await asyncio.sleep(0.05)  # the socket is going away; wait for the next one
                continue
            assert self.loop is not None
            self._timers[env.envelope_id] = self.loop.call_later(
                self.ack_timeout, self._expire, env.envelope_id, attempt)

    def _expire(self, envelope_id: str, attempt: int) -> None:
        with self.w.cond:
            env = self.w.envelopes[envelope_id]
            if env.status != "sent" or env.retry_attempt != attempt:
                return
            if attempt < self.max_retries:
                env.retry_attempt += 1
                env.status = "queued"
            else:
                env.status = "failed"
            self.w.changed()
        self._soon(self._flush)

    def _on_text(self, conn: Connection, raw: str) -> None:
        with self.w.cond:
            conn.texts += 1
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict) or "envelope_id" not in body:
                self.w.changed()
                return
            eid = str(body["envelope_id"])
            env = self.w.envelopes.get(eid)
            payload = body.get("payload")
            ack = Ack(eid, payload if isinstance(payload, dict) else None, time.time(), conn.id,
                      env is not None, env.retry_attempt if env else None, raw)
            self.w.acks.append(ack)
            if env is not None and env.status in ("sent", "sending", "queued"):
                env.status, env.ack = "acked", ack
                timer = self._timers.pop(eid, None)
                if timer is not None:
                    timer.cancel()
                if self.on_ack is not None:
                    self.on_ack(env, ack)
            self.w.changed()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /link/?ticket=...: the WebSocket upgrade, hello, then acks until closed."""
        ticket = request.query.get("ticket", "")
        with self.w.cond:
            issued = self.w.tickets.pop(ticket, None)
            if issued is None or self.w.clock() - issued > self.ticket_ttl:
                return web.Response(status=401, text="invalid_ticket")
            conn = Connection(len(self.w.connections) + 1, ticket, time.time())
            self.w.connections.append(conn)
        ws = web.WebSocketResponse(autoping=False, autoclose=True, max_msg_size=0)
        await ws.prepare(request)
        transport = request.transport
        self._sockets[conn.id] = (ws, transport if isinstance(transport, asyncio.Transport)
                                  else None)
        try:
            with self.w.cond:
                live = sum(1 for c in self.w.connections if c.open)
            await ws.send_str(json.dumps({
                "type": "hello", "num_connections": live,
                "debug_info": {"host": f"applink-emu-{conn.id}", "build_number": 1,
                               "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.w.me.app_id},
            }))
            with self.w.cond:
                conn.hello_sent = True
                self.w.changed()
            self._soon(self._flush)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.PING:
                    with self.w.cond:
                        conn.pings += 1
                        self.w.changed()
                    if self.answer_pings:
                        await ws.pong(msg.data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._sockets.pop(conn.id, None)
            with self.w.cond:
                conn.closed_at = time.time()
                conn.close_code = ws.close_code
                for env in self.w.envelopes.values():  # in flight there: send again elsewhere
                    if env.status == "sending":
                        env.status = "queued"
                self.w.changed()
        return ws

    async def shutdown(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for ws, transport in list(self._sockets.values()):
            if transport is not None:
                transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001), 0.2)
        for task in list(self._tasks):
            task.cancel()

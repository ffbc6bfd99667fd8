"""The listener's socket: ``paths.listener_socket()``, 0600 in a 0700 directory.

Newline-delimited JSON, one request line and one answer line per exchange (a client may
send several on one connection). The store stays the record; the socket is the doorbell.

    -> {"op": "ping"}
    <- {"ok": true, "pid": 123, "usable": true, "bridges": {"telegram": {"state": "ok", ...}}}
    -> {"op": "request", "id": "7f3a"}          a new pending request is in the store
    <- (same as ping; "usable": false means no platform can post: fall back at once)
    -> {"op": "notice", "kind": "waiting" | "finished", "session_id": ..., "agent": ...,
        "cwd": ..., "text": ..., "wait": 0}      "wait" > 0 (Stop): answer after a reply or
    <- {"ok": true, "reply": "text" | null, "by": "@alice"}      after "wait" seconds
    <- {"ok": false, "error": "..."}            a bad line
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Protocol

from tether_hooks import paths

__all__ = ["MAX_LINE", "Server"]

log = logging.getLogger("tether_hooks.listener")

MAX_LINE = 1024 * 1024


class Handler(Protocol):
    """What the socket serves (``listener.dispatch.Dispatcher``)."""

    def status(self) -> dict[str, Any]: ...

    async def on_request(self, request_id: str) -> dict[str, Any]: ...

    async def on_notice(self, message: dict[str, Any]) -> dict[str, Any]: ...


class Server:
    """Serves the socket for a dispatcher (``Handler``: on_request, on_notice, status)."""

    def __init__(self, dispatcher: Handler, path: str | None = None) -> None:
        self.dispatcher = dispatcher
        self.path = path or paths.listener_socket()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Bind (replacing a stale socket: the caller holds the single-instance lock)."""
        directory = paths.ensure_dir(os.path.dirname(self.path))
        os.chmod(directory, 0o700)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        old = os.umask(0o177)  # created 0600, no window where others could connect
        try:
            self._server = await asyncio.start_unix_server(self._client, self.path,
                                                           limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    def notify(self, rid: str) -> None:
        """A decision of ``rid`` was written to the store (``Runtime.decided`` calls this):
        the place where the push to a waiting hook goes (the fast path's slice)."""

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._send(writer, {"ok": False, "error": "line too long"})
                    return
                if not line:
                    return
                await self._send(writer, await self._handle(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("socket client failed")
        finally:
            writer.close()

    async def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return {"ok": False, "error": f"bad message: {exc}"}
        op = message.get("op")
        d = self.dispatcher
        if op == "ping":
            return d.status()
        if op == "request":
            return await d.on_request(str(message.get("id") or ""))
        if op == "notice":
            return await d.on_notice(message)
        return {"ok": False, "error": f"unknown op {op!r}"}

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        writer.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        await writer.drain()

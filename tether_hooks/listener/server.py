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
    -> {"op": "wait", "id": "7f3a"}             a hook waits for request 7f3a (the push)
    <- {"ok": true, "waiting": "7f3a"}          then, each time the listener has written
    <- {"op": "settled", "id": "7f3a"}          a decision of 7f3a to the store (notify)
    -> {"op": "waiting"}                        the request ids hooks wait on here
    <- {"ok": true, "ids": ["7f3a"]}

The push only wakes a waiting hook early: it then reads the store, the record, as it
would after a poll; a line's content is never taken as a decision. Its registration ends
when the hook closes the connection (it exits, or its request settled) or the listener
stops; a hook whose connection drops goes on polling the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Protocol

from tether_hooks import paths

__all__ = ["MAX_LINE", "Server", "notify"]

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
        self.waits = Waits()

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
        _LIVE.add(self)

    def notify(self, rid: str) -> None:
        """Wake the hooks waiting here for ``rid`` (call it after writing its decision)."""
        self.waits.notify(rid)

    async def close(self) -> None:
        _LIVE.discard(self)
        self.waits.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        waiting: list[str] = []  # request ids this connection waits on (op "wait")
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._send(writer, {"ok": False, "error": "line too long"})
                    return
                if not line:
                    return
                await self._send(writer, await self._handle(line, writer, waiting))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("socket client failed")
        finally:
            for rid in waiting:
                self.waits.remove(rid, writer)
            writer.close()

    async def _handle(self, line: bytes, writer: asyncio.StreamWriter | None = None,
                      waiting: list[str] | None = None) -> dict[str, Any]:
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
        if op == "wait" and writer is not None and waiting is not None:
            rid = message.get("id")
            if not isinstance(rid, str) or not rid:
                return {"ok": False, "error": "wait needs a request id"}
            self.waits.add(rid, writer)
            waiting.append(rid)
            return {"ok": True, "waiting": rid}
        if op == "waiting":
            return {"ok": True, "ids": self.waits.ids()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        writer.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        await writer.drain()


# -- the push: waiting hooks, woken when a decision was written --------------------------


class Waits:
    """The connections of hooks waiting for a request, by request id."""

    def __init__(self) -> None:
        self._by_id: dict[str, set[asyncio.StreamWriter]] = {}

    def add(self, rid: str, writer: asyncio.StreamWriter) -> None:
        self._by_id.setdefault(rid, set()).add(writer)

    def remove(self, rid: str, writer: asyncio.StreamWriter) -> None:
        writers = self._by_id.get(rid)
        if writers is not None:
            writers.discard(writer)
            if not writers:
                del self._by_id[rid]

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def notify(self, rid: str) -> None:
        """One line to each connection waiting for ``rid``; it stays registered until the
        hook closes it. Never raises: a hook that went away just misses the line."""
        line = json.dumps({"op": "settled", "id": rid}).encode() + b"\n"
        for writer in list(self._by_id.get(rid, ())):
            try:
                if not writer.is_closing():
                    writer.write(line)  # tiny: no drain, the hook reads it at once
            except (OSError, RuntimeError):
                self.remove(rid, writer)

    def close(self) -> None:
        for writers in self._by_id.values():
            for writer in writers:
                writer.close()
        self._by_id.clear()


_LIVE: set[Server] = set()  # the servers of this process (a listener runs one)


def notify(rid: str) -> None:
    """Wake the hooks waiting for ``rid`` on every socket this process serves: call it
    right after a decision of ``rid`` was written to the store."""
    for server in list(_LIVE):
        server.notify(rid)

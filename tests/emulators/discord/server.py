"""HTTP plumbing: path decoding and routing, bodies (JSON or multipart with ``payload_json``),
bot-token auth, rate limits, injected faults and the call log. One catch-all aiohttp route,
so that unknown paths get Discord's JSON 404 and every answer carries ``X-RateLimit-*``.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import time
import traceback
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from .models import ApiCall, DiscordError, Fault, Violation
from .ratelimit import Limiter, Verdict
from .routes import ROUTES, Request, Route, Routes
from .state import World

__all__ = ["ApiServer"]

_VERSION = re.compile(r"v\d+")
_NOT_FOUND = DiscordError(404, 0, "404: Not Found")
_UNAUTHORIZED = DiscordError(401, 0, "401: Unauthorized")


class BadBody(Exception):
    pass


def _match(segments: list[str], method: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, params, path_known): path_known is True when only the method is wrong."""
    known = False
    for route in ROUTES:
        parts = route.template.split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, seg in zip(parts, segments, strict=True):
            if part.startswith("{"):
                if not seg:
                    break
                params[part[1:-1]] = seg
            elif part != seg:
                break
        else:
            if route.method == method:
                return route, params, True
            known = True
    return None, {}, known


class ApiServer:
    def __init__(self, world: World, limiter: Limiter) -> None:
        self.w, self.limiter = world, limiter
        self.routes = Routes(world)
        self.routes.attachment_base = lambda: f"http://127.0.0.1:{world.port}/attachments"
        self.stopping = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # -- decoding -----------------------------------------------------------------------------

    @staticmethod
    async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Any]]:
        files: list[tuple[str, str, bytes]] = []
        if not request.body_exists:
            return {}, files
        if request.content_type.startswith("multipart/"):
            body: Any = {}
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    body = json.loads(data or b"{}")
                elif part.filename:
                    ctype = (part.headers.get("Content-Type")
                             or mimetypes.guess_type(part.filename)[0]
                             or "application/octet-stream")
                    files.append((part.filename, ctype, bytes(data)))
        else:
            raw = await request.read()
            body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise BadBody
        return body, files

    # -- the one handler ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self.dispatch(request)
        except asyncio.CancelledError:
            raise
        except Exception:  # an emulator bug: keep it visible to the test
            with self.w.cond:
                self.w.internal_errors.append(traceback.format_exc())
                self.w.changed()
            return web.json_response({"message": "500: Internal Server Error", "code": 0},
                                     status=500)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.method.upper()
        raw = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw.strip("/").split("/")]
        if segments[:1] == ["attachments"] and method == "GET":
            return self.attachment(segments[1:])
        rest = segments[1:] if segments[:1] == ["api"] else None
        if rest and _VERSION.fullmatch(rest[0]):
            rest = rest[1:]
        route, params, known = _match(rest, method) if rest is not None else (None, {}, False)
        shown = list(segments)
        if rest is not None and len(rest) >= 3 and rest[0] == "webhooks":
            shown[len(segments) - len(rest) + 2] = "***"  # never log a webhook token
        path = "/" + "/".join(shown)
        query = dict(request.query)
        header = request.headers.get("Authorization")
        auth = ("none" if header is None else
                "bot" if header == f"Bot {self.w.me.bot_token}" else "bad")
        key = method + " " + (self.bucket_key(route, params) if route else path)
        try:
            body, files = await self.read_body(request)
        except (ValueError, BadBody):
            return self.answer(method, path, query, None, auth, key,
                               DiscordError(400, 50109, "The request body contains invalid "
                                                        "JSON."))
        with self.w.cond:
            fault = next((f for f in self.w.faults if f.matches(method, path)), None)
            if fault is not None:
                self.w.faults.remove(fault)
        if fault is not None and fault.kind == "delay":
            await self.linger(fault.seconds)
        if fault is not None and fault.kind == "drop" and not fault.after:
            self.drop(request, method, path, query, body, auth, "dropped")
        if fault is not None and fault.kind in ("ratelimit", "fail"):
            return self.injected(fault, method, path, query, body, auth, key)
        if route is None:
            error = DiscordError(405, 0, "405: Method Not Allowed") if known else _NOT_FOUND
            return self.answer(method, path, query, body, auth, key, error)
        if route.kind == "bot" and auth != "bot":
            return self.answer(method, path, query, body, auth, key, _UNAUTHORIZED)
        with self.w.cond:
            verdict = self.limiter.take(key, bot=auth == "bot")
        if verdict.retry_after is not None:
            return self.limited(method, path, query, body, auth, verdict)
        r = Request(method, params, query, body, files)
        try:
            with self.w.cond:
                status, result = getattr(self.routes, route.handler)(r)
        except DiscordError as exc:
            return self.answer(method, path, query, body, auth, key, exc, verdict=verdict)
        if fault is not None and fault.kind == "drop":
            self.drop(request, method, path, query, body, auth, "dropped after processing")
        return self.answer(method, path, query, body, auth, key, None, status, result,
                           verdict=verdict)

    @staticmethod
    def bucket_key(route: Route, params: dict[str, str]) -> str:
        """The template with its major parameters (channel, webhook id + token) filled in."""
        parts = [params[p[1:-1]] if p in ("{cid}", "{wid}", "{wtoken}") else p
                 for p in route.template.split("/")]
        return "/".join(parts)

    # -- answers ------------------------------------------------------------------------------

    def record(self, method: str, path: str, query: dict[str, str], body: Any, status: int,
               auth: str, error: int | str | None) -> None:
        with self.w.cond:
            self.w.calls.append(ApiCall(time.time(), method, path, query, body, status, auth,
                                        error))
            self.w.changed()

    def answer(self, method: str, path: str, query: dict[str, str], body: Any, auth: str,
               key: str, error: DiscordError | None, status: int = 200, result: Any = None,
               *, verdict: Verdict | None = None) -> web.Response:
        if verdict is None:
            with self.w.cond:
                verdict = self.limiter.peek(key)
        headers = {**verdict.headers(), "Via": "1.1 google"}
        if error is not None:
            status, result = error.status, error.body()
        self.record(method, path, query, body, status, auth,
                    error.code if error is not None else None)
        if result is None and status == 204:
            return web.Response(status=204, headers=headers)
        return web.json_response(result, status=status, headers=headers)

    def limited(self, method: str, path: str, query: dict[str, str], body: Any, auth: str,
                verdict: Verdict) -> web.Response:
        retry = round(verdict.retry_after or 0.0, 3)
        with self.w.cond:
            self.w.violations.append(Violation(time.time(), method, path, verdict.bucket,
                                               verdict.scope, retry))
        return self.too_many(method, path, query, body, auth, verdict, retry,
                             verdict.scope == "global", via=True, note="rate limited")

    def too_many(self, method: str, path: str, query: dict[str, str], body: Any, auth: str,
                 verdict: Verdict, retry: float, global_: bool, *, via: bool, note: str
                 ) -> web.Response:
        headers = {**verdict.headers(), "Retry-After": str(max(1, round(retry + 0.4999))),
                   "X-RateLimit-Scope": "global" if global_ else "user"}
        if global_:
            headers["X-RateLimit-Global"] = "true"
            headers["X-RateLimit-Remaining"] = "0"
        else:
            headers["X-RateLimit-Remaining"] = "0"
        if via:
            headers["Via"] = "1.1 google"
        self.record(method, path, query, body, 429, auth, note)
        return web.json_response({"message": "You are being rate limited.",
                                  "retry_after": retry, "global": global_},
                                 status=429, headers=headers)

    def injected(self, fault: Fault, method: str, path: str, query: dict[str, str], body: Any,
                 auth: str, key: str) -> web.Response:
        with self.w.cond:
            verdict = self.limiter.peek(key)
        if fault.kind == "ratelimit":
            verdict.reset_after = fault.retry_after
            verdict.reset = time.time() + fault.retry_after
            return self.too_many(method, path, query, body, auth, verdict, fault.retry_after,
                                 fault.global_, via=fault.via, note="injected 429")
        headers = dict(fault.headers)
        self.record(method, path, query, body, fault.status, auth, "injected")
        if isinstance(fault.body, dict | list):
            return web.json_response(fault.body, status=fault.status, headers=headers)
        raw = fault.body.encode() if isinstance(fault.body, str) else bytes(fault.body or b"")
        headers.setdefault("Content-Type", "text/html")
        return web.Response(status=fault.status, body=raw, headers=headers)

    def drop(self, request: web.Request, method: str, path: str, query: dict[str, str],
             body: Any, auth: str, note: str) -> None:
        """Abort the TCP connection; the call is logged with status 0."""
        self.record(method, path, query, body, 0, auth, note)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # aiohttp then writes nothing on the closed socket

    def attachment(self, parts: list[str]) -> web.Response:
        with self.w.cond:
            for msg in self.w.messages.values():
                for a in msg.attachments:
                    if len(parts) == 3 and a["id"] == parts[1] and parts[2] in msg.files:
                        return web.Response(body=msg.files[parts[2]],
                                            content_type=a.get("content_type")
                                            or "application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def linger(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

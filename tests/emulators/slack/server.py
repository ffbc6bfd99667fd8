"""HTTP plumbing: routes, parameter decoding, tokens, scopes, injected faults, the call log.

``/api/<method>`` is the Web API (query, form, multipart and JSON bodies merged; a JSON body's
``token`` is ignored, as Slack does: JSON requests must authenticate with the header),
``/link/`` the Socket Mode WebSocket, ``/actions/...`` and ``/commands/...`` response_urls.
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from typing import Any

from aiohttp import web

from .models import ApiCall, Fault, ResponsePost, SlackError
from .socket_mode import SocketHub
from .state import World
from .web_api import Params, WebApi

__all__ = ["ApiServer"]


class ApiServer:
    def __init__(self, world: World, api: WebApi, hub: SocketHub) -> None:
        self.w, self.api, self.hub = world, api, hub
        self.stopping = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self.handle_api)
        app.router.add_get("/link/", self.hub.handle)
        app.router.add_get("/link", self.hub.handle)
        app.router.add_post("/actions/{rest:.*}", self.handle_response_url)
        app.router.add_post("/commands/{rest:.*}", self.handle_response_url)
        return app

    # -- decoding -----------------------------------------------------------------------------

    @staticmethod
    async def read_params(request: web.Request) -> tuple[dict[str, Any], str | None, bool]:
        """(parameters, form token, is_json). Raises SlackError for undecodable bodies."""
        params: dict[str, Any] = dict(request.query)
        token = params.pop("token", None)
        is_json = request.content_type == "application/json"
        if request.body_exists and is_json:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            body.pop("token", None)  # Slack ignores a token inside a JSON body
            params.update(body)
        elif request.body_exists:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else f"<file {key}>"
            token = params.pop("token", None) or token
        return params, token, is_json

    def authorise(self, method: str, request: web.Request, p: Params, form_token: str | None
                  ) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else form_token
        if not token:
            raise SlackError("not_authed")
        me = self.w.me
        if token not in (me.bot_token, me.app_token):
            raise SlackError("invalid_auth")
        wants_app = method == "apps.connections.open"
        if (token == me.app_token) != wants_app:
            raise SlackError("not_allowed_token_type")
        needed = self.api.needed_scope(method, p)
        if needed and not wants_app and needed not in self.w.scopes:
            raise SlackError("missing_scope", extra={
                "needed": needed, "provided": ",".join(sorted(self.w.scopes))})

    # -- /api/<method> ------------------------------------------------------------------------

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            raw, form_token, is_json = await self.read_params(request)
        except SlackError as exc:
            return self.record(method, {}, exc)
        with self.w.cond:
            fault = next((f for f in self.w.faults if f.method in (method, "*")), None)
            if fault is not None:
                self.w.faults.remove(fault)
        if fault is not None and fault.delay and not fault.after:
            await self.linger(fault.delay)
        if fault is not None and fault.drop and not fault.after:
            return self.drop(request, method, raw, processed=False)
        if fault is not None and fault.raw is not None:  # a proxy's page, a wrong api_base...
            status = fault.status or 200
            with self.w.cond:
                self.w.calls.append(ApiCall(method, raw, status, "raw answer", None,
                                            time.time()))
                self.w.changed()
            return web.Response(status=status, body=fault.raw,
                                headers={"Content-Type": fault.content_type})
        if fault is not None and (fault.error or fault.status):
            return self.record(method, raw, self.fault_error(fault))
        handler = self.api.methods.get(method)
        if handler is None:
            return self.record(method, raw, SlackError(
                "unknown_method", status=404, extra={"req_method": method}))
        p = Params(raw)
        try:
            with self.w.cond:
                self.authorise(method, request, p, form_token)
                result = handler(p)
        except SlackError as exc:
            return self.record(method, raw, exc)
        except Exception:  # an emulator bug: keep it visible to the test
            with self.w.cond:
                self.w.internal_errors.append(traceback.format_exc())
            return self.record(method, raw, SlackError("internal_error", status=500))
        if fault is not None and fault.drop:
            return self.drop(request, method, raw, processed=True)
        if is_json and "charset" not in request.headers.get("Content-Type", ""):
            result = {**result, "warning": "missing_charset",
                      "response_metadata": {"warnings": ["missing_charset"]}}
        response = self.record(method, raw, result=result)
        if fault is not None and fault.delay:
            await self.linger(fault.delay)
        return response

    @staticmethod
    def fault_error(fault: Fault) -> SlackError:
        if fault.error in (None, "ratelimited") and fault.status in (None, 429):
            after = fault.retry_after if fault.retry_after is not None else 1
            return SlackError("ratelimited", status=429, headers={"Retry-After": str(after)},
                              extra=fault.extra)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        return SlackError(fault.error or "internal_error", status=fault.status or 200,
                          headers=headers, extra=fault.extra)

    def record(self, method: str, raw: dict[str, Any], error: SlackError | None = None,
               result: dict[str, Any] | None = None) -> web.Response:
        body = error.body() if error else {"ok": True, **(result or {})}
        status = error.status if error else 200
        with self.w.cond:
            self.w.calls.append(ApiCall(method, raw, status, error.error if error else None,
                                        body, time.time()))
            self.w.changed()
            scopes = ",".join(sorted(self.w.scopes))
        headers = {"X-OAuth-Scopes": scopes, **(error.headers if error else {})}
        return web.json_response(body, status=status, headers=headers)

    def drop(self, request: web.Request, method: str, raw: dict[str, Any], *, processed: bool
             ) -> web.StreamResponse:
        """Abort the TCP connection; the call is logged with status 0."""
        with self.w.cond:
            error = "connection dropped" + (" after processing" if processed else "")
            self.w.calls.append(ApiCall(method, raw, 0, error, None, time.time()))
            self.w.changed()
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # aiohttp then writes nothing on the closed socket

    async def linger(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    # -- response_url -------------------------------------------------------------------------

    async def handle_response_url(self, request: web.Request) -> web.StreamResponse:
        body: Any
        try:
            if request.content_type == "application/json":
                body = json.loads(await request.read() or b"{}")
            else:
                body = json.loads(str((await request.post()).get("payload", "{}")))
        except ValueError:
            body = None
        with self.w.cond:
            if not isinstance(body, dict):
                status, answer = 400, {"ok": False, "error": "invalid_payload"}
            else:
                try:
                    status, answer = self.api.respond(request.path, body)
                except SlackError as exc:
                    status, answer = exc.status, exc.body()
                except Exception:
                    self.w.internal_errors.append(traceback.format_exc())
                    status, answer = 500, {"ok": False, "error": "internal_error"}
            kind = request.path.split("/")[1]
            self.w.responses.append(ResponsePost(
                str(request.url), kind, body if isinstance(body, dict) else {}, status,
                None if answer.get("ok") else str(answer.get("error")), time.time()))
            self.w.changed()
        return web.json_response(answer, status=status)

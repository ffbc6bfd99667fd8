"""The Discord REST calls of the bridge (httpx) and Discord's failures as BridgeErrors a user
can act on, every message one line with the secrets masked.

Retries: a 429 is waited out (``retry_after``, up to ``max_retry_after``) and tried again: it
was refused, not carried out. A call that creates something (``once``: a bot message) is
not repeated after it may have reached Discord (a dropped connection, a read timeout, a
5xx): ``DeliveryUnknown``. Reads, edits and reactions are idempotent and retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tether_hooks import __version__
from tether_hooks.platforms.base import BridgeAuthError, BridgeError, DeliveryUnknown, RateLimited
from tether_hooks.platforms.discord_limits import RateLimits, route_of

__all__ = ["DiscordApiError", "DiscordAuthError", "Rest", "emoji_path", "explain"]

log = logging.getLogger("tether_hooks.platforms.discord")

NOT_DISCORD = "check api_base (Discord's REST API: https://discord.com/api/v10) and the proxy"
MAX_429 = 5  # 429s in a row before a call gives up


class DiscordApiError(BridgeError):
    """Discord refused a call: its HTTP ``status`` and JSON error ``code``."""

    def __init__(self, message: str, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class DiscordAuthError(BridgeAuthError):
    """A refused token, a gone webhook, a channel the bot cannot see: nothing works until
    the user fixes it (status and doctor say how)."""

    def __init__(self, message: str, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def emoji_path(emoji: str) -> str:
    """An emoji as a path segment (``⏱️`` -> ``%E2%8F%B1%EF%B8%8F``)."""
    return quote(emoji, safe="")


def explain(what: str, status: int, body: object, channel: str | None,
            mask: Callable[[str], str]) -> DiscordApiError | DiscordAuthError:
    """A failed call as a one-line error saying what to do."""
    data = body if isinstance(body, Mapping) else {}
    code = data.get("code") if isinstance(data.get("code"), int) else None
    said = mask(str(data.get("message") or f"HTTP {status}"))[:200]
    where = f"channel {channel}" if channel else "the channel"
    auth = False
    if status == 401 and code in (50027, None, 0) and "webhook" in what:
        text, auth = (f"cannot {what}: the webhook's token was refused ({said}): copy the "
                      "webhook URL again and run `tether-hooks setup discord --webhook-url ...`",
                      True)
    elif status == 401:
        text, auth = (f"cannot {what}: Discord refused the bot token ({said}): reset it "
                      "(Developer Portal > your app > Bot > Reset Token) and run "
                      "`tether-hooks setup discord --bot-token ...`", True)
    elif code == 10015:
        text, auth = (f"cannot {what}: the webhook is gone (Unknown Webhook): create one "
                      "(channel settings > Integrations > Webhooks) and run "
                      "`tether-hooks setup discord --webhook-url ...`", True)
    elif code in (10003, 50001) or (status == 403 and code is None):
        text, auth = (f"cannot {what}: the bot cannot see {where} ({said}): invite it to the "
                      "server and give it View Channel and Read Message History there", True)
    elif code == 50013:
        text = (f"cannot {what}: the bot lacks a permission in {where} ({said}): give it "
                "Add Reactions, Read Message History, Send Messages and Manage Messages")
    elif status == 404 and code is None:
        text, auth = f"cannot {what}: not found (HTTP 404): {NOT_DISCORD}", True
    else:
        detail = _form_errors(data.get("errors"))
        text = f"cannot {what}: {said}" + (f" ({detail})" if detail else "")
    return (DiscordAuthError if auth else DiscordApiError)(mask(text), status, code)


def _form_errors(errors: object, path: str = "") -> str:
    """Discord's nested ``errors`` (Invalid Form Body) as ``content: Must be 2000...``."""
    if not isinstance(errors, Mapping):
        return ""
    found = errors.get("_errors")
    if isinstance(found, list) and found and isinstance(found[0], Mapping):
        return f"{path or 'body'}: {str(found[0].get('message', ''))[:120]}"
    for key, value in errors.items():
        inner = _form_errors(value, f"{path}.{key}" if path else str(key))
        if inner:
            return inner
    return ""


class Rest:
    """Bot-token calls to ``api_base`` through one httpx client, within the rate limits."""

    def __init__(self, api_base: str, token: str | None, *, timeout: float,
                 proxy: str | None, retries: int, max_retry_after: float,
                 limits: RateLimits, mask: Callable[[str], str], channel: str | None) -> None:
        self.api_base = api_base.rstrip("/")
        self.limits = limits
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.mask = mask
        self.channel = channel
        self.calls = 0  # made (for the bench and the idle-cost test)
        headers = {"User-Agent": f"DiscordBot (https://github.com/tether-hooks, {__version__})"}
        if token:
            headers["Authorization"] = f"Bot {token}"
        self.client = httpx.AsyncClient(headers=headers, timeout=timeout, proxy=proxy,
                                        follow_redirects=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, what: str, *, json_body: object = None,
                   params: Mapping[str, str | int] | None = None, once: bool = False,
                   bot: bool = True) -> Any:
        """The JSON answer of a call (None for 204); BridgeError saying what to do."""
        route = route_of(method, path)
        failures = limited = 0
        while True:
            wait = self.limits.delay(route, bot=bot)
            if wait > self.max_retry_after:
                raise RateLimited(f"cannot {what}: Discord asks us to wait {wait:.0f} s", wait)
            if wait > 0:
                self.limits.waited += wait
                await asyncio.sleep(wait)
            self.calls += 1
            try:
                response = await self.client.request(
                    method, f"{self.api_base}{path}", json=json_body,
                    params=dict(params) if params else None)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol,
                    httpx.InvalidURL, httpx.LocalProtocolError) as exc:
                failures += 1  # never reached Discord: safe to try again
                if failures > self.retries or isinstance(exc, (httpx.UnsupportedProtocol,
                                                               httpx.InvalidURL)):
                    raise BridgeError(self.mask(
                        f"cannot {what}: cannot reach Discord ({type(exc).__name__}: {exc}); "
                        f"{NOT_DISCORD}")) from None
                await asyncio.sleep(0.5 * failures)
                continue
            except httpx.HTTPError as exc:
                failures += 1
                if once:
                    raise DeliveryUnknown(self.mask(
                        f"cannot {what}: the answer was lost ({type(exc).__name__}); it may "
                        "have been posted")) from None
                if failures > self.retries:
                    raise BridgeError(self.mask(
                        f"cannot {what}: {type(exc).__name__}: {exc}")) from None
                await asyncio.sleep(0.5 * failures)
                continue
            body = _body(response)
            retry = self.limits.note(route, response.status_code, response.headers, body,
                                     bot=bot)
            if retry is not None:
                limited += 1
                if retry > self.max_retry_after or limited > MAX_429:
                    raise RateLimited(f"cannot {what}: Discord asks us to wait {retry:.0f} s",
                                      retry)
                continue  # the wait is taken from the limits at the top of the loop
            if response.status_code >= 500:
                failures += 1
                if once:
                    raise DeliveryUnknown(self.mask(
                        f"cannot {what}: Discord answered HTTP {response.status_code}; it "
                        "may have been posted"))
                if failures > self.retries:
                    raise BridgeError(self.mask(
                        f"cannot {what}: Discord answered HTTP {response.status_code}"))
                await asyncio.sleep(0.5 * failures)
                continue
            if response.status_code == 204:
                return None
            if body is _NOT_JSON:
                raise BridgeError(self.mask(
                    f"cannot {what}: the answer (HTTP {response.status_code}) is not "
                    f"Discord's; {NOT_DISCORD}"))
            if response.status_code >= 300:
                raise explain(what, response.status_code, body, self.channel, self.mask)
            return body


_NOT_JSON = object()


def _body(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        return _NOT_JSON

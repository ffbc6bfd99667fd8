"""Posting and editing through the webhook with discord-webhook (requests, in a thread).

The library's quirks (``sdk-quirks.md``): ``execute`` json-decodes every answer, its own
429 retry raises ``http.client.HTTPException`` without a ``Via`` header and crashes when the
retried call then fails. So the request is built by the library (``api_post_request`` /
``edit``, always ``?wait=true``: Discord then answers with the message) and the answer is
read here: a 429 is waited out within the shared rate limits and tried again (it was
refused, not posted); a post whose answer was lost is not repeated (``DeliveryUnknown``).
The webhook URL's token never reaches a message: every error is masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests
from discord_webhook import DiscordWebhook
from urllib3.exceptions import NewConnectionError

from tether_hooks.platforms.base import BridgeError, DeliveryUnknown, RateLimited
from tether_hooks.platforms.discord_limits import RateLimits, route_of
from tether_hooks.platforms.discord_rest import MAX_429, explain

__all__ = ["Poster"]

logging.getLogger("discord_webhook").setLevel(logging.CRITICAL)  # it logs bodies and URLs



def _not_sent(exc: BaseException) -> bool:
    """Did the request certainly not reach Discord (no connection was made)?"""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.InvalidURL |
                  requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(
        reason, NewConnectionError)


class Poster:
    """The webhook of ``url``: post, edit and read its own messages."""

    def __init__(self, url: str, *, username: str, timeout: float, proxy: str | None,
                 retries: int, max_retry_after: float, limits: RateLimits,
                 mask: Callable[[str], str]) -> None:
        self.url = url
        self.username = username
        self.timeout = timeout
        self.proxies = {"http": proxy, "https": proxy} if proxy else None
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.limits = limits
        self.mask = mask
        self.calls = 0

    def _hook(self, payload: Mapping[str, Any], message_id: str | None = None
              ) -> DiscordWebhook:
        hook = DiscordWebhook(
            url=self.url, content=payload.get("content") or None, username=self.username,
            embeds=list(payload.get("embeds") or []), allowed_mentions={"parse": []},
            timeout=self.timeout, rate_limit_retry=False, wait=True, id=message_id)
        if self.proxies:
            hook.set_proxies(self.proxies)
        if "attachments" in payload:  # an edit that removes the files: []
            hook.attachments = list(payload["attachments"])
        for name, data in payload.get("files") or ():
            hook.add_file(file=data, filename=name)
        return hook

    async def execute(self, what: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Post a message (``content``, ``embeds``, ``files`` [(name, bytes)]); its JSON."""
        return await self._send(what, payload, None)

    async def edit(self, what: str, message_id: str, payload: Mapping[str, Any]
                   ) -> dict[str, Any]:
        return await self._send(what, payload, message_id)

    async def _send(self, what: str, payload: Mapping[str, Any], message_id: str | None
                    ) -> dict[str, Any]:
        path = "/webhooks/:hook" + ("/messages/:id" if message_id else "")
        route = route_of("PATCH" if message_id else "POST", path)
        once = message_id is None
        failures = limited = 0
        while True:
            wait = self.limits.delay(route, bot=False)
            if wait > self.max_retry_after:
                raise RateLimited(f"cannot {what}: Discord asks us to wait {wait:.0f} s", wait)
            if wait > 0:
                self.limits.waited += wait
                await asyncio.sleep(wait)
            hook = self._hook(payload, message_id)
            self.calls += 1
            try:
                response = await asyncio.to_thread(
                    hook.edit if message_id else hook.api_post_request)
            except (requests.exceptions.RequestException, OSError, ValueError) as exc:
                if _not_sent(exc):
                    failures += 1
                    if failures > self.retries:
                        raise BridgeError(self.mask(
                            f"cannot {what}: cannot reach Discord ({type(exc).__name__}: "
                            f"{exc})")) from None
                    await asyncio.sleep(0.5 * failures)
                    continue
                if once:
                    raise DeliveryUnknown(self.mask(
                        f"cannot {what}: the answer was lost ({type(exc).__name__}); it may "
                        "have been posted")) from None
                failures += 1
                if failures > self.retries:
                    raise BridgeError(self.mask(
                        f"cannot {what}: {type(exc).__name__}: {exc}")) from None
                continue
            try:
                body: Any = json.loads(response.content) if response.content else None
            except (ValueError, RecursionError):
                body = None
            retry = self.limits.note(route, response.status_code, response.headers, body,
                                     bot=False)
            if retry is not None:
                limited += 1
                if retry > self.max_retry_after or limited > MAX_429:
                    raise RateLimited(f"cannot {what}: Discord asks us to wait {retry:.0f} s",
                                      retry)
                continue
            if response.status_code >= 500 or (response.ok and not isinstance(body, dict)):
                if once:
                    raise DeliveryUnknown(self.mask(
                        f"cannot {what}: Discord answered HTTP {response.status_code} without "
                        "the message; it may have been posted"))
                failures += 1
                if failures > self.retries:
                    raise BridgeError(self.mask(
                        f"cannot {what}: Discord answered HTTP {response.status_code}"))
                continue
            if not response.ok:
                raise explain(f"{what} (webhook)", response.status_code, body, None, self.mask)
            assert isinstance(body, dict)
            return body

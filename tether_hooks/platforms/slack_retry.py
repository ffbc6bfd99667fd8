"""Which failed Web API calls may be tried again, and the one place calls are made.

slack_sdk's default retry handler re-sends a call whose connection dropped, so a
``chat.postMessage`` Slack did carry out is posted twice (``tests/emulators/slack_clients``).
Here a call that posts something (``ONCE``) is repeated only when it certainly did not
reach Slack: a 429 (refused; waited out up to ``max_retry_after``) or a connection that
never opened. Anything else after the request went out (a dropped connection, a read
timeout, a 5xx answer) raises :class:`DeliveryUnknown`, so the channel never shows two
copies. Edits and reads are idempotent: they are also retried on those errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from tether_hooks.platforms.base import BridgeError, DeliveryUnknown
from tether_hooks.platforms.slack_errors import NOT_SLACK, Where, map_error, not_slack, short_reason

__all__ = ["NOT_SENT", "ONCE", "call", "retry_handlers"]

log = logging.getLogger("tether_hooks.platforms.slack")

# Methods whose repetition shows the user a second message.
ONCE = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"})
# What slack_sdk and aiohttp raise reading an answer that is no JSON object (a list, a
# string, text/plain, bytes that are not UTF-8, nesting too deep), once the request went out.
UNREADABLE: tuple[type[BaseException], ...] = (AttributeError, LookupError, UnicodeDecodeError,
                                               RecursionError)
# aiohttp errors raised before a byte of the request reached the server
NOT_SENT: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,
                                             aiohttp.ConnectionTimeoutError,
                                             aiohttp.InvalidURL)


def _method(request: HttpRequest) -> str:
    return request.url.rsplit("/", 1)[-1].split("?", 1)[0]


def _retry_after(response: HttpResponse) -> float:
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) and value else value
            try:
                return float(str(first))
            except ValueError:
                return 1.0
    return 1.0


class _Certain(AsyncRetryHandler):
    """A call that certainly did not take effect (no connection), or any failed call that
    may be repeated safely (not ``ONCE``): a dropped connection, a timeout, a 5xx."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        repeatable = _method(request) not in ONCE
        if error is not None:
            if isinstance(error, NOT_SENT):
                return True
            return repeatable and isinstance(error, aiohttp.ClientError | TimeoutError)
        return repeatable and response is not None and response.status_code >= 500


class _RateLimited(AsyncRateLimitErrorRetryHandler):
    """A 429 waited out (``Retry-After`` + up to 1 s), unless it asks for more than ``cap``."""

    def __init__(self, max_retry_count: int, cap: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.cap = cap

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response)
        if wait > self.cap:
            return False
        log.info("slack: rate limited, waiting %g s to call %s", wait, _method(request))
        return True


def retry_handlers(retries: int, max_retry_after: float) -> list[AsyncRetryHandler]:
    """The handlers of the bridge's web client (instead of slack_sdk's defaults)."""
    return [_Certain(max_retry_count=retries),
            _RateLimited(max_retry_count=max(retries, 3), cap=max_retry_after)]


async def call(what: str, fn: Callable[..., Awaitable[Any]], *args: Any, where: Where,
               once: bool = False, app: bool = False, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (a web client method; retries happen inside it) with its
    failure mapped to a BridgeError; ``once``: a lost answer raises DeliveryUnknown. An
    answer that is not a JSON object is a failure too (BridgeError naming api_base)."""
    try:
        answer = await fn(*args, **kwargs)
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", 200)
        if once and status >= 500:  # a gateway's 5xx may come after Slack posted it
            raise _unknown(what, f"HTTP {status}", where) from exc
        raise map_error(exc, what, where, app=app) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        if once and not isinstance(exc, NOT_SENT):
            raise _unknown(what, short_reason(exc), where) from exc
        raise map_error(exc, what, where, app=app) from exc
    except UNREADABLE as exc:
        why = f"{type(exc).__name__}: {str(exc)[:80]}"
        if once:
            raise _unknown(what, f"its answer is not Slack's: {why}", where) from exc
        raise BridgeError(where.mask(not_slack(what, why))) from exc
    except ValueError as exc:  # refused before sending: a URL, a header (a token's line break)
        raise BridgeError(where.mask(
            f"cannot ask Slack to {what} ({short_reason(exc)}): check the tokens, {NOT_SLACK}"
        )) from exc
    if not isinstance(getattr(answer, "data", None), dict):  # bytes (an application/gzip page)
        if once:
            raise _unknown(what, "its answer is not Slack's", where)
        raise BridgeError(where.mask(not_slack(what, type(answer.data).__name__)))
    return answer


def _unknown(what: str, why: str, where: Where) -> DeliveryUnknown:
    return DeliveryUnknown(where.mask(
        f"Slack may or may not have done this ({why}): not trying again to {what}, so that "
        "nothing is posted twice"))

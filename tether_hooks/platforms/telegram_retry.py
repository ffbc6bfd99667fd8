"""Which failed Bot API calls may be tried again, and the retry loop itself.

A call that creates something (``once``: sendMessage, createForumTopic) is repeated only
when it certainly did not reach Telegram: a 429 (Telegram refused it; waited out up to
``max_retry_after``) or a connection that never opened (refused, connect or pool timeout).
Anything else after the request went out (a read timeout, a dropped connection, a 5xx
answer: a gateway's 502 may come after the Bot API did the call) raises
:class:`DeliveryUnknown` and is not repeated, so the chat never shows two copies. Edits,
callback answers and the like are idempotent: they are also retried on those errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from tether_hooks.platforms.base import DeliveryUnknown
from tether_hooks.platforms.telegram_config import TelegramSettings
from tether_hooks.platforms.telegram_errors import map_error, retry_seconds, short_reason

__all__ = ["call", "never_arrived"]

log = logging.getLogger("tether_hooks.platforms.telegram")

# httpx errors raised before a byte of the request reached the server
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def never_arrived(exc: NetworkError) -> bool:
    """Did ``exc`` happen before the request could reach the Bot API? (PTB raises a 5xx
    answer as a NetworkError caused by nothing, or by the TelegramError of an unparsable
    body such as nginx's 502 page: the request did arrive, and may have been done.)"""
    return isinstance(exc.__cause__, _NOT_SENT)


async def call(settings: TelegramSettings, what: str, fn: Callable[..., Awaitable[Any]],
               *args: Any, retries: int | None = None, once: bool = False,
               **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with 429s waited out and failures that certainly did not
    take effect retried with backoff; ``once``: a lost answer raises DeliveryUnknown."""
    s, delay = settings, settings.retry_delay
    retries = s.retries if retries is None else retries
    for attempt in range(retries + 1):
        try:
            return await fn(*args, **kwargs)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if wait > s.max_retry_after or attempt == retries:
                raise map_error(exc, what, s.bot_token) from exc
            log.info("telegram: flood control, waiting %g s to %s", wait, what)
            await asyncio.sleep(wait)
        except BadRequest as exc:
            raise map_error(exc, what, s.bot_token) from exc
        except NetworkError as exc:  # 5xx, timeouts, refused or dropped connections
            if once and not never_arrived(exc):
                raise DeliveryUnknown(
                    f"Telegram may or may not have done this ({short_reason(exc)}): not "
                    f"trying again to {what}, so that nothing is posted twice"
                ) from exc
            if attempt == retries:
                raise map_error(exc, what, s.bot_token) from exc
            log.info("telegram: %s failed (%s), retrying in %g s", what, short_reason(exc), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        except TelegramError as exc:
            raise map_error(exc, what, s.bot_token) from exc
    raise AssertionError("unreachable")

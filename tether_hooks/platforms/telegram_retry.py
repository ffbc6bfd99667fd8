"""Which failed Bot API calls may be tried again, and the retry loop itself.

A call is repeated only when it certainly did not take effect: a 429 (Telegram refused it;
waited out up to ``max_retry_after``), an error the Bot API answered (5xx: it says the
call failed), or a connection that never opened (connect error or timeout, pool timeout).
When the request went out and no answer came back (read timeout, connection dropped), a
call that creates something (``once``: sendMessage, createForumTopic) may have been done:
it raises :class:`DeliveryUnknown` and is not repeated (no second copy in the chat). Edits,
callback answers and the like are idempotent and are retried as network errors."""

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
    """Did ``exc`` happen before the request could reach the Bot API, or did the Bot API
    answer it with an error (PTB raises a 5xx answer as NetworkError, caused by nothing or
    by the TelegramError of an unparsable body: nginx's 502 page)?"""
    cause = exc.__cause__
    return cause is None or isinstance(cause, (TelegramError, *_NOT_SENT))


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

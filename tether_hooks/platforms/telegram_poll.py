"""The getUpdates long poll: its health (for ``status``), its request (held updates, a
401/403/404 retried rather than the end of polling, the lease's gate when several machines
share the bot), and restarting it should PTB's polling task end anyway."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from tether_hooks.models import BridgeHealth, HealthState
from tether_hooks.platforms.base import POLL_GUARD, Lease, redact
from tether_hooks.platforms.telegram_errors import short_reason

__all__ = ["PollFenced", "PollHealth", "PollRejected", "PollRequest", "polling_alive",
           "restart_polling"]

log = logging.getLogger("tether_hooks.platforms.telegram")

POLL_TASK = "Updater:start_polling:polling_task"  # PTB's name for its polling task
GATE_STEP = 0.1  # seconds between looks at a lease that does not allow a poll yet
_EMPTY = b'{"ok":true,"result":[]}'


def polling_alive() -> bool:
    """Is PTB's polling task still there? (It ends for good on errors it deems fatal.)"""
    return any(t.get_name() == POLL_TASK and not t.done() for t in asyncio.all_tasks())


async def restart_polling(app: Any, token: str, start: Callable[[], Awaitable[None]]) -> None:
    """Stop what is left of PTB's poller (``app.updater``) and ``start`` it again."""
    log.error("telegram: polling stopped; starting it again")
    try:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
    except Exception as exc:  # the ended task's own error comes back here
        log.info("telegram: the old poller ended with: %s", redact(repr(exc), [token]))
    await start()


class PollRejected(NetworkError):
    """getUpdates answered 401/403/404: the token was rejected, or a self-hosted Bot API
    server or proxy is restarting. Raised as a network error, so PTB's polling loop retries
    it with its capped backoff instead of stopping for good (it gives up on InvalidToken)."""


class PollFenced(NetworkError):
    """What was fetched could not be held under the lease (this machine no longer leads,
    or the shared store failed): PTB retries, and Telegram sends those updates again."""


def _backoff(interval: float) -> float:
    """PTB's ``network_retry_loop`` wait after an error: 1 s, then x1.5 up to 30 s."""
    return 1.0 if interval == 0 else min(30.0, 1.5 * interval)


class PollHealth:
    """What the long poll has seen lately, summed up by :meth:`report` (which goes to the
    health file and ``tether-hooks status``: errors are kept with the token blanked).

    It follows PTB's retry loop (``network_retry_loop``) to say when the next poll comes:
    after an error 1 s, then 1.5 times longer each time up to 30 s; after a 429 its
    ``retry_after`` + 0.5 s; after a timeout at once."""

    def __init__(self, token: str = "") -> None:
        self.token = token
        self.polling = False
        self.closed = False
        self.last_poll_ok: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.problem: str | None = None  # what fails now, for status ("token rejected (401)")
        self.auth_failed = False
        self.conflicts = 0
        self.last_conflict_at: float | None = None
        self.interval = 0.0  # PTB's wait before its next poll
        self.failures = 0  # in a row

    def polled(self, code: int, retry_after: float | None = None) -> None:
        now = time.time()
        if 200 <= code < 300:
            self.last_poll_ok, self.auth_failed, self.problem = now, False, None
            self.interval, self.failures = 0.0, 0
            return
        if code == 409:
            if self.polling:  # PTB's last getUpdates on stop cuts its own long poll: not ours
                self.conflicts += 1
                self.last_conflict_at = now
            self.interval = _backoff(self.interval)
            return
        self.failures += 1
        self.auth_failed = code in (401, 403, 404)
        if code == 429 and retry_after is not None:
            self.interval = retry_after + 0.5
            self.problem = f"flood control (429), waiting {retry_after:g} s"
        else:
            self.interval = _backoff(self.interval)
            self.problem = {401: "token rejected (401)", 403: "forbidden (403)",
                            404: "not found (404): check the token and api_base"}.get(
                code, f"the Bot API answered HTTP {code}")
        self.last_error, self.last_error_at = f"getUpdates answered HTTP {code}", now

    def failed(self, exc: BaseException) -> None:
        from telegram.error import TimedOut

        self.failures += 1
        self.last_error = redact(f"getUpdates failed: {exc!r}", [self.token])
        self.last_error_at = time.time()
        if isinstance(exc, TimedOut):
            self.interval = 0.0
            self.problem = "timed out"
        else:
            self.interval = _backoff(self.interval)
            self.problem = redact(f"cannot reach the Bot API ({short_reason(exc)})", [self.token])

    def report(self, conflict_window: float = 0.0) -> BridgeHealth:
        """``state``: ok, conflict (a 409 since the last good poll), auth (401/403/404),
        error (any other failure since the last good poll), or starting."""
        at = self.last_conflict_at
        conflict = at is not None and (self.last_poll_ok is None or at > self.last_poll_ok)
        failing = self.last_error_at is not None and (
            self.last_poll_ok is None or self.last_error_at > self.last_poll_ok
        )
        retry = f", retrying in {max(1, round(self.interval))} s" if self.interval else (
            ", retrying now")
        state: HealthState
        if self.closed:
            state, detail = "error", "closed"
        elif not self.polling:
            state, detail = "starting", "connecting"
        elif conflict:
            state, detail = "conflict", (
                "another program is polling this bot token (409 Conflict): stop the other "
                "listener or bot, or give tether-hooks a bot of its own"
            )
        elif failing and self.auth_failed:
            state, detail = "auth", f"{self.problem}{retry}"
        elif failing:
            state, detail = "error", f"{self.problem or self.last_error}{retry}"
        else:
            state, detail = "ok", "polling"
        return {
            "state": state,
            "detail": detail,
            "conflict": conflict,
            "conflicts": self.conflicts,
            "last_conflict_at": self.last_conflict_at,
            "last_poll_at": self.last_poll_ok,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "failures": self.failures,
        }


class PollRequest(HTTPXRequest):
    """The getUpdates connection, watched for health (409s, failures, recoveries). A 401,
    403 or 404 is raised as :class:`PollRejected` (retried, never the end of polling), and
    the updates of a good answer go to ``on_fetched`` before PTB sees them (and so before
    Telegram hears they were received).

    With a ``lease`` (several machines, one bot) a getUpdates is sent only once the lease
    allows its whole ``timeout`` + ``POLL_GUARD``: until then it waits (the polling task
    can be stopped meanwhile); a closing bridge's last call (PTB's confirmation) is answered
    empty here instead, so Telegram gives those updates to the next leader. A 409 is told to
    the lease, and updates that cannot be held raise :class:`PollFenced`."""

    def __init__(self, health: PollHealth, on_fetched: Any = None, *,
                 lease: Lease | None = None, poll_timeout: float = 10.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._health = health
        self.on_fetched = on_fetched
        self.lease = lease
        self.poll_timeout = poll_timeout  # when the call does not say

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.lease is not None and not await self._allowed(self.lease, args, kwargs):
            return 200, _EMPTY
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except Exception as exc:
            self._health.failed(exc)
            raise
        retry_after = None
        if code == 429:
            retry_after = _retry_after(payload)
        self._health.polled(code, retry_after)
        if code == 409 and self.lease is not None and not self._health.closed:
            self.lease.conflict()
        if code in (401, 403, 404):
            raise PollRejected(f"{self._health.problem}: {_description(payload)}")
        if 200 <= code < 300 and self.on_fetched is not None:
            if self.lease is None:
                await self.on_fetched(payload)
            else:
                try:
                    await self.on_fetched(payload)
                except Exception as exc:
                    raise PollFenced(f"cannot hold the fetched updates under the lease "
                                     f"({type(exc).__name__})") from None
        return code, payload

    async def _allowed(self, lease: Lease, args: tuple[Any, ...], kwargs: dict[str, Any]
                       ) -> bool:
        """Wait until ``lease`` allows this call; False: a closing bridge's call, not sent."""
        data = kwargs.get("request_data", args[2] if len(args) > 2 else None)
        timeout = getattr(data, "parameters", {}).get("timeout", self.poll_timeout)
        seconds = (float(timeout) if isinstance(timeout, (int, float)) else self.poll_timeout
                   ) + POLL_GUARD
        while not lease.allows(seconds):
            if self._health.closed:
                return False
            await asyncio.sleep(GATE_STEP)
        return True


def _retry_after(payload: bytes) -> float | None:
    try:
        value = json.loads(payload).get("parameters", {}).get("retry_after")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _description(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("description"))[:200]
    except (ValueError, AttributeError):
        return payload[:200].decode("utf-8", "replace")

"""PTB errors mapped to BridgeErrors, and the health of the getUpdates long poll."""

from __future__ import annotations

import json
import time
import warnings
from datetime import timedelta
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from tether_hooks.platforms.base import BridgeAuthError, BridgeError, RateLimited, redact

__all__ = ["PollHealth", "PollRejected", "PollRequest", "map_error", "retry_seconds"]


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def map_error(exc: TelegramError, what: str, token: str = "") -> BridgeError:
    """The BridgeError for a PTB error met while trying to ``what`` ("send a message")."""
    text = redact(str(getattr(exc, "message", exc)), [token])
    low = text.lower()
    if isinstance(exc, RetryAfter):
        wait = retry_seconds(exc)
        return RateLimited(f"Telegram flood control: wait {wait:g} s, then {what}", wait)
    if isinstance(exc, InvalidToken):
        return BridgeAuthError(
            f"Telegram rejected the bot token ({text}): check bot_token in config.toml "
            "or run `tether-hooks setup telegram --token ...`"
        )
    if isinstance(exc, Forbidden):
        return BridgeAuthError(
            f"the bot may not {what} ({text}): add it to the chat (or unblock it) and check chat_id"
        )
    if isinstance(exc, ChatMigrated):
        return BridgeError(
            f"the group became a supergroup: set chat_id = {exc.new_chat_id} in [telegram]"
        )
    if isinstance(exc, Conflict):
        return BridgeError(
            f"another program is polling this bot token ({text}): stop it (another "
            "tether-hooks listener, or the official Telegram plugin) or use another bot"
        )
    if isinstance(exc, EndPointNotFound):
        return BridgeError(f"the Bot API server has no such method ({text}): check api_base")
    if isinstance(exc, BadRequest):
        if "chat not found" in low:
            return BridgeAuthError(
                f"Telegram cannot {what}: chat not found; check chat_id and that the bot is a "
                "member of the chat"
            )
        if "rights" in low or "not an administrator" in low:
            return BridgeAuthError(
                f"the bot lacks the rights to {what} ({text}): make it an admin of the chat "
                "(with Manage Topics in forum mode)"
            )
        if "not a forum" in low:
            return BridgeError(
                "forum = true but the chat has no topics: enable Topics in the group or set "
                "forum = false"
            )
        return BridgeError(f"Telegram refused to {what}: {text}")
    if isinstance(exc, TimedOut):
        return BridgeError(f"Telegram did not answer in time to {what}: {text}")
    if isinstance(exc, NetworkError):
        return BridgeError(
            f"cannot reach the Telegram Bot API to {what} ({_short(exc)}); check the network "
            "and api_base"
        )
    return BridgeError(f"Telegram error trying to {what}: {text}")


class PollRejected(NetworkError):
    """getUpdates answered 401/403/404: the token was rejected, or a self-hosted Bot API
    server or proxy is restarting. Raised as a network error, so PTB's polling loop retries
    it with its capped backoff instead of stopping for good (it gives up on InvalidToken)."""


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
            self.problem = redact(f"cannot reach the Bot API ({_short(exc)})", [self.token])

    def report(self, conflict_window: float = 0.0) -> dict[str, Any]:
        """``state``: ok, conflict (a 409 since the last good poll), auth (401/403/404),
        error (any other failure since the last good poll), or starting."""
        at = self.last_conflict_at
        conflict = at is not None and (self.last_poll_ok is None or at > self.last_poll_ok)
        failing = self.last_error_at is not None and (
            self.last_poll_ok is None or self.last_error_at > self.last_poll_ok
        )
        retry = f", retrying in {max(1, round(self.interval))} s" if self.interval else (
            ", retrying now")
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


def _short(exc: BaseException) -> str:
    """``connection refused`` rather than a chain of wrapped exception reprs."""
    text = str(getattr(exc, "message", exc) or type(exc).__name__)
    low = text.lower()
    if "connection refused" in low or "connecterror" in low or "connection attempts" in low:
        return "connection refused"
    if "remoteprotocolerror" in low or "disconnected" in low or "reset" in low:
        return "connection dropped"
    return text[:160]


class PollRequest(HTTPXRequest):
    """The getUpdates connection, watched for health (409s, failures, recoveries). A 401,
    403 or 404 is raised as :class:`PollRejected` (retried, never the end of polling), and
    the updates of a good answer go to ``on_fetched`` before PTB sees them (and so before
    Telegram hears they were received)."""

    def __init__(self, health: PollHealth, on_fetched: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._health = health
        self.on_fetched = on_fetched

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except Exception as exc:
            self._health.failed(exc)
            raise
        retry_after = None
        if code == 429:
            retry_after = _retry_after(payload)
        self._health.polled(code, retry_after)
        if code in (401, 403, 404):
            raise PollRejected(f"{self._health.problem}: {_description(payload)}")
        if 200 <= code < 300 and self.on_fetched is not None:
            await self.on_fetched(payload)
        return code, payload


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

"""PTB errors mapped to BridgeErrors, and the health of the getUpdates long poll."""

from __future__ import annotations

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

__all__ = ["PollHealth", "PollRequest", "map_error", "retry_seconds"]


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
            f"cannot reach the Telegram Bot API to {what}: {text}; check the network and api_base"
        )
    return BridgeError(f"Telegram error trying to {what}: {text}")


class PollHealth:
    """What the long poll has seen lately, summed up by :meth:`report` (which goes to the
    health file and ``tether-hooks status``: errors are kept with the token blanked)."""

    def __init__(self, token: str = "") -> None:
        self.token = token
        self.polling = False
        self.closed = False
        self.last_poll_ok: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.auth_failed = False
        self.conflicts = 0
        self.last_conflict_at: float | None = None

    def polled(self, code: int) -> None:
        now = time.time()
        if 200 <= code < 300:
            self.last_poll_ok, self.auth_failed = now, False
        elif code == 409:
            if self.polling:  # PTB's last getUpdates on stop cuts its own long poll: not ours
                self.conflicts += 1
                self.last_conflict_at = now
        else:
            self.auth_failed = code in (401, 404)
            self.last_error, self.last_error_at = f"getUpdates answered HTTP {code}", now

    def failed(self, exc: BaseException) -> None:
        self.last_error = redact(f"getUpdates failed: {exc!r}", [self.token])
        self.last_error_at = time.time()

    def report(self, conflict_window: float) -> dict[str, Any]:
        """``state``: ok, conflict (a 409 within the window), auth, error, or starting."""
        now = time.time()
        at = self.last_conflict_at
        conflict = at is not None and now - at < conflict_window
        failing = self.last_error_at is not None and (
            self.last_poll_ok is None or self.last_error_at > self.last_poll_ok
        )
        if self.closed:
            state, detail = "error", "closed"
        elif not self.polling:
            state, detail = "starting", "connecting"
        elif conflict:
            state, detail = "conflict", (
                "another program is polling this bot token (409 Conflict): stop the other "
                "listener or bot, or give tether-hooks a bot of its own"
            )
        elif self.auth_failed:
            state, detail = "auth", "Telegram rejected the bot token"
        elif failing:
            state, detail = "error", f"cannot poll Telegram, retrying: {self.last_error}"
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
        }


class PollRequest(HTTPXRequest):
    """The getUpdates connection, watched for health (409s, failures, recoveries)."""

    def __init__(self, health: PollHealth, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._health = health

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except Exception as exc:
            self._health.failed(exc)
            raise
        self._health.polled(code)
        return code, payload

"""PTB errors mapped to BridgeErrors."""

from __future__ import annotations

import warnings
from datetime import timedelta

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

from tether_hooks import bounds
from tether_hooks.platforms.base import BridgeAuthError, BridgeError, RateLimited, redact

__all__ = ["map_error", "retry_seconds", "short_reason"]


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
            f"cannot reach the Telegram Bot API to {what} ({short_reason(exc)}); check the network "
            "and api_base"
        )
    return BridgeError(f"Telegram error trying to {what}: {text}")


def short_reason(exc: BaseException) -> str:
    """``connection refused`` rather than a chain of wrapped exception reprs."""
    text = str(getattr(exc, "message", exc) or type(exc).__name__)
    low = text.lower()
    if "connection refused" in low or "connecterror" in low or "connection attempts" in low:
        return "connection refused"
    if "remoteprotocolerror" in low or "disconnected" in low or "reset" in low:
        return "connection dropped"
    return bounds.keep(text, 160)  # whole words: a URL holding the bot token is never cut open

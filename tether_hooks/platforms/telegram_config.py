"""The ``[telegram]`` section of config.toml, checked; no SDK import (setup uses it too)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tether_hooks.config import numbers_in
from tether_hooks.errors import ConfigError

__all__ = [
    "DEFAULT_API_BASE",
    "THREAD_KEY",
    "TelegramSettings",
    "file_url",
    "settings",
    "token_from_env",
]

DEFAULT_API_BASE = "https://api.telegram.org/bot"
THREAD_KEY = "telegram_thread_id"  # where a session's forum topic is kept
_SETUP = "run `tether-hooks setup telegram --token ... --chat-id ... --allow-user ...`"


@dataclass(frozen=True)
class TelegramSettings:
    """Checked settings; ``chat_id`` is an int or an ``@channelname``."""

    bot_token: str
    chat_id: int | str
    allowed_user_ids: tuple[int, ...]
    api_base: str = DEFAULT_API_BASE
    base_file_url: str = "https://api.telegram.org/file/bot"
    forum: bool = False
    poll_timeout: int = 10
    retries: int = 4
    retry_delay: float = 1.0
    max_retry_after: float = 60.0
    send_timeout: float = 20.0  # seconds to wait for an answer to a call (not the long poll)


def token_from_env() -> str | None:
    """``TELEGRAM_BOT_TOKEN`` from the environment, if set."""
    return os.environ.get("TELEGRAM_BOT_TOKEN", "").strip() or None


def file_url(api_base: str) -> str:
    """The file URL matching an API base: ``http://h:p/bot`` -> ``http://h:p/file/bot``."""
    base = api_base.rstrip("/")
    i = base.rfind("/bot")
    return f"{base[:i]}/file{base[i:]}" if i >= 0 else f"{base}/file/bot"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def chat_id_of(value: object) -> int | str | None:
    """An int chat id, or ``@name`` for a public channel or group; None if neither."""
    number = _int(value)
    if number is not None:
        return number
    if isinstance(value, str) and re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}", value.strip()):
        return value.strip()
    return None


def settings(
    section: Mapping[str, object] | None, path: str = "config.toml", *, need_users: bool = True
) -> TelegramSettings:
    """Check a ``[telegram]`` table; ConfigError names the file and the key."""
    section = dict(section or {})

    def bad(key: str, want: str) -> ConfigError:
        return ConfigError(f"{path}: [telegram] {key} = {section.get(key)!r} is invalid: {want}")

    token = section.get("bot_token") or token_from_env()
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(
            f"{path}: [telegram] bot_token is missing (or set TELEGRAM_BOT_TOKEN): {_SETUP}"
        )
    if "chat_id" not in section:
        raise ConfigError(f"{path}: [telegram] chat_id is missing: {_SETUP}")
    chat_id = chat_id_of(section["chat_id"])
    if chat_id is None:
        raise bad("chat_id", "give the numeric chat id (e.g. -1001234567890) or @channelname")
    users = section.get("allowed_user_ids", [])
    ids = [_int(u) for u in users] if isinstance(users, list) else [None]
    if any(i is None or i <= 0 for i in ids):
        raise bad("allowed_user_ids", "give a list of numeric Telegram user ids")
    if need_users and not ids:
        raise ConfigError(
            f"{path}: [telegram] allowed_user_ids is empty, so nobody could approve: {_SETUP}"
        )
    api_base = section.get("api_base", DEFAULT_API_BASE)
    if not isinstance(api_base, str) or not re.match(r"https?://[^/\s]+", api_base):
        raise bad("api_base", 'give the Bot API URL PTB takes, e.g. "http://127.0.0.1:8081/bot"')
    api_base = api_base.rstrip("/")
    forum = section.get("forum", False)
    if not isinstance(forum, bool):
        raise bad("forum", "use true or false")
    numbers = numbers_in(section, (
        ("poll_timeout", 10, 1, 300),
        ("retries", 4, 0, 100),
        ("retry_delay", 1.0, 0, 3600),
        ("max_retry_after", 60.0, 0, 86400),
        ("send_timeout", 20.0, 0.1, 600),
    ), bad)
    return TelegramSettings(
        bot_token=token.strip(),
        chat_id=chat_id,
        allowed_user_ids=tuple(i for i in ids if i is not None),
        api_base=api_base,
        base_file_url=str(section.get("api_file_base") or file_url(api_base)),
        forum=forum,
        poll_timeout=int(numbers["poll_timeout"]),
        retries=int(numbers["retries"]),
        retry_delay=float(numbers["retry_delay"]),
        max_retry_after=float(numbers["max_retry_after"]),
        send_timeout=float(numbers["send_timeout"]),
    )

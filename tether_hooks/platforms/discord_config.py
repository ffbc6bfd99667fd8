"""The ``[discord]`` section of config.toml, checked; no SDK import (setup uses it too).

Posting needs only ``webhook_url`` (or ``DISCORD_WEBHOOK_URL``). Receiving (reactions,
replies, commands, pairing) needs a bot: ``bot_token`` (or ``DISCORD_BOT_TOKEN``) and the
webhook's ``channel_id``. ``allowed_user_ids`` may be empty (``tether-hooks pair discord``
adds users): then nobody can decide anything from Discord.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tether_hooks.config import numbers_in
from tether_hooks.errors import ConfigError
from tether_hooks.platforms.urls import shown, url_problem

__all__ = [
    "DEFAULT_API_BASE",
    "DiscordSettings",
    "api_base_problem",
    "settings",
    "snowflake_of",
    "token_problem",
    "webhook_problem",
]

DEFAULT_API_BASE = "https://discord.com/api/v10"
_SETUP = ("run `tether-hooks setup discord --webhook-url https://discord.com/api/webhooks/... "
          "[--bot-token ... --channel ID] [--allow-user ID]`")
_SNOWFLAKE_RE = re.compile(r"[0-9]{5,20}")
_WEBHOOK_PATH_RE = re.compile(r"/webhooks/([0-9]{5,20})/([A-Za-z0-9_-]{8,})/?")
_TOKEN_RE = re.compile(r"[!-~]+")  # printable ASCII, no spaces: it goes into a header


@dataclass(frozen=True)
class DiscordSettings:
    """Checked settings: where to post, the bot that reads, who may decide."""

    webhook_url: str
    bot_token: str | None
    channel_id: str | None
    allowed_user_ids: tuple[str, ...]
    api_base: str = DEFAULT_API_BASE
    username: str = "tether-hooks"  # the name the webhook's messages show
    proxy: str | None = None
    poll_pending: float = 1.0  # seconds between reads while something waits for an answer
    poll_idle: float = 20.0  # ... while nothing does (0: no reads then; commands wait)
    max_retry_after: float = 60.0  # a longer 429 wait is not waited out: RateLimited
    send_timeout: float = 20.0  # seconds to wait for an answer to a call
    retries: int = 2  # of a call that certainly did not take effect

    @property
    def receives(self) -> bool:
        """A bot reads the channel: reactions, replies and commands decide."""
        return self.bot_token is not None and self.channel_id is not None

    @property
    def webhook_id(self) -> str:
        match = _WEBHOOK_PATH_RE.search(urlsplit(self.webhook_url).path)
        return match.group(1) if match else ""


def snowflake_of(value: object) -> str | None:
    """A Discord id (digits; an int is taken too); None for anything else (a #name)."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    return text if _SNOWFLAKE_RE.fullmatch(text) else None


def token_problem(value: str) -> str | None:
    """What is wrong with a bot token (never showing it); None when it can be sent."""
    if not _TOKEN_RE.fullmatch(value.strip()):
        return "has a space, a control character (a line break...) or a non-ASCII character in it"
    return None


def webhook_problem(value: object) -> str | None:
    """What is wrong with a webhook URL (never showing it: its last part is a secret)."""
    problem = url_problem(value)
    if problem is None and not _WEBHOOK_PATH_RE.search(urlsplit(str(value)).path):
        problem = "does not end in /webhooks/<id>/<token>"
    if problem is None and ("?" in str(value) or "#" in str(value)):
        problem = "has a query or a fragment"
    want = ("give the webhook's URL (Channel settings > Integrations > Webhooks > "
            "Copy Webhook URL)")
    return f"{problem}: {want}" if problem else None


def api_base_problem(value: object) -> str | None:
    want = 'give the REST API base, e.g. "https://discord.com/api/v10"'
    problem = url_problem(value)
    if problem is None and ("?" in str(value) or "#" in str(value)):
        problem = "has a query or a fragment"
    return f"{problem}: {want}" if problem else None


def _secret(section: Mapping[str, object], key: str, env: str, path: str, what: str
            ) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        value = os.environ.get(env, "").strip() or None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: [discord] {key} is not a string: give {what}")
    return value.strip() if value.strip() else None


def settings(section: Mapping[str, object] | None, path: str = "config.toml"
             ) -> DiscordSettings:
    """Check a ``[discord]`` table; ConfigError names the file and the key, never a secret."""
    section = dict(section or {})

    def bad(key: str, want: str) -> ConfigError:
        return ConfigError(f"{path}: [discord] {key} = {section.get(key)!r} is invalid: {want}")

    url = _secret(section, "webhook_url", "DISCORD_WEBHOOK_URL", path, "the webhook's URL")
    if url is None:
        raise ConfigError(f"{path}: [discord] webhook_url is missing (or set "
                          f"DISCORD_WEBHOOK_URL): {_SETUP}")
    if (problem := webhook_problem(url)) is not None:
        where = "[discord] webhook_url" if section.get("webhook_url") else \
            "DISCORD_WEBHOOK_URL (environment)"
        raise ConfigError(f"{path}: {where} {problem}")
    token = _secret(section, "bot_token", "DISCORD_BOT_TOKEN", path,
                    "the bot's token (Developer Portal > your app > Bot > Reset Token)")
    if token is not None:
        token = token[4:].strip() if token.lower().startswith("bot ") else token
        if (problem := token_problem(token)) is not None:
            where = "[discord] bot_token" if section.get("bot_token") else \
                "DISCORD_BOT_TOKEN (environment)"
            raise ConfigError(f"{path}: {where} {problem}: give the bot's token")
    channel = None
    if section.get("channel_id") not in (None, ""):
        channel = snowflake_of(section["channel_id"])
        if channel is None:
            raise bad("channel_id", "give the channel's id (Developer Mode on, then right-click "
                                    "the channel > Copy Channel ID)")
    if token is not None and channel is None:
        raise ConfigError(f"{path}: [discord] channel_id is missing: the bot reads answers in "
                          f"the webhook's channel; {_SETUP}")
    users = section.get("allowed_user_ids", [])
    ids = [snowflake_of(u) for u in users] if isinstance(users, list) else [None]
    if any(i is None for i in ids):
        raise bad("allowed_user_ids", 'give a list of Discord user ids like "123456789012345678" '
                                      "(right-click a user > Copy User ID), or pair: "
                                      "tether-hooks pair discord")
    api_base = section.get("api_base", DEFAULT_API_BASE)
    if (problem := api_base_problem(api_base)) is not None:
        raise ConfigError(f"{path}: [discord] api_base = {shown(api_base)} {problem}")
    proxy = section.get("proxy")
    if proxy is not None and (problem := url_problem(proxy)) is not None:
        raise ConfigError(f"{path}: [discord] proxy = {shown(proxy)} {problem}: give an "
                          'http(s) proxy URL, e.g. "http://proxy:3128"')
    username = section.get("username", "tether-hooks")
    if not isinstance(username, str) or not 1 <= len(username.strip()) <= 80:
        raise bad("username", "give a name of 1 to 80 characters")
    numbers = numbers_in(section, (
        ("poll_pending", 1.0, 0.5, 60),
        ("poll_idle", 20.0, 0, 3600),
        ("max_retry_after", 60.0, 0, 3600),
        ("send_timeout", 20.0, 1, 600),
        ("retries", 2, 0, 10),
    ), bad)
    return DiscordSettings(
        webhook_url=url.rstrip("/"),
        bot_token=token,
        channel_id=channel,
        allowed_user_ids=tuple(i for i in ids if i is not None),
        api_base=str(api_base).rstrip("/"),
        username=username.strip(),
        proxy=str(proxy) if proxy else None,
        poll_pending=float(numbers["poll_pending"]),
        poll_idle=float(numbers["poll_idle"]),
        max_retry_after=float(numbers["max_retry_after"]),
        send_timeout=float(numbers["send_timeout"]),
        retries=int(numbers["retries"]),
    )

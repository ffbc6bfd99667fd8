"""The ``[slack]`` section of config.toml, checked; no SDK import (setup uses it too)."""

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
    "PROXY_VARS",
    "SlackSettings",
    "api_base_problem",
    "channel_id_of",
    "proxy_problem",
    "settings",
    "token_problem",
    "tokens_from_env",
    "user_id_of",
]

DEFAULT_API_BASE = "https://slack.com/api/"
_SETUP = ("run `tether-hooks setup slack --bot-token xoxb-... --app-token xapp-... "
          "--channel C... --allow-user U...`")
_CHANNEL_RE = re.compile(r"[CG][A-Z0-9]{6,}")  # public (C) or private (G, older) channel
_USER_RE = re.compile(r"[UW][A-Z0-9]{6,}")  # workspace (U) or Enterprise Grid (W) user
# A token is printable ASCII without spaces (it goes into an HTTP header as it is).
_TOKEN_RE = re.compile(r"[!-~]+")
# What slack_sdk's clients take as their proxy when none is given, first set first.
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@dataclass(frozen=True)
class SlackSettings:
    """Checked settings: the tokens, the one channel, who may decide, where Slack is."""

    bot_token: str
    app_token: str
    channel_id: str
    allowed_user_ids: tuple[str, ...]
    api_base: str = DEFAULT_API_BASE
    proxy: str | None = None  # for the Web API and the socket (else HTTPS_PROXY, if set)
    retries: int = 2  # of a call that certainly did not take effect
    max_retry_after: float = 60.0  # a longer 429 wait is not waited out: RateLimited
    send_timeout: float = 20.0  # seconds to wait for an answer to a Web API call
    ping_interval: float = 5.0  # Socket Mode pings; a dead link is noticed within ~4 of them


def tokens_from_env() -> tuple[str | None, str | None]:
    """``SLACK_BOT_TOKEN`` and ``SLACK_APP_TOKEN`` from the environment, if set."""
    return (os.environ.get("SLACK_BOT_TOKEN", "").strip() or None,
            os.environ.get("SLACK_APP_TOKEN", "").strip() or None)


def channel_id_of(value: object) -> str | None:
    """A channel id (``C0123ABCD``), upper-cased; None for anything else (a #name)."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    return text if _CHANNEL_RE.fullmatch(text) else None


def user_id_of(value: object) -> str | None:
    """A Slack member id (``U0123ABCD``); None for anything else (a name, an @handle)."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    return text if _USER_RE.fullmatch(text) else None


def token_problem(value: str, prefix: str) -> str | None:
    """What is wrong with a token (never showing it); None when it has the right shape."""
    value = value.strip()
    if not value.startswith(prefix):
        return f"is not a {prefix}... token"
    if not _TOKEN_RE.fullmatch(value):
        return "has a space, a control character (a line break...) or a non-ASCII character in it"
    return None


def api_base_problem(value: object) -> str | None:
    """What is wrong with an ``api_base`` value; None when it can be used."""
    want = 'give the Web API base ending in /api/, e.g. "https://slack.com/api/"'
    problem = url_problem(value)
    if problem is None and (not urlsplit(str(value)).path.rstrip("/").endswith("/api")
                            or "?" in str(value) or "#" in str(value)):
        problem = "does not end in /api/"
    return f"{problem}: {want}" if problem else None


def proxy_problem(value: object) -> str | None:
    """What is wrong with a proxy URL; None when slack_sdk's clients can use it."""
    problem = url_problem(value)
    return f'{problem}: give an http(s) proxy URL, e.g. "http://proxy:3128"' if problem else None


def settings(
    section: Mapping[str, object] | None, path: str = "config.toml", *, need_users: bool = True
) -> SlackSettings:
    """Check a ``[slack]`` table; ConfigError names the file and the key."""
    section = dict(section or {})

    def bad(key: str, want: str) -> ConfigError:
        return ConfigError(f"{path}: [slack] {key} = {section.get(key)!r} is invalid: {want}")

    env_bot, env_app = tokens_from_env()
    tokens: dict[str, str] = {}
    for key, env, prefix, what in (
        ("bot_token", env_bot, "xoxb-", "the Bot User OAuth Token (OAuth & Permissions)"),
        ("app_token", env_app, "xapp-", "an app-level token with connections:write "
                                         "(Basic Information)"),
    ):
        token = section.get(key) or env
        where = f"[slack] {key}" if section.get(key) else f"SLACK_{key.upper()} (environment)"
        if token is not None and not isinstance(token, str):
            raise ConfigError(f"{path}: [slack] {key} is not a string: give {what}")
        if not token or not token.strip():
            raise ConfigError(f"{path}: [slack] {key} is missing (or set SLACK_{key.upper()}): "
                              f"give {what}; {_SETUP}")
        problem = token_problem(token, prefix)
        if problem is not None:
            # never echo the value: it is a secret, whatever its shape
            raise ConfigError(f"{path}: {where} {problem}: give {what}")
        tokens[key] = token.strip()
    if "channel_id" not in section:
        raise ConfigError(f"{path}: [slack] channel_id is missing: {_SETUP}")
    channel = channel_id_of(section["channel_id"])
    if channel is None:
        raise bad("channel_id", "give the channel's id (C0123ABCD: the channel's name > "
                                "About, at the bottom), not its #name")
    users = section.get("allowed_user_ids", [])
    ids = [user_id_of(u) for u in users] if isinstance(users, list) else [None]
    if any(i is None for i in ids):
        raise bad("allowed_user_ids", 'give a list of Slack member ids like "U0123ABCD" '
                                      "(a profile's ⋮ menu > Copy member ID)")
    if need_users and not ids:
        raise ConfigError(
            f"{path}: [slack] allowed_user_ids is empty, so nobody could approve: {_SETUP}")
    api_base = section.get("api_base", DEFAULT_API_BASE)
    problem = api_base_problem(api_base)
    if problem is not None:
        raise ConfigError(f"{path}: [slack] api_base = {shown(api_base)} {problem}")
    proxy = section.get("proxy")
    if proxy is not None and (problem := proxy_problem(proxy)) is not None:
        raise ConfigError(f"{path}: [slack] proxy = {shown(proxy)} {problem}")
    if proxy is None:  # slack_sdk's clients then take the environment's
        var = next((v for v in PROXY_VARS if os.environ.get(v)), None)
        found = os.environ.get(var, "").strip() if var else ""
        if var and found and (problem := proxy_problem(found)) is not None:
            raise ConfigError(f"{var} = {shown(found)} (environment) {problem}, or unset "
                              f"{var}, or set proxy in [slack] of {path}")
    numbers = numbers_in(section, (
        ("retries", 2, 0, 10),
        ("max_retry_after", 60.0, 0, 3600),
        ("send_timeout", 20.0, 1, 600),
        ("ping_interval", 5.0, 0.2, 60),
    ), bad)
    return SlackSettings(
        bot_token=tokens["bot_token"],
        app_token=tokens["app_token"],
        channel_id=channel,
        allowed_user_ids=tuple(i for i in ids if i is not None),
        api_base=str(api_base).rstrip("/") + "/",
        proxy=str(proxy) if proxy else None,
        retries=int(numbers["retries"]),
        max_retry_after=float(numbers["max_retry_after"]),
        send_timeout=float(numbers["send_timeout"]),
        ping_interval=float(numbers["ping_interval"]),
    )

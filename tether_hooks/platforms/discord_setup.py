"""``tether-hooks setup discord``: check the webhook, the bot and the channel with Discord,
then write ``[discord]`` (0600). The webhook URL and the bot token are never shown."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from tether_hooks import config_write, paths, platforms
from tether_hooks.errors import TetherError, UsageError
from tether_hooks.platforms.base import BridgeAuthError, BridgeError, redact
from tether_hooks.platforms.discord_config import (
    DiscordSettings,
    api_base_problem,
    settings,
    snowflake_of,
    token_problem,
    webhook_problem,
)
from tether_hooks.platforms.discord_limits import RateLimits
from tether_hooks.platforms.discord_rest import NOT_DISCORD, Rest, explain
from tether_hooks.platforms.discord_secrets import SECRET_PATTERNS

__all__ = ["check", "configure"]


def _current() -> dict[str, Any]:
    from tether_hooks import config

    section = config.load().get("discord")
    return dict(section) if isinstance(section, dict) else {}


def _mask(s: DiscordSettings) -> Any:
    secrets = tuple(x for x in (s.webhook_url.rsplit("/", 1)[-1], s.bot_token) if x)
    return lambda text: redact(text, secrets, SECRET_PATTERNS)


async def _webhook(s: DiscordSettings) -> dict[str, Any]:
    mask = _mask(s)
    try:
        async with httpx.AsyncClient(timeout=s.send_timeout, proxy=s.proxy) as client:
            answer = await client.get(s.webhook_url)
    except httpx.HTTPError as exc:
        raise BridgeError(mask(f"cannot check the webhook: {type(exc).__name__}: {exc}; "
                               f"{NOT_DISCORD}")) from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or not isinstance(body, dict):
        if isinstance(body, dict):
            raise explain("check the webhook", answer.status_code, body, None, mask)
        raise BridgeError(f"cannot check the webhook: the answer (HTTP {answer.status_code}) "
                          "is not Discord's: check the webhook URL")
    return {"id": str(body.get("id") or ""), "name": str(body.get("name") or ""),
            "channel_id": str(body.get("channel_id") or "")}


async def check(s: DiscordSettings) -> dict[str, Any]:
    """The webhook (GET it: its name and channel), then the bot (``users/@me``) and its
    access to the channel (read it and its messages)."""
    hook = await _webhook(s)
    out: dict[str, Any] = {"webhook": hook}
    if not s.receives:
        return out
    if hook["channel_id"] and hook["channel_id"] != s.channel_id:
        raise BridgeAuthError(f"the webhook posts in channel {hook['channel_id']} but "
                              f"channel_id is {s.channel_id}: the bot must read where the "
                              "webhook posts (use --channel " + hook["channel_id"] + ")")
    rest = Rest(s.api_base, s.bot_token, timeout=s.send_timeout, proxy=s.proxy,
                retries=s.retries, max_retry_after=s.max_retry_after, limits=RateLimits(),
                mask=_mask(s), channel=s.channel_id)
    try:
        me = await rest.call("GET", "/users/@me", "check the bot")
        channel = await rest.call("GET", f"/channels/{s.channel_id}", "find the channel")
        await rest.call("GET", f"/channels/{s.channel_id}/messages", "read the channel",
                        params={"limit": 1})
    finally:
        await rest.close()
    me = me if isinstance(me, dict) else {}
    channel = channel if isinstance(channel, dict) else {}
    out["bot"] = {"id": str(me.get("id") or ""), "name": str(me.get("username") or "")}
    out["channel"] = {"id": s.channel_id, "name": str(channel.get("name") or "")}
    return out


def configure(*, webhook_url: str | None, bot_token: str | None, channel: str | None,
              allow_users: list[str], api_base: str | None, test: bool) -> dict[str, Any]:
    """Merge the options into ``[discord]``, check them with Discord, write the table,
    maybe post a test message. A bot without ``--channel`` reads the webhook's channel."""
    section = _current()
    if webhook_url is not None:
        problem = webhook_problem(webhook_url.strip())
        if problem is not None:
            raise UsageError(f"--webhook-url: the URL given {problem} (it is not shown)")
        section["webhook_url"] = webhook_url.strip()
    if bot_token is not None:
        token = bot_token.strip()
        token = token[4:].strip() if token.lower().startswith("bot ") else token
        problem = token_problem(token) if token else "is empty"
        if problem is not None:
            raise UsageError(f"--bot-token: the token given {problem} (it is not shown)")
        section["bot_token"] = token
    if channel is not None:
        parsed = snowflake_of(channel)
        if parsed is None:
            raise UsageError(f"--channel {channel!r}: give the channel's id (Developer Mode "
                             "on, right-click the channel > Copy Channel ID)")
        section["channel_id"] = parsed
    if allow_users:
        ids = [snowflake_of(u) for u in allow_users]
        bad = [u for u, i in zip(allow_users, ids, strict=True) if i is None]
        if bad:
            raise UsageError(f"--allow-user {bad[0]!r}: give a Discord user id (right-click "
                             "a user > Copy User ID), or pair: tether-hooks pair discord")
        section["allowed_user_ids"] = sorted({i for i in ids if i is not None})
    if api_base:
        problem = api_base_problem(api_base)
        if problem is not None:
            raise UsageError(f"--api-base {api_base!r} {problem}")
        section["api_base"] = api_base
    has_bot = section.get("bot_token") or os.environ.get("DISCORD_BOT_TOKEN", "").strip()
    if has_bot and not section.get("channel_id"):
        probe = settings({k: v for k, v in section.items() if k != "bot_token"},
                         paths.config_file())
        try:
            found = asyncio.run(_webhook(probe))
        except BridgeError as exc:
            raise TetherError(str(exc)) from exc
        if found["channel_id"]:
            section["channel_id"] = found["channel_id"]
    checked = settings(section, paths.config_file())
    try:
        found = asyncio.run(check(checked))
    except BridgeError as exc:
        raise TetherError(str(exc)) from exc
    path = config_write.set_table("discord", section)
    result: dict[str, Any] = {
        "path": path, **found, "receives": checked.receives,
        "allowed_user_ids": list(checked.allowed_user_ids), "api_base": checked.api_base,
        "from_env": [v for v, key in (("DISCORD_WEBHOOK_URL", "webhook_url"),
                                      ("DISCORD_BOT_TOKEN", "bot_token"))
                     if os.environ.get(v, "").strip() and not section.get(key)]}
    if test:
        result["test_message"] = platforms.send_test("discord", section, "in this channel")
    return result

"""``tether-hooks setup slack``: check both tokens and the channel, then write ``[slack]``."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from tether_hooks import config_write, paths, platforms
from tether_hooks.errors import TetherError, UsageError
from tether_hooks.platforms.base import BridgeAuthError, BridgeError
from tether_hooks.platforms.slack_config import (
    SlackSettings,
    api_base_problem,
    channel_id_of,
    settings,
    token_problem,
    tokens_from_env,
    user_id_of,
)
from tether_hooks.platforms.slack_errors import Where, masked, not_slack
from tether_hooks.platforms.slack_events import OddPayload, obj_at, str_at
from tether_hooks.platforms.slack_retry import call, retry_handlers

__all__ = ["BOT_SCOPES", "check", "configure", "manifest"]

# What the bridge calls needs (and nothing more): chat.postMessage/update/postEphemeral
# (chat:write), /tether (commands), conversations.info (channels:read, groups:read for a
# private channel), message events and conversations.replies (channels:history,
# groups:history), users.info for the names of those who write (users:read).
BOT_SCOPES = ("chat:write", "commands", "channels:read", "groups:read", "channels:history",
              "groups:history", "users:read")
BOT_EVENTS = ("message.channels", "message.groups")


def manifest(name: str = "tether") -> str:
    """The app manifest (YAML) to paste at api.slack.com/apps > Create New App > From a
    manifest; then create an app-level token with connections:write (Socket Mode)."""
    scopes = "".join(f"      - {s}\n" for s in BOT_SCOPES)
    events = "".join(f"      - {e}\n" for e in BOT_EVENTS)
    return (
        "display_information:\n"
        f"  name: {name}\n"
        "  description: Approve Claude Code and Codex tool calls (tether-hooks)\n"
        "features:\n"
        "  bot_user:\n"
        f"    display_name: {name}\n"
        "    always_online: true\n"
        "  slash_commands:\n"
        "    - command: /tether\n"
        "      description: Pending requests, timers, stop and more (tether-hooks)\n"
        '      usage_hint: "status | pending | timers | revoke ID|all | stop | usage | help"\n'
        "      should_escape: false\n"
        "oauth_config:\n"
        "  scopes:\n"
        "    bot:\n"
        f"{scopes}"
        "settings:\n"
        "  event_subscriptions:\n"
        "    bot_events:\n"
        f"{events}"
        "  interactivity:\n"
        "    is_enabled: true\n"
        "  org_deploy_enabled: false\n"
        "  socket_mode_enabled: true\n"
        "  token_rotation_enabled: false\n"
    )


def _current() -> dict[str, Any]:
    from tether_hooks import config

    section = config.load().get("slack")
    return dict(section) if isinstance(section, dict) else {}


async def check(s: SlackSettings) -> dict[str, Any]:
    """The bot token (auth.test), the app-level token (apps.connections.open) and the
    channel (conversations.info: it exists, the bot is in it, it is not archived)."""
    web = AsyncWebClient(token=s.bot_token, base_url=s.api_base, proxy=s.proxy,
                         timeout=s.send_timeout,  # type: ignore[arg-type]  # a float works
                         retry_handlers=retry_handlers(s.retries, s.max_retry_after))
    where = Where(s.channel_id, secrets=masked((s.bot_token, s.app_token)))
    me = await call("check the bot token", web.auth_test, where=where)
    try:
        bot = {k: str_at(me, k) for k in ("user_id", "user", "team", "url")}
    except OddPayload as exc:
        raise BridgeError(not_slack("check the bot token", str(exc))) from None
    where = Where(s.channel_id, None, bot["user"], where.secrets)
    # A socket URL is issued and never used: it expires unused (Slack's are single-use).
    await call("check the app-level token", web.apps_connections_open, app_token=s.app_token,
               where=where, app=True)
    info = await call("find the channel", web.conversations_info, channel=s.channel_id,
                      where=where)
    try:
        channel = obj_at(info, "channel")
        name = str_at(channel, "name", "channel")
    except OddPayload as exc:
        raise BridgeError(not_slack("find the channel", str(exc))) from None
    where = Where(s.channel_id, name, bot["user"], where.secrets)
    if channel.get("is_archived"):
        raise BridgeAuthError(f"{where.channel_label} is archived: unarchive it or choose "
                              "another channel")
    if channel.get("is_member") is False:
        raise BridgeAuthError(
            f"the bot is not in {where.channel_label} (not_in_channel): invite the bot to "
            f"{where.channel_label}: /invite @{bot['user'] or 'your-bot'}, then run this "
            "again")
    return {"bot": {"user_id": bot["user_id"], "name": bot["user"], "team": bot["team"],
                    "url": bot["url"]},
            "channel": {"id": s.channel_id, "name": name,
                        "private": bool(channel.get("is_private"))}}


def configure(*, bot_token: str | None, app_token: str | None, channel: str | None,
              allow_users: list[str], api_base: str | None, test: bool) -> dict[str, Any]:
    """Merge the options into ``[slack]``, check the tokens and the channel with Slack,
    write the table (0600), maybe post a test message. Tokens from SLACK_BOT_TOKEN /
    SLACK_APP_TOKEN stay in the environment; ``allow_users`` replaces the list if given."""
    section = _current()
    for key, value, prefix in (("bot_token", bot_token, "xoxb-"),
                               ("app_token", app_token, "xapp-")):
        if value is None:
            continue
        option = "--" + key.replace("_", "-")
        if not value.strip().startswith(prefix):
            raise UsageError(f"{option}: give the {prefix}... token (the value given is not "
                             "one; it is not shown)")
        problem = token_problem(value, prefix)
        if problem is not None:
            raise UsageError(f"{option}: the token given {problem} (it is not shown)")
        section[key] = value.strip()
    if channel is not None:
        parsed = channel_id_of(channel)
        if parsed is None:
            raise UsageError(f"--channel {channel!r}: give the channel's id (C0123ABCD: open "
                             "the channel's name > About, it is at the bottom), not its name")
        section["channel_id"] = parsed
    if allow_users:
        ids = [user_id_of(u) for u in allow_users]
        bad = [u for u, i in zip(allow_users, ids, strict=True) if i is None]
        if bad:
            raise UsageError(f"--allow-user {bad[0]!r}: give a Slack member id like U0123ABCD "
                             "(a profile's ⋮ menu > Copy member ID)")
        section["allowed_user_ids"] = sorted({i for i in ids if i is not None})
    if api_base:
        problem = api_base_problem(api_base)
        if problem is not None:
            raise UsageError(f"--api-base {api_base!r} {problem}")
        section["api_base"] = api_base
    checked = settings(section, paths.config_file())
    try:
        found = asyncio.run(check(checked))
    except BridgeError as exc:
        raise TetherError(str(exc)) from exc
    path = config_write.set_table("slack", section)
    env_bot, env_app = tokens_from_env()
    result: dict[str, Any] = {
        "path": path, **found, "allowed_user_ids": list(checked.allowed_user_ids),
        "api_base": checked.api_base, "bot_token_in_file": "bot_token" in section,
        "app_token_in_file": "app_token" in section,
        "tokens_from_env": [n for n, v, key in (("SLACK_BOT_TOKEN", env_bot, "bot_token"),
                                                 ("SLACK_APP_TOKEN", env_app, "app_token"))
                            if v and key not in section],
    }
    if test:
        result["test_message"] = platforms.send_test(
            "slack", section, "in this channel, one thread per session")
    return result


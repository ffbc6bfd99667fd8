"""Setup verbs: ``setup telegram`` and ``setup slack`` write their section of config.toml."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import click

from tether_hooks import output
from tether_hooks.agent_check import human_only

__all__ = ["COMMANDS"]


@click.group("setup")
def setup() -> None:
    """Connect a chat platform (writes its section of config.toml)."""


@setup.command("telegram")
@click.option("--token", metavar="TOKEN", help="The bot token from @BotFather "
              "(default: TELEGRAM_BOT_TOKEN, which is then not written to the file).")
@click.option("--chat-id", metavar="ID", help="The chat requests go to: a group's id "
              "(-100...), your user id for a private chat, or @channelname.")
@click.option("--allow-user", "allow_users", metavar="ID", type=int, multiple=True,
              help="A Telegram user id allowed to decide (repeat for several; replaces the list).")
@click.option("--api-base", metavar="URL", help="A Bot API server, as python-telegram-bot's "
              "base_url: http://host:port/bot (default: Telegram's).")
@click.option("--forum/--no-forum", default=None,
              help="One topic per session (the chat must be a forum supergroup).")
@click.option("--test", is_flag=True, help="Then send a test message to the chat.")
@click.option("--discover", is_flag=True, help="Only list the chats and users that wrote to "
              "the bot lately (with the listener stopped), and write nothing.")
@click.option("--wait", "wait", type=click.FloatRange(0, 50), default=5.0, show_default=True,
              help="With --discover: seconds to wait for a message.")
@output.json_option
@human_only
def telegram(
    token: str | None,
    chat_id: str | None,
    allow_users: tuple[int, ...],
    api_base: str | None,
    forum: bool | None,
    test: bool,
    discover: bool,
    wait: float,
    as_json: bool,
) -> None:
    """Check the bot token (getMe) and write [telegram] to config.toml; or --discover ids."""
    from tether_hooks.platforms import telegram_setup as core

    if discover:
        found = core.discover(token, api_base, wait)
        output.emit(found, as_json, lambda: _discovered(found))
        return
    result = core.configure(token=token, chat_id=chat_id, allow_users=list(allow_users),
                            api_base=api_base, forum=forum, test=test)
    output.emit(result, as_json, lambda: _configured(result))


@setup.command("slack")
@click.option("--bot-token", metavar="XOXB", help="The Bot User OAuth Token (xoxb-...; "
              "default: SLACK_BOT_TOKEN, which is then not written to the file).")
@click.option("--app-token", metavar="XAPP", help="An app-level token with connections:write "
              "(xapp-...; default: SLACK_APP_TOKEN, which is then not written to the file).")
@click.option("--channel", metavar="ID", help="The channel requests go to, by id (C0123ABCD: "
              "the channel's name > About); invite the bot there first.")
@click.option("--allow-user", "allow_users", metavar="ID", multiple=True,
              help="A Slack member id allowed to decide, U0123ABCD (repeat for several; "
                   "replaces the list).")
@click.option("--api-base", metavar="URL", help="The Web API base, ending in /api/ "
              "(default: https://slack.com/api/).")
@click.option("--test", is_flag=True, help="Then post a test message to the channel.")
@click.option("--manifest", is_flag=True, help="Only print the app manifest to create the "
              "Slack app with (scopes, Socket Mode, /tether, events), and write nothing.")
@output.json_option
@human_only
def slack(
    bot_token: str | None,
    app_token: str | None,
    channel: str | None,
    allow_users: tuple[str, ...],
    api_base: str | None,
    test: bool,
    manifest: bool,
    as_json: bool,
) -> None:
    """Check the tokens and the channel with Slack and write [slack] to config.toml."""
    from tether_hooks.platforms import slack_setup as core

    if manifest:
        text = core.manifest()
        output.emit({"manifest": text}, as_json, lambda: text.rstrip("\n"))
        return
    result = core.configure(bot_token=bot_token, app_token=app_token, channel=channel,
                            allow_users=list(allow_users), api_base=api_base, test=test)
    output.emit(result, as_json, lambda: _slack_configured(result))


@setup.command("discord")
@click.option("--webhook-url", metavar="URL", help="The channel's webhook (Channel settings > "
              "Integrations > Webhooks > Copy Webhook URL; default: DISCORD_WEBHOOK_URL, "
              "which is then not written to the file).")
@click.option("--bot-token", metavar="TOKEN", help="A bot that reads the answers (reactions, "
              "replies, !commands); default: DISCORD_BOT_TOKEN. Without one, Discord only "
              "shows requests.")
@click.option("--channel", metavar="ID", help="The webhook's channel id (default: asked from "
              "the webhook).")
@click.option("--allow-user", "allow_users", metavar="ID", multiple=True,
              help="A Discord user id allowed to decide (repeat for several; replaces the "
                   "list). Or pair: tether-hooks pair discord.")
@click.option("--api-base", metavar="URL", help="The REST API base (default: "
              "https://discord.com/api/v10).")
@click.option("--test", is_flag=True, help="Then post a test message to the channel.")
@output.json_option
@human_only
def discord(webhook_url: str | None, bot_token: str | None, channel: str | None,
            allow_users: tuple[str, ...], api_base: str | None, test: bool,
            as_json: bool) -> None:
    """Check the webhook, the bot and the channel with Discord and write [discord]."""
    from tether_hooks.platforms import discord_setup as core

    result = core.configure(webhook_url=webhook_url, bot_token=bot_token, channel=channel,
                            allow_users=list(allow_users), api_base=api_base, test=test)
    output.emit(result, as_json, lambda: _discord_configured(result))


def _discord_configured(r: Mapping[str, Any]) -> str:
    hook = r["webhook"]
    lines = [f"Wrote [discord] to {r['path']}: webhook {hook['name'] or hook['id']} in "
             f"channel {hook['channel_id']}."]
    if r["receives"]:
        channel = r["channel"]
        users = ", ".join(r["allowed_user_ids"]) or "nobody yet"
        lines.append(f"Bot @{r['bot']['name']} reads #{channel['name'] or channel['id']}; "
                     f"allowed users: {users}.")
        if not r["allowed_user_ids"]:
            lines.append("Add yourself: tether-hooks pair discord")
    else:
        lines.append("No bot: Discord only shows requests; answer them elsewhere (add one "
                     "with --bot-token to answer with reactions and replies).")
    for var in r["from_env"]:
        lines.append(f"{var} comes from the environment: keep it set for the listener.")
    if "test_message" in r:
        lines.append(f"Posted a test message (id {r['test_message']}).")
    lines.append("Start the listener: tether-hooks listener start")
    return "\n".join(lines)


def _slack_configured(r: Mapping[str, Any]) -> str:
    bot, channel = r["bot"], r["channel"]
    where = f"#{channel['name']}" if channel.get("name") else channel["id"]
    lines = [f"Wrote [slack] to {r['path']}: bot @{bot['name']} in {bot['team']}, channel "
             f"{where} ({channel['id']}), allowed users {', '.join(r['allowed_user_ids'])}."]
    for var in r["tokens_from_env"]:
        lines.append(f"A token comes from {var}: keep it set for the listener.")
    if "test_message" in r:
        lines.append(f"Posted a test message (ts {r['test_message']}).")
    lines.append("Start the listener: tether-hooks listener start")
    return "\n".join(lines)


def _configured(r: Mapping[str, Any]) -> str:
    bot = r["bot"]
    users = ", ".join(str(u) for u in r["allowed_user_ids"])
    lines = [
        f"Wrote [telegram] to {r['path']}: bot @{bot['username']}, chat {r['chat_id']}, "
        f"allowed users {users}" + (", one topic per session" if r["forum"] else "") + ".",
    ]
    if not r["token_in_file"]:
        lines.append("The token comes from TELEGRAM_BOT_TOKEN: keep it set for the listener.")
    if "test_message" in r:
        lines.append(f"Sent a test message (id {r['test_message']}).")
    lines.append("Start the listener: tether-hooks listener start")
    return "\n".join(lines)


def _discovered(found: Mapping[str, Any]) -> str:
    bot = found["bot"]
    if not found["seen"]:
        return (f"Nobody wrote to @{bot['username']} lately. Send it a message (in a group: "
                f"/start@{bot['username']}), then run this again.")
    lines = [f"Chats and users that wrote to @{bot['username']}:"]
    for s in found["seen"]:
        who = f"@{s['username']}" if s["username"] else s["name"]
        kind = s["chat_type"] + (" (forum)" if s["forum"] else "")
        lines.append(f"  chat {s['chat_id']} [{kind}] {s['chat_title']!s}: user {s['user_id']} "
                     f"{who}: {s['text']!r}")
    lines.append(f"Then: {shlex.join(found['next'])}")
    if found["token_from"] == "env":
        lines.append("  (the token is read from TELEGRAM_BOT_TOKEN: keep it set)")
    return "\n".join(lines)


COMMANDS = [setup]

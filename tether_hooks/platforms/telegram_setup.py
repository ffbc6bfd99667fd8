"""``tether-hooks setup telegram``: check the token, write ``[telegram]``, find the ids."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from tether_hooks import config_write, paths, platforms
from tether_hooks.errors import ConfigError, TetherError, UsageError
from tether_hooks.platforms.base import BridgeError
from tether_hooks.platforms.telegram_config import (
    DEFAULT_API_BASE,
    chat_id_of,
    file_url,
    settings,
    token_from_env,
)
from tether_hooks.platforms.telegram_errors import map_error

__all__ = ["configure", "discover", "listener_running"]


def _bot(token: str, api_base: str) -> Bot:
    base = api_base.rstrip("/")
    return Bot(token, base_url=base, base_file_url=file_url(base))


async def _get_me(token: str, api_base: str) -> dict[str, Any]:
    try:
        async with _bot(token, api_base) as bot:  # initialize() is getMe
            me = bot.bot
    except TelegramError as exc:
        raise map_error(exc, "check the bot token", token) from exc
    return {"id": me.id, "username": me.username, "name": me.first_name}


def _current() -> dict[str, Any]:
    from tether_hooks import config

    section = config.load().get("telegram")
    return dict(section) if isinstance(section, dict) else {}


def configure(
    *,
    token: str | None,
    chat_id: str | None,
    allow_users: list[int],
    api_base: str | None,
    forum: bool | None,
    test: bool,
) -> dict[str, Any]:
    """Merge the options into ``[telegram]``, check the token with getMe, write, maybe test.

    The token is written only when given as ``token``: one from TELEGRAM_BOT_TOKEN stays in
    the environment. ``allow_users`` replaces the allowed list when not empty.
    """
    section = _current()
    if token:
        section["bot_token"] = token.strip()
    if chat_id is not None:
        parsed = chat_id_of(chat_id)
        if parsed is None:
            raise UsageError(f"--chat-id {chat_id!r}: give a numeric id (e.g. -1001234567890) "
                             "or @channelname; `--discover` lists the chats that wrote to the bot")
        section["chat_id"] = parsed
    if allow_users:
        section["allowed_user_ids"] = sorted(set(allow_users))
    if api_base:
        section["api_base"] = api_base.rstrip("/")
    if forum is not None:
        section["forum"] = forum
    checked = settings(section, paths.config_file())
    try:
        me = asyncio.run(_get_me(checked.bot_token, checked.api_base))
    except BridgeError as exc:
        raise TetherError(str(exc)) from exc
    path = config_write.set_table("telegram", section)
    result: dict[str, Any] = {
        "path": path, "bot": me, "chat_id": checked.chat_id,
        "allowed_user_ids": list(checked.allowed_user_ids), "forum": checked.forum,
        "api_base": checked.api_base, "token_in_file": "bot_token" in section,
    }
    if test:
        result["test_message"] = platforms.send_test("telegram", section, "in this chat")
    return result



def listener_running() -> bool:
    """Whether a tether-hooks listener answers (it polls the bot: a second poller gets 409)."""
    try:
        from tether_hooks.listener_status import status

        return bool(status().get("running"))
    except (ImportError, AttributeError, OSError, TetherError):
        return False


def discover(token: str | None, api_base: str | None, timeout: float) -> dict[str, Any]:
    """Who wrote to the bot lately: chats and users from getUpdates, without confirming them."""
    if listener_running():
        raise UsageError("the listener is polling this bot: run `tether-hooks listener stop`, "
                         "then --discover again (or write to the bot: it tells you your id)")
    section = {}
    try:
        section = _current()
    except ConfigError:
        pass
    given_token, given_base = token, api_base
    token = token or section.get("bot_token") or token_from_env()
    if not token:
        raise UsageError("give the bot token: --token or TELEGRAM_BOT_TOKEN")
    base = (api_base or section.get("api_base") or DEFAULT_API_BASE).rstrip("/")
    # The next command must work as printed: it names what the config file does not hold.
    token_from = ("option" if given_token else "config" if section.get("bot_token")
                  else "env")
    carry: list[str] = []
    if token_from == "option":
        carry += ["--token", token]
    if given_base and given_base.rstrip("/") != section.get("api_base"):
        carry += ["--api-base", base]

    async def run() -> tuple[dict[str, Any], list[Any]]:
        me = await _get_me(token, base)
        try:
            async with _bot(token, base) as bot:
                # No offset: nothing is confirmed, so the listener still gets every update.
                updates = await bot.get_updates(timeout=int(timeout), read_timeout=timeout + 10,
                                                allowed_updates=["message", "callback_query"])
        except TelegramError as exc:
            raise map_error(exc, "read the bot's updates", token) from exc
        return me, list(updates)

    try:
        me, updates = asyncio.run(run())
    except BridgeError as exc:
        raise TetherError(str(exc)) from exc
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    for update in updates:
        msg = update.effective_message
        user = update.effective_user
        if msg is None or user is None or user.is_bot:
            continue
        chat = msg.chat
        seen[(chat.id, user.id)] = {
            "chat_id": chat.id, "chat_type": chat.type,
            "chat_title": chat.title or chat.full_name or "", "forum": bool(chat.is_forum),
            "user_id": user.id, "username": user.username, "name": user.full_name,
            "text": (msg.text or "")[:60] if update.message else "(button press)",
        }
    found = list(seen.values())
    result: dict[str, Any] = {"bot": me, "seen": found, "config": paths.config_file(),
                              "token_from": token_from}
    if found:
        first = found[0]
        result["next"] = ["tether-hooks", "setup", "telegram", *carry,
                          "--chat-id", str(first["chat_id"]), "--allow-user",
                          str(first["user_id"]), *(["--forum"] if first["forum"] else [])]
    return result

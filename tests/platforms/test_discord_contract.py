"""What the Discord bridge declares to the listener (capabilities, secrets, identity, replay
keys), its config checks and how held events come back: pure, no emulator."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tether_hooks import platforms, redact
from tether_hooks.errors import ConfigError
from tether_hooks.listener import access
from tether_hooks.platforms import secrets
from tether_hooks.platforms.base import BridgeBase, BridgeContext, Capabilities, Incoming
from tether_hooks.platforms.discord import DiscordBridge
from tether_hooks.platforms.discord_config import settings
from tether_hooks.platforms.discord_events import (
    from_held,
    message_event,
    reaction_event,
    sent_at,
    snowflake_at,
    to_held,
)

HOOK_TOKEN = "Zx9_kLmN0pQrStUvWxYz-0123456789abcdefABCDEFghijklmnopqrstuvwxyz01234"
WEBHOOK = f"https://discord.com/api/webhooks/1200000000000000001/{HOOK_TOKEN}"
BOT = "MTIwMDAwMDAwMDAwMDAwMDAwMg.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab"
CHANNEL, ALICE, BOT_ID = "1200000000000000003", "300000000000000001", "1200000000000000002"
SECTION: dict[str, Any] = {"webhook_url": WEBHOOK, "bot_token": BOT, "channel_id": CHANNEL,
                           "allowed_user_ids": [ALICE]}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)


def bridge(**edit: Any) -> DiscordBridge:
    section = {k: v for k, v in {**SECTION, **edit}.items() if v is not None}
    made = platforms.make_bridge("discord", BridgeContext(section))
    assert isinstance(made, DiscordBridge)
    return made


def test_make_bridge_builds_it_and_it_offers_what_it_has() -> None:
    made = bridge()
    assert type(made) is DiscordBridge and isinstance(made, BridgeBase)
    assert DiscordBridge.capabilities == Capabilities(full_input=True)
    assert DiscordBridge.replays_by_order is False  # replays are recognised by event_key
    for method in ("show_full", "health", "polling_alive", "restart_polling"):
        assert getattr(DiscordBridge, method) is not getattr(BridgeBase, method), method
    assert made.resolved_chat_id == CHANNEL
    assert access.chat_of({"discord": SECTION}, "discord", made.resolved_chat_id) == CHANNEL
    assert DiscordBridge.title == "Discord" and DiscordBridge.name == "discord"


def test_posts_only_is_alive_and_says_why_nothing_is_read() -> None:
    made = bridge(bot_token=None, channel_id=None)
    assert made.polling_alive() and made.resolved_chat_id is None
    assert made.settings.receives is False


def test_its_secret_shapes_are_what_redact_masks_everywhere() -> None:
    declared = [source for _, source in secrets.secret_patterns()]
    assert set(DiscordBridge.secret_patterns) <= set(declared)
    for shown in (f"POST {WEBHOOK} failed", f"Authorization: Bot {BOT}", f"token={BOT}",
                  f"see http://127.0.0.1:8080/api/webhooks/1200000000000000001/{HOOK_TOKEN}"):
        masked = redact.text(shown, extra=[])
        assert HOOK_TOKEN not in masked and HOOK_TOKEN[-16:] not in masked, masked
        assert BOT not in masked and BOT[-16:] not in masked, masked
    assert bridge().mask(f"x {BOT} y {HOOK_TOKEN}") == bridge().mask(f"x {BOT} y {HOOK_TOKEN}")
    assert BOT not in bridge().mask(BOT) and HOOK_TOKEN not in bridge().mask(HOOK_TOKEN)


# -- identity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", [
    {"allowed_user_ids": [ALICE, "300000000000000002"]}, {"allowed_user_ids": []},
    {"poll_pending": 3}, {"poll_idle": 60}, {"poll_idle": 0}, {"send_timeout": 7},
    {"retries": 0}, {"max_retry_after": 5}, {"username": "approvals"},
    {"proxy": "http://proxy:3128"}, {"bot_token": f"Bot {BOT}"}, {"webhook_url": WEBHOOK + "/"},
    {"api_base": "https://discord.com/api/v10/"}])
def test_account_stays_when_anything_but_the_tokens_and_api_base_change(
        edit: dict[str, Any]) -> None:
    assert bridge(**edit).account() == bridge().account()


@pytest.mark.parametrize("edit", [
    {"webhook_url": WEBHOOK[:-1] + "Z"},
    {"webhook_url": WEBHOOK.replace("1200000000000000001", "1200000000000000009")},
    {"bot_token": BOT[:-1] + "c"}, {"bot_token": None, "channel_id": None},
    {"api_base": "http://127.0.0.1:9999/api/v10"}])
def test_account_differs_when_a_token_or_the_api_base_changes(edit: dict[str, Any]) -> None:
    one, other = bridge().account(), bridge(**edit).account()
    assert one != other
    for account in (one, other):
        assert BOT not in account and HOOK_TOKEN not in account and len(account) == 16


def test_the_same_bot_from_the_environment_is_the_same_account(
        monkeypatch: pytest.MonkeyPatch) -> None:
    one = bridge().account()
    monkeypatch.setenv("DISCORD_BOT_TOKEN", BOT)
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", WEBHOOK)
    assert bridge(bot_token=None, webhook_url=None).account() == one


# -- events and their keys --------------------------------------------------------------------


def message(mid: str = "1300000000000000001", content: str = "deny: no", **extra: Any
            ) -> dict[str, Any]:
    return {"id": mid, "type": 0, "channel_id": CHANNEL, "content": content,
            "author": {"id": ALICE, "username": "alice", "global_name": "Alice"}, **extra}


def test_the_same_message_or_reaction_read_twice_has_the_same_key() -> None:
    b = bridge()
    one, two = message_event(message(), CHANNEL, BOT_ID), message_event(message(), CHANNEL,
                                                                        BOT_ID)
    assert one is not None and two is not None
    assert b.event_key(one) == b.event_key(two) == "discord:m:1300000000000000001"
    user = {"id": ALICE, "username": "alice"}
    r1 = reaction_event(CHANNEL, "1300000000000000001", "✅", user, "a:1f2e3d4c")
    r2 = reaction_event(CHANNEL, "1300000000000000001", "✅", user, "a:1f2e3d4c")
    assert b.event_key(r1) == b.event_key(r2) == (
        f"discord:r:1300000000000000001:✅:{ALICE}")
    keys = {b.event_key(reaction_event(CHANNEL, "1300000000000000001", e, u, "a:x"))
            for e in ("✅", "❌") for u in (user, {"id": "300000000000000002"})}
    assert len(keys) == 4  # another emoji or another user is another event
    assert bridge(allowed_user_ids=[]).event_key(r1) == b.event_key(r1)


@pytest.mark.parametrize(("content", "kind", "data", "args"), [
    ("deny: no", "text", "deny: no", ""), (f"<@{BOT_ID}> deny: no", "text", "deny: no", ""),
    (f"<@!{BOT_ID}>   !status", "command", "status", ""), ("!PAIR k7qx-m2pd", "command",
                                                            "pair", "k7qx-m2pd"),
    ("!", "text", "!", ""), ("! status", "text", "! status", ""),
    ("<@999999999999999999> hi", "text", "<@999999999999999999> hi", "")])
def test_messages_become_texts_or_commands(content: str, kind: str, data: str, args: str
                                           ) -> None:
    event = message_event(message(content=content), CHANNEL, BOT_ID)
    assert event is not None
    assert (event.kind, event.data, event.args, event.user_name) == (kind, data, args, "@alice")


@pytest.mark.parametrize("extra", [
    {"author": {"id": BOT_ID, "username": "tether", "bot": True}},
    {"author": {"id": "1200000000000000001", "username": "hook", "bot": True},
     "webhook_id": "1200000000000000001"},
    {"webhook_id": "1200000000000000001"},  # a webhook posing as a user
    {"type": 7},  # a member joined
    {"type": 6},  # a pin notice
    {"author": "alice"}, {"id": "abc"}])
def test_bots_webhooks_and_system_messages_are_no_events(extra: dict[str, Any]) -> None:
    assert message_event(message(**extra), CHANNEL, BOT_ID) is None


def test_a_reply_names_its_message_and_the_time_is_the_ids() -> None:
    event = message_event(message(type=19, message_reference={
        "message_id": "1300000000000000000", "channel_id": CHANNEL}), CHANNEL, BOT_ID)
    assert event is not None and event.reply_to is not None
    assert event.reply_to.message_id == "1300000000000000000"
    now = 1_790_000_000.0
    assert abs((sent_at(snowflake_at(now)) or 0) - now) < 0.001
    assert event.sent_at == sent_at("1300000000000000001")


@pytest.mark.parametrize("event", [
    Incoming("discord", "press", ALICE, "@alice", CHANNEL, data="t:1f2e3d4c",
             event_id=f"r:1300000000000000001:⏱:{ALICE}"),
    Incoming("discord", "command", ALICE, "@alice", CHANNEL, data="pair", args="K7QX",
             event_id="m:1300000000000000002", sent_at=1_790_000_000.5),
    Incoming("discord", "press", ALICE, "@alice", CHANNEL, data="y1:1f2e3d4c",
             event_id=f"r:1300000000000000003:☑️:{ALICE}", selected=("x1.0:1f2e3d4c",
                                                                   "x1.2:1f2e3d4c")),
    Incoming("discord", "press", ALICE, "@alice", CHANNEL, data="y1:1f2e3d4c",
             event_id=f"r:1300000000000000004:☑️:{ALICE}", selected=()),  # nothing on
])
def test_a_held_event_comes_back_the_same(event: Incoming) -> None:
    back = from_held(to_held(event))
    assert back == event and bridge().event_key(back) == bridge().event_key(event)


@pytest.mark.parametrize("raw", [{}, {"kind": "press"}, {
    "kind": "poll", "user_id": ALICE, "user_name": "a", "chat_id": CHANNEL, "event_id": "x"}])
def test_a_damaged_held_record_is_dropped(raw: dict[str, Any]) -> None:
    assert from_held(raw) is None


# -- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"webhook_url": None}, r"webhook_url is missing \(or set DISCORD_WEBHOOK_URL\)"),
    ({"webhook_url": "https://discord.com/api/v10/channels/1"},
     r"webhook_url does not end in /webhooks/<id>/<token>: give the webhook's URL"),
    ({"webhook_url": WEBHOOK + "?wait=true"}, r"webhook_url has a query or a fragment"),
    ({"webhook_url": 12}, r"webhook_url is not a string"),
    ({"bot_token": BOT + "\nX-Evil: 1"}, r"bot_token has a space, a control character"),
    ({"bot_token": BOT[:5] + "é" + BOT[5:]}, r"or a non-ASCII character in it"),
    ({"channel_id": None}, r"channel_id is missing: the bot reads answers in the webhook's"),
    ({"channel_id": "#approvals"}, r"channel_id = '#approvals' is invalid: give the channel's"),
    ({"allowed_user_ids": ["alice"]}, r"allowed_user_ids = \['alice'\] is invalid"),
    ({"allowed_user_ids": "300000000000000001"}, r"allowed_user_ids = '3000.*' is invalid"),
    ({"allowed_user_ids": [True]}, r"allowed_user_ids = \[True\] is invalid"),
    ({"api_base": "ftp://x"}, r"api_base = 'ftp://x' is not an http:// or https:// URL"),
    ({"poll_pending": 0.1}, r"poll_pending = 0.1 is invalid"),
    ({"poll_idle": -1}, r"poll_idle = -1 is invalid"),
    ({"retries": 11}, r"retries = 11 is invalid"),
    ({"username": ""}, r"username = '' is invalid: give a name of 1 to 80 characters"),
])
def test_bad_settings_name_the_key_and_never_a_secret(change: dict[str, Any], message: str
                                                      ) -> None:
    section = {k: v for k, v in {**SECTION, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=message) as info:
        settings(section, "/home/u/config.toml")
    said = str(info.value)
    assert said.startswith("/home/u/config.toml: ") and "[discord] " in said
    assert BOT not in said and HOOK_TOKEN not in said and BOT[-12:] not in said
    assert HOOK_TOKEN[-12:] not in said and "\n" not in said


def test_numbers_and_snowflakes_are_taken_in_their_forms() -> None:
    s = settings({**SECTION, "allowed_user_ids": [300000000000000001, " 300000000000000002 "],
                  "channel_id": int(CHANNEL), "bot_token": f"Bot {BOT}", "poll_idle": 0})
    assert s.allowed_user_ids == (ALICE, "300000000000000002")
    assert s.channel_id == CHANNEL and s.bot_token == BOT and s.poll_idle == 0
    assert s.webhook_id == "1200000000000000001" and s.receives
    assert re.fullmatch(r"https://discord\.com/api/v10", s.api_base)

"""What the Telegram bridge declares to the listener: capabilities, secrets, identity, replays."""

from __future__ import annotations

import re

import pytest

from tether_hooks import platforms, redact
from tether_hooks.platforms import secrets
from tether_hooks.platforms.base import BridgeBase, BridgeContext, Capabilities, Incoming
from tether_hooks.platforms.telegram import TelegramBridge

TOKEN = "7000000001:AAHsome-bot-token-in-an-error-0123"
SECTION = {"bot_token": TOKEN, "chat_id": 42, "allowed_user_ids": [42],
           "api_base": "http://127.0.0.1:9/bot"}


def test_make_bridge_builds_it_from_a_context_and_it_offers_what_it_has() -> None:
    bridge = platforms.make_bridge("telegram", BridgeContext(SECTION, offset=7))
    assert type(bridge) is TelegramBridge and isinstance(bridge, BridgeBase)
    assert TelegramBridge.capabilities == Capabilities(
        full_input=True, button_updates=True, commands=True)
    # every optional capability it claims is its own method, not the base class's no-op
    for method in ("show_full", "update_buttons", "set_commands", "health", "polling_alive"):
        assert getattr(TelegramBridge, method) is not getattr(BridgeBase, method), method


def test_its_token_shape_is_what_redact_masks_everywhere() -> None:
    assert TelegramBridge.secret_patterns
    declared = [source for _, source in secrets.secret_patterns()]
    assert set(TelegramBridge.secret_patterns) <= set(declared)
    assert all(re.search(p, TOKEN) for p in TelegramBridge.secret_patterns)
    masked = redact.text(f"curl https://api.telegram.org/bot{TOKEN}/getMe", extra=[])
    assert TOKEN.split(":")[1] not in masked and "«secret: Telegram bot token»" in masked


def test_account_is_stable_per_token_and_never_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    one = TelegramBridge(BridgeContext(SECTION)).account()
    assert one == TelegramBridge(BridgeContext(dict(SECTION))).account()
    other = TelegramBridge(BridgeContext({**SECTION, "bot_token": TOKEN[:-1] + "9"})).account()
    assert one != other and TOKEN not in one and TOKEN.split(":")[1] not in one
    # what is not the bot leaves the account (its held updates, its offset) as it was
    for edit in ({"allowed_user_ids": [42, 43]}, {"chat_id": -100123}, {"send_timeout": 7},
                 {"forum": True}, {"poll_timeout": 5}):
        assert TelegramBridge(BridgeContext({**SECTION, **edit})).account() == one, edit
    assert TelegramBridge(BridgeContext(
        {**SECTION, "api_base": "http://127.0.0.1:10/bot"})).account() != one
    bare = {k: v for k, v in SECTION.items() if k != "bot_token"}
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)  # the same bot, from the environment
    assert TelegramBridge(BridgeContext(bare)).account() == one
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN[:-1] + "8")
    assert TelegramBridge(BridgeContext(bare)).account() not in (one, other)


def test_events_are_keyed_by_update_id_and_replays_recognised_by_order() -> None:
    bridge = TelegramBridge(BridgeContext(SECTION))
    event = Incoming("telegram", "text", "42", "@alice", "42", data="hi", update_id=812346)
    assert bridge.event_key(event) == "telegram:812346"
    assert TelegramBridge.replays_by_order is True


@pytest.mark.parametrize("key", ["poll_timeout", "retries", "retry_delay", "max_retry_after",
                                 "send_timeout"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e999, -1,
                                   10**9, True, "5"])
def test_telegram_numbers_must_be_finite_and_in_range(key: str, value: object) -> None:
    from tether_hooks.errors import ConfigError
    from tether_hooks.platforms.telegram_config import settings

    section = {"bot_token": "123456:" + "A" * 30, "chat_id": 1, "allowed_user_ids": [1],
               key: value}
    with pytest.raises(ConfigError, match=rf"\[telegram\] {key} = .* is invalid: give a number"):
        settings(section)
    assert settings({**section, key: 3}).retries >= 0  # a sane value is taken

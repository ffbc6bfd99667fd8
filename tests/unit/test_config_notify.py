"""``notify``: which configured platforms requests go to (default: every one)."""

from __future__ import annotations

import pytest

from tether_hooks import config
from tether_hooks.errors import ConfigError

TG = {"bot_token": "1:x", "chat_id": 1, "allowed_user_ids": [1]}
SLACK = {"bot_token": "xoxb-1", "app_token": "xapp-1", "channel_id": "C1",
         "allowed_user_ids": ["U1"]}


def test_every_configured_platform_by_default() -> None:
    cfg = config.validate({"telegram": TG, "slack": SLACK})
    assert config.remote_platforms(cfg) == ["telegram", "slack"]


@pytest.mark.parametrize("notify", [["slack"], ["telegram"], ["slack", "telegram"]])
def test_notify_chooses(notify: list[str]) -> None:
    cfg = config.validate({"telegram": TG, "slack": SLACK, "notify": notify})
    assert config.remote_platforms(cfg) == [p for p in ("telegram", "slack") if p in notify]


def test_a_disabled_platform_stays_off_even_if_named() -> None:
    cfg = config.validate({"telegram": {**TG, "enabled": False}, "slack": SLACK,
                           "notify": ["telegram", "slack"]})
    assert config.remote_platforms(cfg) == ["slack"]


@pytest.mark.parametrize(("notify", "says"), [
    ([], "give a list of platforms"),
    ("slack", "give a list of platforms"),
    (["teams"], "give a list of platforms"),
    ([1], "give a list of platforms"),
    (["discord"], "there is no [discord] table: set it up first (tether-hooks setup discord)"),
])
def test_a_bad_notify_says_what_to_do(notify: object, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.validate({"telegram": TG, "slack": SLACK, "notify": notify}, "/x/config.toml")
    assert str(caught.value).startswith("/x/config.toml: notify = ")
    assert says in str(caught.value)

"""What the Slack bridge declares to the listener (capabilities, secrets, identity, replays),
its config checks, and how envelopes become events: pure, no emulator."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tether_hooks import platforms, redact
from tether_hooks.errors import ConfigError
from tether_hooks.listener import access
from tether_hooks.platforms import secrets
from tether_hooks.platforms.base import BridgeBase, BridgeContext, Capabilities, MessageRef
from tether_hooks.platforms.slack import SlackBridge
from tether_hooks.platforms.slack_config import settings
from tether_hooks.platforms.slack_events import clean_text, envelope, event_key, to_incoming

BOT = "xoxb-2150000000000-2160000000000-aBcDeFgHiJkLmNoPqRsTuVwX"
APP = "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"
SECTION = {"bot_token": BOT, "app_token": APP, "channel_id": "C0123ABCD",
           "allowed_user_ids": ["U0ALICE001"], "api_base": "http://127.0.0.1:9/api/"}


def test_make_bridge_builds_it_and_it_offers_what_it_has() -> None:
    bridge = platforms.make_bridge("slack", BridgeContext(SECTION))
    assert type(bridge) is SlackBridge and isinstance(bridge, BridgeBase)
    assert SlackBridge.capabilities == Capabilities(full_input=True, button_updates=True)
    for method in ("show_full", "update_buttons", "health", "polling_alive", "restart_polling"):
        assert getattr(SlackBridge, method) is not getattr(BridgeBase, method), method
    assert SlackBridge.replays_by_order is False
    # the table says channel_id (no chat_id): only that channel counts for dispatch
    assert bridge.resolved_chat_id == "C0123ABCD"
    assert access.chat_of({"slack": SECTION}, "slack", bridge.resolved_chat_id) == "C0123ABCD"


def test_its_token_shapes_are_what_redact_masks_everywhere() -> None:
    declared = [source for _, source in secrets.secret_patterns()]
    assert set(SlackBridge.secret_patterns) <= set(declared)
    for token in (BOT, APP, "xoxp-1234567890-1234567890-abcdefABCDEF",
                  "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLTEyMzQ"):
        assert any(re.search(p, token) for p in SlackBridge.secret_patterns), token
        masked = redact.text(f"Authorization: Bearer {token} failed", extra=[])
        assert token not in masked and token[-12:] not in masked
    url = "https://hooks.slack.com/actions/T0EMUTEAM1/1234567890/AbCdEfGhIjKlMn0123"
    assert "AbCdEfGhIjKlMn0123" not in redact.text(f"respond to {url}", extra=[])


def test_account_is_stable_per_token_and_never_the_token(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    one = SlackBridge(BridgeContext(SECTION)).account()
    assert one == SlackBridge(BridgeContext(dict(SECTION))).account()
    other = SlackBridge(BridgeContext({**SECTION, "bot_token": BOT[:-1] + "Y"})).account()
    assert one != other and BOT not in one and APP not in one
    # what is not the app or the bot leaves the account (its held events) as it was
    for edit in ({"allowed_user_ids": ["U0ALICE001", "U0BOB00002"]}, {"channel_id": "C0OTHER01"},
                 {"send_timeout": 7}, {"retries": 1}):
        assert SlackBridge(BridgeContext({**SECTION, **edit})).account() == one, edit
    app = SlackBridge(BridgeContext({**SECTION, "app_token": APP[:-1] + "0"})).account()
    assert app not in (one, other)
    bare = {k: v for k, v in SECTION.items() if k != "bot_token"}
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)  # the same bot, from the environment
    assert SlackBridge(BridgeContext(bare)).account() == one
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT[:-1] + "Z")
    assert SlackBridge(BridgeContext(bare)).account() not in (one, other, app)


# -- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"bot_token": None}, r"bot_token is missing \(or set SLACK_BOT_TOKEN\)"),
    ({"app_token": None}, r"app_token is missing \(or set SLACK_APP_TOKEN\)"),
    ({"bot_token": APP}, r"bot_token is not a xoxb-\.\.\. token"),
    ({"app_token": BOT}, r"app_token is not a xapp-\.\.\. token"),
    ({"channel_id": None}, r"channel_id is missing"),
    ({"channel_id": "#approvals"}, r"channel_id = '#approvals' is invalid: give the channel's id"),
    ({"allowed_user_ids": ["alice"]}, r"allowed_user_ids = \['alice'\] is invalid"),
    ({"allowed_user_ids": [1234]}, r"allowed_user_ids = \[1234\] is invalid"),
    ({"allowed_user_ids": []}, r"allowed_user_ids is empty, so nobody could approve"),
    ({"api_base": "https://slack.com/"}, r"api_base = 'https://slack.com/' does not end in "
                                         r"/api/: give the Web API base ending in /api/"),
    ({"proxy": "socks://x"}, r"proxy = 'socks://x' is not an http:// or https:// URL"),
    ({"api_base": "http://[::1/api/"}, r"api_base = 'http://\[::1/api/' is not a URL "
                                       r"\(Invalid IPv6 URL\): give the Web API base"),
    ({"api_base": "http://h:99999/api/"}, r"is not a URL \(Port out of range"),
    ({"api_base": "http://[::1]x/api/"}, r"its host and port are not host:port"),
    ({"api_base": "http://h/api/\n"}, r"has a space or a control character in it"),
    ({"api_base": "https:///api/"}, r"has no host name"),
    ({"api_base": ["https://slack.com/api/"]}, r"is not a string"),
    ({"proxy": "http://[::1"}, r"proxy = 'http://\[::1' is not a URL"),
    ({"proxy": "http://u:secretpw@h:99999"},
     r"proxy = \(not shown: it has a user name or password\) is not a URL"),
    ({"proxy": "http://"}, r"proxy = 'http://' has no host name"),
    ({"proxy": 3128}, r"proxy = 3128 is not a string"),
    ({"bot_token": BOT + "\nX-Evil: 1"}, r"bot_token has a space, a control character"),
    ({"bot_token": BOT[:10] + " " + BOT[10:]}, r"bot_token has a space"),
    ({"app_token": APP[:10] + "\x00" + APP[10:]}, r"app_token has a space, a control"),
    ({"app_token": APP[:10] + "\u00e9" + APP[10:]}, r"or a non-ASCII character in it"),
    ({"bot_token": 1234}, r"bot_token is not a string"),
    ({"send_timeout": float("nan")}, r"send_timeout = nan is invalid: give a number"),
    ({"retries": True}, r"retries = True is invalid"),
    ({"ping_interval": 1e999}, r"ping_interval = inf is invalid"),
])
def test_bad_settings_name_the_key(change: dict[str, Any], message: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    section = {k: v for k, v in {**SECTION, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=message) as info:
        settings(section, "/home/u/config.toml")
    assert str(info.value).startswith("/home/u/config.toml: [slack] ")
    assert BOT not in str(info.value) and APP not in str(info.value)
    assert BOT[-12:] not in str(info.value) and APP[-12:] not in str(info.value)
    assert "secretpw" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("env", "message"), [
    ({"HTTPS_PROXY": "http://[::1"}, r"^HTTPS_PROXY = 'http://\[::1' \(environment\) is not a "
                                     r"URL .*, or unset HTTPS_PROXY, or set proxy in \[slack\]"),
    ({"https_proxy": "proxy:3128"}, r"^https_proxy = .* is not an http:// or https:// URL"),
    ({"HTTP_PROXY": "http://u:secretpw@"}, r"^HTTP_PROXY = \(not shown: .*\) \(environment\) "
                                           r"has no host name"),
    ({"HTTPS_PROXY": "", "http_proxy": "socks5://h:1"}, r"^http_proxy = 'socks5://h:1'"),
    ({"SLACK_BOT_TOKEN": BOT + "\r"}, None),  # stripped: fine
    ({"SLACK_BOT_TOKEN": BOT[:10] + "\x1b" + BOT[10:]},
     r"SLACK_BOT_TOKEN \(environment\) has a space, a control character"),
])
def test_the_environment_is_checked_as_slack_sdk_reads_it(
        env: dict[str, str], message: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk's clients take HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy (the first
    set) when no proxy is configured; a token may come from SLACK_BOT_TOKEN."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "SLACK_BOT_TOKEN",
                "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    section = {k: v for k, v in SECTION.items()
               if not (k == "bot_token" and "SLACK_BOT_TOKEN" in env)}
    if message is None:
        assert settings(section).bot_token == BOT
        return
    with pytest.raises(ConfigError, match=message) as info:
        settings(section)
    assert "secretpw" not in str(info.value) and BOT[-12:] not in str(info.value)
    # a proxy in the table is what the clients use: the environment's is not read then
    if "SLACK_BOT_TOKEN" not in env:
        assert settings({**section, "proxy": "http://proxy:3128"}).proxy == "http://proxy:3128"


def test_tokens_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP)
    s = settings({"channel_id": "c0123abcd", "allowed_user_ids": ["u0alice001"]})
    assert (s.bot_token, s.app_token, s.channel_id, s.allowed_user_ids) == (
        BOT, APP, "C0123ABCD", ("U0ALICE001",))
    assert s.api_base == "https://slack.com/api/"
    assert settings({**SECTION, "api_base": "https://gov.slack.example/api"}).api_base == \
        "https://gov.slack.example/api/"


# -- envelopes as events -------------------------------------------------------------------------


def click(**over: Any) -> dict[str, Any]:
    payload = {
        "type": "block_actions", "user": {"id": "U0ALICE001", "username": "alice"},
        "container": {"type": "message", "message_ts": "1700000000.000200",
                      "channel_id": "C0123ABCD", "thread_ts": "1700000000.000100"},
        "channel": {"id": "C0123ABCD"}, "trigger_id": "1.2.abc",
        "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
        "actions": [{"action_id": "tether_0_0", "value": "a:1f2e3d4c",
                     "action_ts": "1700000005.123456"}], **over}
    return envelope("interactive", "env-1", payload)


def test_a_click_event_and_its_key_come_from_the_payload() -> None:
    event = to_incoming(click())
    assert event is not None
    assert (event.kind, event.data, event.user_name, event.thread_id) == (
        "press", "a:1f2e3d4c", "@alice", "1700000000.000100")
    assert event.reply_to == MessageRef("slack", "C0123ABCD", "1700000000.000200",
                                        "1700000000.000100")
    again = to_incoming({**click(), "envelope_id": "env-2"})  # a re-delivery, a new id
    assert again is not None and event_key(again) == event_key(event)
    other = to_incoming(click(user={"id": "U0BOB00002", "username": "bob"}))
    assert other is not None and event_key(other) != event_key(event)
    assert to_incoming(click(actions=[{"action_id": "x"}])) is None  # no value: not ours
    assert to_incoming(envelope("interactive", "e", {"type": "view_submission"})) is None


def test_slash_commands_are_keyed_by_trigger_and_default_to_help() -> None:
    payload = {"user_id": "U0ALICE001", "user_name": "alice", "channel_id": "C0123ABCD",
               "command": "/tether", "text": "revoke  all", "trigger_id": "9.9.ff"}
    event = to_incoming(envelope("slash_commands", "e", payload))
    assert event is not None
    assert (event.kind, event.data, event.args, event.event_id) == (
        "command", "revoke", "all", "cmd:9.9.ff")
    assert event_key(event) == "slack:cmd:9.9.ff"
    bare = to_incoming(envelope("slash_commands", "e", {**payload, "text": " "}))
    assert bare is not None and bare.data == "help"


def test_message_text_is_shown_as_typed() -> None:
    assert clean_text("<@U0BOT|tether>: allow 7f3a", "U0BOT") == "allow 7f3a"
    assert clean_text("deny: see &lt;staging&gt; &amp; <https://x.io/a|the runbook>") == \
        "deny: see <staging> & the runbook"
    assert clean_text("ping <!here> in <#C1|ops> for <@U2|bob>") == "ping @here in #ops for @bob"
    assert clean_text("a <literal> & b") == "a <literal> & b"  # no markup to undo


def test_every_chat_platform_names_itself_for_the_other_copies() -> None:
    """"Allowed by @alice in Slack" on the Telegram copy: each real bridge has its title."""
    from tether_hooks.platforms.slack import SlackBridge
    from tether_hooks.platforms.telegram import TelegramBridge

    assert {b.name: b.title for b in (TelegramBridge, SlackBridge)} == {
        "telegram": "Telegram", "slack": "Slack"}

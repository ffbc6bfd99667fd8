"""Slack's ``{"ok": false}`` answers become one-line messages a user can act on, in the
exception and in ``health()`` (so in ``tether-hooks status`` and the listener log); the
tokens never appear in any of them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from emulators.slack import SlackEmulator
from harness.slack import CHANNEL, Dispatch, bridge_for, drive, slack_section, wait

from tether_hooks.platforms.base import BridgeAuthError, BridgeError, Notice
from tether_hooks.platforms.slack import SlackBridge
from tether_hooks.platforms.slack_socket import SDK_LOG


def start_fails(emu: SlackEmulator, **extra: Any) -> tuple[BaseException, dict[str, Any]]:
    """What ``start`` raises, and the bridge's health afterwards."""

    async def main() -> tuple[BaseException, dict[str, Any]]:
        bridge = bridge_for(emu, **extra)
        try:
            with pytest.raises(BridgeError) as info:
                await bridge.start(Dispatch())
            bridge.receiver.health.started = True  # as a bridge that ran before
            return info.value, dict(bridge.health())
        finally:
            await bridge.close()

    return asyncio.run(main())


@pytest.mark.parametrize(("error", "expected"), [
    ("invalid_auth", "the bot token was revoked or is wrong"),
    ("not_authed", "Slack rejected the bot token (not_authed)"),
    ("account_inactive", "Slack rejected the bot token (account_inactive)"),
    ("token_revoked", "tether-hooks setup slack --bot-token"),
])
def test_a_rejected_bot_token_says_so(slack_emulator: SlackEmulator, error: str,
                                      expected: str) -> None:
    emu = slack_emulator
    emu.fail_next("auth.test", error)
    exc, health = start_fails(emu)
    assert isinstance(exc, BridgeAuthError) and expected in str(exc)
    assert "\n" not in str(exc)
    assert health["state"] == "auth" and expected in health["detail"]


def test_a_rejected_app_token_says_which_token(slack_emulator: SlackEmulator) -> None:
    exc, _ = start_fails(slack_emulator, app_token="xapp-1-A0WRONG-1-deadbeef")
    assert isinstance(exc, BridgeAuthError)
    assert "rejected the app-level token (invalid_auth)" in str(exc)
    assert "connections:write" in str(exc) and "deadbeef" not in str(exc)


def test_a_bot_outside_the_channel_is_told_to_invite_it(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.set_bot_member(CHANNEL, False)
    exc, health = start_fails(emu)
    assert str(exc) == ("the bot is not in #approvals (not_in_channel): invite the bot to "
                        "#approvals: /invite @tether")
    assert health["state"] == "auth" and "/invite @tether" in health["detail"]


@pytest.mark.parametrize(("setup", "expected"), [
    ("unknown", "channel C0APPROVAL not found (channel_not_found): check channel_id"),
    ("archived", "#approvals is archived (is_archived)"),
    ("scope", "lacks the channels:read scope to find the channel (missing_scope)"),
])
def test_channel_problems_are_actionable(slack_emulator: SlackEmulator, setup: str,
                                         expected: str) -> None:
    emu = slack_emulator
    if setup == "unknown":
        emu.fail_next("conversations.info", "channel_not_found")
    elif setup == "archived":
        emu.archive_channel(CHANNEL)
    else:
        emu.scopes.discard("channels:read")
    exc, health = start_fails(emu)
    assert isinstance(exc, BridgeAuthError) and expected in str(exc)
    assert expected in health["detail"]


def test_a_problem_met_later_makes_the_bridge_down_until_it_is_fixed(
        slack_emulator: SlackEmulator) -> None:
    """The bot removed from the channel while running: posting fails with the /invite hint,
    health says ``auth`` (the listener stops relaying to Slack), ``polling_alive`` asks for
    a check, and once the bot is back the check clears it."""
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        emu.set_bot_member(CHANNEL, False)
        with pytest.raises(BridgeAuthError, match="/invite @tether"):
            await bridge.post_notice(None, Notice("info", "hello"))
        down = dict(bridge.health())
        bridge._checked_at -= 60  # the recheck is due (every RECHECK s)
        alive_while_out = bridge.polling_alive()
        with pytest.raises(BridgeAuthError):
            await bridge.restart_polling()  # still out: still down
        emu.set_bot_member(CHANNEL, True)
        bridge._checked_at -= 60
        assert not bridge.polling_alive()
        await bridge.restart_polling()
        return [down, alive_while_out, dict(bridge.health()), bridge.polling_alive()]

    down, alive_while_out, healed, alive = drive(emu, body)
    assert down["state"] == "auth" and "invite the bot to #approvals" in down["detail"]
    assert alive_while_out is False
    assert healed["state"] == "ok" and alive is True


def test_missing_scope_on_post_names_the_scope(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.scopes.discard("chat:write")
    with pytest.raises(BridgeAuthError, match="lacks the chat:write scope to post a message"):
        drive(emu, lambda b, d: b.post_notice(None, Notice("info", "hi")), start=False)


def test_block_kit_refusals_carry_slacks_reasons(slack_emulator: SlackEmulator) -> None:
    async def body(bridge: SlackBridge, d: Dispatch) -> None:
        await bridge._call("post a message", bridge.web.chat_postMessage, channel=CHANNEL,
                           text="x", blocks=[{"type": "section"}])

    with pytest.raises(BridgeError, match=r"invalid_blocks: \[ERROR\] must define either"):
        drive(slack_emulator, body, start=False)


def test_health_follows_the_bridges_life(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def main() -> list[str]:
        bridge = bridge_for(emu)
        states = [bridge.health()["state"]]
        await bridge.start(Dispatch())
        states.append(bridge.health()["state"])
        await bridge.close()
        states.append(bridge.health()["state"])
        return states

    assert asyncio.run(main()) == ["starting", "ok", "error"]


def test_tokens_never_appear_in_errors_health_or_logs(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """A proxy or gateway that echoes the request (the Authorization header, the tokens) in
    its error: masked in the exception, in health and in every log line."""
    emu = slack_emulator
    bot, app = emu.bot_token, emu.app_token
    echo = {"response_metadata": {"messages": [f"[ERROR] Authorization: Bearer {bot} {app}"]}}
    emu.fail_next("chat.postMessage", "invalid_arguments", extra=echo)
    emu.fail_next("chat.update", "token_revoked", extra=echo)
    caplog.set_level(logging.DEBUG)

    async def body(bridge: SlackBridge, d: Dispatch) -> list[str]:
        seen = []
        for call in (bridge.post_notice(None, Notice("info", "hi")),
                     bridge._call("edit", bridge.web.chat_update, channel=CHANNEL, ts="1.1",
                                  text="x")):
            with pytest.raises(BridgeError) as info:
                await call
            seen.append(str(info.value))
        seen.append(str(bridge.health()))
        await asyncio.to_thread(emu.disconnect, "warning")  # the SDK logs its reconnect
        await asyncio.to_thread(emu.wait_for_connection, 2)
        return seen

    seen = drive(emu, body)
    assert "invalid_arguments" in seen[0] and "Authorization: «secret" in seen[0]
    texts = seen + [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if bot in t or app in t]
    assert any("«secret" in t for t in seen)


def test_the_config_is_checked_before_anything_connects(slack_emulator: SlackEmulator) -> None:
    from tether_hooks.errors import ConfigError

    section = slack_section(slack_emulator, channel_id="#approvals")
    with pytest.raises(ConfigError, match=r"\[slack\] channel_id = '#approvals' is invalid"):
        SlackBridge(_ctx(section))
    assert slack_emulator.calls() == []


def _ctx(section: dict[str, Any]) -> Any:
    from tether_hooks.platforms.base import BridgeContext

    return BridgeContext(section)


def test_an_app_token_revoked_while_running_says_so_and_the_log_does_not_fill(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """The socket drops and every reconnect is refused: health says which token and what
    to do (status, doctor), and keeps saying it across attempts (the SDK's own log lines
    do not replace it); the log gets each SDK warning once, without a traceback."""
    emu = slack_emulator
    caplog.set_level(logging.INFO)

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        emu.revoke_app_token()
        opened = len(emu.calls("apps.connections.open"))
        emu.drop_socket()
        seen = []
        for attempt in range(1, 4):
            await wait(emu.wait_until,
                       lambda n=attempt: len(emu.calls("apps.connections.open")) >= opened + n,
                       60, f"reconnect attempt {attempt}")
            await wait(emu.wait_until, lambda: bridge.health()["state"] == "auth", 10,
                       "the refusal noted")
            seen.append(dict(bridge.health()))
        return seen

    seen = drive(emu, body)
    for health in seen:
        assert health["state"] == "auth"
        assert "rejected the app-level token (invalid_auth)" in health["detail"]
        assert "connections:write" in health["detail"]
    sdk = [r.getMessage() for r in caplog.records if r.name == SDK_LOG
           and r.levelno >= logging.WARNING]
    assert sdk and len(set(sdk)) == len(sdk)  # each said once
    assert all("\n" not in line for line in sdk)  # one line each
    assert "Traceback" not in caplog.text and emu.app_token not in caplog.text

# -- answers that are not Slack's (a wrong api_base, a proxy's or a portal's page) ----------------

NOT_SLACK_ANSWERS = [
    ("<html>Sign in to the Wi-Fi</html>", "text/html", 200, "HTTP 200, text/html"),
    ("[1, 2]", "application/json", 200, "AttributeError"),
    ("hello", "text/plain", 200, "AttributeError"),
    (b"\xff{}", "application/json", 200, "UnicodeDecodeError"),
    ("xx", "application/gzip", 200, "bytes"),
    ('{"ok": true, "channel": ["C0APPROVAL"]}', "application/json", 200,
     "channel is a list, not an object"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "says"), NOT_SLACK_ANSWERS)
def test_start_on_an_answer_that_is_not_slacks_names_api_base(
        slack_emulator: SlackEmulator, body: str | bytes, content_type: str, status: int,
        says: str) -> None:
    emu = slack_emulator
    emu.answer_next("conversations.info", body, content_type=content_type, status=status)
    exc, health = start_fails(emu)
    assert type(exc) is BridgeError and "\n" not in str(exc)
    assert str(exc).startswith(f"the answer to find the channel is not a Slack Web API answer "
                               f"({says}")
    assert "check api_base" in str(exc) and health["last_error"] == str(exc)


@pytest.mark.parametrize(("body", "content_type", "known"), [
    ("[1, 2]", "application/json", False),
    (b"\xff{}", "application/json", False),
    ("xx", "application/gzip", False),
    ("<html>portal</html>", "text/html", True),
])
def test_a_post_whose_answer_is_unreadable_is_not_sent_again(
        slack_emulator: SlackEmulator, body: str | bytes, content_type: str,
        known: bool) -> None:
    """Once the request went out, an answer that cannot be read (a list, bytes) leaves it
    unknown whether Slack posted it: DeliveryUnknown, never a second post; an HTML page
    (the request never reached Slack's JSON API) is a plain failure naming api_base."""
    from tether_hooks.platforms.base import DeliveryUnknown

    emu = slack_emulator
    emu.answer_next("chat.postMessage", body, content_type=content_type)

    async def body_(bridge: SlackBridge, d: Dispatch) -> BaseException:
        with pytest.raises(BridgeError) as info:
            await bridge.post_notice(None, Notice("info", "hello"))
        return info.value

    exc = drive(emu, body_, start=False)
    assert "\n" not in str(exc)
    if known:
        assert type(exc) is BridgeError and "not a Slack Web API answer" in str(exc)
    else:
        assert isinstance(exc, DeliveryUnknown) and "its answer is not Slack's" in str(exc)
    assert len(emu.calls("chat.postMessage")) == 1  # never repeated


def test_an_edit_whose_answer_is_not_slacks_is_a_one_line_error(
        slack_emulator: SlackEmulator) -> None:
    from tether_hooks.platforms.base import Button

    emu = slack_emulator
    req = {"id": "7f3a", "agent": "claude", "session_id": "s-1", "cwd": "/p",
           "tool_name": "Bash", "tool_input": {"command": "ls"}}

    async def body(bridge: SlackBridge, d: Dispatch) -> BaseException:
        ref = await bridge.post_request(req, [[Button("✅ Allow", "a:1")]])
        emu.answer_next("chat.update", "[1, 2]", content_type="application/json")
        with pytest.raises(BridgeError) as info:
            await bridge.show_outcome(ref, req, "✅ Allowed")
        return info.value

    exc = drive(emu, body, start=False)
    assert type(exc) is BridgeError and "\n" not in str(exc)
    assert str(exc).startswith("the answer to show the outcome is not a Slack Web API answer "
                               "(AttributeError")


@pytest.mark.parametrize("answer", ['{"ok": true, "user": ["alice"]}', '{"ok": true, '
                                    '"user": {"name": 7}}', "[]"])
def test_an_odd_users_info_answer_costs_the_name_not_the_event(
        slack_emulator: SlackEmulator, answer: str) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> Any:
        emu.answer_next("users.info", answer, content_type="application/json")
        from harness.slack import ALICE, wait

        await wait(emu.post_user_message, CHANNEL, "allow", ALICE)
        return await d.next()

    event = drive(emu, body)
    assert (event.kind, event.data, event.user_name) == ("text", "allow", event.user_id)

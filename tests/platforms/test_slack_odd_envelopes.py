"""Odd Socket Mode envelopes: a field of the wrong type where Slack sends an object, a list or
a string (``"container": "C0.."``, ``"ts": ["5.6"]``, a payload that is a list), as a
forged or broken envelope may carry. Each is acknowledged, logged in one line naming the
field (no traceback) and ignored; the bridge goes on, and a good click afterwards arrives.

The pure part (``to_incoming``) is checked for every field of every event type; the same
envelopes then go through the real slack_sdk Socket Mode client against the emulator."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from emulators.slack import SlackEmulator
from harness.slack import ALICE, CHANNEL, Dispatch, drive, wait

from tether_hooks.listener.offsets import Offsets
from tether_hooks.platforms.base import Button, MessageRef
from tether_hooks.platforms.slack import SlackBridge
from tether_hooks.platforms.slack_events import OddPayload, envelope, to_incoming

NOT_OBJECT = ["C0APPROVAL", ["x"], 7, True]  # where Slack sends an object
NOT_STRING = [["5.6"], {"x": 1}, 5.6, False]  # where Slack sends a string
KINDS = {str: "a string", list: "a list", int: "a number", float: "a number",
         bool: "a boolean", dict: "an object"}

CLICK: dict[str, Any] = {
    "type": "block_actions",
    "user": {"id": ALICE, "username": "alice", "name": "alice"},
    "container": {"type": "message", "message_ts": "1700000000.000200",
                  "channel_id": CHANNEL, "thread_ts": "1700000000.000100"},
    "channel": {"id": CHANNEL},
    "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
    "actions": [{"action_id": "tether_0_0", "value": "a:deadbeef",
                 "action_ts": "1700000005.123456"}],
}
MESSAGE: dict[str, Any] = {
    "type": "event_callback",
    "event": {"type": "message", "user": ALICE, "channel": CHANNEL, "text": "allow",
              "ts": "1700000010.000100", "thread_ts": "1700000000.000100"},
}
SLASH: dict[str, Any] = {"user_id": ALICE, "user_name": "alice", "channel_id": CHANNEL,
                         "command": "/tether", "text": "status", "trigger_id": "9.9.ff"}

# (envelope type, good payload, path of the field, what Slack sends there)
FIELDS: list[tuple[str, dict[str, Any], tuple[str | int, ...], str]] = [
    *[("interactive", CLICK, path, want) for path, want in [
        (("user",), "object"), (("user", "id"), "string"), (("user", "username"), "string"),
        (("user", "name"), "string"),
        (("actions",), "list"), (("actions", 0), "object"),
        (("actions", 0, "value"), "string"), (("actions", 0, "action_ts"), "string"),
        (("container",), "object"), (("container", "channel_id"), "string"),
        (("container", "message_ts"), "string"), (("container", "thread_ts"), "string"),
        (("channel",), "object"), (("channel", "id"), "string"),
        (("message",), "object"), (("message", "ts"), "string"),
        (("message", "thread_ts"), "string"),
    ]],
    *[("events_api", MESSAGE, path, want) for path, want in [
        (("type",), "string"), (("event",), "object"), (("event", "type"), "string"),
        (("event", "subtype"), "string"), (("event", "user"), "string"),
        (("event", "bot_id"), "string"), (("event", "text"), "string"),
        (("event", "ts"), "string"), (("event", "thread_ts"), "string"),
        (("event", "channel"), "string"),
    ]],
    *[("slash_commands", SLASH, (key,), "string")
      for key in ("user_id", "user_name", "channel_id", "text", "trigger_id")],
]


def _name(path: tuple[str | int, ...]) -> str:
    """``actions[0].value``, as the log line names it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _odd_values(want: str) -> list[Any]:
    if want == "list":
        return ["a:deadbeef", {"value": "a:deadbeef"}, 7]
    if want == "object":
        return NOT_OBJECT
    return NOT_STRING


def _with(payload: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


# one case per field and odd value: (id, envelope type, payload, the field, its odd value)
CASES = [
    pytest.param(kind, _with(good, path, value), _name(path), value,
                 id=f"{kind}-{_name(path)}={type(value).__name__}")
    for kind, good, path, want in FIELDS for value in _odd_values(want)
]
# one per field (every odd value of it in turn) for the slower runs through the socket
BY_FIELD = [
    pytest.param(kind, [_with(good, path, v) for v in _odd_values(want)], _name(path),
                 id=f"{kind}-{_name(path)}")
    for kind, good, path, want in FIELDS
]


def test_the_good_payloads_are_events() -> None:
    """(So that each odd case differs from an event in that one field only.)"""
    for kind, good in (("interactive", CLICK), ("events_api", MESSAGE),
                       ("slash_commands", SLASH)):
        assert to_incoming(envelope(kind, "e", good)) is not None, kind


@pytest.mark.parametrize(("kind", "payload", "field", "value"), CASES)
def test_an_odd_field_is_named_and_nothing_else_is_raised(kind: str, payload: dict[str, Any],
                                                          field: str, value: Any) -> None:
    with pytest.raises(OddPayload) as info:
        to_incoming(envelope(kind, "env-odd", payload), "U0EMUBOT01", {})
    text = str(info.value)
    assert text.startswith(f"{field} is {KINDS[type(value)]}, not ")
    assert "\n" not in text


@pytest.mark.parametrize("payload", [
    {"type": "block_actions", "user": {"id": ALICE}},  # no actions
    {"type": "block_actions", "user": {"id": ALICE}, "actions": []},
    {"type": "block_actions", "user": None, "actions": [{"value": "a:1"}]},
    {"type": "block_actions", "user": {"id": ALICE}, "actions": [{"value": "a:1"}],
     "container": None, "message": None, "channel": None},  # null: as if absent
])
def test_absent_or_null_fields_are_not_odd(payload: dict[str, Any]) -> None:
    event = to_incoming(envelope("interactive", "e", payload))
    assert event is None or (event.chat_id, event.reply_to) == ("", None)


def test_a_non_numeric_or_infinite_ts_is_no_sending_time() -> None:
    for ts in ("abc", "inf", "nan", "1e999"):
        event = to_incoming(envelope("events_api", "e", _with(MESSAGE, ("event", "ts"), ts)))
        assert event is not None and event.sent_at is None and event.event_id == ts


# -- through the real Socket Mode client -------------------------------------------------------

SID = "0a1b2c3d-0000-4000-8000-000000000001"
BUTTONS = [[Button("✅ Allow", "a:1f2e3d4c"), Button("❌ Deny", "d:1f2e3d4c")]]
REQUEST = {"id": "7f3a", "agent": "claude", "session_id": SID, "cwd": "/home/user/proj",
           "tool_name": "Bash", "tool_input": {"command": "rm -rf build"}}


def _pushed_then_a_click(emu: SlackEmulator, envelopes: list[tuple[str, Any]]
                         ) -> tuple[MessageRef, list[Any]]:
    """Post a request, push ``envelopes`` (each acknowledged), then click Allow: what
    dispatch received, in order."""

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[MessageRef, list[Any]]:
        ref = await bridge.post_request(REQUEST, BUTTONS)
        for kind, payload in envelopes:
            env = await wait(emu.push_envelope, kind, payload)
            await wait(emu.wait_for_ack, env.envelope_id, 10)
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        got = [await d.next()]
        while not await d.none_within(0.3):  # (none_within takes what it finds)
            got.append("another event")
        return ref, got

    return drive(emu, body)


def _one_line_each(caplog: pytest.LogCaptureFixture, count: int, field: str) -> None:
    """No traceback, no error; ``count`` warnings naming ``field``, one line each."""
    records = caplog.records
    assert [r for r in records if r.exc_info or r.exc_text] == []
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
    ignored = [r.getMessage() for r in records if "ignored a" in r.getMessage()]
    assert len(ignored) == count, ignored
    for line in ignored:
        assert f": {field} is " in line and "\n" not in line, line


def _the_click(ref: MessageRef, got: list[Any]) -> None:
    (event,) = got  # nothing else reached dispatch
    assert (event.kind, event.data, event.user_id, event.chat_id) == (
        "press", "a:1f2e3d4c", ALICE, CHANNEL)
    assert event.reply_to == MessageRef("slack", CHANNEL, ref.message_id, ref.thread_id)


@pytest.mark.parametrize(("kind", "payloads", "field"), BY_FIELD)
def test_odd_envelopes_are_acked_logged_in_one_line_and_a_click_still_arrives(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture, kind: str,
        payloads: list[dict[str, Any]], field: str) -> None:
    caplog.set_level(logging.INFO, logger="tether_hooks")
    ref, got = _pushed_then_a_click(slack_emulator, [(kind, p) for p in payloads])
    _the_click(ref, got)
    _one_line_each(caplog, len(payloads), field)
    odd = [e for e in slack_emulator.envelopes(kind) if e.payload in payloads]
    assert len(odd) == len(payloads) and all(e.status == "acked" for e in odd)
    assert all(e.retry_attempt == 0 for e in odd)  # acknowledged in time, never sent again


def test_the_attack_mix_in_one_session(slack_emulator: SlackEmulator,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """The adversarial review's envelopes, one after the other on one socket."""
    caplog.set_level(logging.INFO, logger="tether_hooks")
    action = {"value": "a:1f2e3d4c", "action_ts": "1.1"}
    mix = [
        ("interactive", {"type": "block_actions", "user": {"id": ALICE}, "actions": [action],
                         "container": "C0APPROVAL"}),
        ("interactive", {"type": "block_actions", "user": {"id": ALICE}, "actions": [action],
                         "channel": "C0APPROVAL"}),
        ("interactive", {"type": "block_actions", "user": {"id": ALICE}, "actions": [action],
                         "channel": {"id": CHANNEL}, "message": ["x"]}),
        ("interactive", {"type": "block_actions", "user": ALICE, "actions": ["a:1f2e3d4c"]}),
        ("events_api", {"type": "event_callback", "event": {
            "type": "message", "user": ALICE, "channel": CHANNEL, "text": {"x": 1},
            "ts": "5.5"}}),
        ("events_api", {"type": "event_callback", "event": {
            "type": "message", "user": ALICE, "channel": CHANNEL, "text": "allow",
            "ts": ["5.6"]}}),
        ("slash_commands", {"user_id": ALICE, "channel_id": CHANNEL, "text": ["status"],
                            "trigger_id": "t1"}),
    ]
    ref, got = _pushed_then_a_click(slack_emulator, mix)
    _the_click(ref, got)
    lines = [r.getMessage() for r in caplog.records if "ignored a" in r.getMessage()]
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "container is a string, not an object", "channel is a string, not an object",
        "message is a list, not an object", "actions[0] is a string, not an object",
        "event.text is an object, not a string", "event.ts is a list, not a string",
        "text is a list, not a string"]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("payload", [["x"], [], 7, 0, True, None, 1.5],
                         ids=lambda p: repr(p))
def test_a_payload_that_is_no_object_is_acked_not_left_to_slack_sdk(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture, payload: Any) -> None:
    """slack_sdk raises on such an envelope before any listener sees it (an error logged,
    no ack, so Slack sends it again): it is acknowledged and ignored in one line."""
    caplog.set_level(logging.INFO, logger="tether_hooks")
    ref, got = _pushed_then_a_click(slack_emulator, [("interactive", payload)])
    _the_click(ref, got)
    (env,) = [e for e in slack_emulator.envelopes("interactive") if e.payload == payload]
    assert env.status == "acked" and env.retry_attempt == 0
    lines = [r.getMessage() for r in caplog.records if "ignored a" in r.getMessage()]
    assert len(lines) == 1 and "payload is " in lines[0] and "not an object" in lines[0]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_a_payload_that_is_a_string_is_ignored_quietly(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """slack_sdk makes ``{"text": ...}`` of it: no event of a kind we know, so acked."""
    caplog.set_level(logging.INFO, logger="tether_hooks")
    ref, got = _pushed_then_a_click(slack_emulator, [("interactive", "a:1f2e3d4c"),
                                                     ("slash_commands", "status")])
    _the_click(ref, got)
    assert all(e.status == "acked" for e in slack_emulator.envelopes()
               if isinstance(e.payload, str))
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_an_odd_envelope_held_before_a_restart_does_not_stop_the_start(
        slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """The inbox hands back what a dead listener held (an older version held anything):
    the odd one is dropped in one line, the good one after it is dispatched first."""
    caplog.set_level(logging.INFO, logger="tether_hooks")
    emu = slack_emulator
    inbox = Offsets()
    odd = envelope("interactive", "env-odd", _with(CLICK, ("container",), "C0APPROVAL"))
    good = envelope("events_api", "env-good", MESSAGE)
    inbox.hold_keyed("slack", [("slack:odd", odd), ("slack:good", good)])

    async def body(bridge: SlackBridge, d: Dispatch) -> Any:
        return await d.next()

    event = drive(emu, body, context={"inbox": inbox})
    assert (event.kind, event.data, event.event_id) == ("text", "allow", "1700000010.000100")
    lines = [r.getMessage() for r in caplog.records if "ignored a" in r.getMessage()]
    assert len(lines) == 1 and "container is a string, not an object" in lines[0]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []

"""SlackBridge driven through the real slack_sdk (AsyncWebClient, the aiohttp Socket Mode
client) against the Slack emulator: what a user sees, what dispatch receives."""

from __future__ import annotations

from typing import Any

import pytest
from emulators.slack import SlackEmulator, check_blocks
from harness.slack import (
    ALICE,
    CHANNEL,
    ELSEWHERE,
    MALLORY,
    Dispatch,
    button_id,
    drive,
    labels,
    section_text,
    wait,
)

from tether_hooks.platforms.base import BridgeError, Button, MessageRef, Notice
from tether_hooks.platforms.slack import SlackBridge

SID = "0a1b2c3d-0000-4000-8000-000000000001"
NONCE = "1f2e3d4c"
BUTTONS = [
    [Button("✅ Allow", f"a:{NONCE}"), Button("❌ Deny", f"d:{NONCE}"),
     Button("💬 Deny with reason", f"r:{NONCE}")],
    [Button("⏱ Allow mcp__a_very_long_server_name_for_testing__and_a_much_longer_tool_name 30m",
            "t:" + "x" * 62)],
]


def request(sid: str = SID, **extra: Any) -> dict[str, Any]:
    return {"id": "7f3a", "agent": "claude", "session_id": sid, "cwd": "/home/user/proj",
            "tool_name": "Bash", "tool_input": {"command": "rm -rf build"}, **extra}


def roots(emu: SlackEmulator) -> list[Any]:
    return [m for m in emu.messages(CHANNEL) if "🧵" in section_text(m)]


# -- posting ----------------------------------------------------------------------------------


def test_a_request_is_block_kit_in_its_sessions_thread_under_one_root(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    recorded: list[tuple[str, str]] = []

    async def body(bridge: SlackBridge, d: Dispatch) -> list[MessageRef]:
        first = await bridge.post_request(request(), BUTTONS)
        second = await bridge.post_request(request(id="8e4b"), BUTTONS[:1])
        other = await bridge.post_request(request(sid="ffff0000-other"), BUTTONS[:1])
        return [first, second, other]

    first, second, other = drive(emu, body, start=False,
                                 context={"on_thread": lambda s, t: recorded.append((s, t))})
    root, other_root = roots(emu)
    assert "Claude Code" in section_text(root) and "proj" in section_text(root)
    assert "`0a1b2c3d`" in section_text(root)
    assert first.thread_id == second.thread_id == root.ts != other.thread_id == other_root.ts
    assert recorded == [(SID, root.ts), ("ffff0000-other", other_root.ts)]
    msg = emu.message(CHANNEL, first.message_id)
    assert msg.thread_ts == root.ts and first.sent_at == float(msg.ts)
    assert check_blocks(msg.blocks) == []
    assert "Claude Code* wants to use *Bash" in section_text(msg)
    assert "```\nrm -rf build\n```" in section_text(msg)
    assert [b["value"] for b in msg.buttons()] == [b.data for row in BUTTONS for b in row]
    ids = [b["action_id"] for b in msg.buttons()]
    assert len(set(ids)) == len(ids)  # unique in the message, not just in a block
    assert labels(msg)[:3] == ["✅ Allow", "❌ Deny", "💬 Deny with reason"]
    assert len(labels(msg)[3]) == 75 and labels(msg)[3].endswith("…")
    assert msg.button(button_id(msg, "✅ Allow"))["style"] == "primary"
    assert "Claude Code wants to use Bash" in msg.text  # the notification's text


def test_the_thread_survives_a_restart(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    first = drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    # a new bridge knows the thread from the listener's book (ctx.threads) ...
    again = drive(emu, lambda b, d: b.post_request(request(id="9a9a"), BUTTONS), start=False,
                  context={"threads": {SID: first.thread_id}})
    # ... or from the session record the request carries
    record = {"id": SID, "chat": {"slack": {"chat_id": CHANNEL, "thread_id": first.thread_id}}}
    third = drive(emu, lambda b, d: b.post_request(request(id="9b9b", session=record), BUTTONS),
                  start=False)
    assert first.thread_id == again.thread_id == third.thread_id
    assert len(roots(emu)) == 1


def test_a_deleted_root_gets_a_new_thread(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[MessageRef, MessageRef]:
        first = await bridge.post_request(request(), BUTTONS)
        await bridge.web.chat_delete(channel=CHANNEL, ts=first.thread_id)
        return first, await bridge.post_request(request(id="8e4b"), BUTTONS)

    first, second = drive(emu, body, start=False)
    assert second.thread_id != first.thread_id
    assert emu.message(CHANNEL, second.message_id).thread_ts == second.thread_id


def test_notices_go_to_the_sessions_thread_or_the_channel(slack_emulator: SlackEmulator
                                                          ) -> None:
    emu = slack_emulator
    session = {"id": SID, "agent": "codex", "cwd": "/srv/app"}

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[Any, Any]:
        waiting = await bridge.post_notice(session, Notice("waiting", "Codex is waiting for you"))
        alone = await bridge.post_notice(None, Notice("error", "⚠️ the store is unreadable",
                                                      items=["one", "two"]))
        return waiting, alone

    waiting, alone = drive(emu, body, start=False)
    assert waiting.thread_id is not None and alone.thread_id is None
    (root,) = roots(emu)
    assert "Codex" in section_text(root) and "app" in section_text(root)
    shown = section_text(emu.message(CHANNEL, waiting.message_id))
    assert shown.startswith("⏳ *Codex is waiting for you*")
    error = section_text(emu.message(CHANNEL, alone.message_id))
    assert "*⚠️ the store is unreadable*" in error and "• one\n• two" in error


def test_mrkdwn_is_shown_literally_and_never_mentions(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    nasty = "<!channel> <@U0ALICE001> & *bold* _it_ ~no~ `tick` ```fence``` > quote"
    bash = request(tool_input={"command": nasty, "description": nasty})
    ask = request(id="9q9q", tool_name="ExitPlanMode", tool_input={"plan": f"> {nasty}"})

    async def body(bridge: SlackBridge, d: Dispatch) -> list[MessageRef]:
        return [await bridge.post_request(bash, BUTTONS),
                await bridge.post_request(ask, BUTTONS[:1])]

    refs = drive(emu, body, start=False)
    code, plan = (emu.message(CHANNEL, r.message_id) for r in refs)
    for msg in (code, plan):
        raw = str(msg.blocks) + msg.text
        assert "<!channel>" not in raw and "<@U0ALICE001>" not in raw
        assert "&lt;!channel&gt;" in section_text(msg) and "&amp;" in section_text(msg)
    # in a code block nothing is formatted: only &, <, > and a run of backticks change
    assert ("```\n&lt;!channel&gt; &lt;@U0ALICE001&gt; &amp; *bold* _it_ ~no~ `tick` "
            "``\u200b`fence``\u200b` &gt; quote\n```") in section_text(code)
    # prose shows each mark through Slack's date fallback, and no line starts a quote
    text = section_text(plan)
    assert "<!date^00000000^{_}|*>bold<!date^00000000^{_}|*>" in text
    assert "<!date^00000000^{_}|`>tick<!date^00000000^{_}|`>" in text
    assert "\u00ad&gt; &lt;!channel&gt;" in text


def test_a_long_input_fits_and_show_full_posts_all_of_it_within_the_limits(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    command = "\n".join(f"echo {i} '<{'&' * 40}>' `x`" for i in range(600))
    req = request(tool_input={"command": command})

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[MessageRef, list[MessageRef]]:
        ref = await bridge.post_request(req, BUTTONS)
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        event = await d.next()
        return ref, await bridge.show_full(event, req)

    ref, parts = drive(emu, body)
    posted = emu.message(CHANNEL, ref.message_id)
    assert "more characters; Show full sends the rest" in section_text(posted)
    assert len(parts) > 3 and all(p.thread_id == ref.thread_id for p in parts)
    shown = ""
    for i, part in enumerate(parts, 1):
        msg = emu.message(CHANNEL, part.message_id)
        assert check_blocks(msg.blocks) == [] and len(msg.blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in msg.blocks)
        assert f"part {i}/{len(parts)}" in section_text(msg)
        shown += section_text(msg)
    for i in range(600):
        assert f"echo {i} '&lt;{'&amp;' * 40}&gt;' `x`" in shown


def test_a_button_value_over_slacks_limit_is_refused_before_posting(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    with pytest.raises(BridgeError, match="1-2000"):
        drive(emu, lambda b, d: b.post_request(request(), [[Button("x", "v" * 2001)]]),
              start=False)
    assert emu.calls("chat.postMessage") == []


# -- clicks ----------------------------------------------------------------------------------


def test_a_click_is_a_press_with_the_buttons_data_answered_privately(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[MessageRef, Any]:
        ref = await bridge.post_request(request(), BUTTONS)
        msg = await wait(emu.message, CHANNEL, ref.message_id)
        d.answer_with = "Allowed"
        await wait(emu.click, CHANNEL, ref.message_id, button_id(msg, "⏱ Allow"))
        event = await d.next()
        await wait(emu.wait_for_ephemeral, user=ALICE)
        return ref, event

    ref, event = drive(emu, body)
    assert (event.kind, event.data, event.user_id, event.user_name, event.chat_id) == (
        "press", "t:" + "x" * 62, ALICE, "@alice", CHANNEL)
    assert event.thread_id == ref.thread_id
    assert event.reply_to == MessageRef("slack", CHANNEL, ref.message_id, ref.thread_id)
    (note,) = emu.ephemerals(user=ALICE)
    assert (note.text, note.thread_ts, note.channel) == ("Allowed", ref.thread_id, CHANNEL)
    assert emu.ephemerals(user=MALLORY) == []


def test_a_click_in_another_channel_reaches_dispatch_with_that_channel(
        slack_emulator: SlackEmulator) -> None:
    """The bridge delivers everything; dispatch refuses what is not in channel_id."""
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> Any:
        posted = await bridge.web.chat_postMessage(
            channel=ELSEWHERE, text="x", blocks=[{"type": "actions", "elements": [
                {"type": "button", "action_id": "b", "value": "a:0000",
                 "text": {"type": "plain_text", "text": "Allow"}}]}])
        await wait(emu.click, ELSEWHERE, posted["ts"], "b", MALLORY)
        return await d.next()

    event = drive(emu, body)
    assert (event.chat_id, event.user_id, event.data) == (ELSEWHERE, MALLORY, "a:0000")


def test_show_outcome_removes_the_buttons_and_update_buttons_replaces_them(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    toggles = [[Button("☑ Auth", "q:1"), Button("☐ Search", "q:2")], [Button("✔️ Done", "q:3")]]

    async def body(bridge: SlackBridge, d: Dispatch) -> tuple[MessageRef, MessageRef]:
        one = await bridge.post_request(request(), BUTTONS)
        two = await bridge.post_request(request(id="8e4b"), BUTTONS)
        await bridge.update_buttons(one, toggles)
        await bridge.show_outcome(two, request(id="8e4b"), "❌ Denied by @alice: not *now* <ok>")
        return one, two

    one, two = drive(emu, body, start=False)
    shown = emu.message(CHANNEL, one.message_id)
    assert labels(shown) == ["☑ Auth", "☐ Search", "✔️ Done"]
    assert "rm -rf build" in section_text(shown)  # the content is kept
    settled = emu.message(CHANNEL, two.message_id)
    assert settled.buttons() == [] and settled.updates == 1
    assert "❌ Denied by @alice: not <!date^00000000^{_}|*>now<!date^00000000^{_}|*> " \
           "&lt;ok&gt;*" in section_text(settled)
    assert "rm -rf build" in section_text(settled) and check_blocks(settled.blocks) == []


def test_update_buttons_after_a_restart_reads_the_message_back(slack_emulator: SlackEmulator
                                                               ) -> None:
    emu = slack_emulator
    ref = drive(emu, lambda b, d: b.post_request(request(), BUTTONS), start=False)
    drive(emu, lambda b, d: b.update_buttons(ref, [[Button("☑ Auth", "q:1")]]), start=False)
    shown = emu.message(CHANNEL, ref.message_id)
    assert labels(shown) == ["☑ Auth"] and "rm -rf build" in section_text(shown)
    assert emu.calls("conversations.replies")


# -- texts and commands ------------------------------------------------------------------------


def test_texts_in_a_thread_carry_the_thread_and_the_bots_own_echoes_are_ignored(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        ref = await bridge.post_request(request(), BUTTONS)  # echoed back as message events
        await bridge.show_outcome(ref, request(), "✅ Allowed")  # message_changed echoes
        user = await wait(emu.post_user_message, CHANNEL, "deny: use the <staging> db & retry",
                          ALICE, ref.thread_id)
        top = await wait(emu.post_user_message, CHANNEL, "<@U0EMUBOT01> allow", MALLORY)
        got = [await d.next(), await d.next()]
        assert await d.none_within(0.3)  # nothing else: no echo of the bot's posts
        return [ref, user, top, *got]

    ref, user, top, in_thread, at_top = drive(emu, body)
    assert (in_thread.kind, in_thread.data, in_thread.thread_id, in_thread.reply_to) == (
        "text", "deny: use the <staging> db & retry", ref.thread_id, None)
    assert in_thread.sent_at == float(user.ts) and in_thread.event_id == user.ts
    assert (at_top.data, at_top.thread_id, at_top.user_id) == ("allow", None, MALLORY)


def test_another_bots_messages_edits_and_joins_are_not_events(slack_emulator: SlackEmulator
                                                              ) -> None:
    emu = slack_emulator

    def event(**fields: Any) -> dict[str, Any]:
        base = {"type": "message", "channel": CHANNEL, "user": ALICE, "text": "allow",
                "ts": "1700000000.000100"}
        return {"type": "event_callback", "event_id": "Ev1", "event": {**base, **fields}}

    async def body(bridge: SlackBridge, d: Dispatch) -> Any:
        for fields in ({"bot_id": "B0OTHER"}, {"subtype": "message_changed"},
                       {"subtype": "channel_join"}, {"user": "U0EMUBOT01"}, {"text": ""}):
            await wait(emu.push_envelope, "events_api", event(**fields))
        await wait(emu.push_envelope, "events_api",
                   event(subtype="thread_broadcast", thread_ts="1699999999.000100"))
        return await d.next()

    got = drive(emu, body)
    assert (got.kind, got.data, got.thread_id) == ("text", "allow", "1699999999.000100")


def test_bang_and_slash_commands_and_where_they_are_answered(slack_emulator: SlackEmulator
                                                             ) -> None:
    emu = slack_emulator

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        typed = await wait(emu.post_user_message, CHANNEL, "!Revoke  all")
        bang = await d.next()
        await bridge.reply(bang, "Revoked 2 timers.")
        await wait(emu.slash, "/tether", "status now", ALICE, CHANNEL)
        slash = await d.next()
        await bridge.reply(slash, "Nothing is waiting.")
        await wait(emu.slash, "/tether", "", ALICE, CHANNEL)
        bare = await d.next()
        return [typed, bang, slash, bare]

    typed, bang, slash, bare = drive(emu, body)
    assert (bang.kind, bang.data, bang.args) == ("command", "revoke", "all")
    (answer,) = [m for m in emu.messages(CHANNEL) if m.text == "Revoked 2 timers."]
    assert answer.thread_ts == typed.ts  # a thread of its own under the user's message
    assert (slash.kind, slash.data, slash.args, slash.user_name) == (
        "command", "status", "now", "@alice")
    assert (bare.data, bare.args) == ("help", "")
    note = emu.wait_for_ephemeral(lambda e: e.text == "Nothing is waiting.", user=ALICE)
    assert note.channel == CHANNEL and note.source == "chat.postEphemeral"
    assert not [m for m in emu.messages(CHANNEL) if m.text == "Nothing is waiting."]
    assert all(e.status == "acked" for e in emu.envelopes("slash_commands"))


def test_a_texts_user_is_named_by_users_info_or_by_a_click(slack_emulator: SlackEmulator
                                                            ) -> None:
    """Texts carry only the user id: the name comes from users.info; when that fails
    (here: the scope was not granted) the id is shown, until a click shows the name."""
    emu = slack_emulator
    bob = "U0BOB00002"
    emu.add_user(bob, "bob")

    async def body(bridge: SlackBridge, d: Dispatch) -> list[Any]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.post_user_message, CHANNEL, "allow", bob, ref.thread_id)
        named = await d.next()
        emu.fail_next("users.info", "missing_scope")
        await wait(emu.post_user_message, CHANNEL, "allow", ALICE, ref.thread_id)
        before = await d.next()
        await wait(emu.click, CHANNEL, ref.message_id, "tether_0_0")
        await d.next()
        await wait(emu.post_user_message, CHANNEL, "allow", ALICE, ref.thread_id)
        return [named, before, await d.next()]

    named, before, after = drive(emu, body)
    assert named.user_name == "@bob"
    assert (before.user_name, after.user_name) == (ALICE, "@alice")
    assert [c.method for c in emu.calls("users.info")] == ["users.info"] * 2  # none after

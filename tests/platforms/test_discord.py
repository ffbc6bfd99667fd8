"""DiscordBridge against the Discord emulator, driven by the real discord-webhook and httpx
clients: what a user sees in the channel, what dispatch receives, what it costs in calls."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from emulators.discord import DiscordEmulator
from harness.discord import (
    ALICE,
    ALLOW,
    BUTTONS,
    DENY,
    DIR,
    FULL,
    MALLORY,
    NONCE,
    TIMER,
    TIMER_BARE,
    Dispatch,
    bridge_for,
    drive,
    request,
    seeded,
    wait,
)

from tether_hooks.listener.offsets import Offsets
from tether_hooks.platforms.base import Button, Incoming, MessageRef, Notice, RateLimited
from tether_hooks.platforms.discord import DiscordBridge

SEEDED = [ALLOW, DENY, TIMER, DIR, FULL]


def list_calls(emu: DiscordEmulator) -> list[Any]:
    return emu.calls("GET", rf"/channels/{emu.channel_id}/messages$")


# -- posting ----------------------------------------------------------------------------------


def test_a_request_is_posted_once_with_its_reactions_seeded_by_the_bot(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        return ref

    ref = drive(emu, body)
    (msg,) = emu.messages()
    assert msg["id"] == ref.message_id and ref.chat_id == emu.channel_id
    assert msg["webhook_id"] == emu.webhook_id and msg["mentions"] == []
    assert list(emu.reactions(ref.message_id)) == SEEDED  # in the order the buttons show
    assert all(users == [emu.bot_user_id] for users in emu.reactions(ref.message_id).values())
    assert "rm -rf build" in msg["embeds"][0]["description"]
    assert "React ✅ Allow · ❌ Deny · ⏱️ Allow Bash 30m" in msg["content"]
    assert "`deny: reason`" in msg["content"]  # the button without a reaction is said
    (post,) = emu.calls("POST", "/webhooks/")
    assert post.body["allowed_mentions"] == {"parse": []}
    assert ref.sent_at is not None and abs(ref.sent_at - msg_time(msg)) < 0.01


def shown(markdown: str) -> str:
    """What Discord displays of escaped text: a backslash-escaped mark as itself."""
    return re.sub(r"\\([^A-Za-z0-9\s])", r"\1", markdown)


def msg_time(msg: dict[str, Any]) -> float:
    return ((int(msg["id"]) >> 22) + 1420070400000) / 1000


@pytest.mark.parametrize(("emoji", "data"), [
    (ALLOW, f"a:{NONCE}"), (DENY, f"d:{NONCE}"), (TIMER, f"t:{NONCE}"),
    (TIMER_BARE, f"t:{NONCE}"), (DIR, f"p:{NONCE}"), (FULL, f"f:{NONCE}")])
def test_a_users_reaction_is_a_press_with_that_buttons_data(
        discord_emulator: DiscordEmulator, emoji: str, data: str) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, Incoming, str]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, emoji, ALICE)
        event = await d.next()
        return ref, event, bridge.event_key(event)

    ref, event, key = drive(emu, body)
    assert (event.kind, event.data, event.user_id, event.user_name) == (
        "press", data, ALICE, "@alice")
    assert event.reply_to is not None and event.reply_to.message_id == ref.message_id
    assert key == f"discord:r:{ref.message_id}:{emoji}:{ALICE}"
    assert emu.reactions(ref.message_id)[emoji][-1] == ALICE  # an approver's stays


def test_a_reaction_seen_again_is_not_delivered_twice_and_a_re_reaction_has_the_same_key(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[list[str], bool]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, ALICE)
        keys = [bridge.event_key(await d.next())]
        polls = len(list_calls(emu))
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= polls + 3, 5, "3 polls")
        quiet = d.events.empty()  # read three times more: not delivered again
        emu.unreact(ref.message_id, ALLOW, ALICE)
        polls = len(list_calls(emu))
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= polls + 2, 5, "2 polls")
        emu.react(ref.message_id, ALLOW, ALICE)
        keys.append(bridge.event_key(await d.next()))
        return keys, quiet

    keys, quiet = drive(emu, body)
    assert quiet
    assert keys[0] == keys[1]  # the listener drops the replay by its key


def test_two_users_reacting_are_two_presses(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> list[Incoming]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, DENY, ALICE)
        emu.react(ref.message_id, DENY, "300000000000000002")
        return [await d.next(), await d.next()]

    events = drive(emu, body)
    assert sorted(e.user_id for e in events) == sorted([ALICE, "300000000000000002"])
    assert {e.data for e in events} == {f"d:{NONCE}"}


def test_a_strangers_reaction_is_delivered_to_dispatch_and_then_removed(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, Incoming]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, MALLORY)
        event = await d.next()
        await wait(emu.wait_until, lambda: MALLORY not in emu.world.messages[
            ref.message_id].reactions.get(ALLOW, []), 5, "the stranger's reaction removed")
        return ref, event

    ref, event = drive(emu, body)
    assert event.user_id == MALLORY  # dispatch refuses it (and says so)
    assert emu.reactions(ref.message_id)[ALLOW] == [emu.bot_user_id]


def test_a_strangers_reaction_that_cannot_be_removed_is_delivered_once(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.permissions.discard("MANAGE_MESSAGES")

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[Incoming, Incoming, bool]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, MALLORY)
        stranger = await d.next()
        emu.react(ref.message_id, ALLOW, ALICE)
        allowed = await d.next()
        return stranger, allowed, await d.none_within(3.0)  # about three more reads

    stranger, allowed, nothing_more = drive(emu, body)
    assert (stranger.user_id, allowed.user_id) == (MALLORY, ALICE)
    assert nothing_more  # the stranger is not read (and audited) again on every poll
    assert len(emu.calls("DELETE", f"/reactions/.+/{MALLORY}")) == 1


def test_a_question_offers_keycaps(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    buttons = [[Button(f"{n + 1}. Option {n}", f"o0.{n}:{NONCE}")] for n in range(3)]
    ask = request(tool_name="AskUserQuestion", tool_input={"questions": [
        {"question": "Which one?", "header": "Pick", "multiSelect": False,
         "options": [{"label": f"Option {n}", "description": ""} for n in range(3)]}]})

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, Incoming]:
        ref = await bridge.post_request(ask, buttons)
        await wait(emu.wait_until, seeded(emu, ref.message_id, 3), 5, "the keycaps")
        emu.react(ref.message_id, "2\ufe0f\u20e3", ALICE)
        return ref, await d.next()

    ref, event = drive(emu, body)
    assert list(emu.reactions(ref.message_id)) == ["1️⃣", "2️⃣", "3️⃣"]
    assert event.data == f"o0.1:{NONCE}"
    content = emu.message(ref.message_id)["content"]
    assert "React 1️⃣ Option 0 · 2️⃣ Option 1 · 3️⃣ Option 2" in content


# -- texts and commands -----------------------------------------------------------------------


def test_a_reply_is_a_text_naming_its_request(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, Incoming, str]:
        ref = await bridge.post_request(request(), BUTTONS)
        sent = emu.post_user_message("deny: not on prod", ALICE, reply_to=ref.message_id)
        event = await d.next()
        return ref, event, sent["id"]

    ref, event, mid = drive(emu, body)
    assert (event.kind, event.data, event.user_id) == ("text", "deny: not on prod", ALICE)
    assert event.reply_to is not None and event.reply_to.message_id == ref.message_id
    assert event.event_id == f"m:{mid}"


@pytest.mark.parametrize("intent", [True, False])
def test_a_mention_of_the_bot_is_readable_with_or_without_the_intent(
        discord_emulator: DiscordEmulator, intent: bool) -> None:
    emu = discord_emulator
    emu.message_content_intent = intent

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, Incoming]:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.post_user_message("deny: too risky", ALICE, reply_to=ref.message_id,
                              mention_bot=True)
        return ref, await d.next()

    ref, event = drive(emu, body)
    assert (event.kind, event.data) == ("text", "deny: too risky")
    assert event.reply_to is not None and event.reply_to.message_id == ref.message_id


def test_without_the_intent_a_plain_reply_is_not_delivered_and_the_user_is_told_how(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[bool, dict[str, Any], str]:
        ref = await bridge.post_request(request(), BUTTONS)
        emu.post_user_message("allow", ALICE)  # not a reply: silently unreadable
        reply = emu.post_user_message("deny: no", ALICE, reply_to=ref.message_id)
        hint = await wait(emu.wait_for_message, lambda m: "MESSAGE CONTENT" in m["content"])
        return await d.none_within(1.0), hint, reply["id"]

    nothing, hint, reply_id = drive(emu, body)
    assert nothing
    assert hint["author"]["id"] == emu.bot_user_id
    assert hint["message_reference"]["message_id"] == reply_id
    assert "Reply to this message instead, or mention me (@tether" in shown(hint["content"])
    assert "(Developer Portal > your app > Bot > Message Content Intent)" in shown(
        hint["content"])
    assert hint["mentions"] == []  # the hint pings nobody
    assert len([m for m in emu.messages() if "MESSAGE CONTENT" in m["content"]]) == 1


@pytest.mark.parametrize(("typed", "name", "args"), [
    ("!status", "status", ""), ("!pair k7qx-m2pd", "pair", "k7qx-m2pd"),
    ("!Allow Bash 2h", "allow", "Bash 2h"), ("!timers  list all ", "timers", "list all")])
def test_a_bang_line_is_a_command(discord_emulator: DiscordEmulator, typed: str, name: str,
                                  args: str) -> None:
    emu = discord_emulator
    emu.message_content_intent = True

    async def body(bridge: DiscordBridge, d: Dispatch) -> Incoming:
        emu.post_user_message(typed, ALICE)
        return await d.next()

    event = drive(emu, body)
    assert (event.kind, event.data, event.args, event.user_id) == ("command", name, args, ALICE)


def test_a_pairing_line_after_a_mention_is_read_without_the_intent(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = False  # what `tether-hooks pair discord` tells the user

    async def body(bridge: DiscordBridge, d: Dispatch) -> Incoming:
        emu.post_user_message("!pair k7qx-m2pd", MALLORY)  # hidden from the bot: nothing
        emu.post_user_message("!pair k7qx-m2pd", ALICE, mention_bot=True)
        return await d.next()

    event = drive(emu, body)
    assert (event.kind, event.data, event.args, event.user_id) == (
        "command", "pair", "k7qx-m2pd", ALICE)


def test_bot_and_webhook_messages_never_become_events(discord_emulator: DiscordEmulator
                                                      ) -> None:
    emu = discord_emulator
    emu.message_content_intent = True

    async def body(bridge: DiscordBridge, d: Dispatch) -> Incoming:
        ref = await bridge.post_request(request(), BUTTONS)
        await bridge.post_notice(None, Notice("info", "!status from the webhook"))
        await bridge.rest.call("POST", f"/channels/{emu.channel_id}/messages", "post",
                               json_body={"content": "!status from the bot"})
        await bridge.show_outcome(ref, {**request(), "status": "allowed"}, "Allowed by @alice")
        emu.post_user_message("hello", ALICE)
        return await d.next()

    event = drive(emu, body)
    assert (event.kind, event.data, event.user_id) == ("text", "hello", ALICE)


# -- outcomes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("manage", [True, False])
def test_the_outcome_is_edited_in_and_the_reactions_cleared(
        discord_emulator: DiscordEmulator, manage: bool) -> None:
    emu = discord_emulator
    if not manage:
        emu.permissions.discard("MANAGE_MESSAGES")

    async def body(bridge: DiscordBridge, d: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, ALICE)
        await d.next()
        await bridge.show_outcome(ref, {**request(), "status": "allowed"},
                                  "✅ Allowed by @alice")
        return ref

    ref = drive(emu, body)
    msg = emu.message(ref.message_id)
    assert "**✅ Allowed by @alice**" in shown(msg["content"]) and "React" not in msg["content"]
    assert msg["embeds"][0]["color"] == 0x23A55A
    assert len(emu.edits(ref.message_id)) == 1
    assert emu.calls("PATCH", r"/webhooks/.*/messages/")  # edited through the webhook
    if manage:
        assert emu.reactions(ref.message_id) == {}
    else:  # only our own are taken back, one call for each we added; the user's stays
        assert emu.reactions(ref.message_id) == {ALLOW: [ALICE]}
        assert len(emu.calls("DELETE", r"/reactions/[^/]+/@me$")) == 5  # ✅ ❌ ⏱️ 📁 📄


def test_posts_only_posts_without_reactions_and_says_so(discord_emulator: DiscordEmulator
                                                         ) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, dict[str, Any]]:
        ref = await bridge.post_request(request(), BUTTONS)
        return ref, dict(bridge.health())

    ref, health = drive(emu, body, bot_token=None, channel_id=None)
    assert health["state"] == "ok" and "posts only" in health["detail"]
    assert health["receives"] is False
    assert emu.reactions(ref.message_id) == {}
    content = emu.message(ref.message_id)["content"]
    assert "React" not in content and "reply" not in content.lower()
    assert "nothing is read from this channel" in content
    assert [c.method for c in emu.calls()] == ["POST"]  # no bot call at all


# -- restarts ---------------------------------------------------------------------------------


def test_after_a_restart_a_reaction_on_a_pending_request_is_delivered(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def first(bridge: DiscordBridge, d: Dispatch) -> MessageRef:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        return ref

    ref = drive(emu, first)
    emu.react(ref.message_id, DENY, ALICE)  # while no listener runs

    async def second(bridge: DiscordBridge, d: Dispatch) -> Incoming:
        return await d.next()

    event = drive(emu, second, context={"posted": lambda: [(ref.to_dict(), BUTTONS)]})
    assert (event.kind, event.data, event.user_id) == ("press", f"d:{NONCE}", ALICE)


def test_a_held_event_is_delivered_again_on_start(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True
    inbox = Offsets()

    async def first(bridge: DiscordBridge, d: Dispatch) -> str:
        emu.post_user_message("!status", ALICE)
        event = await d.next()  # dispatch dies before it marks the key applied
        return bridge.event_key(event)

    key = drive(emu, first, context={"inbox": inbox})
    assert [k for k in inbox.held_keys("discord")] == [key]
    calls = len(emu.calls())

    async def second(bridge: DiscordBridge, d: Dispatch) -> tuple[str, int]:
        event = await d.next()
        return bridge.event_key(event), len(list_calls(emu))

    again, _ = drive(emu, second, context={"inbox": inbox})
    assert again == key
    assert len(emu.calls()) > calls  # checked the bot and the channel first


# -- the whole input --------------------------------------------------------------------------


def test_show_full_sends_the_input_as_a_file_with_secrets_masked(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    command = ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\npassword = 'hunter2-s3cret-pw'\n"
               + "echo step\n" * 200)
    req = request(tool_input={"command": command})

    async def body(bridge: DiscordBridge, d: Dispatch) -> list[MessageRef]:
        ref = await bridge.post_request(req, BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, FULL, ALICE)
        event = await d.next()
        return await bridge.show_full(event, req)

    (ref,) = drive(emu, body)
    msg = emu.message(ref.message_id)
    (attachment,) = msg["attachments"]
    data = emu.attachment_bytes(ref.message_id, attachment["filename"]).decode()
    assert attachment["filename"] == "request-7f3a.txt"
    assert "AKIAIOSFODNN7EXAMPLE" not in data and "hunter2-s3cret-pw" not in data
    assert data.count("echo step") == 200  # the whole input, not a preview
    assert "secrets masked" in msg["content"]
    preview = emu.messages()[0]
    shown = preview["content"] + preview["embeds"][0]["description"]
    assert "AKIAIOSFODNN7EXAMPLE" not in shown and "hunter2-s3cret-pw" not in shown


def test_show_full_of_a_tool_with_a_very_long_name_is_sent(
        discord_emulator: DiscordEmulator) -> None:
    """An MCP tool's name is the server's to choose: the file's caption stays within
    Discord's 2,000 characters of content, so the file is still sent."""
    emu = discord_emulator
    req = request(tool_name="mcp__" + "t" * 2500, tool_input={"command": "echo hi"})

    async def body(bridge: DiscordBridge, d: Dispatch) -> list[MessageRef]:
        ref = await bridge.post_request(req, BUTTONS)
        event = Incoming("discord", "press", ALICE, "@alice", emu.channel_id,
                         data=f"f:{NONCE}", reply_to=ref,
                         event_id=f"r:{ref.message_id}:{FULL}:{ALICE}")
        return await bridge.show_full(event, req)

    (ref,) = drive(emu, body)
    msg = emu.message(ref.message_id)
    assert len(msg["content"]) <= 2000 and "mcp" in msg["content"]
    assert [a["filename"] for a in msg["attachments"]] == ["request-7f3a.txt"]


# -- adaptive reading and what it costs -------------------------------------------------------


def gaps(calls: list[Any]) -> list[float]:
    return [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]


def test_idle_reading_is_slow_and_a_pending_request_makes_it_fast(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[list[Any], list[Any]]:
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= 3, 8, "3 idle polls")
        idle = list_calls(emu)
        await bridge.post_request(request(), BUTTONS)
        start = len(list_calls(emu))
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= start + 4, 8, "4 fast polls")
        return idle, list_calls(emu)[start:]

    idle, busy = drive(emu, body, poll_idle=2, poll_pending=0.5)
    assert all(gap >= 1.9 for gap in gaps(idle)), gaps(idle)
    assert all(0.45 <= gap < 1.5 for gap in gaps(busy)), gaps(busy)
    assert emu.violations == []


def test_while_nothing_changes_a_poll_is_one_list_call_and_a_count_change_reads_one_emoji(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[list[Any], list[Any], str]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        start = len(emu.calls())
        polls = len(list_calls(emu))
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= polls + 4, 8, "4 polls")
        quiet = emu.calls()[start:]
        start = len(emu.calls())
        emu.react(ref.message_id, TIMER, ALICE)
        await d.next()
        polls = len(list_calls(emu))
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= polls + 2, 8, "2 polls")
        return quiet, emu.calls()[start:], ref.message_id

    quiet, after, mid = drive(emu, body)
    assert {(c.method, c.path) for c in quiet} == {
        ("GET", f"/api/v10/channels/{emu.channel_id}/messages")}
    fetched = [c for c in after if "/reactions/" in c.path]
    assert [(c.method, c.path) for c in fetched] == [
        ("GET", f"/api/v10/channels/{emu.channel_id}/messages/{mid}/reactions/"
                f"{TIMER}")]  # only the emoji whose count changed, once
    assert {c.path for c in after if c not in fetched} == {
        f"/api/v10/channels/{emu.channel_id}/messages"}


def test_a_request_older_than_the_page_is_read_on_its_own(discord_emulator: DiscordEmulator
                                                          ) -> None:
    emu = discord_emulator
    emu.message_content_intent = True

    async def body(bridge: DiscordBridge, d: Dispatch) -> Incoming:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        for n in range(55):  # the request scrolls out of the newest 50
            emu.post_user_message(f"chatter {n}", MALLORY)
        for _ in range(55):
            await d.next()
        emu.react(ref.message_id, ALLOW, ALICE)
        return await d.next()

    event = drive(emu, body)
    assert (event.kind, event.data, event.user_id) == ("press", f"a:{NONCE}", ALICE)
    assert emu.calls("GET", r"/messages/\d+$")  # read by its id


# -- rate limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "pattern"), [
    ("GET", r"/channels/\d+/messages$"), ("PUT", r"/reactions/.*/@me$")])
def test_a_429_is_waited_out_and_the_call_then_succeeds(
        discord_emulator: DiscordEmulator, method: str, pattern: str) -> None:
    emu = discord_emulator
    emu.rate_limit_next(method, pattern, retry_after=0.4)

    async def body(bridge: DiscordBridge, d: Dispatch) -> tuple[MessageRef, dict[str, Any]]:
        ref = await bridge.post_request(request(), BUTTONS)
        await wait(emu.wait_until, seeded(emu, ref.message_id), 5, "the reactions")
        emu.react(ref.message_id, ALLOW, ALICE)
        await d.next()
        return ref, dict(bridge.health())

    ref, health = drive(emu, body)
    calls = emu.calls(method, pattern)
    limited = next(i for i, c in enumerate(calls) if c.status == 429)
    retried = calls[limited + 1]
    assert retried.status in (200, 204) and retried.path == calls[limited].path
    assert retried.at - calls[limited].at >= 0.39
    assert list(emu.reactions(ref.message_id)) == SEEDED
    assert health["rate_limited"] == 1 and health["state"] == "ok"
    assert emu.violations == []


def test_a_bucket_with_nothing_left_waits_for_its_reset(discord_emulator: DiscordEmulator
                                                        ) -> None:
    emu = discord_emulator
    emu.bucket_limit, emu.bucket_window = 1, 1.0  # every answer says Remaining: 0

    async def body(bridge: DiscordBridge, d: Dispatch) -> None:
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= 3, 8, "3 polls")

    drive(emu, body, poll_idle=0.5)
    polls = list_calls(emu)
    assert all(c.status == 200 for c in polls)
    assert all(gap >= 0.95 for gap in gaps(polls)), gaps(polls)  # not the 0.5 s asked for
    assert emu.violations == []


def test_remaining_zero_from_the_headers_holds_the_next_call_until_reset_after(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.fail_next("GET", r"/channels/\d+/messages$", 200, [], headers={
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5",
        "X-RateLimit-Bucket": "b0b0"})

    async def body(bridge: DiscordBridge, d: Dispatch) -> None:
        await wait(emu.wait_until, lambda: len(list_calls(emu)) >= 2, 8, "2 polls")

    drive(emu, body, poll_idle=0.5)
    first, second = list_calls(emu)[:2]
    assert first.error == "injected" and second.at - first.at >= 1.45


@pytest.mark.parametrize("via", [True, False])
def test_a_429_on_the_webhook_is_retried_and_the_request_posted_once(
        discord_emulator: DiscordEmulator, via: bool) -> None:
    emu = discord_emulator
    emu.rate_limit_next("POST", "/webhooks/", retry_after=0.3, via=via)

    async def body(bridge: DiscordBridge, d: Dispatch) -> MessageRef:
        return await bridge.post_request(request(), BUTTONS)

    ref = drive(emu, body)
    assert [m["id"] for m in emu.messages()] == [ref.message_id]
    posts = emu.calls("POST", "/webhooks/")
    assert [c.status for c in posts] == [429, 200] and posts[1].at - posts[0].at >= 0.29


def test_a_global_429_holds_every_bot_call(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.rate_limit_next("GET", r"/channels/\d+/messages$", retry_after=1.0, global_=True)

    async def body(bridge: DiscordBridge, d: Dispatch) -> None:
        limited = await wait(emu.wait_for_call, "GET", r"/messages$",
                             lambda c: c.status == 429)
        while not bridge.rest.limits.limited:  # the emulator logs the 429 as it answers;
            await asyncio.sleep(0.005)  # the bridge has read it a moment later
        await bridge.rest.call("GET", "/users/@me", "check the bot")  # held too
        assert limited

    drive(emu, body)
    limited = next(c for c in emu.calls() if c.status == 429)
    after = [c for c in emu.calls() if c.at > limited.at and c.auth == "bot"]
    assert after and all(c.at - limited.at >= 0.95 for c in after)
    assert emu.violations == []


def test_a_wait_longer_than_max_retry_after_is_rate_limited(discord_emulator: DiscordEmulator
                                                            ) -> None:
    emu = discord_emulator
    emu.rate_limit_next("POST", "/webhooks/", retry_after=30)

    async def body(bridge: DiscordBridge, d: Dispatch) -> RateLimited:
        with pytest.raises(RateLimited) as info:
            await bridge.post_request(request(), BUTTONS)
        return info.value

    error = drive(emu, body, max_retry_after=2, start=False)
    assert error.retry_after == 30 and "wait 30 s" in str(error)
    assert emu.messages() == []


# -- closing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["request", "notice"])
def test_close_right_after_a_post_ends_the_reading(discord_emulator: DiscordEmulator,
                                                   kind: str) -> None:
    """A post wakes the reading loop; a close in that same moment must still end it (Python
    3.11's wait_for swallowed that cancel and the listener hung on shutdown)."""
    emu = discord_emulator

    async def main() -> bool:
        bridge = bridge_for(emu, poll_idle=60, poll_pending=60)
        await bridge.start(Dispatch())
        await wait(emu.wait_until, lambda: list_calls(emu), 5, "the first poll")
        if kind == "request":
            await bridge.post_request(request(), [[]])
        else:
            await bridge.post_notice(None, Notice("waiting", "Claude is waiting for you"))
        closing = asyncio.ensure_future(bridge.close())
        done, _ = await asyncio.wait({closing}, timeout=3)
        return bool(done)

    assert asyncio.run(main()), "close did not return"  # it hung for ever

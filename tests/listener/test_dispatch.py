"""Dispatch against MemoryBridge: every decision path, in process, with a real store."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from harness.waiting import until_async

from tether_hooks import approvals, audit, config, paths, timers
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.dispatch import COMMANDS, Dispatcher
from tether_hooks.listener.notices import Debouncer
from tether_hooks.platforms.base import LONG_INPUT, Incoming, MessageRef
from tether_hooks.platforms.memory import MemoryBridge, UnorderedMemoryBridge
from tether_hooks.store import Store

ALICE, MALLORY = 1, 2


def run(coro: object, timeout: float = 30) -> object:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


def req(tool: str = "Bash", session: str = "s-1", cwd: str = "/tmp", **tool_input: object
        ) -> dict:
    return {"agent": "claude", "event": "PermissionRequest", "session_id": session, "cwd": cwd,
            "tool_name": tool, "tool_input": tool_input or {"command": "rm -rf build"},
            "transcript_path": None}


def add(request: dict | None = None, timeout: float = 300) -> dict:
    return Store().add_request(request or req(), timeout)


def record(rid: str) -> dict:
    return Store().read()["requests"][rid]


def chat(rid: str) -> dict:
    """What the listener keeps about a request's messages (its own file, ``chat.json``)."""
    return ChatBook(writer=False).request(rid)


@asynccontextmanager
async def running(section: dict | None = None, bridge: MemoryBridge | None = None,
                  **options: object) -> AsyncIterator[tuple[Dispatcher, MemoryBridge]]:
    section = {"allowed_user_ids": [ALICE], **(section or {})}
    cfg = config.validate({"memory": section, **options})
    bridge = bridge or MemoryBridge(section)
    dispatcher = Dispatcher([bridge], cfg, Store(), batch_quiet=0.2)
    await dispatcher.start()
    await asyncio.wait_for(bridge.started.wait(), 5)
    try:
        yield dispatcher, bridge
    finally:
        await dispatcher.close()


async def posted(bridge: MemoryBridge, count: int = 1) -> list[dict]:
    await bridge.wait_for(lambda: len(bridge.posts) >= count)
    # the refs are stored right after posting: wait for them so presses resolve to messages
    await until_async(lambda: all(chat(p["request"]["id"]).get("refs")
                                  for p in bridge.posts), what="the refs to be stored")
    return bridge.posts


def labels(post: dict) -> list[str]:
    return [b.label for row in post["buttons"] for b in row]


# -- posting ------------------------------------------------------------------------------


def test_a_pending_request_is_posted_once_with_its_buttons(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()

    async def scenario() -> None:
        async with running(default_timer="45m") as (d, bridge):
            request = add(req(cwd=str(tmp_path / "proj")))
            (post,) = await posted(bridge)
            assert post["request"]["id"] == request["id"]
            assert post["request"]["session"]["id"] == "s-1"
            assert labels(post) == ["✅ Allow", "❌ Deny", "💬 Deny with reason",
                                    "⏱ Allow Bash 45m", "⏱ Allow all 45m",
                                    "📁 Allow proj/ 45m"]
            assert all(len(b.data.encode()) <= 64 for row in post["buttons"] for b in row)
            await d.sync()
            assert len(bridge.posts) == 1
            assert bridge.commands == COMMANDS

    run(scenario())


def test_long_inputs_get_show_full_and_never_tools_no_timers() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            name = "mcp__" + "very_long_server_name__" * 4 + "tool"
            add(req(name, command="x" * (LONG_INPUT + 1)))
            add(req("ExitPlanMode", plan="# Plan"))
            posts = await posted(bridge, 2)
            long, plan = sorted(posts, key=lambda p: p["request"]["tool_name"] != name)
            assert "📄 Show full" in labels(long)
            assert all(len(b.data.encode()) <= 64 for row in long["buttons"] for b in row)
            assert labels(plan) == ["✅ Approve plan", "✅ Approve + accept edits",
                                    "📝 Keep planning", "💬 Keep planning, with feedback"]
            await bridge.press(long, "📄 Show full", ALICE)
            assert bridge.full[0]["request_id"] == long["request"]["id"]

    run(scenario())


# -- presses ------------------------------------------------------------------------------


def test_every_decision_the_listener_writes_is_announced() -> None:
    """``Runtime.on_decided`` (the server's push) hears of a press, a text and a request a
    new timer released, once each, right after the store has it."""
    async def scenario() -> None:
        async with running() as (d, bridge):
            announced: list[str] = []
            d.runtime.on_decided = lambda rid: announced.append(
                f"{rid}:{record(rid)['status']}")
            first = add()["id"]
            second = add(req(session="s-2"))["id"]
            posts = {p["request"]["id"]: p for p in await posted(bridge, 2)}
            await bridge.press(posts[first], "❌ Deny", ALICE)
            await bridge.press(posts[second], "⏱ Allow all", ALICE)
            third = add(req(session="s-3"))["id"]  # no timer covers it: waits
            await bridge.send(f"allow {third}", ALICE)
            assert announced == [f"{first}:denied", f"{second}:allowed", f"{third}:allowed"]

    run(scenario())


def test_a_chat_approval_rewrites_state_json_at_most_twice() -> None:
    """Recorded by the hook, decided by the listener: the chat bookkeeping (nonce, refs,
    shown) goes to the listener's own file, so no waiting hook is woken for it."""
    async def scenario() -> None:
        async with running() as (_, bridge):
            before = int(Store().read().get("rev", 0))
            rid = add()["id"]
            (post,) = await posted(bridge)
            await bridge.press(post, "✅ Allow", ALICE)
            await until_async(lambda: chat(rid).get("shown"), what="the outcome shown")
            assert record(rid)["status"] == "allowed"
            writes = int(Store().read()["rev"]) - before
            assert writes <= 2, writes
            assert "chat" not in record(rid)  # state.json keeps what hooks read

    run(scenario())


def test_an_allowed_press_decides_once_and_shows_the_outcome() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            await bridge.press(post, "✅ Allow", ALICE)
            decided = record(rid)
            assert decided["status"] == "allowed"
            assert decided["decision"]["by"] == f"@user{ALICE}"
            assert decided["decision"]["via"] == "memory"
            assert bridge.answers[-1][1] == "Allowed"
            assert [o["outcome"] for o in bridge.outcomes] == [f"✅ Allowed by @user{ALICE}"]
            await until_async(lambda: chat(rid).get("shown"), what="the outcome shown")
            # a second press, and a Deny after it, change nothing
            await bridge.press(post, "✅ Allow", ALICE)
            await bridge.press(post, "❌ Deny", ALICE)
            assert [a[1] for a in bridge.answers[-2:]] == [
                f"Already decided: ✅ Allowed by @user{ALICE}"] * 2
            assert record(rid)["status"] == "allowed" and len(bridge.outcomes) == 1

    run(scenario())


def test_expired_and_unknown_presses_change_nothing() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add(timeout=300)["id"]
            (post,) = await posted(bridge)
            with Store().edit() as data:
                data["requests"][rid]["expires_at"] = time.time() - 1
            await bridge.press(post, "✅ Allow", ALICE)
            assert bridge.answers[-1][1] == "⌛ Expired"
            assert record(rid)["status"] == "pending"
            await bridge.deliver(bridge.event("press", ALICE, "a:00000000"))
            await bridge.deliver(bridge.event("press", ALICE, "garbage"))
            assert [a[1] for a in bridge.answers[-2:]] == ["⌛ Expired"] * 2

    run(scenario())


def test_strangers_can_do_nothing_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            timers.add("tool", "30m", created_by="test", tool="Read")
            await bridge.press(post, "✅ Allow", MALLORY)
            await bridge.send("allow", MALLORY)
            await bridge.command("revoke", MALLORY, "all")
            await bridge.command("stop", MALLORY)
            assert [a[1] for a in bridge.answers] == [
                f"⛔ Not authorized. Your user id is {MALLORY}."]
            # told once in the chat (then quiet for a while: no flood), every attempt logged
            assert [r["text"] for r in bridge.replies] == [
                f"⛔ Not authorized. Your user id is {MALLORY}."]
            for n in range(30):
                await bridge.send(f"allow {n}", MALLORY)
            await bridge.press(post, "✅ Allow", MALLORY)
            assert len(bridge.replies) == 1
            assert [a[1] for a in bridge.answers] == [
                f"⛔ Not authorized. Your user id is {MALLORY}."] * 2
            assert record(rid)["status"] == "pending"
            assert len(timers.live()) == 1
            assert not bridge.outcomes

    caplog.set_level(logging.WARNING, "tether_hooks.listener")
    run(scenario())
    assert sum("not authorized" in r.message for r in caplog.records) == 35
    assert sum(e.get("event") == "unauthorized" for e in audit.read(None)) == 35
    logged = [e for e in audit.read() if e.get("event") == "unauthorized"]
    assert [(e["kind"], e["user_id"], e["bridge"]) for e in logged] == [
        ("press", str(MALLORY), "memory"), ("text", str(MALLORY), "memory"),
        ("command", str(MALLORY), "memory"), ("command", str(MALLORY), "memory"),
        *[("text", str(MALLORY), "memory")] * 30, ("press", str(MALLORY), "memory")]
    assert logged[0]["user_name"] == f"@user{MALLORY}"


def test_an_empty_allowlist_allows_nobody() -> None:
    async def scenario() -> None:
        async with running({"allowed_user_ids": []}) as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            await bridge.press(post, "✅ Allow", ALICE)
            assert record(rid)["status"] == "pending"

    run(scenario())


@pytest.mark.parametrize(("label", "scope"), [("⏱ Allow Bash", "tool"),
                                              ("⏱ Allow all", "session"),
                                              ("📁 Allow", "dir")])
def test_timer_buttons_allow_and_add_a_timer(tmp_path: Path, label: str, scope: str) -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            before = int(Store().read().get("rev", 0))
            rid = add(req(cwd=str(tmp_path)))["id"]
            (post,) = await posted(bridge)
            await bridge.press(post, label, ALICE)
            assert record(rid)["status"] == "allowed"
            # recorded, then decided with its timer in the same write: no moment where the
            # request is allowed but the timer the user asked for is missing
            assert int(Store().read()["rev"]) - before == 2
            (timer,) = timers.live()
            assert timer["scope"] == scope
            assert 1790 < timer["expires_at"] - time.time() <= 1800
            if scope == "dir":
                assert timer["path"] == os.path.realpath(tmp_path)
            else:
                assert timer["session_id"] == "s-1"
            assert f"(timer {timer['id']})" in bridge.outcomes[0]["outcome"]

    run(scenario())


def test_deny_with_reason_takes_the_next_text_of_that_user() -> None:
    async def scenario() -> None:
        async with running({"allowed_user_ids": [ALICE, 3]}) as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            await bridge.press(post, "💬 Deny with reason", ALICE)
            assert bridge.answers[-1][1] == "Write the reason"
            assert "your next message is the reason" in bridge.replies[-1]["text"]
            assert record(rid)["status"] == "pending"
            await bridge.send("allow", 3)  # another user's text is not the reason
            assert record(rid)["status"] == "allowed"

            rid = add()["id"]
            post = (await posted(bridge, 2))[-1]
            await bridge.press(post, "💬 Deny with reason", ALICE)
            await bridge.send("Use the <staging> db & retry", ALICE)
            decided = record(rid)
            assert decided["status"] == "denied"
            assert decided["decision"]["reason"] == "Use the <staging> db & retry"
            assert bridge.outcomes[-1]["outcome"] == (
                f"❌ Denied by @user{ALICE}: Use the <staging> db & retry")

    run(scenario())


QUESTIONS = [
    {"question": "Which database?", "header": "DB", "multiSelect": False,
     "options": [{"label": "Postgres", "description": ""}, {"label": "SQLite", "description": ""}]},
    {"question": "Which features?", "header": "Features", "multiSelect": True,
     "options": [{"label": "Auth", "description": ""}, {"label": "Search", "description": ""},
                 {"label": "Export", "description": ""}]},
]


def test_a_question_is_answered_with_a_button() -> None:
    questions = QUESTIONS[:1]

    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add(req("AskUserQuestion", questions=questions))["id"]
            (post,) = await posted(bridge)
            assert labels(post) == ["1. Postgres", "2. SQLite", "❌ Deny", "💬 Deny with reason"]
            assert not any(label.startswith("⏱") for label in labels(post))  # never a timer
            await bridge.press(post, "2. SQLite", ALICE)
            decision = record(rid)["decision"]
            assert decision["updated_input"] == {"questions": questions,
                                                 "answers": {"Which database?": "SQLite"}}
            assert bridge.answers[-1][1] == "Answered"
            assert bridge.outcomes[-1]["outcome"] == f"✅ Answered by @user{ALICE}: SQLite"

    run(scenario())


@pytest.mark.parametrize("forged", ["o1.0", "o0.9", "o0", "o0.x", "x0.0", "y0", "y0.0",
                                    "y7", "o-1.0", "o0.1.2", "z0.0", "o", "x", "y"])
def test_a_forged_question_press_changes_nothing(forged: str) -> None:
    """Question buttons point somewhere (``actions.data``); data that points nowhere, names
    a toggle on a single-choice question or an option on Done decides nothing."""
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add(req("AskUserQuestion", questions=QUESTIONS[:1]))["id"]
            (post,) = await posted(bridge)
            nonce = post["buttons"][0][0].data.partition(":")[2]
            await bridge.deliver(bridge.event("press", ALICE, f"{forged}:{nonce}"))
            assert bridge.answers[-1][1] == "⌛ Expired"
            assert record(rid)["status"] == "pending" and not chat(rid).get("picks")
            await bridge.press(post, "1. Postgres", ALICE)  # the real button still works
            assert record(rid)["decision"]["updated_input"]["answers"] == {
                "Which database?": "Postgres"}

    run(scenario())


def test_several_questions_one_message_each_multi_select_toggles_and_done() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add(req("AskUserQuestion", questions=QUESTIONS))["id"]
            first, second = await posted(bridge, 2)
            assert first["request"]["tool_input"]["questions"] == QUESTIONS[:1]
            assert second["request"]["question_part"] == (2, 2)
            assert labels(first) == ["1. Postgres", "2. SQLite"]
            assert labels(second) == ["☐ Auth", "☐ Search", "☐ Export", "✔️ Done",
                                      "❌ Deny", "💬 Deny with reason"]
            await bridge.press(second, "✔️ Done", ALICE)
            assert bridge.answers[-1][1] == "Pick at least one option first."
            await bridge.press(second, "☐ Export", ALICE)
            await bridge.press(second, "☐ Auth", ALICE)
            assert bridge.answers[-1][1] == "Selected: Auth, Export"
            shown = [b.label for row in bridge.button_updates[-1]["buttons"] for b in row]
            assert shown[:3] == ["☑ Auth", "☐ Search", "☑ Export"]
            assert bridge.button_updates[-1]["ref"] == second["ref"]
            await bridge.press(second, "✔️ Done", ALICE)
            assert record(rid)["status"] == "pending"  # one question is still open
            assert bridge.answers[-1][1] == "Noted: Auth, Export (1 more to answer)"
            assert bridge.outcomes[-1]["ref"] == second["ref"]  # its buttons are gone
            await bridge.press(first, "1. Postgres", ALICE)
            decision = record(rid)["decision"]
            assert decision["updated_input"]["answers"] == {
                "Which database?": "Postgres", "Which features?": "Auth, Export"}
            assert decision["answer"] == "Postgres; Auth, Export"
            final = {o["ref"].message_id: o["outcome"] for o in bridge.outcomes[-2:]}
            assert final == {first["ref"].message_id: f"✅ Answered by @user{ALICE}: Postgres",
                             second["ref"].message_id: f"✅ Answered by @user{ALICE}: Auth, Export"}

    run(scenario())


def test_questions_answered_by_text_numbers_labels_and_free_words() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add(req("AskUserQuestion", questions=QUESTIONS))["id"]
            await posted(bridge, 2)
            await bridge.send("allow", ALICE)
            assert bridge.replies[-1]["text"].startswith("Answer with an option")
            await bridge.send("sqlite", ALICE)  # the first open question
            assert bridge.replies[-1]["text"] == "Noted: SQLite (1 more to answer)"
            await bridge.send("3, 1", ALICE)
            assert record(rid)["decision"]["updated_input"]["answers"] == {
                "Which database?": "SQLite", "Which features?": "Auth, Export"}

            rid = add(req("AskUserQuestion", questions=QUESTIONS[:1]))["id"]
            post = (await posted(bridge, 3))[-1]
            await bridge.send("MariaDB, please", ALICE, reply_to=post["ref"])
            assert record(rid)["decision"]["updated_input"]["answers"] == {
                "Which database?": "MariaDB, please"}

            rid = add(req("AskUserQuestion", questions=QUESTIONS[:1]))["id"]
            post = (await posted(bridge, 4))[-1]
            await bridge.send("deny: just pick one", ALICE, reply_to=post["ref"])
            assert record(rid)["decision"]["reason"] == "just pick one"

    run(scenario())


def test_plans_approve_accept_edits_keep_planning_and_feedback() -> None:
    plan = {"plan": "# Plan\n1. one", "planFilePath": "/tmp/p.md"}

    async def scenario() -> None:
        async with running() as (_, bridge):
            ids = [add(req("ExitPlanMode", **plan))["id"] for _ in range(4)]
            posts = {p["request"]["id"]: p for p in await posted(bridge, 4)}
            await bridge.press(posts[ids[0]], "✅ Approve plan", ALICE)
            await bridge.press(posts[ids[1]], "✅ Approve + accept edits", ALICE)
            await bridge.press(posts[ids[2]], "📝 Keep planning", ALICE)
            await bridge.press(posts[ids[3]], "💬 Keep planning, with feedback", ALICE)
            assert "your feedback on the plan" in bridge.replies[-1]["text"]
            await bridge.send("Split step 1", ALICE)
            plain, edits, keep, feedback = (record(i)["decision"] for i in ids)
            assert plain["behavior"] == "allow" and "updated_input" not in plain
            assert edits["updated_permissions"] == [
                {"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
            assert keep["behavior"] == "deny" and "keep planning" in keep["reason"]
            assert feedback["reason"] == "Split step 1"
            assert [o["outcome"] for o in bridge.outcomes] == [
                f"✅ Plan approved by @user{ALICE}",
                f"✅ Plan approved by @user{ALICE}; edits are accepted",
                f"📝 Keep planning, said @user{ALICE}",
                f"📝 Keep planning, said @user{ALICE}: Split step 1"]

    run(scenario())


# -- texts --------------------------------------------------------------------------------


def test_text_replies_use_the_grammar_and_an_ambiguous_allow_asks() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            first = add(req(command="make"))["id"]
            second = add(req(command="make test"))["id"]
            await posted(bridge, 2)
            await bridge.send("allow", ALICE)
            text = bridge.replies[-1]["text"]
            assert text.startswith("Several requests are waiting")
            assert f"allow {first}" in text and f"allow {second}" in text
            assert record(first)["status"] == record(second)["status"] == "pending"
            await bridge.send(f"allow {second}", ALICE)
            assert record(second)["status"] == "allowed"
            assert record(first)["status"] == "pending"
            ref = MessageRef.from_dict(chat(first)["refs"][0])
            await bridge.send("deny: not now", ALICE, reply_to=ref)
            assert record(first)["decision"]["reason"] == "not now"
            await bridge.send("allow", ALICE)
            assert bridge.replies[-1]["text"] == "Nothing is waiting for a decision."
            await bridge.send("hello there", ALICE)
            assert bridge.replies[-1]["text"].startswith("Not a decision.")
            await bridge.send(f"allow {first}", ALICE)
            assert bridge.replies[-1]["text"].startswith("Already decided: ❌ Denied")

    run(scenario())


def test_text_in_a_sessions_topic_decides_that_sessions_request() -> None:
    async def scenario() -> None:
        async with running({"forum": True}) as (_, bridge):
            a = add(req(session="s-a"))["id"]
            b = add(req(session="s-b"))["id"]
            await posted(bridge, 2)
            thread_b = chat(b)["refs"][0]["thread_id"]
            assert thread_b != chat(a)["refs"][0]["thread_id"]
            await bridge.send("allow bash 2h", ALICE, thread_id=thread_b)
            assert record(b)["status"] == "allowed" and record(a)["status"] == "pending"
            (timer,) = timers.live()
            assert (timer["tool"], timer["session_id"]) == ("bash", "s-b")
            assert 7190 < timer["expires_at"] - time.time() <= 7200

    run(scenario())


def test_a_text_naming_another_tool_sets_the_timer_and_the_request_keeps_waiting() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            write = add(req("Write", file_path="/tmp/a.py", content="x"))["id"]
            await posted(bridge)
            await bridge.send("allow Bash 2h", ALICE)  # the only request is a Write
            assert record(write)["status"] == "pending"
            (timer,) = timers.live()
            assert (timer["tool"], timer["session_id"]) == ("bash", "s-1")
            assert 7190 < timer["expires_at"] - time.time() <= 7200
            text = bridge.replies[-1]["text"]
            assert text.startswith("⏱ Allow Bash") and f"{write} (Write) still waits" in text
            assert not bridge.outcomes
            await bridge.send("allow WRITE 1h", ALICE)  # its own tool, any case: decides
            assert record(write)["status"] == "allowed"
            assert {t["tool"] for t in timers.live()} == {"bash", "write"}
            # a tool alias counts: Codex's apply_patch is an Edit
            patch = dict(req("apply_patch", command="*** Begin Patch"), tool_aliases=["Edit"])
            rid = add(patch)["id"]
            await posted(bridge, 2)
            await bridge.send("allow edit 30m", ALICE)
            assert record(rid)["status"] == "allowed"

    run(scenario())


def test_a_bare_allow_never_decides_a_request_posted_after_it_was_sent() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            typed = time.time()  # "ok" typed for a request that timed out meanwhile...
            late = add(req(command="rm -rf /srv"))["id"]
            await posted(bridge)
            await bridge.send("ok", ALICE, sent_at=typed)  # ...arrives after the next one
            assert record(late)["status"] == "pending"
            text = bridge.replies[-1]["text"]
            assert text.startswith("Not decided: it arrived after your message")
            assert f"allow {late}" in text
            seen = time.time()
            later = add(req(command="make"))["id"]
            await posted(bridge, 2)
            await bridge.send("ok", ALICE, sent_at=seen)  # only `late` was there: that one
            assert record(late)["status"] == "allowed"
            assert record(later)["status"] == "pending"
            await bridge.send(f"deny {later}", ALICE, sent_at=typed)  # an id names it
            assert record(later)["status"] == "denied"

    run(scenario())


def test_the_race_is_judged_on_the_platform_clock_not_ours() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            bridge.clock = lambda: time.time() + 30  # the platform is 30 s ahead of us
            typed = bridge.clock() - 5  # typed 5 s before the request reached the chat
            rid = add(req(command="rm -rf /srv"))["id"]
            await posted(bridge)
            await bridge.send("ok", ALICE, sent_at=typed)
            assert record(rid)["status"] == "pending"

    run(scenario())


def test_no_directory_button_where_a_directory_timer_is_refused() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            add(req(cwd=os.environ["HOME"]))
            (post,) = await posted(bridge)
            assert not [label for label in labels(post) if label.startswith("📁")]

    run(scenario())


# -- outcomes decided elsewhere ------------------------------------------------------------


@pytest.mark.parametrize(
    ("settle", "outcome"),
    [
        ("cli", "✅ Allowed by bob (CLI)"),
        ("cli-deny", "❌ Denied by bob (CLI): no"),
        ("timer", "🕒 Auto-approved: Allow Bash (timer "),
        ("timeout", "⌛ Expired: no answer in 300 s; Claude Code asked in the terminal"),
        ("timeout-deny", "⌛ Expired: no answer in 300 s; denied"),
        ("terminal", "💻 Answered in the terminal"),
        ("session-end", "🚫 Cancelled: the session ended"),
    ],
)
def test_the_outcome_is_shown_whoever_decided(settle: str, outcome: str) -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            request = add()
            rid = request["id"]
            await posted(bridge)
            store = Store()
            if settle == "cli":
                approvals.approve(rid, by="bob (CLI)", via="cli")
            elif settle == "cli-deny":
                approvals.deny(rid, by="bob (CLI)", via="cli", reason="no")
            elif settle == "timer":
                timers.add("tool", "30m", created_by="bob", tool="Bash")
            elif settle.startswith("timeout"):
                store.decide(rid, "deny" if settle.endswith("deny") else "ask",
                             by="tether-hooks", via="timeout", status="expired")
            elif settle == "terminal":
                store.decide(rid, "ask", by="terminal", via="terminal",
                             status="answered_in_terminal")
            else:
                store.end_session(request, "exit")
            await bridge.wait_for(lambda: bridge.outcomes)
            assert bridge.outcomes[0]["outcome"].startswith(outcome)
            await until_async(lambda: chat(rid).get("shown"), what="the outcome shown")
            await bridge.press(bridge.posts[0], "✅ Allow", ALICE)
            assert len(bridge.outcomes) == 1 and record(rid)["status"] != "pending"

    run(scenario())


# -- restarts -------------------------------------------------------------------------------


def test_a_restart_neither_loses_nor_reapplies_anything() -> None:
    """Replays that only the update-id guard can stop: each would change something."""

    def picks(rid: str) -> list[str]:
        return chat(rid).get("picks", {}).get("1", [])

    async def scenario() -> None:
        async with running() as (_, bridge):
            write = add(req("Write", file_path="/tmp/a.py", content="x"))["id"]
            asked = add(req("AskUserQuestion", questions=QUESTIONS))["id"]
            bash = add(req(session="s-2"))["id"]
            posts = await posted(bridge, 4)
            mine = {p["request"]["id"]: p for p in posts}
            multi = next(p for p in posts if p["request"]["id"] == asked
                         and "☐ Auth" in labels(p))
            # "allow Bash 2h" replying to the Write: a timer, the Write keeps waiting
            text = await bridge.send("allow Bash 2h", ALICE, reply_to=mine[write]["ref"])
            toggle = await bridge.press(multi, "☐ Auth", ALICE)
            reason = await bridge.press(mine[bash], "💬 Deny with reason", ALICE)
            assert len(timers.live()) == 1 and picks(asked) == ["Auth"]
        saved = json.loads(Path(paths.listener_offsets_file()).read_text())
        assert saved["memory"]["id"] == reason.update_id
        assert "listener" not in Store().read()  # state.json keeps no update ids
        later = add(req(session="s-3"))["id"]
        restarted = MemoryBridge({"allowed_user_ids": [ALICE], "first_update_id": 1000})
        async with running(bridge=restarted) as (_, bridge2):
            (post2,) = await posted(bridge2)
            assert post2["request"]["id"] == later  # the others are not posted again
            for replayed in (text, toggle, reason):  # redelivered after the restart
                await bridge2.deliver(replayed)
            assert len(timers.live()) == 1  # not a second timer
            assert picks(asked) == ["Auth"]  # not toggled off again
            assert not bridge2.replies and not bridge2.answers  # all dropped silently
            # no "next message is the reason" state: this allow is a decision on Bash
            await bridge2.send("allow", ALICE, reply_to=mine[bash]["ref"])
            assert record(bash)["status"] == "allowed"
            assert record(write)["status"] == record(asked)["status"] == "pending"
            # the old message's buttons still resolve
            await bridge2.press(mine[write], "❌ Deny", ALICE)
            assert record(write)["status"] == "denied"

    run(scenario())


def test_replays_are_recognised_by_key_where_event_ids_do_not_grow() -> None:
    """``replays_by_order`` False (UnorderedMemoryBridge): no ordering ids at all; an event
    delivered again after a restart is recognised by its ``event_key`` and dropped."""
    async def scenario() -> None:
        section = {"allowed_user_ids": [ALICE]}
        async with running(bridge=UnorderedMemoryBridge(section)) as (_, bridge):
            write = add(req("Write", file_path="/tmp/a.py", content="x"))["id"]
            (post,) = await posted(bridge)
            text = await bridge.send("allow Bash 2h", ALICE, reply_to=post["ref"])
            assert text.update_id is None and text.event_id
            assert len(timers.live()) == 1
        saved = json.loads(Path(paths.listener_offsets_file()).read_text())
        assert saved["memory"]["keys"] == [f"memory:{text.event_id}"]
        again = UnorderedMemoryBridge({**section, "first_update_id": 100})
        async with running(bridge=again) as (_, bridge2):
            await bridge2.deliver(text)  # redelivered after the restart
            assert len(timers.live()) == 1 and not bridge2.replies
            await bridge2.send("allow Bash 2h", ALICE, reply_to=post["ref"])  # a new event
            assert bridge2.replies and record(write)["status"] == "pending"

    run(scenario())


def test_a_request_settled_while_the_listener_was_down_gets_its_outcome() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add()["id"]
            await posted(bridge)
        approvals.approve(rid, by="bob (CLI)", via="cli")
        async with running() as (_, bridge2):
            await bridge2.wait_for(lambda: bridge2.outcomes)
            assert bridge2.outcomes[0]["ref"].message_id == chat(rid)["refs"][0][
                "message_id"]
            assert not bridge2.posts

    run(scenario())


def test_chat_info_in_a_state_json_of_the_previous_version_is_moved_over() -> None:
    """The previous listener kept nonces, refs and topics on the records of state.json:
    the first start of this one copies them to chat.json (nothing is posted again, old
    buttons and replies still resolve, the topic is reused)."""
    rid = add()["id"]
    ref = {"bridge": "memory", "chat_id": "100", "message_id": "77", "thread_id": "1005",
           "sent_at": time.time() - 5}
    with Store().edit() as data:  # as the previous version wrote it
        data["requests"][rid]["chat"] = {"nonce": "0badcafe", "refs": [ref], "shown": False,
                                         "posted_at": time.time() - 5}
        data["sessions"]["s-1"]["chat"] = {"memory": {"chat_id": "100", "thread_id": "1005"}}
    assert not Path(paths.state_dir(), "chat.json").exists()

    async def scenario() -> None:
        async with running({"forum": True}) as (_, bridge):
            assert chat(rid)["nonce"] == "0badcafe"
            assert ChatBook(writer=False).threads("memory") == {"s-1": "1005"}
            await bridge.deliver(bridge.event("press", ALICE, "a:0badcafe"))
            assert record(rid)["status"] == "allowed"
            await until_async(lambda: chat(rid).get("shown"), what="the outcome shown")
            assert bridge.outcomes[0]["ref"].message_id == "77" and not bridge.posts

    run(scenario())


def test_when_no_bridge_can_start_waiting_requests_fall_back_at_once() -> None:
    async def scenario() -> None:
        rid = add()["id"]
        section = {"allowed_user_ids": [ALICE], "fail": "start"}
        cfg = config.validate({"memory": section})
        dispatcher = Dispatcher([MemoryBridge(section)], cfg, Store())
        await dispatcher.start()
        try:
            await until_async(lambda: record(rid)["status"] != "pending", what="the fallback")
            decided = record(rid)
            assert decided["status"] == "expired" and decided["decision"]["via"] == "listener"
            assert "no chat platform is reachable" in decided["decision"]["reason"]
            assert dispatcher.status()["usable"] is False
        finally:
            await dispatcher.close()

    run(scenario())


# -- notices ---------------------------------------------------------------------------------


def _auto(tool: str, command: str, session: str = "s-1") -> None:
    audit.append({"event": "decision", "agent": "claude", "session_id": session,
                  "tool_name": tool, "input": command, "behavior": "allow",
                  "status": "allowed", "via": "timer", "reason": "Allow Bash (timer 1a2b)"})


def test_auto_approvals_are_batched_per_burst() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            for n in range(3):
                _auto("Bash", f"echo {n}")
            _auto("Bash", "make", session="s-2")
            await bridge.wait_for(lambda: len(bridge.notices) >= 2)
            by_session = {n["session_id"]: n["notice"] for n in bridge.notices}
            burst = by_session["s-1"]
            assert burst.kind == "auto_approved"
            assert burst.items == ["Bash: echo 0", "Bash: echo 1", "Bash: echo 2"]
            assert burst.text.startswith("✅ Auto-approved 3 calls (Allow Bash (timer 1a2b))")
            assert by_session["s-2"].text == "✅ Auto-approved Bash: make (Allow Bash (timer 1a2b))"
            _auto("Edit", "a.py")
            await bridge.wait_for(lambda: len(bridge.notices) == 3)
            assert bridge.notices[-1]["notice"].items == ["Edit: a.py"]

    run(scenario())


def test_repeated_errors_are_debounced() -> None:
    debounce = Debouncer(60)
    assert debounce.allow("post", now=0.0)
    assert not debounce.allow("post", now=30.0)
    assert debounce.allow("edit", now=30.0)
    assert debounce.allow("post", now=61.0)
    assert debounce.suppressed == {"post": 1}


def test_waiting_and_finished_notices_and_a_reply_goes_on() -> None:
    async def scenario() -> None:
        async with running() as (d, bridge):
            Store().touch_session(req(cwd="/home/u/proj"))
            assert await d.on_notice({"kind": "waiting", "session_id": "s-1",
                                      "text": "Claude is waiting for your input"}) == {"ok": True}
            await bridge.wait_for(lambda: bridge.notices)
            assert bridge.notices[0]["notice"].text == (
                "⏳ Claude Code is waiting for your input in proj: "
                "Claude is waiting for your input")
            long = "word " * 1000
            waiter = asyncio.ensure_future(d.on_notice(
                {"kind": "finished", "session_id": "s-1", "text": long, "wait": 10}))
            await bridge.wait_for(lambda: len(bridge.notices) == 2)
            finished = bridge.notices[1]["notice"]
            assert finished.kind == "finished" and len(finished.text) < 1700
            assert "Reply here within 10 s" in finished.text
            await bridge.send("now run the tests", ALICE)
            assert await waiter == {"ok": True, "reply": "now run the tests",
                                    "by": f"@user{ALICE}"}
            assert bridge.replies[-1]["text"].startswith("➡️ Sent")
            quiet = await d.on_notice({"kind": "finished", "session_id": "s-1", "wait": 0.05})
            assert quiet == {"ok": True, "reply": None}

    run(scenario())


# -- commands --------------------------------------------------------------------------------


def test_commands_list_revoke_stop_and_usage(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    usage = {"input_tokens": 1000, "output_tokens": 500, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 2000}
    lines = [{"type": "assistant", "message": {"id": "m1", "model": "claude-sonnet-4-5",
                                               "usage": usage}}] * 2  # one message, two blocks
    transcript.write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    async def scenario() -> None:
        async with running() as (_, bridge):
            request = req()
            request["transcript_path"] = str(transcript)
            rid = add(request)["id"]
            await posted(bridge)
            timer, _ = timers.add("tool", "30m", created_by="t", tool="Read")

            async def say(name: str, args: str = "") -> str:
                await bridge.command(name, ALICE, args)
                return bridge.replies[-1]["text"]

            assert "/revoke - " in await say("help")
            assert rid in await say("pending")
            assert "Pending: 1" in await say("status")
            assert timer["id"] in await say("timers")
            assert "no timer with id" in await say("revoke", "zzzz")
            assert await say("revoke", "all") == f"Revoked {timer['id']}."
            assert await say("timers") == "No timers."
            text = await say("usage")
            assert "input 1,000, output 500" in text and "~$0.01" in text
            assert (await say("stop")).endswith("is stopping.")
            decided = record(rid)
            assert decided["status"] == "denied" and decided["decision"]["interrupt"] is True
            assert bridge.outcomes[-1]["outcome"] == f"🛑 Stopped by @user{ALICE}"
            assert (await say("stop")).endswith("stops at its next tool call.")
            assert Store().read()["sessions"]["s-1"]["stop"]["by"] == f"@user{ALICE}"
            assert (await say("nope")).startswith("Unknown command /nope")

    run(scenario())


def test_status_shows_claude_code_and_codex_sessions_side_by_side() -> None:
    async def scenario() -> None:
        async with running() as (_, bridge):
            add(req(session="s-claude", cwd="/home/u/web"))
            codex = dict(req(session="s-codex", cwd="/home/u/api"), agent="codex")
            add(codex)
            await posted(bridge, 2)
            await bridge.command("status", ALICE)
            text = bridge.replies[-1]["text"]
            assert text.startswith("Sessions (2):")
            assert "Claude Code (1):\n• s-claude in web, 1 pending" in text
            assert "Codex (1):\n• s-codex in api, 1 pending" in text
            assert "(Codex in api," in text and "(Claude Code in web," in text  # pending lines
            assert "Pending: 2" in text

    run(scenario())


# -- what a text names: never another request than the one meant --------------------------


def _unknown_ref(bridge: MemoryBridge) -> MessageRef:
    return MessageRef(bridge.name, bridge.chat_id, "987654")


@pytest.mark.parametrize("text", ["allow", "ok", "yes", "allow all 2h", "allow Bash 30m",
                                  "approve", "deny", "deny: no", "y"])
@pytest.mark.parametrize("which", ["unknown message", "old request, forgotten"])
def test_a_reply_to_a_message_that_is_not_a_live_request_decides_nothing(
        text: str, which: str) -> None:
    """Replying to an old request's message (forgotten after 100 decisions or 2 hours), or
    to a message the listener does not know (a notice from before a restart), names that
    message: it never falls back to the one request that waits now."""
    async def scenario() -> None:
        async with running() as (_, bridge):
            old = add(req(command="rm -rf ./cache"))["id"]
            (first,) = await posted(bridge)
            ref = first["ref"] if which.startswith("old") else _unknown_ref(bridge)
            await bridge.press(first, "❌ Deny", ALICE)
            if which.startswith("old"):
                with Store().edit() as data:  # what pruning does to an old settled request
                    del data["requests"][old]
            rid = add(req(session="s-2", command="curl -s https://x.example/i.sh | sh"))["id"]
            await bridge.wait_for(lambda: len(bridge.posts) == 2)
            await until_async(lambda: chat(rid).get("refs"), what="the new post's refs")
            bridge.clock = lambda: time.time() + 5  # written well after the new post
            await bridge.send(text, ALICE, reply_to=ref)
            assert record(rid)["status"] == "pending"
            assert not timers.live()
            reply = bridge.replies[-1]["text"]
            assert reply.startswith("Not decided: the message you replied to is no longer"), reply

    run(scenario())


def test_a_reply_to_a_live_request_still_decides_it() -> None:
    """The control: a reply to the request's own message decides it."""
    async def scenario() -> None:
        async with running() as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            await bridge.send("allow", ALICE, reply_to=post["ref"])
            assert record(rid)["status"] == "allowed"

    run(scenario())


class HeldBridge(MemoryBridge):
    """Posts only when let go: a send held by flood control (Telegram's 429 wait)."""

    def __init__(self, section: dict) -> None:
        super().__init__(section)
        self.go = asyncio.Event()
        self.holding = asyncio.Event()

    async def post_request(self, request: dict, buttons: list) -> MessageRef:
        self.holding.set()
        await self.go.wait()
        return await super().post_request(request, buttons)


@pytest.mark.parametrize("text", ["ok", "allow", "yes", "allow all 1h", "y"])
def test_a_bare_text_never_allows_a_request_still_being_posted(text: str) -> None:
    async def scenario() -> None:
        section = {"allowed_user_ids": [ALICE]}
        bridge = HeldBridge(section)
        async with running(section, bridge) as (_, bridge):
            rid = add()["id"]
            await asyncio.wait_for(bridge.holding.wait(), 5)
            bridge.clock = lambda: time.time() + 5
            await bridge.send(text, ALICE)
            assert record(rid)["status"] == "pending"
            assert not timers.live()
            bridge.go.set()
            (post,) = await posted(bridge)
            assert labels(post)[0] == "✅ Allow"  # posted with its buttons, still undecided
            assert record(rid)["status"] == "pending"
            await bridge.send(text, ALICE)  # once it is in the chat, the same text decides
            assert record(rid)["status"] == "allowed"

    run(scenario())


@pytest.mark.parametrize("answer", ["allow", "deny", "allow all 2h", "ok"])
@pytest.mark.parametrize("how", ["reply", "id"])
def test_an_answer_to_another_request_is_not_taken_as_the_awaited_reason(
        answer: str, how: str) -> None:
    """After "Deny with reason" on A, an answer naming B (a reply to B's message or B's id)
    is B's answer, and A still waits for its reason."""
    async def scenario() -> None:
        async with running() as (_, bridge):
            a = add()["id"]
            b = add(req(session="s-2", command="make test"))["id"]
            first, second = await posted(bridge, 2)
            post_a, post_b = (first, second) if first["request"]["id"] == a else (second, first)
            await bridge.press(post_a, "💬 Deny with reason", ALICE)
            if how == "reply":
                await bridge.send(answer, ALICE, reply_to=post_b["ref"])
            else:
                await bridge.send(f"{answer} {b}", ALICE)
            assert record(b)["status"] == ("denied" if answer == "deny" else "allowed")
            assert record(a)["status"] == "pending"
            await bridge.send("not on prod", ALICE)  # the reason still reaches A
            assert record(a)["status"] == "denied"
            assert record(a)["decision"]["reason"] == "not on prod"

    run(scenario())


# -- every platform at once ---------------------------------------------------------------


def _two() -> tuple[dict, MemoryBridge, MemoryBridge]:
    first = {"allowed_user_ids": [ALICE]}
    second = {"allowed_user_ids": [ALICE], "chat_id": "200"}
    return {"other": second}, MemoryBridge(first), MemoryBridge(second, name="other")


@pytest.mark.parametrize("decide_on", ["memory", "other"])
def test_a_request_goes_to_every_platform_and_the_first_answer_shows_on_all(
        decide_on: str) -> None:
    async def scenario() -> None:
        extra, one, two = _two()
        async with running(bridge=one, **extra) as (dispatcher, _):
            dispatcher.add_bridge(two)
            await asyncio.wait_for(two.started.wait(), 5)
            rid = add()["id"]
            (post1,) = await posted(one)
            (post2,) = await posted(two)
            assert post1["request"]["id"] == post2["request"]["id"] == rid
            deciding, other = (one, two) if decide_on == "memory" else (two, one)
            await deciding.press(deciding.posts[0], "✅ Allow", ALICE)
            assert record(rid)["decision"]["via"] == decide_on
            await until_async(lambda: len(other.outcomes) == 1 and len(deciding.outcomes) == 1,
                              what="the outcome on both copies")
            assert other.outcomes[0]["outcome"] == f"✅ Allowed by @user{ALICE} in {decide_on}"
            assert deciding.outcomes[0]["outcome"] == f"✅ Allowed by @user{ALICE} in {decide_on}"
            # a late press on the other copy changes nothing and says so
            await other.press(other.posts[0], "❌ Deny", ALICE)
            assert other.answers[-1][1].startswith("Already decided: ✅ Allowed by")
            assert record(rid)["status"] == "allowed"

    run(scenario())


def test_a_decision_from_the_terminal_shows_on_every_platform_without_a_where() -> None:
    async def scenario() -> None:
        extra, one, two = _two()
        async with running(bridge=one, **extra) as (dispatcher, _):
            dispatcher.add_bridge(two)
            rid = add()["id"]
            await posted(one)
            await posted(two)
            approvals.deny(rid, by="alice", via="cli", reason="not now")
            await until_async(lambda: one.outcomes and two.outcomes, what="both outcomes")
            assert one.outcomes[0]["outcome"] == two.outcomes[0]["outcome"] == (
                "❌ Denied by alice: not now")

    run(scenario())


def test_a_platform_that_is_down_does_not_hold_up_the_others() -> None:
    async def scenario() -> None:
        extra, one, _ = _two()
        down = MemoryBridge({"allowed_user_ids": [ALICE], "fail": "start"}, name="other")
        async with running(bridge=one, **extra) as (dispatcher, _):
            dispatcher.add_bridge(down)
            rid = add()["id"]
            (post,) = await posted(one)
            await one.press(post, "✅ Allow", ALICE)
            assert record(rid)["status"] == "allowed"
            assert not down.posts

    run(scenario())


def test_a_bare_ok_on_one_platform_needs_a_copy_confirmed_there() -> None:
    """Posted and confirmed on one platform only (the other's send was not confirmed, or is
    still under way): a bare "ok" typed on the other platform decides nothing."""
    async def scenario() -> None:
        first = {"allowed_user_ids": [ALICE]}
        second = {"allowed_user_ids": [ALICE], "chat_id": "200"}
        one = MemoryBridge(first)
        held = HeldBridge(second)
        held.name = "other"  # type: ignore[misc]
        async with running(bridge=one, other=second) as (dispatcher, _):
            dispatcher.add_bridge(held)
            rid = add()["id"]
            await asyncio.wait_for(held.holding.wait(), 5)
            await one.wait_for(lambda: len(one.posts) == 1)
            await until_async(lambda: chat(rid).get("refs"), what="the first copy recorded")
            held.clock = lambda: time.time() + 5
            await held.send("ok", ALICE)
            assert record(rid)["status"] == "pending"
            one.clock = lambda: time.time() + 5
            await one.send("ok", ALICE)  # where it was shown, the same text decides
            assert record(rid)["status"] == "allowed"
            held.go.set()  # the slow platform's copy comes late, and shows the outcome too
            await until_async(lambda: held.outcomes, what="the late copy's outcome")
            assert held.outcomes[0]["outcome"] == f"✅ Allowed by @user{ALICE} in memory"
            assert held.outcomes[0]["ref"] == held.posts[0]["ref"]

    run(scenario())


def test_a_platform_that_connects_later_still_gets_what_waits() -> None:
    """Telegram up first, Slack a few seconds later: the request waiting meanwhile goes to
    the late one too (once), and a press there decides it everywhere."""
    async def scenario() -> None:
        extra, one, two = _two()
        async with running(bridge=one, **extra) as (dispatcher, _):
            rid = add()["id"]
            (post1,) = await posted(one)
            dispatcher.add_bridge(two)  # connects now
            (post2,) = await posted(two)
            assert post2["request"]["id"] == rid
            assert post1["buttons"][0][0].data == post2["buttons"][0][0].data  # one nonce
            await dispatcher.sync()
            assert len(one.posts) == 1 and len(two.posts) == 1  # once each
            await two.press(post2, "✅ Allow", ALICE)
            await until_async(lambda: one.outcomes, what="the first copy's outcome")
            assert one.outcomes[0]["outcome"] == f"✅ Allowed by @user{ALICE} in other"

    run(scenario())


@pytest.mark.parametrize("answer", ["allow", "deny", "ok", "allow all 2h", "not on prod"])
def test_a_reason_awaited_for_one_session_is_not_taken_from_another_sessions_thread(
        answer: str) -> None:
    """"Deny with reason" on A, then a text in B's thread (Slack texts carry no reply_to,
    only their thread): it is B's, and A still waits for its reason."""
    async def scenario() -> None:
        async with running({"forum": True}) as (_, bridge):
            a = add(req(session="s-a"))["id"]
            b = add(req(session="s-b"))["id"]
            posts = await posted(bridge, 2)
            post_a = next(p for p in posts if p["request"]["id"] == a)
            thread_a, thread_b = (chat(r)["refs"][0]["thread_id"] for r in (a, b))
            await bridge.press(post_a, "💬 Deny with reason", ALICE)
            bridge.clock = lambda: time.time() + 5
            await bridge.send(answer, ALICE, thread_id=thread_b)
            assert record(a)["status"] == "pending"
            if answer != "not on prod":
                assert record(b)["status"] == ("denied" if answer == "deny" else "allowed")
            await bridge.send("too risky", ALICE, thread_id=thread_a)
            assert record(a)["status"] == "denied"
            assert record(a)["decision"]["reason"] == "too risky"

    run(scenario())


class StuckEdits(MemoryBridge):
    """Edits wait (Telegram's 429 on editMessageText: up to a minute) until let go."""

    def __init__(self, section: dict, name: str | None = None) -> None:
        super().__init__(section, name=name)
        self.go = asyncio.Event()

    async def show_outcome(self, ref: MessageRef, request: dict, outcome: str) -> None:
        await self.go.wait()
        await super().show_outcome(ref, request, outcome)


def test_a_platform_slow_to_show_an_outcome_holds_up_no_decision() -> None:
    """Decided in one platform while the other's edits wait out a rate limit: the press
    returns at once with its own copy updated, the next press is applied at once, and the
    slow copies show their outcomes when they can."""
    async def scenario() -> None:
        extra, one, _ = _two()
        slow = StuckEdits({"allowed_user_ids": [ALICE], "chat_id": "200"}, name="other")
        async with running(bridge=one, **extra) as (dispatcher, _):
            dispatcher.add_bridge(slow)
            await asyncio.wait_for(slow.started.wait(), 5)
            first, second = add()["id"], add(req(session="s-2", command="ls"))["id"]
            await posted(one, 2)
            await posted(slow, 2)
            mine = {p["request"]["id"]: p for p in one.posts}
            await asyncio.wait_for(one.press(mine[first], "✅ Allow", ALICE), 2)
            assert [o["request_id"] for o in one.outcomes] == [first]
            await asyncio.wait_for(one.press(mine[second], "❌ Deny", ALICE), 2)
            assert (record(first)["status"], record(second)["status"]) == ("allowed", "denied")
            assert not slow.outcomes
            slow.go.set()
            await until_async(lambda: len(slow.outcomes) == 2, what="the slow copies shown")
            await until_async(lambda: chat(first).get("shown") and chat(second).get("shown"),
                              what="both marked shown")

    run(scenario())


class StuckAnswers(MemoryBridge):
    """Private answers wait (a 429 on chat.postEphemeral) until let go."""

    def __init__(self, section: dict) -> None:
        super().__init__(section)
        self.go = asyncio.Event()

    async def answer(self, event: Incoming, text: str) -> None:
        if event.user_id != str(ALICE):
            await self.go.wait()
        await super().answer(event, text)


def test_a_strangers_slow_refusal_holds_up_no_allowed_press() -> None:
    async def scenario() -> None:
        section = {"allowed_user_ids": [ALICE]}
        bridge = StuckAnswers(section)
        async with running(section, bridge) as (_, bridge):
            rid = add()["id"]
            (post,) = await posted(bridge)
            await asyncio.wait_for(bridge.press(post, "✅ Allow", MALLORY), 2)
            await asyncio.wait_for(bridge.press(post, "✅ Allow", ALICE), 2)
            assert record(rid)["status"] == "allowed"
            bridge.go.set()
            await until_async(lambda: any("Not authorized" in a[1] for a in bridge.answers),
                              what="the stranger told")

    run(scenario())

"""Requests, notices and texts as Discord messages: within Discord's limits, code fences
closed, prose shown literally, reactions as the buttons. What the emulator stores is what a
user sees; the rest is pure."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from emulators.discord import DiscordEmulator
from harness.discord import BUTTONS, NONCE, Dispatch, drive, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether_hooks.platforms import discord_render as render
from tether_hooks.platforms.base import Button, Notice
from tether_hooks.platforms.discord import DiscordBridge

FENCE = "```"
PROSE = "*x* _y_ ~~z~~ @everyone @here <@123> <#456> # heading\n- list\n1. one\n> quote ||spoiler||"


def embed_size(embed: dict[str, Any]) -> int:
    """Discord's 6,000 count: title, description, fields, footer and author text."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
    return total + len((embed.get("footer") or {}).get("text", "")) + len(
        (embed.get("author") or {}).get("name", ""))


def check_payload(payload: dict[str, Any]) -> None:
    assert 0 < len(payload["content"]) <= render.CONTENT_LIMIT
    assert sum(embed_size(e) for e in payload["embeds"]) <= 6000
    for embed in payload["embeds"]:
        assert len(embed["description"]) <= render.DESCRIPTION_LIMIT
        assert embed["description"].count(FENCE) % 2 == 0, embed["description"]
    assert payload["content"].count(FENCE) % 2 == 0


def shown(markdown: str) -> str:
    """What Discord displays of escaped prose: a backslash-escaped mark as itself."""
    return re.sub(r"\\([^A-Za-z0-9\s])", r"\1", markdown)


def bare(markdown: str) -> str:
    """Markdown with every escaped mark and code span taken out: what could still format."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"\\.", "", markdown))


def req(tool: str, tool_input: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "7f3a", "agent": "claude", "session_id": "0a1b2c3d-0000", "cwd": "/home/u/proj",
            "tool_name": tool, "tool_input": tool_input, **extra}


# -- limits and fences ------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=9000) | \
    st.lists(st.sampled_from(["```", "``", "`", "\n", "x" * 300, "*", "@everyone", "<@1>",
                              "é" * 50, "\t", "diff", "\\", "~~~", " "]), max_size=200
             ).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=TEXT, description=st.text(max_size=300))
def test_any_bash_command_fits_and_its_fences_are_closed(command: str, description: str
                                                         ) -> None:
    payload = render.request(req("Bash", {"command": command, "description": description}),
                             BUTTONS)
    check_payload(payload)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=TEXT, new=TEXT, path=st.text(min_size=1, max_size=400))
def test_any_edit_diff_fits(old: str, new: str, path: str) -> None:
    check_payload(render.request(req("Edit", {"file_path": path, "old_string": old,
                                              "new_string": new}), BUTTONS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=TEXT, tool=st.text(min_size=1, max_size=120), outcome=st.text(max_size=3000))
def test_any_write_or_other_tool_and_any_outcome_fit(content: str, tool: str, outcome: str
                                                     ) -> None:
    check_payload(render.request(req("Write", {"file_path": "/a/b", "content": content}),
                                 BUTTONS))
    check_payload(render.request(req(tool, {"q": content, "n": [1, 2]}), BUTTONS,
                                 outcome=outcome or "x", color="deny"))


@pytest.mark.parametrize(("tool", "tool_input"), [
    ("Bash", {"command": "x" * 20000}), ("Bash", {"command": "echo hi\n" * 3000}),
    ("Edit", {"file_path": "/a", "old_string": "a\n" * 4000, "new_string": "b\n" * 4000}),
    ("Write", {"file_path": "/a", "content": "é" * 50000}),
    ("mcp__srv__tool", {"nested": {"deep": ["x" * 9000] * 5}})])
def test_long_inputs_are_cut_and_say_so(tool: str, tool_input: dict[str, Any]) -> None:
    payload = render.request(req(tool, tool_input), BUTTONS)
    check_payload(payload)
    assert "✂️" in payload["embeds"][0]["description"]


@pytest.mark.parametrize("command", ["```" * 2000, "`" * 7001])
def test_a_long_run_of_backticks_keeps_the_fence_closed(command: str) -> None:
    check_payload(render.request(req("Bash", {"command": command}), BUTTONS))


def test_triple_backticks_in_a_command_cannot_close_its_block() -> None:
    payload = render.request(req("Bash", {"command": "echo ```\n*bold* @everyone\n```"}), [])
    description = payload["embeds"][0]["description"]
    assert description.count(FENCE) == 2  # the block's own fences only
    assert description.startswith("```bash\n") or "\n```bash\n" in description
    assert description.endswith("\n```")
    inner = description.split("```bash\n", 1)[1].rsplit("\n```", 1)[0]
    assert inner.replace("\u200b", "") == "echo ```\n*bold* @everyone\n```"  # looks the same


# -- prose shown literally --------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "*x*", "_x_", "**x**", "~~x~~", "||x||", "`x`", "@everyone", "@here", "<@123>", "<@&9>",
    "<#456>", "# heading", "## h", "- list", "+ list", "* list", "1. one",
    "  2. two", "> quote", ">>> quote", "[link](https://x)", ":smile:", "\\*x\\*"])
def test_markdown_in_prose_is_shown_as_typed(typed: str) -> None:
    escaped = render.escape(typed)
    assert shown(escaped) == typed
    # a colon needs no escape: Discord turns :name: into an emoji only as it is typed
    assert not re.search(r"[*_~`|<>#@\[\]]", bare(escaped)), escaped
    assert not re.match(r"\s*([-+*]|\d+\.)\s", bare(escaped)), escaped


def test_a_notice_and_a_text_show_markdown_literally_and_fit() -> None:
    for parts in (render.notice(Notice("info", PROSE)), render.text(PROSE),
                  render.text(PROSE * 200), render.notice(Notice("error", PROSE * 100,
                                                                 items=[PROSE] * 30))):
        assert parts and all(len(p) <= render.CONTENT_LIMIT for p in parts)
        for part in parts:
            assert "@everyone" not in bare(part) and "<@123>" not in bare(part)
            assert not re.search(r"(?m)^(#|- |1\. |> )", bare(part)), part
    assert "*x* _y_ ~~z~~ @everyone @here <@123> <#456> # heading" in shown(
        render.text(PROSE)[0])


def test_what_the_emulator_stores_shows_the_prose_literally_and_pings_nobody(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    emu.message_content_intent = True
    alice = emu.add_user(username="pinged")["id"]
    prose = PROSE.replace("<@123>", f"<@{alice}>")

    async def body(bridge: DiscordBridge, d: Dispatch) -> None:
        ref = await bridge.post_request(request(tool_input={
            "command": "ls", "description": prose}), BUTTONS)
        await bridge.post_notice(None, Notice("info", prose))
        emu.post_user_message("!status", "300000000000000001")
        await bridge.reply(await d.next(), prose)
        await bridge.show_outcome(ref, {**request(), "status": "denied"}, f"Denied: {prose}")

    drive(emu, body)
    mine = [m for m in emu.messages() if m["author"]["id"] in (emu.webhook_id, emu.bot_user_id)]
    assert len(mine) == 3
    for msg in mine:
        text = msg["content"] + "".join(e.get("description", "") for e in msg["embeds"])
        assert msg["mentions"] == [] and msg["mention_everyone"] is False
        assert "@everyone" not in bare(text) and f"<@{alice}>" not in bare(text)
        assert f"<@{alice}>" in shown(text) or "@everyone" in shown(text)
    for call in emu.calls("POST") + emu.calls("PATCH"):
        assert call.body["allowed_mentions"]["parse"] == [], call  # every payload


# -- reactions ----------------------------------------------------------------------------------


def test_the_buttons_map_to_their_reactions_in_order() -> None:
    pairs = render.reactions(BUTTONS)
    assert [(e, b.data) for e, b in pairs] == [
        ("✅", f"a:{NONCE}"), ("❌", f"d:{NONCE}"), ("\u23f1\ufe0f", f"t:{NONCE}"),
        ("📁", f"p:{NONCE}"), ("📄", f"f:{NONCE}")]
    assert render.TIMER == "\u23f1\ufe0f" and render.TIMER_BARE == "\u23f1"


def test_one_emoji_per_message_even_when_two_buttons_share_it() -> None:
    buttons = [[Button("❌ Deny", "d:n"), Button("📝 Keep planning", "k:n")],
               [Button("⏱ Allow all 30m", "s:n"), Button("⏱ Allow Bash 30m", "t:n")]]
    assert [(e, b.data) for e, b in render.reactions(buttons)] == [
        ("❌", "d:n"), ("\u23f1\ufe0f", "t:n")]


@pytest.mark.parametrize("count", [1, 4, 10, 12])
def test_a_questions_options_are_keycaps(count: int) -> None:
    buttons = [[Button(f"{n + 1}. Option {n}", f"o0.{n}:n")] for n in range(count)]
    emoji = [e for e, _ in render.reactions(buttons)]
    want = [f"{n}\ufe0f\u20e3" for n in range(1, 10)] + ["🔟"]
    assert emoji == want[:min(count, 10)]  # past ten: said as replies


def test_a_multi_select_question_toggles_with_keycaps_and_done_with_a_ballot() -> None:
    buttons = [[Button("☐ A", "x1.0:n")], [Button("☐ B", "x1.1:n")], [Button("✔️ Done", "y1:n")]]
    assert [(e, b.data) for e, b in render.reactions(buttons)] == [
        ("1️⃣", "x1.0:n"), ("2️⃣", "x1.1:n"), ("☑️", "y1:n")]


def test_the_how_line_names_what_each_reaction_does() -> None:
    content = render.request(req("Bash", {"command": "ls"}), BUTTONS)["content"]
    how = content.splitlines()[-1]
    assert shown(how) == ("React ✅ Allow · ❌ Deny · ⏱️ Allow Bash 30m · 📁 Allow proj/ 30m · "
                          "📄 Show full — or reply `deny: reason`, `allow <Tool> 2h`")


def test_a_questions_how_line_offers_its_options_not_tool_timers() -> None:
    buttons = [[Button(f"{n + 1}. Option {n}", f"o0.{n}:n")] for n in range(2)]
    ask = req("AskUserQuestion", {"questions": [{"question": "Which?", "options": [
        {"label": "Option 0"}, {"label": "Option 1"}]}]})
    how = render.request(ask, buttons)["content"].splitlines()[-1]
    assert shown(how) == ("React 1️⃣ Option 0 · 2️⃣ Option 1 — or reply with a number or your "
                          "own answer")


@pytest.mark.parametrize(("status", "color"), [("allowed", 0x23A55A), ("denied", 0xDA373C)])
def test_an_outcome_replaces_the_how_line(status: str, color: int) -> None:
    payload = render.request(req("Bash", {"command": "ls"}), BUTTONS,
                             outcome=f"{status} by @alice", color=status[:-2].replace(
                                 "allow", "allow").replace("deni", "deny"))
    assert "React" not in payload["content"]
    assert shown(payload["content"]).endswith(f"**{status} by @alice**")
    assert payload["embeds"][0]["color"] == color


def test_the_whole_input_file_masks_secrets() -> None:
    name, data = render.full_input(req("Bash", {
        "command": "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ./deploy",
        "env": {"password": "hunter2-s3cret"}}, id="../../etc/passwd"))
    assert name == "request-etcpasswd.txt"
    text = data.decode()
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" not in text and "hunter2" not in text
    assert "./deploy" in text
    assert json.dumps  # the file is text, not JSON

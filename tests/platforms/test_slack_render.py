"""slack_render, pure: whatever the input, every section fits Slack's 3,000 characters,
every message its 50 blocks, and what is shown reads back as the input, character for
character (nothing lost, nothing turned into markup)."""

from __future__ import annotations

import html
import re
from typing import Any

from emulators.slack import check_blocks
from hypothesis import given, settings
from hypothesis import strategies as st

from tether_hooks.platforms import slack_render as render
from tether_hooks.platforms.base import Button, Notice

_CHARS = "ab <>&*_~`!@#|:\n\t é😀"
NASTY = st.text(alphabet=st.sampled_from(list(_CHARS + "\u200b")), max_size=4000)
CODE = st.text(alphabet=st.sampled_from(list(_CHARS)), max_size=4000)  # (\u200b: our break)
_DATE = re.compile(r"<!date\^00000000\^\{_\}\|(.)>")


def request(tool: str = "Bash", **tool_input: Any) -> dict[str, Any]:
    return {"id": "7f3a", "agent": "claude", "session_id": "s-1", "cwd": "/p",
            "tool_name": tool, "tool_input": tool_input}


def shown_code(texts: list[str]) -> str:
    """What code blocks read as: fences off, zero-width breaks off, entities decoded."""
    out = []
    for text in texts:
        for part in re.findall(r"```\n(.*?)\n```", text, re.S):
            out.append(html.unescape(part.replace("``\u200b", "``")))
    return "".join(out)


def shown_prose(text: str) -> str:
    """What mrkdwn prose reads as in Slack: date fallbacks as their text, entities decoded."""
    return html.unescape(_DATE.sub(r"\1", text)).replace("\u00ad", "")


def body_sections(messages: list[render.Rendered]) -> list[str]:
    return [b["text"]["text"] for m in messages for b in m.blocks[1:]]


def assert_fits(messages: list[render.Rendered]) -> None:
    for message in messages:
        assert check_blocks(message.blocks) == [], message.blocks
        assert len(message.blocks) <= 50


@settings(max_examples=60, deadline=None)
@given(CODE)
def test_any_command_is_shown_whole_and_within_limits(command: str) -> None:
    messages = render.full_input(request(command=command))
    assert_fits(messages)
    shown = shown_code(body_sections(messages))
    assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", command)  # (a blank part is dropped)


@settings(max_examples=60, deadline=None)
@given(NASTY)
def test_any_prose_reads_back_literally_and_is_never_markup(plan: str) -> None:
    messages = render.full_input(request("ExitPlanMode", plan=plan))
    assert_fits(messages)
    texts = body_sections(messages)
    for text in texts:
        bare = _DATE.sub("", text)
        assert "<" not in bare and ">" not in bare  # no mention, link or date of the input's
        assert not re.search(r"(^|\n)&gt;", text)  # no line is a quote
    shown = shown_prose("".join(texts))
    assert re.sub(r"\s", "", shown) == "📋*Plan*" + re.sub(r"\s", "", plan)


def test_pathological_requests_fit_one_message_with_their_buttons() -> None:
    buttons = [[Button("✅ Allow", "a:1"), Button("❌ Deny", "d:1")]] * 5
    for req in (request(command="&" * 100_000), request(command="x" * 50_000),
                request(command="`" * 20_000), request("Write", file_path="/a", content="<" * 9999),
                request("Edit", file_path="/a", old_string="*" * 5000, new_string="_" * 5000),
                request("mcp__srv__tool", data="&<>" * 3000)):
        for footer in (None, "❌ Denied by @alice: " + "<&>" * 2000):
            message = render.request(req, None if footer else buttons, footer=footer)
            assert_fits([message])
            assert message.truncated or footer
            assert len(message.text) <= 5 * 300  # clipped, then escaped


def test_buttons_keep_their_data_clip_their_labels_and_get_styles() -> None:
    rows = render.actions([[Button("✅ Allow", "a:1"), Button("❌ Deny", "d:1"),
                            Button("💬 " + "w" * 100, "r:1")], [Button("✔️ Done", "q:9")]])
    first, second = rows
    assert [e["value"] for e in first["elements"]] == ["a:1", "d:1", "r:1"]
    assert [e.get("style") for e in first["elements"]] == ["primary", "danger", None]
    assert len(first["elements"][2]["text"]["text"]) == 75
    assert second["elements"][0]["style"] == "primary"
    ids = [e["action_id"] for row in rows for e in row["elements"]]
    assert len(set(ids)) == len(ids) and check_blocks(rows) == []


def test_a_long_notice_is_split_into_valid_messages() -> None:
    notice = Notice("finished", "Claude Code finished\n" + "*word* <@U1> " * 5000,
                    session_id="s-1", cwd="/p", items=["a <b>"])
    messages = render.notice(notice)
    assert len(messages) >= 1
    assert_fits(messages)
    assert messages[0].blocks[0]["text"]["text"].startswith("🏁 *Claude Code finished*")
    assert "<@U1>" not in str([m.blocks for m in messages])

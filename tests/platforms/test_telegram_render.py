"""Request previews, outcomes and notices: escaped, valid Telegram HTML, within 4,096 characters.

Every rendered message is checked with the emulator's port of tdlib's HTML parser, which
raises on broken markup and returns the text as Telegram would count it.
"""

from __future__ import annotations

import json

import pytest
from emulators.telegram import MAX_TEXT, parse_html

from tether_hooks.platforms import telegram_render as render
from tether_hooks.platforms.base import Notice

HOSTILE = 'echo "<b>bold</b> &amp; </pre></code><a href=x>" && cat <<EOF > /tmp/x &\n<tg-spoiler>'


def request(tool: str, tool_input: object, **extra: object) -> dict:
    return {
        "id": "7f3a", "agent": "claude", "session_id": "0a1b2c3d-4e5f-4000-8000-000000000001",
        "cwd": "/home/user/proj", "tool_name": tool, "tool_input": tool_input, **extra,
    }


def visible(html: str) -> str:
    """The message as Telegram shows it (raises on markup Telegram would refuse)."""
    text, _ = parse_html(html)
    return text.strip()


def fits(html: str) -> str:
    text = visible(html)
    assert 0 < len(text) <= MAX_TEXT
    assert len(text.encode("utf-16-le")) // 2 <= MAX_TEXT
    return text


def test_bash_preview_shows_header_and_the_command_in_pre() -> None:
    preview = render.request_message(request("Bash", {"command": "ls -la", "description": "List"}))
    text = fits(preview.text)
    assert "Claude Code wants to use Bash" in text
    assert "proj · session 0a1b2c3d · request 7f3a" in text
    assert '<pre><code class="language-bash">ls -la</code></pre>' in preview.text
    assert "List" in text
    assert not preview.truncated


def test_hostile_input_is_escaped_everywhere() -> None:
    hostile_tool = "mcp__<b>evil</b>__x&y"
    preview = render.request_message(
        request(hostile_tool, {"arg": HOSTILE, "<key>": "&lt;"}, cwd="/tmp/<i>proj&co")
    )
    text = fits(preview.text)
    assert json.dumps(HOSTILE, ensure_ascii=False) in text
    assert "<b>evil</b>" in text and "x&y" in text and "<i>proj&co" in text
    bash = render.request_message(request("Bash", {"command": HOSTILE}))
    assert HOSTILE.split("\n")[0] in fits(bash.text)


@pytest.mark.parametrize(
    "tool_input",
    [{"command": HOSTILE}, {"file_path": "/a<b>", "content": HOSTILE * 50}, {"url": HOSTILE}],
)
def test_full_input_of_hostile_text_parses(tool_input: dict) -> None:
    for chunk in render.full_input(request("Write" if "content" in tool_input else "Bash",
                                           tool_input)):
        fits(chunk)


def test_edit_is_a_small_unified_diff() -> None:
    old = "def f():\n    return 1\n\nx = f()\n"
    new = "def f():\n    return 2  # <changed>\n\nx = f()\n"
    preview = render.request_message(
        request("Edit", {"file_path": "/home/user/proj/a.py", "old_string": old, "new_string": new})
    )
    text = fits(preview.text)
    assert "/home/user/proj/a.py" in text
    assert "-    return 1" in text and "+    return 2  # <changed>" in text
    assert "language-diff" in preview.text


def test_multiedit_shows_every_edit() -> None:
    edits = [{"old_string": f"a{i}", "new_string": f"b{i}"} for i in range(3)]
    text = fits(render.request_message(
        request("MultiEdit", {"file_path": "/p/x.txt", "edits": edits})).text)
    assert "3 edits" in text and "edit 3 of 3" in text
    assert "-a2" in text and "+b2" in text


def test_write_shows_path_size_and_head_and_is_cut() -> None:
    content = "".join(f"line {i} <&>\n" for i in range(500))
    preview = render.request_message(request("Write", {"file_path": "/p/big.txt",
                                                       "content": content}))
    text = fits(preview.text)
    assert f"{len(content.encode()):,} bytes" in text and "500 lines" in text
    assert "line 19 <&>" in text and "line 20 <&>" not in text
    assert "480 more lines" in text
    assert preview.truncated


def test_small_write_is_shown_whole() -> None:
    preview = render.request_message(request("Write", {"file_path": "/p/w.txt",
                                                       "content": "hello\n" * 30}))
    assert fits(preview.text).count("hello") == 30
    assert not preview.truncated


def test_codex_apply_patch_is_a_diff_with_its_files() -> None:
    patch = ("*** Begin Patch\n*** Update File: src/app.py\n@@\n-old <x>\n+new <y>\n"
             "*** Add File: docs/new.md\n+hello\n*** End Patch")
    preview = render.request_message(request("apply_patch", {"command": patch}, agent="codex"))
    text = fits(preview.text)
    assert "Codex wants to use apply_patch" in text
    assert "src/app.py" in text and "docs/new.md" in text
    assert "-old <x>" in text and "+new <y>" in text
    assert "language-diff" in preview.text


def test_webfetch_and_mcp_arguments() -> None:
    fetch = fits(render.request_message(
        request("WebFetch", {"url": "https://example.com/?a=1&b=<2>", "prompt": "Summarise"})
    ).text)
    assert "https://example.com/?a=1&b=<2>" in fetch and "Summarise" in fetch
    long_name = "mcp__" + "very_long_server_name_" * 4 + "__" + "tool_with_a_long_name_" * 4
    preview = render.request_message(request(long_name, {"query": "select 1", "limit": 5}))
    text = fits(preview.text)
    assert "MCP very_long_server_name_" in text
    assert '"query": "select 1"' in text and '"limit": 5' in text
    assert "language-json" in preview.text


def test_ask_user_question_lists_questions_and_options() -> None:
    questions = [{
        "question": "Which library should we use for dates?", "header": "Library",
        "multiSelect": False,
        "options": [{"label": "dayjs", "description": "small <2kB>"},
                    {"label": "date-fns", "description": "modular"}],
    }]
    text = fits(render.request_message(request("AskUserQuestion", {"questions": questions})).text)
    assert "Library" in text and "Which library should we use for dates?" in text
    assert "1. dayjs — small <2kB>" in text and "2. date-fns — modular" in text


def test_exit_plan_mode_shows_the_plan() -> None:
    plan = "## Plan\n1. Read <config>\n2. Fix & test"
    text = fits(render.request_message(request("ExitPlanMode", {"plan": plan})).text)
    assert "Plan" in text and "1. Read <config>" in text and "2. Fix & test" in text


def test_huge_one_line_command_is_cut_with_a_marker() -> None:
    command = "echo " + "x" * 20_000
    preview = render.request_message(request("Bash", {"command": command}))
    text = fits(preview.text)
    assert preview.truncated
    assert "more characters" in text
    assert len(text) <= render.PREVIEW_CHARS + 400


def test_full_input_splits_on_lines_and_keeps_everything() -> None:
    lines = [f"{i:05d} <tag> & 😀 " + "y" * (i % 97) for i in range(1500)]
    chunks = render.full_input(request("Bash", {"command": "\n".join(lines)}))
    assert len(chunks) > 3
    seen = []
    for n, chunk in enumerate(chunks, 1):
        text = fits(chunk)
        assert f"part {n}/{len(chunks)}" in text.split("\n")[0]
        assert chunk.count("<pre>") + chunk.count("<pre><code") >= 1
        assert chunk.count("<pre") == chunk.count("</pre>")
        seen += [line for line in text.split("\n") if line[:5].isdigit()]
    assert seen == lines


def test_full_input_cuts_a_huge_single_line_into_pieces() -> None:
    command = "z" * 9000
    chunks = render.full_input(request("Bash", {"command": command}))
    assert len(chunks) == 3
    body = "".join(visible(c).split("\n", 2)[-1].strip() for c in chunks)
    assert body == command


def test_outcome_footer_always_fits() -> None:
    for tool_input in ({"command": "echo " + "<&>" * 5000}, {"command": "ls"}):
        html = render.request_message(
            request("Bash", tool_input), footer="❌ Denied by @alice: " + "no <way> " * 50
        ).text
        text = fits(html)
        assert text.endswith("no <way>")
        assert "<b>❌ Denied by @alice" in html


@pytest.mark.parametrize(
    ("record", "line"),
    [
        ({"status": "allowed", "decision": {"by": "@alice", "via": "telegram"}},
         "✅ Allowed by @alice"),
        ({"status": "denied", "decision": {"by": "@alice", "reason": "use the staging db"}},
         "❌ Denied by @alice: use the staging db"),
        ({"status": "denied", "decision": {"by": "@bob"}}, "❌ Denied by @bob"),
        ({"status": "expired", "created_at": 100.0, "expires_at": 400.0,
          "decision": {"via": "timeout", "behavior": "deny"}},
         "⌛ Expired: no answer in 300 s; denied"),
        ({"status": "expired", "agent": "claude", "created_at": 0, "expires_at": 300,
          "decision": {"via": "timeout", "behavior": "ask"}},
         "⌛ Expired: no answer in 300 s; Claude Code asked in the terminal"),
        ({"status": "answered_in_terminal", "decision": {"via": "terminal"}},
         "💻 Answered in the terminal"),
        ({"status": "allowed", "decision": {"via": "timer",
                                            "reason": "Allow Bash (timer 7f3a, 12 min left)"}},
         "🕒 Auto-approved: Allow Bash (timer 7f3a, 12 min left)"),
        ({"status": "cancelled", "decision": {"reason": "the session ended"}},
         "🚫 Cancelled: the session ended"),
        ({"status": "abandoned", "decision": {"reason": "the waiting hook is gone"}},
         "⌛ Expired: the waiting hook is gone"),
        ({"status": "expired", "decision": {"via": "listener", "behavior": "ask",
                                            "reason": "no chat platform is reachable"}},
         "⚠️ Not relayed: no chat platform is reachable"),
        ({"status": "denied", "decision": {"by": "@alice", "interrupt": True}},
         "🛑 Stopped by @alice"),
        ({"status": "allowed", "tool_name": "AskUserQuestion",
          "decision": {"by": "@alice", "answer": "SQLite; Auth, Export"}},
         "✅ Answered by @alice: SQLite; Auth, Export"),
        ({"status": "allowed", "tool_name": "ExitPlanMode",
          "decision": {"by": "@alice", "updated_permissions": [{"type": "setMode"}]}},
         "✅ Plan approved by @alice; edits are accepted"),
        ({"status": "denied", "tool_name": "ExitPlanMode",
          "decision": {"by": "@alice", "reason": render.KEEP_PLANNING}},
         "📝 Keep planning, said @alice"),
        ({"status": "denied", "tool_name": "ExitPlanMode",
          "decision": {"by": "@alice", "reason": "split step 2"}},
         "📝 Keep planning, said @alice: split step 2"),
    ],
)
def test_outcome_text(record: dict, line: str) -> None:
    assert render.outcome_text(record) == line


def test_outcome_text_names_the_timer_a_press_added() -> None:
    record = {"status": "allowed", "decision": {"by": "@alice", "via": "telegram"}}
    timer = {"id": "1a2b", "scope": "tool", "tool": "bash", "tool_label": "Bash",
             "created_at": 0.0, "expires_at": 1800.0}
    line = render.outcome_text(record, timer, now=0.0)
    assert line.startswith("✅ Allowed by @alice; ") and line.endswith("(timer 1a2b)")
    assert "30 min" in line


def test_notices_add_an_icon_context_and_items() -> None:
    notice = Notice("waiting", "Claude is waiting for your input", session_id="abcdef123456",
                    agent="claude", cwd="/home/u/proj", items=["first <item>", "second"])
    (html,) = render.notice_messages(notice)
    text = fits(html)
    assert text.startswith("⏳ Claude is waiting for your input")
    assert "proj · session abcdef12" in text
    assert "• first <item>" in text and "• second" in text
    (in_topic,) = render.notice_messages(notice, context=False)
    assert "session abcdef12" not in visible(in_topic)


def test_notice_text_with_its_own_icon_and_items_is_not_doubled() -> None:
    text = "✅ Auto-approved 2 calls (Allow Bash):\n• Bash: ls\n• Bash: pwd"
    notice = Notice("auto_approved", text, items=["Bash: ls", "Bash: pwd"])
    (html,) = render.notice_messages(notice)
    shown = fits(html)
    assert shown.startswith("✅ Auto-approved") and "🕒" not in shown
    assert shown.count("Bash: ls") == 1


def test_long_notices_and_texts_are_split_under_the_limit() -> None:
    long = "\n".join(f"line {i}: <{'x' * 50}> & more" for i in range(400))
    messages = render.notice_messages(Notice("finished", "Done.\n\n" + long))
    assert len(messages) > 1
    assert all(fits(m) for m in messages)
    texts = render.text_messages(long)
    assert len(texts) > 1
    assert "\n".join(fits(t) for t in texts) == long

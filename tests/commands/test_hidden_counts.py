"""Every place that cuts a tool input says how much of the ORIGINAL is hidden: `pending`,
`log`, /pending in the chat, and the chat preview (also after the store cut its copy twice).

Requests come from the real hook (a subprocess, local approvals on) into a real store.
"""

from __future__ import annotations

import copy
import html
import json
import re
import time

import pytest
from click.testing import CliRunner
from emulators.telegram import parse_html
from harness.hookproc import HookRunner, payload, wait_pending

from tether_hooks import bounds, lifecycle
from tether_hooks.listener import chat
from tether_hooks.main import cli
from tether_hooks.platforms import telegram_render as render
from tether_hooks.store import Store

BIG = 1_048_576
LOCAL = {"TETHER_HOOKS_LOCAL_APPROVALS": "1"}


def cli_run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def ask(hook: HookRunner, command: str) -> tuple[object, dict]:
    data = payload("claude/PermissionRequest-Bash",
                   tool_input={"command": command, "description": "big"})
    proc = hook.start("claude", data, LOCAL)
    (request,) = wait_pending()
    return proc, request


def deny(hook: HookRunner, proc: object, request: dict) -> None:
    cli_run("deny", request["id"])
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"


def shown_command(preview_html: str) -> str:
    parse_html(preview_html)  # valid Telegram HTML
    found = re.search(r'<pre><code class="language-bash">(.*?)</code></pre>', preview_html, re.S)
    assert found
    return html.unescape(found[1])


def marker(preview_html: str) -> tuple[int, str]:
    text, _ = parse_html(preview_html)
    found = re.search(r"✂️ … ([\d,]+) more characters(.*)", text)
    assert found, text
    return int(found[1].replace(",", "")), found[2]


def test_a_million_character_command_is_counted_everywhere(hook: HookRunner) -> None:
    # words: every cut keeps whole words (a word it would split is left out whole)
    command = ("echo " + " ".join(["x" * 11] * (BIG // 12)))[:BIG]
    command += "x" * (BIG - len(command))
    kept = bounds.cut_at(command, 4096)
    proc, request = ask(hook, command)
    try:
        listed = cli_run("pending")
        assert (f"{command[:200]}… {BIG - 200:,} more characters (too large to keep in full: "
                "tether-hooks pending --json shows its start)") in listed
        (as_json,) = json.loads(cli_run("pending", "--json"))
        assert as_json["input_truncated"] is True
        assert as_json["tool_input"]["command"].startswith(command[:kept] + "\n… [")
        assert f"… {BIG - 200:,} more characters" in chat.request_line(request, time.time())

        preview = render.request_message(request)
        hidden, rest = marker(preview.text)
        assert hidden + len(shown_command(preview.text)) == BIG
        assert rest.startswith("; too large to keep in full; Show full sends the part kept")
        full = "".join(parse_html(part)[0] for part in render.full_input(request))
        assert f"… [{BIG - kept:,} more characters]" in full
        assert full.endswith("The input was too large to keep in full: this is its start.")
    finally:
        deny(hook, proc, request)
    settled = Store().read()["requests"][request["id"]]
    outcome = render.request_message(settled, footer="❌ Denied by you")
    hidden, rest = marker(outcome.text)
    assert hidden + len(shown_command(outcome.text)) == BIG and "Show full" not in rest
    assert f"{BIG - 200:,} more characters" in cli_run("log")

    # Later the store keeps only 256 characters of it: still the true count.
    data = copy.deepcopy(Store().read())
    lifecycle.prune(data, settled["decision"]["at"] + 60)
    small = data["requests"][request["id"]]
    assert len(small["tool_input"]["command"]) < 300
    assert small["tool_input"]["command"].endswith(
        f"… [{BIG - bounds.cut_at(command, 256):,} more characters]")
    again = render.request_message(small, footer="❌ Denied by you")
    hidden, _ = marker(again.text)
    assert hidden + len(shown_command(again.text)) == BIG


@pytest.mark.parametrize("size", [201, 300, 4_000, 60_000])
def test_a_long_command_kept_whole_is_counted_and_pending_json_shows_it(
    hook: HookRunner, size: int
) -> None:
    command = ("printf %s " + " ".join(["y" * 11] * (size // 12 + 1)))[:size]
    proc, request = ask(hook, command)
    try:
        listed = cli_run("pending")
        assert (f"… {size - 200:,} more characters (tether-hooks pending --json shows all)"
                in listed)
        (as_json,) = json.loads(cli_run("pending", "--json"))
        assert as_json["tool_input"]["command"] == command and not as_json["input_truncated"]
        preview = render.request_message(request)
        if size <= 2_000:
            assert "more characters" not in parse_html(preview.text)[0]
            assert shown_command(preview.text) == command
        else:
            hidden, rest = marker(preview.text)
            assert hidden + len(shown_command(preview.text)) == size
            assert rest == "; Show full sends the rest"
    finally:
        deny(hook, proc, request)


def test_a_short_command_gets_no_hint(hook: HookRunner) -> None:
    proc, request = ask(hook, "ls -la")
    try:
        listed = cli_run("pending")
        assert "Bash: ls -la  (" in listed and "more characters" not in listed
    finally:
        deny(hook, proc, request)


@pytest.mark.parametrize("spaces", ["  ", "\n", " \t "])
def test_the_summary_counts_the_original_text_not_the_folded_one(spaces: str) -> None:
    from tether_hooks import audit

    text = spaces.join(["word"] * 200)
    summary = audit.summarize_input("Bash", {"command": text})
    shown, _, count = summary.rpartition("… ")
    hidden = int(count.split()[0].replace(",", ""))
    cut = len(text) - hidden
    assert " ".join(text[:cut].split()) == shown.strip()


def test_a_huge_write_states_the_file_size_not_the_kept_copy(hook: HookRunner) -> None:
    content = "line of text\n" * 100_000
    data = payload("claude/PermissionRequest-Write")
    data["tool_input"] = {"file_path": "/home/user/proj/big.txt", "content": content}
    proc = hook.start("claude", data, LOCAL)
    (request,) = wait_pending()
    try:
        text, _ = parse_html(render.request_message(request).text)
        assert f"big.txt · {len(content):,} characters" in text
        assert "more lines" not in text
        hidden, rest = marker(render.request_message(request).text)
        assert hidden == len(content) - len("\n".join(content.splitlines()[:20]))
        assert rest.startswith("; too large to keep in full; Show full sends the part kept")
    finally:
        deny(hook, proc, request)

"""The Claude harness drives the real pinned binary offline against the scripted fake API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from harness.anthropic_fake import AnthropicFake, text, tool_use
from harness.claude import ClaudeRunner, write_settings


def test_text_only_script_returns_text(
    claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path
) -> None:
    fake_anthropic.script(text("hello from the fake"))

    run = claude.run("say hello", cwd=claude_project, timeout=60)

    assert run.ok, run.describe()
    assert run.text == "hello from the fake"
    assert fake_anthropic.remaining == 0
    assert "say hello" in "\n".join(fake_anthropic.user_texts(0))


def test_bash_tool_use_runs_in_bypass_mode(
    claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path
) -> None:
    fake_anthropic.script(
        tool_use("Bash", {"command": "echo hi > out.txt", "description": "write"}),
        text("done"),
    )

    run = claude.run(
        "write it", cwd=claude_project, permission_mode="bypassPermissions", timeout=60
    )

    assert run.ok, run.describe()
    assert run.text == "done"
    assert (claude_project / "out.txt").read_text() == "hi\n"
    [result] = fake_anthropic.tool_results()
    assert not result.is_error
    assert len(fake_anthropic.requests) == 2


def test_denied_tool_result_is_recorded(
    claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path
) -> None:
    """A PermissionRequest hook's deny message reaches the model and ``permission_denials``."""
    answer = {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "nope: harness"},
        }
    }
    hook = claude_project / "deny_hook.py"
    hook.write_text(f"import sys\nsys.stdin.read()\nprint({json.dumps(json.dumps(answer))})\n")
    write_settings(
        claude_project,
        {
            "hooks": {
                "PermissionRequest": [
                    {
                        "matcher": "Bash",
                        "hooks": [{"type": "command", "command": f"{sys.executable} {hook}"}],
                    },
                ]
            }
        },
    )
    fake_anthropic.script(
        tool_use("Bash", {"command": "touch x.txt", "description": "touch"}), text("ok")
    )

    run = claude.run("touch", cwd=claude_project, permission_mode="default", timeout=60)

    assert run.ok, run.describe()
    assert not (claude_project / "x.txt").exists()
    [result] = fake_anthropic.tool_results()
    assert result.is_error and result.content == "nope: harness"
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]


def test_start_wait_for_and_signal(
    claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path, tmp_path: Path
) -> None:
    """A test can act while Claude blocks in a hook; SIGTERM ends the run."""
    started = tmp_path / "hook-started"
    hook = tmp_path / "block_hook.py"
    hook.write_text(
        "import pathlib, sys, time\nsys.stdin.read()\n"
        f"pathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n"
    )
    write_settings(
        claude.user_settings,
        {
            "hooks": {
                "PermissionRequest": [
                    {"hooks": [{"type": "command", "command": f"{sys.executable} {hook}"}]},
                ]
            }
        },
    )
    fake_anthropic.script(tool_use("Bash", {"command": "touch x.txt", "description": "touch"}))

    handle = claude.start("touch", cwd=claude_project, permission_mode="default")
    handle.wait_for(started.exists, timeout=30)
    handle.terminate()
    run = handle.wait(timeout=30)

    assert run.returncode != 0
    assert not (claude_project / "x.txt").exists()


def test_env_is_controlled(claude: ClaudeRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "real-secret")
    monkeypatch.setenv("TETHER_HOOKS_APPROVAL_TIMEOUT", "7")

    env = claude.env({"EXTRA": "1"})

    assert env["HOME"] == str(claude.home)
    assert env["CLAUDE_CONFIG_DIR"] == str(claude.home / ".claude")
    assert env["ANTHROPIC_BASE_URL"] == claude.fake.base_url
    assert env["TETHER_HOOKS_APPROVAL_TIMEOUT"] == "7" and env["EXTRA"] == "1"
    assert not {"HTTPS_PROXY", "ANTHROPIC_AUTH_TOKEN"} & env.keys()

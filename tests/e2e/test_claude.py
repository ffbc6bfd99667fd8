"""End to end with the real Claude Code binary (pinned), offline against a scripted fake API.

Our installer writes the hooks; Claude fires them; the user decides from another terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness.anthropic_fake import text, tool_use
from harness.claude import ClaudeRunner, write_settings
from harness.hookproc import wait_pending

from tether_hooks.store import Store

LOCAL = {"TETHER_HOOKS_LOCAL_APPROVALS": "1"}


def th(claude: ClaudeRunner, *args: str) -> subprocess.CompletedProcess:
    """Run ``tether-hooks`` in Claude's environment (its HOME, CLAUDE_CONFIG_DIR, our home)."""
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], env=claude.env(),
                          capture_output=True, text=True, timeout=60)


def write_file_script(project: Path, name: str = "out.txt") -> tuple:
    command = f"echo hi > {project / name}"
    return tool_use("Bash", {"command": command, "description": "Write a file"}), text("done")


@pytest.fixture
def installed(claude: ClaudeRunner) -> ClaudeRunner:
    run = th(claude, "install")
    assert run.returncode == 0, run.stderr
    return claude


def test_a_timer_allows_the_call_and_the_file_appears(installed: ClaudeRunner,
                                                      fake_anthropic, claude_project: Path) -> None:
    assert th(installed, "allow-tool", "bash", "--for", "5m").returncode == 0
    fake_anthropic.script(*write_file_script(claude_project))
    run = installed.run("write the file", cwd=claude_project, permission_mode="default")
    assert run.ok, run.describe()
    assert (claude_project / "out.txt").read_text() == "hi\n"
    assert run.permission_denials == []
    log = json.loads(th(installed, "log", "--json").stdout)
    assert log[-1]["via"] == "timer" and "echo hi" in log[-1]["input"]


def test_without_a_timer_the_cli_approval_lets_it_run(installed: ClaudeRunner, fake_anthropic,
                                                      claude_project: Path) -> None:
    fake_anthropic.script(*write_file_script(claude_project))
    handle = installed.start("write the file", cwd=claude_project, permission_mode="default",
                             extra_env=LOCAL)
    request = wait_pending()[0]
    assert request["tool_name"] == "Bash" and request["cwd"] == str(claude_project)
    pending = json.loads(th(installed, "pending", "--json").stdout)
    assert [p["id"] for p in pending] == [request["id"]]
    assert th(installed, "approve", request["id"]).returncode == 0
    run = handle.wait(120)
    assert run.ok, run.describe()
    assert (claude_project / "out.txt").exists()


def test_deny_with_reason_reaches_the_model(installed: ClaudeRunner, fake_anthropic,
                                            claude_project: Path) -> None:
    fake_anthropic.script(*write_file_script(claude_project))
    handle = installed.start("write the file", cwd=claude_project, permission_mode="default",
                             extra_env=LOCAL)
    request = wait_pending()[0]
    assert th(installed, "deny", request["id"], "--reason", "write it under build/").returncode == 0
    run = handle.wait(120)
    assert not (claude_project / "out.txt").exists()
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]
    (result,) = fake_anthropic.tool_results()
    assert result.is_error and "write it under build/" in result.content


def test_timeout_with_on_timeout_deny_tells_the_model_why(installed: ClaudeRunner,
                                                          fake_anthropic, claude_project: Path,
                                                          tether_home: Path) -> None:
    (tether_home / "config.toml").write_text('on_timeout = "deny"\nlocal_approvals = true\n')
    fake_anthropic.script(*write_file_script(claude_project))
    run = installed.run("write the file", cwd=claude_project, permission_mode="default",
                        extra_env={"TETHER_HOOKS_APPROVAL_TIMEOUT": "1"})
    assert not (claude_project / "out.txt").exists()
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]
    (result,) = fake_anthropic.tool_results()
    assert "no answer from a remote approver within 1 s" in result.content
    (request,) = Store().read()["requests"].values()
    assert request["status"] == "expired"


def test_every_tool_mode_gates_calls_claude_would_allow(claude: ClaudeRunner, fake_anthropic,
                                                        claude_project: Path) -> None:
    assert th(claude, "install", "--mode", "every-tool").returncode == 0
    fake_anthropic.script(*write_file_script(claude_project))
    # acceptEdits/bypass would run it without asking; our PreToolUse gate still asks.
    handle = claude.start("write the file", cwd=claude_project,
                          permission_mode="bypassPermissions", extra_env=LOCAL)
    request = wait_pending()[0]
    assert request["event"] == "PreToolUse"
    th(claude, "deny", request["id"], "--reason", "not in bypass mode")
    run = handle.wait(120)
    assert not (claude_project / "out.txt").exists()
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]
    (result,) = fake_anthropic.tool_results()
    assert "not in bypass mode" in result.content


def test_project_settings_with_foreign_hooks_survive_install_and_uninstall(
    claude: ClaudeRunner, fake_anthropic, claude_project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "foreign-hook-ran"
    foreign = {"type": "command", "command": f"touch {marker}"}
    original = {"permissions": {"allow": ["Bash(ls)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [foreign]}]}}
    settings = write_settings(claude_project, original)
    before = settings.read_bytes()
    assert th(claude, "install", "--scope", "project", "--project",
              str(claude_project)).returncode == 0
    assert th(claude, "allow-dir", str(claude_project)).returncode == 0
    fake_anthropic.script(*write_file_script(claude_project))
    run = claude.run("write the file", cwd=claude_project, permission_mode="default")
    assert run.ok, run.describe()
    assert marker.exists() and (claude_project / "out.txt").exists()  # both hooks ran

    assert th(claude, "uninstall", "--scope", "project", "--project",
              str(claude_project)).returncode == 0
    assert settings.read_bytes() == before
    marker.unlink()
    fake_anthropic.script(*write_file_script(claude_project, "again.txt"))
    run = claude.run("write again", cwd=claude_project, permission_mode="default")
    assert marker.exists()  # the foreign hook still runs
    assert not (claude_project / "again.txt").exists()  # and nothing of ours allowed it

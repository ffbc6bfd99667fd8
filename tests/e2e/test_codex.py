"""The real Codex 0.171 binary, offline, with hooks installed by our own installer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness.codex import CodexHome, CodexProcess, CodexRunner, StubHooks
from harness.openai_fake import FakeOpenAI, call, text
from harness.waiting import until

from tether_hooks import audit
from tether_hooks.agents import codex_config
from tether_hooks.main import cli
from tether_hooks.store import Store

# Local approvals let the hook wait for `tether-hooks approve/deny`; the timeout bounds a failure.
WAITING = {"TETHER_HOOKS_LOCAL_APPROVALS": "1", "TETHER_HOOKS_APPROVAL_TIMEOUT": "60"}


def cli_run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def install(codex_home: CodexHome, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """``install(*args)``: ``tether-hooks install --agent codex`` into the harness CODEX_HOME."""
    monkeypatch.setenv("CODEX_HOME", str(codex_home.path))

    def run(*args: str) -> str:
        return cli_run("install", "--agent", "codex", *args)

    return run


def env() -> dict[str, str]:
    return {**WAITING, "TETHER_HOOKS_HOME": os.environ["TETHER_HOOKS_HOME"]}


def wait_pending(running: CodexProcess, count: int = 1, timeout: float = 30) -> dict:
    """Poll ``tether-hooks pending --json`` (bounded) until ``count`` requests were seen."""

    def first() -> dict | None:
        items = json.loads(cli_run("pending", "--json"))
        if not items and running.popen.poll() is not None:
            pytest.fail(f"codex exited before asking; stderr:\n{running.wait().stderr}")
        return items[0] if items else None

    return until(first, timeout=timeout, what="a pending request")


def escalated_write(target: Path, call_id: str):  # noqa: ANN201
    return call(
        "exec_command",
        {
            "cmd": f"echo hi > {target}",
            "sandbox_permissions": "require_escalated",
            "justification": "Write out.txt?",
        },
        call_id=call_id,
    )


def test_installed_hooks_are_trusted_and_fire(
    codex: CodexRunner,
    codex_home: CodexHome,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install()
    listed = codex.hooks_list(codex_project)
    assert {h["trustStatus"] for h in listed} == {"trusted"}
    hooks = json.loads(codex_home.hooks_path.read_text())
    ours = codex_config.our_trust(str(codex_home.hooks_path.resolve()), hooks)
    assert {h["key"] for h in listed} == set(ours)
    fake_openai.script(call("exec_command", {"cmd": "echo hello"}, call_id="call_a"), text("done"))

    result = codex.run("go", cwd=codex_project, extra_env=env())

    assert result.returncode == 0, result.stderr
    assert "--dangerously-bypass-hook-trust" not in codex.argv("go", cwd=codex_project)
    lines = result.hook_lines()
    assert "hook: SessionStart Completed" in lines and "hook: Stop Completed" in lines
    assert "hello" in fake_openai.function_outputs()["call_a"]
    def finished() -> list[dict]:  # notify is fire-and-forget: Codex does not wait for it
        found = [s for s in Store().read()["sessions"].values() if s.get("agent") == "codex"]
        return found if found and found[0].get("last_event") == "turn-finished" else []

    sessions = until(finished, timeout=15, what="the turn-finished notify")
    assert sessions[0]["cwd"] == str(codex_project) and sessions[0]["status"] == "active"
    assert sessions[0]["last_assistant_message"] == "done"


def test_permission_request_is_approved_from_the_cli(
    codex: CodexRunner,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install()
    target = codex_project / "out.txt"
    fake_openai.script(escalated_write(target, "call_w"), text("written"))

    running = codex.start("write it", cwd=codex_project, approve_for_me=True, extra_env=env())
    request = wait_pending(running)
    assert (request["agent"], request["event"], request["tool_name"]) == (
        "codex",
        "PermissionRequest",
        "Bash",
    )
    assert request["tool_input"]["command"] == f"echo hi > {target}"
    assert not target.exists()
    cli_run("approve", request["id"])
    result = running.wait()

    assert result.returncode == 0, result.stderr
    assert target.read_text() == "hi\n"
    assert "hook: PermissionRequest Completed" in result.hook_lines()
    assert fake_openai.bodies("guardian") == []  # our hook decided, not Codex's auto-reviewer


def test_a_timer_allows_without_asking(
    codex: CodexRunner,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install()
    cli_run("allow-tool", "Bash")
    target = codex_project / "out.txt"
    fake_openai.script(escalated_write(target, "call_t"), text("written"))

    result = codex.run("write it", cwd=codex_project, approve_for_me=True, extra_env=env())

    assert result.returncode == 0, result.stderr
    assert target.read_text() == "hi\n"
    assert Store().read()["requests"] == {}
    (entry,) = [e for e in audit.read(None) if e.get("agent") == "codex"]
    assert (entry["via"], entry["status"], entry["tool_name"]) == ("timer", "allowed", "Bash")
    assert fake_openai.bodies("guardian") == []


def test_a_deny_reason_reaches_the_model(
    codex: CodexRunner,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install()
    target = codex_project / "out.txt"
    fake_openai.script(escalated_write(target, "call_d"), text("ok, not written"))

    running = codex.start("write it", cwd=codex_project, approve_for_me=True, extra_env=env())
    request = wait_pending(running)
    cli_run("deny", request["id"], "--reason", "not on a Friday")
    result = running.wait()

    assert result.returncode == 0, result.stderr
    assert not target.exists()
    assert "not on a Friday" in fake_openai.function_outputs()["call_d"]
    assert fake_openai.bodies("guardian") == []


def test_every_tool_mode_denies_and_allows_on_the_users_decision(
    codex: CodexRunner,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install("--mode", "every-tool")
    fake_openai.script(
        call("exec_command", {"cmd": "echo first-call"}, call_id="call_1"),
        call("exec_command", {"cmd": "echo second-call"}, call_id="call_2"),
        text("done"),
    )

    running = codex.start("run both", cwd=codex_project, extra_env=env())
    first = wait_pending(running)
    assert (first["event"], first["tool_name"]) == ("PreToolUse", "Bash")
    assert first["tool_input"]["command"] == "echo first-call"
    cli_run("deny", first["id"], "--reason", "not this one")
    second = wait_pending(running)
    assert second["tool_input"]["command"] == "echo second-call"
    cli_run("approve", second["id"])
    result = running.wait()

    assert result.returncode == 0, result.stderr
    outputs = fake_openai.function_outputs()
    assert "Command blocked by PreToolUse hook" in outputs["call_1"]
    assert "not this one" in outputs["call_1"]
    assert "second-call" in outputs["call_2"] and "blocked" not in outputs["call_2"]
    lines = result.hook_lines()
    assert "hook: PreToolUse Blocked" in lines and "hook: PreToolUse Completed" in lines
    assert not any("Failed" in line for line in lines), lines


def test_install_then_uninstall_leaves_foreign_files_as_they_were(
    codex: CodexRunner,
    codex_home: CodexHome,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    codex_stub_hooks: StubHooks,
    install,  # noqa: ANN001
) -> None:
    codex_home.add_config('notify = ["/bin/true"]')
    codex_home.write_hooks(codex_stub_hooks.hooks(["Stop", "PreToolUse"]))
    with codex_home.config_path.open("a", encoding="utf-8") as f:
        f.write("# kept: a comment of the user's\n")
    before = {p: p.read_bytes() for p in (codex_home.hooks_path, codex_home.config_path)}

    assert "already runs a notify program" in install()
    fake_openai.script(text("one"))
    result = codex.run("with ours", cwd=codex_project, extra_env=env())
    assert "hook: SessionStart Completed" in result.hook_lines()
    assert codex_stub_hooks.events() == ["Stop"]  # the foreign hook is still trusted

    cli_run("uninstall", "--agent", "codex")
    assert {p: p.read_bytes() for p in before} == before
    fake_openai.script(text("two"))
    result = codex.run("without ours", cwd=codex_project, extra_env=env())
    assert "hook: SessionStart Completed" not in result.hook_lines()
    assert codex_stub_hooks.events() == ["Stop", "Stop"]


def test_under_a_bash_timer_our_cli_is_asked_and_an_ordinary_call_is_not(
    codex: CodexRunner,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    install,  # noqa: ANN001
) -> None:
    install("--mode", "every-tool")
    cli_run("allow-tool", "Bash", "--for", "1h")
    (timer_id,) = Store().read()["timers"]
    fake_openai.script(
        call("exec_command", {"cmd": "echo ordinary"}, call_id="call_1"),
        call("exec_command", {"cmd": "tether-hooks allow-tool '*' --for 1d"}, call_id="call_2"),
        text("done"),
    )

    running = codex.start("go", cwd=codex_project, extra_env=env())
    request = wait_pending(running)  # the timer allowed call_1 without asking; not call_2
    assert request["tool_input"]["command"] == "tether-hooks allow-tool '*' --for 1d"
    cli_run("deny", request["id"], "--reason", "not yours to grant")
    result = running.wait()

    assert result.returncode == 0, result.stderr
    outputs = fake_openai.function_outputs()
    assert "ordinary" in outputs["call_1"] and "blocked" not in outputs["call_1"]
    assert "not yours to grant" in outputs["call_2"]
    assert list(Store().read()["timers"]) == [timer_id]
    statuses = [r["status"] for r in Store().read()["requests"].values()]
    assert statuses == ["denied"]

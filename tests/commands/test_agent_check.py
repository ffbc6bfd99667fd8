"""Grant and decide verbs refuse when a coding agent runs them; a human's terminal works.

The CLI runs as a real process: with the agents' environment markers, and under a real
ancestor process named like the agent (with the markers removed, as ``env -u`` would).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tether_hooks.agent_check import AGENT_VARIABLES
from tether_hooks.main import cli
from tether_hooks.store import Store

REFUSAL = "refusing to grant or decide from inside a coding agent"
# Observed in the real binaries (docs/claude-hooks-observed.md, docs/codex.md).
CLAUDE_ENV = {"CLAUDECODE": "1", "CLAUDE_CODE_ENTRYPOINT": "sdk-cli",
              "AI_AGENT": "claude-code_2-1-328_agent"}
CODEX_ENV = {"CODEX_CI": "1", "CODEX_THREAD_ID": "019a0000-0000-7000-8000-000000000001"}
MARKERS = [{name: "1"} for name in AGENT_VARIABLES] + [CLAUDE_ENV, CODEX_ENV]

GUARDED = {"allow-dir", "allow-tool", "allow-all", "allow-bash", "revoke", "approve", "deny",
           "install", "uninstall", "setup telegram", "setup slack",
           "setup discord", "pair"}


def verbs(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(verbs(command, full + " "))
        else:
            found[full] = command
    return found


def grant_calls(tmp_path: Path) -> list[list[str]]:
    """One call of each guarded verb that a human may run here (exit 0), deciding first."""
    first, second = pending_request(), pending_request("s-2")
    return [
        ["approve", first, "--for", "1h"],
        ["deny", second],
        ["allow-tool", "*", "--force", "--for", "1d"],
        ["allow-tool", "Bash"],
        ["allow-all", "--session", "s-1"],
        ["allow-bash", "git status*"],
        ["allow-dir", str(tmp_path)],
        ["revoke", "--all"],
        ["install", "--dry-run"],
        ["uninstall", "--dry-run"],
        ["setup", "telegram", "--token", "123:abc", "--chat-id", "-100", "--allow-user", "1"],
        ["setup", "slack", "--bot-token", "xoxb-1-2-abcdef", "--app-token", "xapp-1-A1-2-abc",
         "--channel", "C0123ABCD", "--allow-user", "U0123ABCD"],
    ]


def pending_request(session: str = "s-1") -> str:
    """A pending request in the store, from a hook process that is alive (this one)."""
    request = {"agent": "claude", "event": "PermissionRequest", "session_id": session,
               "cwd": "/p", "tool_name": "Bash", "tool_input": {"command": "make"},
               "paths": [], "pid": os.getpid()}
    return Store().add_request(request, 600)["id"]


def cli_process(args: list[str], env: dict[str, str], launcher: list[str] | None = None
                ) -> subprocess.CompletedProcess:
    """``tether-hooks ARGS`` as a process; ``launcher`` runs it as the child of another."""
    command = [sys.executable, "-m", "tether_hooks", *args]
    if launcher:
        script = ("import subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, "
                  "text=True); sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); "
                  "sys.exit(r.returncode)")
        command = [*launcher, "-c", script, *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in AGENT_VARIABLES}
    return {**env, **extra}


def store_snapshot() -> tuple[dict, dict]:
    data = Store().read()
    return data["timers"], {k: r["status"] for k, r in data["requests"].items()}


def test_exactly_the_grant_and_decide_verbs_are_guarded() -> None:
    guarded = {name for name, c in verbs(cli).items() if getattr(c.callback, "human_only", 0)}
    assert guarded == GUARDED
    # The listener (spawned by the hook, inside the agent's process tree) is never refused.
    assert {"listen", "listener start", "listener stop"}.isdisjoint(guarded)


def test_each_marker_alone_refuses(tmp_path: Path) -> None:
    for markers in MARKERS:
        result = cli_process(["allow-tool", "Bash"], clean_env(**markers))
        assert result.returncode == 1 and REFUSAL in result.stderr, markers
        assert next(iter(markers)) in result.stderr
    assert store_snapshot()[0] == {}


@pytest.mark.parametrize("markers", [CLAUDE_ENV, CODEX_ENV], ids=["claude", "codex"])
def test_the_agents_environment_refuses_every_grant_verb(tmp_path: Path,
                                                         markers: dict[str, str]) -> None:
    calls = grant_calls(tmp_path)
    before = store_snapshot()
    for args in calls:
        result = cli_process(args, clean_env(**markers))
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"tether-hooks: error: {REFUSAL}") and "Traceback" not in line
        assert next(iter(markers)) in line and "outside the agent" in line
    after = store_snapshot()
    assert after[0] == before[0] == {}  # no timer added, none revoked
    assert set(after[1].values()) == {"pending"}  # nothing approved or denied
    assert not (Path(os.environ["TETHER_HOOKS_HOME"]) / "config.toml").exists()


@pytest.fixture
def fake_agents(tmp_path: Path) -> dict[str, list[str]]:
    """Launchers that make a real parent process look like each agent: a python named
    ``claude`` / ``codex`` (as the native binaries are), and node-style package scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launchers: dict[str, list[str]] = {}
    for name in ("claude", "codex"):
        (bin_dir / name).symlink_to(sys.executable)
        launchers[name] = [str(bin_dir / name)]
    for package, script in (("@anthropic-ai/claude-code", "cli.js"),
                            ("@openai/codex", "bin/codex.js")):
        path = tmp_path / "node_modules" / package / script
        path.parent.mkdir(parents=True)
        path.write_text("import sys\ncode = sys.argv[2]\nsys.argv = [sys.argv[0], *sys.argv[3:]]\n"
                        "exec(code)\n")
        launchers[package] = [sys.executable, str(path)]
    return launchers


@pytest.mark.parametrize("agent", ["claude", "codex", "@anthropic-ai/claude-code",
                                   "@openai/codex"])
def test_an_agent_ancestor_refuses_without_any_marker(tmp_path: Path, agent: str,
                                                      fake_agents: dict[str, list[str]]) -> None:
    calls = grant_calls(tmp_path)
    for args in calls:
        result = cli_process(args, clean_env(), launcher=fake_agents[agent])
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert REFUSAL in result.stderr and "it runs under" in result.stderr
        assert "(pid " in result.stderr
    assert store_snapshot()[0] == {}


def test_a_deeper_agent_ancestor_is_found(tmp_path: Path,
                                          fake_agents: dict[str, list[str]]) -> None:
    """claude -> sh -> sh -> tether-hooks: the walk goes all the way up."""
    inner = " ".join([sys.executable, "-m", "tether_hooks", "allow-tool", "Bash"])
    result = subprocess.run(
        [*fake_agents["claude"], "-c",
         "import subprocess, sys; sys.exit(subprocess.run(['sh', '-c', sys.argv[1]]).returncode)",
         f"sh -c '{inner}'"], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and REFUSAL in result.stderr
    assert store_snapshot()[0] == {}


def test_a_human_runs_every_grant_verb(tmp_path: Path) -> None:
    """The same calls, run as a process from this (non-agent) test, with a harmless
    ancestor named like nothing in particular: each succeeds."""
    for args in grant_calls(tmp_path):
        if args[0] == "setup":
            continue  # it checks the token with the platform: tests/commands/test_setup*.py
        result = cli_process(args, clean_env(), launcher=[sys.executable])
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert REFUSAL not in result.stderr


def test_read_only_verbs_work_for_an_agent(tmp_path: Path) -> None:
    assert Store().add_timer("tool", 600, created_by="me", tool="Bash")
    env = clean_env(**CLAUDE_ENV)
    for args in (["timers", "--json"], ["pending", "--json"], ["status", "--json"],
                 ["log", "--json"], ["listener", "status", "--json"],
                 ["allow-tool", "--help"], ["approve", "--help"], ["setup", "telegram", "--help"],
                 ["setup", "slack", "--help"]):
        result = cli_process(args, env)
        assert result.returncode == 0, (args, result.stderr)
        assert REFUSAL not in result.stderr
    timers = json.loads(cli_process(["timers", "--json"], env).stdout)
    assert [t["tool"] for t in timers] == ["bash"]


def test_the_hook_itself_works_under_the_agent_environment(hook) -> None:  # noqa: ANN001
    """Hooks run with the agent's markers too (observed): a timer still allows through them."""
    Store().add_timer("tool", 600, created_by="me", tool="Bash")
    payload = {"session_id": "s-1", "transcript_path": "/t", "cwd": "/tmp",
               "permission_mode": "default", "hook_event_name": "PermissionRequest",
               "tool_name": "Bash", "tool_input": {"command": "make"}}
    run = hook.run("claude", payload, {**CLAUDE_ENV, "AI_AGENT": "claude-code_2-1-328_harness"})
    assert run.output == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                                 "decision": {"behavior": "allow"}}}


def test_in_process_cli_refuses_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_THREAD_ID", "t-1")
    result = CliRunner().invoke(cli, ["allow-all", "--session", "s-1"])
    assert result.exit_code == 1 and REFUSAL in result.output and "CODEX_THREAD_ID" in result.output
    assert Store().read()["timers"] == {}

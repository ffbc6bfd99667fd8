"""No timer ever allows a call that runs tether-hooks or touches its files (the hook as a process).

Every case runs through the real hook executable under three kinds of timers that would
otherwise allow it (a session timer, tool timers for every tool, a directory timer on the
project), and must come out asked: no decision printed, no allow in the audit log. The
controls prove each timer set really allows an ordinary call of the same tools.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.hookproc import HookRunner

from tether_hooks import audit, paths, selfguard
from tether_hooks.store import Store

SESSION = "s-guard"
CODEX_SESSION = "019a0000-0000-7000-8000-00000000c0de"


@dataclass(frozen=True)
class Place:
    """Where a case runs: the project, a profile dir without 'tether' in its path, a link."""

    project: Path
    profile: Path
    home: Path

    def fill(self, text: str) -> str:
        return text.format(
            project=self.project, profile=self.profile, home=self.home,
            config=paths.config_file(), state=paths.state_file(), audit=paths.audit_file(),
            sock=paths.listener_socket(), shim=paths.hook_shim(), data=paths.data_dir(),
            state_dir=paths.state_dir(), py=sys.executable,
        )


@pytest.fixture
def place(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Place:
    """TETHER_HOOKS_HOME moved to a directory whose path says nothing of tether (so path
    checks, not the name, must catch it), and a project with a link into it."""
    base = tmp_path_factory.mktemp("prof")
    profile = base / "p"
    profile.mkdir()
    monkeypatch.setenv("TETHER_HOOKS_HOME", str(profile))
    project = base / "work"
    project.mkdir()
    (project / "link").symlink_to(profile)
    (project / "notes.txt").write_text("x\n")
    (profile / "config.toml").write_text("# token here\n")
    assert "tether" not in str(profile).lower() and "tether" not in str(project).lower()
    return Place(project=project, profile=profile, home=Path(os.environ["HOME"]))


def bash(command: str) -> tuple[str, dict]:
    return "Bash", {"command": command, "description": "do it"}


# (id, tool, input): text is formatted with Place.fill. All must stay asked.
CASES: list[tuple[str, str, dict]] = [
    ("cli-allow-tool-star", *bash("tether-hooks allow-tool '*' --for 1d")),
    ("cli-approve", *bash("tether-hooks approve 7f3a")),
    ("cli-approve-for", *bash("tether-hooks approve 7f3a --for 1h --scope session")),
    ("cli-deny", *bash("tether-hooks deny 7f3a")),
    ("cli-allow-all", *bash(f"tether-hooks allow-all --session {SESSION}")),
    ("cli-revoke-all", *bash("tether-hooks revoke --all")),
    ("cli-allow-dir", *bash("tether-hooks allow-dir / --force")),
    ("cli-setup", *bash("tether-hooks setup telegram --allow-user 1")),
    ("cli-uninstall", *bash("tether-hooks uninstall")),
    ("cli-local-bin", *bash("~/.local/bin/tether-hooks allow-bash '*' --force")),
    ("cli-abs-path", *bash("/usr/local/bin/tether-hooks allow-tool Bash")),
    ("cli-python-m", *bash("python -m tether_hooks revoke --all")),
    ("cli-python3-m", *bash("{py} -m tether_hooks approve 7f3a")),
    ("cli-python-c", *bash("python3 -c 'import tether_hooks.main as m; m.main()'")),
    ("cli-quoted-parts", *bash("t'ether'-hooks allow-all --session x")),
    ("cli-double-quoted", *bash('"tether-hooks" approve 7f3a')),
    ("cli-backslash", *bash("tether\\-hooks approve 7f3a")),
    ("cli-upper", *bash("TETHER-HOOKS approve 7f3a")),
    ("cli-after-chain", *bash("git status && tether-hooks approve 7f3a")),
    ("cli-in-subshell", *bash("echo $(tether-hooks pending --json)")),
    ("cli-env-prefix", *bash("FOO=1 tether-hooks allow-tool Bash")),
    ("cli-hook-shim", *bash("{shim} claude < /dev/null")),
    ("cli-venv-python", *bash("{data}/venv/bin/python -m pip list")),
    ("env-var", *bash("ls $TETHER_HOOKS_HOME")),
    ("read-config-xdg", *bash("cat ~/.config/tether-hooks/config.toml")),
    ("read-config-home-var", *bash('cat "$HOME/.config/tether-hooks/config.toml"')),
    ("read-config-profile", *bash("cat {config}")),
    ("read-config-relative", *bash("cat ../p/config.toml")),
    ("read-config-via-link", *bash("head link/config.toml")),
    ("copy-state", *bash("cp {state} /tmp/stolen.json")),
    ("write-state", *bash("echo '{{}}' > {state}")),
    ("rm-state-dir", *bash("rm -rf {state_dir}")),
    ("sed-state-xdg", *bash("sed -i s/a/b/ ~/.local/state/tether-hooks/state.json")),
    ("read-audit", *bash("tail {audit}")),
    ("socket-nc", *bash("nc -U {sock}")),
    ("socket-socat", *bash("socat - UNIX-CONNECT:{sock}")),
    ("claude-settings-bash", *bash("echo {{}} > .claude/settings.json")),
    ("codex-hooks-bash", *bash("rm ~/.codex/hooks.json")),
    ("read-tool-config", "Read", {"file_path": "{config}"}),
    ("read-tool-config-tilde", "Read", {"file_path": "~/.config/tether-hooks/config.toml"}),
    ("read-tool-via-link", "Read", {"file_path": "{project}/link/config.toml"}),
    ("edit-state", "Edit", {"file_path": "{state}", "old_string": "a", "new_string": "b"}),
    ("write-state-tool", "Write", {"file_path": "{state}", "content": "{{}}"}),
    ("multiedit-config", "MultiEdit", {"file_path": "{config}", "edits": []}),
    ("notebook-in-data", "NotebookEdit", {"notebook_path": "{data}/x.ipynb",
                                          "new_source": "x"}),
    ("grep-profile", "Grep", {"pattern": "token", "path": "{profile}"}),
    ("glob-profile", "Glob", {"pattern": "{profile}/**"}),
    ("write-claude-settings", "Write", {"file_path": "{project}/.claude/settings.json",
                                        "content": "{{}}"}),
    ("edit-claude-user-settings", "Edit", {"file_path": "{home}/.claude/settings.json",
                                           "old_string": "a", "new_string": "b"}),
    ("mcp-read-config", "mcp__fs__read_file", {"path": "{config}"}),
]
CODEX_CASES: list[tuple[str, str, dict]] = [
    ("codex-cli", "Bash", {"command": "tether-hooks allow-tool '*' --for 1d"}),
    ("codex-read-config", "Bash", {"command": "cat {config}"}),
    ("codex-patch-state", "apply_patch",
     {"command": "*** Begin Patch\n*** Update File: {state}\n@@\n-a\n+b\n*** End Patch"}),
    ("codex-patch-hooks", "apply_patch",
     {"command": "*** Begin Patch\n*** Add File: {home}/.codex/hooks.json\n+{{}}\n"
                 "*** End Patch"}),
]
# Ordinary calls each timer set must allow (else the cases above would prove nothing).
CONTROLS: list[tuple[str, str, dict]] = [
    ("bash", *bash("ls -la")),
    ("read", "Read", {"file_path": "{project}/notes.txt"}),
    ("edit", "Edit", {"file_path": "{project}/notes.txt", "old_string": "x", "new_string": "y"}),
    ("write-mentions-us", "Write", {"file_path": "{project}/README.md",
                                    "content": "run tether-hooks allow-tool Bash"}),
]


def session_timers() -> None:
    Store().add_timer("session", 3600, created_by="test", session_id=SESSION)
    Store().add_timer("session", 3600, created_by="test", session_id=CODEX_SESSION)


def tool_timers() -> None:
    for tool in ("*", "Bash", "Read", "Edit", "Write", "mcp__fs__*"):
        Store().add_timer("tool", 3600, created_by="test", tool=tool)
    Store().add_timer("bash", 3600, created_by="test", prefix="tether-hooks*")


def dir_timers(place: Place) -> None:
    Store().add_timer("dir", 3600, created_by="test", path=str(place.project))


TIMER_SETS: dict[str, Callable[[Place], None]] = {
    "session": lambda place: session_timers(),
    "tool": lambda place: tool_timers(),
    "dir": dir_timers,
}


def fill(value: object, place: Place) -> object:
    if isinstance(value, str):
        return place.fill(value)
    if isinstance(value, dict):
        return {k: fill(v, place) for k, v in value.items()}
    return value


def payload(agent: str, tool: str, tool_input: dict, place: Place) -> dict:
    return {
        "session_id": CODEX_SESSION if agent == "codex" else SESSION,
        "transcript_path": str(place.home / "t.jsonl"),
        "cwd": str(place.project),
        "permission_mode": "default",
        "hook_event_name": "PermissionRequest",
        "tool_name": tool,
        "tool_input": fill(tool_input, place),
    }


def allowed(run: object) -> bool:
    output = run.output  # type: ignore[attr-defined]
    return bool(output) and output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


ALL = [("claude", *c) for c in CASES] + [("codex", *c) for c in CODEX_CASES]


@pytest.mark.parametrize("timers", list(TIMER_SETS))
def test_no_timer_covers_a_call_on_our_cli_or_files(hook: HookRunner, place: Place,
                                                    timers: str) -> None:
    TIMER_SETS[timers](place)
    wrong = []
    for agent, case_id, tool, tool_input in ALL:
        run = hook.run(agent, payload(agent, tool, tool_input, place))
        assert run.returncode == 0 and "Traceback" not in run.stderr, (case_id, run.stderr)
        if allowed(run):
            wrong.append(case_id)
    assert wrong == []
    assert [e for e in audit.read(None) if e.get("behavior") == "allow"] == []
    assert len(ALL) >= 50


@pytest.mark.parametrize("timers", list(TIMER_SETS))
def test_the_same_timers_allow_ordinary_calls(hook: HookRunner, place: Place,
                                              timers: str) -> None:
    TIMER_SETS[timers](place)
    results = {case_id: allowed(hook.run("claude", payload("claude", tool, inp, place)))
               for case_id, tool, inp in CONTROLS}
    assert results == {case_id: True for case_id, _, _ in CONTROLS}


@pytest.mark.parametrize(("agent", "case_id", "tool", "tool_input"), ALL,
                         ids=[f"{a}-{c}" for a, c, _, _ in ALL])
def test_each_case_is_recognised_with_a_reason(place: Place, agent: str, case_id: str,
                                               tool: str, tool_input: dict) -> None:
    """The same table through the checker itself: a reason for each, so none passes by luck
    (an unrelated refusal of the timer would hide a gap in the checker)."""
    from tether_hooks import agents

    request = agents.get(agent).parse(payload(agent, tool, tool_input, place))
    assert selfguard.touches_us(request), case_id


@pytest.mark.parametrize(("case_id", "tool", "tool_input"), CONTROLS,
                         ids=[c for c, _, _ in CONTROLS])
def test_controls_are_not_flagged(place: Place, case_id: str, tool: str,
                                  tool_input: dict) -> None:
    from tether_hooks import agents

    request = agents.get("claude").parse(payload("claude", tool, tool_input, place))
    assert selfguard.touches_us(request) is None


def test_a_pending_request_on_our_files_is_not_settled_by_a_new_timer(
        hook: HookRunner, place: Place) -> None:
    """Store.add_timer settles pending requests it covers: not one of ours."""
    from harness.hookproc import wait_pending

    data = payload("claude", *bash("tether-hooks allow-tool '*' --for 1d"), place)
    proc = hook.start("claude", data, {"TETHER_HOOKS_LOCAL_APPROVALS": "1",
                                       "TETHER_HOOKS_APPROVAL_TIMEOUT": "30"})
    try:
        (request,) = wait_pending()
        _, resolved = Store().add_timer("session", 3600, created_by="test", session_id=SESSION)
        assert resolved == []
        assert Store().read()["requests"][request["id"]]["status"] == "pending"
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert json.loads(json.dumps(request["tool_input"]))["command"].startswith("tether-hooks")

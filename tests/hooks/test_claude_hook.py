"""The hook run as a process, the way Claude Code runs it, with real payload shapes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness.hookproc import HookRunner, wait_pending

from tether_hooks import audit, paths
from tether_hooks.store import Store

LOCAL = {"TETHER_HOOKS_LOCAL_APPROVALS": "1"}


def perm(tool: str = "Bash", session: str = "s-1", cwd: str = "/home/user/proj",
         event: str = "PermissionRequest", **tool_input: object) -> dict:
    """A PermissionRequest payload as Claude Code 2.1.328 sends it."""
    payload = {
        "session_id": session,
        "transcript_path": "/home/user/.claude/projects/x/s-1.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
        "tool_name": tool,
        "tool_input": tool_input or {"command": "rm -rf build", "description": "Clean"},
    }
    if event == "PreToolUse":
        payload["tool_use_id"] = "toolu_01"
    return payload


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], capture_output=True,
                          text=True, timeout=30)


def write_config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text)


def test_a_timer_allows_and_the_reason_is_recorded(hook: HookRunner) -> None:
    assert cli("allow-tool", "bash", "--for", "30m").returncode == 0
    run = hook.run("claude", perm("Bash"))
    assert run.returncode == 0 and run.stderr == ""
    assert run.output == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                                 "decision": {"behavior": "allow"}}}
    entry = audit.read()[-1]
    assert entry["via"] == "timer" and entry["tool_name"] == "Bash"
    assert entry["reason"].startswith("Allow bash (timer ")


def test_pretooluse_timer_allow_carries_the_reason(hook: HookRunner) -> None:
    cli("allow-bash", "git status*")
    run = hook.run("claude", perm("Bash", event="PreToolUse", command="git status -s"))
    out = run.output["hookSpecificOutput"]
    assert out["permissionDecision"] == "allow"
    assert out["permissionDecisionReason"].startswith('Allow Bash "git status*" (timer ')


def test_without_a_platform_nothing_waits(hook: HookRunner) -> None:
    run = hook.run("claude", perm("Bash"))
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert Store().read()["requests"] == {}


def test_cli_approve_lets_the_waiting_hook_allow(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Write", file_path="/home/user/proj/a.txt", content="x"),
                      LOCAL)
    request = wait_pending()[0]
    assert request["tool_name"] == "Write" and request["agent"] == "claude"
    assert cli("approve", request["id"]).returncode == 0
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}


def test_cli_deny_reason_reaches_the_agent_verbatim(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash", command="echo '<b>&amp;</b>'"), LOCAL)
    request = wait_pending()[0]
    assert cli("deny", request["id"], "--reason", "Use the <staging> db & retry").returncode == 0
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny"
    assert "Use the <staging> db & retry" in decision["message"]


def test_approve_for_a_duration_adds_a_timer_for_the_next_call(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash"), LOCAL)
    request = wait_pending()[0]
    out = cli("approve", request["id"], "--for", "30m")
    assert "Allow Bash in session s-1" in out.stdout
    hook.finish(proc)
    again = hook.run("claude", perm("Bash", command="make"), LOCAL)
    assert again.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert Store().read()["requests"][request["id"]]["status"] == "allowed"
    assert len([r for r in Store().read()["requests"].values()]) == 1  # nothing waited


def test_several_requests_of_one_session_wait_independently(hook: HookRunner) -> None:
    procs = [hook.start("claude", perm("Bash", command=f"echo {n}"), LOCAL) for n in range(6)]
    waiting = wait_pending(6)
    by_command = {r["tool_input"]["command"]: r["id"] for r in waiting}
    for n in range(6):
        verb = ["approve"] if n % 2 == 0 else ["deny", "--reason", f"no {n}"]
        assert cli(verb[0], by_command[f"echo {n}"], *verb[1:]).returncode == 0
    for n, proc in enumerate(procs):
        decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
        assert decision["behavior"] == ("allow" if n % 2 == 0 else "deny")
        if n % 2:
            assert f"no {n}" in decision["message"]


def test_a_timer_set_while_waiting_releases_the_request(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash"), LOCAL)
    wait_pending()
    cli("allow-tool", "BASH")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


@pytest.mark.parametrize(("on_timeout", "event"), [("deny", "PermissionRequest"),
                                                     ("ask", "PermissionRequest"),
                                                     ("ask", "PreToolUse"),
                                                     ("deny", "PreToolUse")])
def test_timeout_follows_on_timeout(hook: HookRunner, tether_home: Path, on_timeout: str,
                                    event: str) -> None:
    write_config(tether_home, f'local_approvals = true\non_timeout = "{on_timeout}"\n'
                              "approval_timeout = 0.3\n")
    run = hook.run("claude", perm("Bash", event=event))
    out = run.output
    if on_timeout == "ask":  # the README promises the hook says why
        assert run.stderr == ("tether-hooks: no answer from a remote approver within 0.3 s; "
                              "Claude Code asks in the terminal\n")
    else:
        assert run.stderr == ""
    if on_timeout == "ask" and event == "PermissionRequest":
        assert out is None  # Claude shows its own dialog
    elif on_timeout == "ask":
        assert out["hookSpecificOutput"]["permissionDecision"] == "ask"
    else:
        spec = out["hookSpecificOutput"]
        text = spec.get("decision", {}).get("message") or spec.get("permissionDecisionReason")
        assert "no answer from a remote approver within 0.3 s" in text
    (request,) = Store().read()["requests"].values()
    assert request["status"] == "expired" and request["decision"]["via"] == "timeout"


def test_env_overrides_the_approval_timeout(hook: HookRunner, tether_home: Path) -> None:
    write_config(tether_home, 'on_timeout = "deny"\n')
    run = hook.run("claude", perm("Bash"), {**LOCAL, "TETHER_HOOKS_APPROVAL_TIMEOUT": "0.2"})
    assert "within 0.2 s" in run.output["hookSpecificOutput"]["decision"]["message"]


def test_sigterm_records_the_terminal_answer(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash"), LOCAL)
    request = wait_pending()[0]
    proc.send_signal(signal.SIGTERM)
    run = hook.finish(proc)
    assert run.returncode == 0 and run.stdout == "" and "Traceback" not in run.stderr
    record = Store().read()["requests"][request["id"]]
    assert record["status"] == "answered_in_terminal"
    late = cli("approve", request["id"])
    assert late.returncode == 1 and "already answered in terminal" in late.stderr


def test_never_auto_approve_tools_are_not_covered_by_timers(hook: HookRunner) -> None:
    cli("allow-all", "--session", "s-1")
    plan = hook.run("claude", perm("ExitPlanMode", plan="# Plan"))
    assert plan.output is None
    bash = hook.run("claude", perm("Bash"))
    assert bash.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"{not json", "Expecting property name"),
        (b"", "Expecting value"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"hook_event_name": "PermissionRequest", "session_id": "s"}', "no tool_name"),
        (b'{"session_id": "s"}', "no hook_event_name"),
        (json.dumps(perm("Bash") | {"tool_input": "rm"}).encode(), "not an object"),
        (b"\xff\xfe\x00garbage", "ignoring a hook call"),
    ],
)
def test_bad_input_is_a_clear_message_and_no_decision(hook: HookRunner, stdin: bytes,
                                                      message: str) -> None:
    cli("allow-tool", "Bash")
    run = hook.run("claude", stdin)
    assert run.returncode == 0 and run.stdout == ""
    assert run.stderr.startswith("tether-hooks: ") and message in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_agent_and_event_take_no_decision(hook: HookRunner) -> None:
    run = hook.run("gemini", perm("Bash"))
    assert run.stdout == "" and "unknown agent 'gemini'" in run.stderr
    other = hook.run("claude", {"session_id": "s", "hook_event_name": "PostToolUse",
                                "tool_name": "Bash", "tool_input": {}})
    assert (other.stdout, other.stderr) == ("", "")


def test_huge_payload_with_markup_survives(hook: HookRunner) -> None:
    content = "<script>alert('x')</script>&amp;\n" * 200_000  # ~6.8 MB
    proc = hook.start("claude", perm("Write", file_path="/home/user/proj/big.html",
                                     content=content), LOCAL)
    request = wait_pending()[0]
    assert request["input_truncated"] and request["tool_input"]["content"].startswith("<script>")
    cli("approve", request["id"])
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_unreadable_state_is_never_an_allow(hook: HookRunner) -> None:
    cli("allow-tool", "Bash")
    Path(paths.state_file()).write_text("{torn")
    run = hook.run("claude", perm("Bash"))
    assert run.returncode == 0 and run.stdout == "" and "Traceback" not in run.stderr
    (line,) = run.stderr.splitlines()
    assert "state file was corrupt (not valid JSON" in line and "all timers are gone" in line
    (aside,) = Path(paths.state_dir()).glob("state.json.corrupt-*")
    assert aside.read_text() == "{torn"
    assert hook.run("claude", perm("Bash")).stdout == ""  # the timer is gone with the file


def test_broken_config_is_named_and_never_an_allow(hook: HookRunner, tether_home: Path) -> None:
    write_config(tether_home, "on_timeout = maybe\n")
    run = hook.run("claude", perm("Bash"), LOCAL)
    assert run.stdout == "" and "config.toml is not valid TOML" in run.stderr
    write_config(tether_home, 'on_timeout = "later"\n')
    run = hook.run("claude", perm("Bash"), LOCAL)
    assert "on_timeout = 'later' is invalid" in run.stderr


def test_session_registry_follows_start_and_end(hook: HookRunner) -> None:
    start = {"session_id": "s-9", "transcript_path": "/t.jsonl", "cwd": "/home/user/proj",
             "hook_event_name": "SessionStart", "source": "startup", "model": "claude-x"}
    assert hook.run("claude", start).stdout == ""
    session = Store().read()["sessions"]["s-9"]
    assert (session["status"], session["cwd"], session["agent"]) == (
        "active", "/home/user/proj", "claude")
    proc = hook.start("claude", perm("Bash", session="s-9"), LOCAL)
    request = wait_pending()[0]
    hook.run("claude", {"session_id": "s-9", "cwd": "/home/user/proj",
                        "hook_event_name": "SessionEnd", "reason": "prompt_input_exit"})
    assert hook.finish(proc).stdout == ""
    data = Store().read()
    assert data["sessions"]["s-9"]["status"] == "ended"
    assert data["requests"][request["id"]]["status"] == "cancelled"


@pytest.mark.parametrize("timer", [True, False])
def test_fast_path_imports_nothing_heavy(tether_home: Path, timer: bool) -> None:
    from harness.fastpath import assert_fast_path

    from tether_hooks import config, timers

    if timer:
        timers.add("tool", "30m", created_by="test", tool="Bash")
    config.hook_config()  # the cache exists after the first call of any hook
    stdout = assert_fast_path("claude", perm("Bash"))
    assert ("allow" in stdout) is timer


def test_questions_are_answered_with_the_answers_claude_needs(hook: HookRunner) -> None:
    from harness.hookproc import payload

    data = payload("claude/PermissionRequest-AskUserQuestion")
    proc = hook.start("claude", data, LOCAL)
    request = wait_pending()[0]
    plain = cli("approve", request["id"])
    assert plain.returncode == 1 and "1=Postgres, 2=SQLite" in plain.stderr
    assert cli("approve", request["id"], "--answer", "2", "--answer", "1,3").returncode == 0
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow"
    assert decision["updatedInput"] == {**data["tool_input"], "answers": {
        "Which database should we use?": "SQLite", "Which features do you want?": "Auth, Export"}}


def test_an_approved_plan_echoes_its_input(hook: HookRunner) -> None:
    from harness.hookproc import payload

    data = payload("claude/PermissionRequest-ExitPlanMode")
    proc = hook.start("claude", data, LOCAL)
    cli("approve", wait_pending()[0]["id"])
    decision = hook.finish(proc).output["hookSpecificOutput"]["decision"]
    assert decision == {"behavior": "allow", "updatedInput": data["tool_input"]}


def test_posttooluse_settles_a_request_answered_yes_in_the_terminal(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash", command="make", description="Build"), LOCAL)
    request = wait_pending()[0]
    other = hook.run("claude", perm("Bash", event="PostToolUse", command="make test"))
    assert other.stdout == "" and Store().read()["requests"][request["id"]]["status"] == "pending"
    with Store().edit() as data:  # the user took a few seconds to answer in the terminal
        data["requests"][request["id"]]["created_at"] -= 5
    done = perm("Bash", event="PostToolUse", command="make", description="Build")
    done["tool_response"] = {"stdout": "ok", "stderr": "", "interrupted": False}
    done["duration_ms"] = 40
    assert hook.run("claude", done).stdout == ""
    assert hook.finish(proc).stdout == ""  # the waiting hook stops; Claude already ran it
    record = Store().read()["requests"][request["id"]]
    assert record["status"] == "answered_in_terminal" and record["decision"]["via"] == "terminal"


def test_posttooluse_of_an_earlier_identical_call_leaves_a_newer_request_alone(
    hook: HookRunner,
) -> None:
    # The earlier call ran for 10 s and finished just now: a request made 1 s ago is for a
    # second, identical call still waiting for the phone.
    proc = hook.start("claude", perm("Bash", command="make", description="Build"), LOCAL)
    request = wait_pending()[0]
    earlier = perm("Bash", event="PostToolUse", command="make", description="Build")
    earlier["duration_ms"] = 10_000
    assert hook.run("claude", earlier).stdout == ""
    assert Store().read()["requests"][request["id"]]["status"] == "pending"
    cli("approve", request["id"])
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_a_decision_for_a_killed_hook_is_refused(hook: HookRunner) -> None:
    proc = hook.start("claude", perm("Bash"), LOCAL)
    request = wait_pending()[0]
    proc.kill()
    proc.wait()
    late = cli("approve", request["id"])
    assert late.returncode == 1 and "already abandoned" in late.stderr
    assert Store().read()["requests"][request["id"]]["status"] == "abandoned"


@pytest.mark.parametrize("line", ["approval_timeout = nan", "approval_timeout = inf",
                                  "approval_timeout = -inf", "approval_timeout = 1e999",
                                  "approval_timeout = 604801", "stop_wait = nan",
                                  "stop_wait = +inf", "approval_timeout = -0.5"])
def test_a_timeout_no_clock_can_reach_is_refused_and_keeps_the_timers(
        hook: HookRunner, tether_home: Path, line: str) -> None:
    """TOML's nan and inf are numbers: before, every request then wrote ``expires_at: NaN``
    and the next reader moved state.json aside as corrupt, with every timer in it."""
    cli("allow-bash", "git status*", "--for", "2h")
    write_config(tether_home, f"local_approvals = true\n{line}\n")
    run = hook.run("claude", perm("Bash", command="rm -rf build"))
    assert run.returncode == 0
    assert "config.toml" in run.stderr and "is invalid" in run.stderr, run.stderr
    assert run.output is None  # Claude Code asks in the terminal
    timers = cli("timers")
    assert 'Allow Bash "git status*"' in timers.stdout, timers.stdout + timers.stderr
    assert not list(Path(paths.state_file()).parent.glob("state.json.corrupt-*"))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "604801", "NaN"])
def test_an_env_timeout_no_clock_can_reach_is_refused(hook: HookRunner, tether_home: Path,
                                                        value: str) -> None:
    cli("allow-bash", "git status*", "--for", "2h")
    write_config(tether_home, "local_approvals = true\n")
    run = hook.run("claude", perm("Bash", command="rm -rf build"),
                   extra_env={"TETHER_HOOKS_APPROVAL_TIMEOUT": value})
    assert run.returncode == 0 and "TETHER_HOOKS_APPROVAL_TIMEOUT" in run.stderr, run.stderr
    assert run.output is None
    assert 'Allow Bash "git status*"' in cli("timers").stdout
    assert not list(Path(paths.state_file()).parent.glob("state.json.corrupt-*"))

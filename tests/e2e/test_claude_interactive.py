"""End to end with the real, interactive Claude Code in a terminal (tmux): the race between
its own permission dialog and our waiting hook, and answering questions and plans by hook.

See docs/claude-hooks-observed.md §7 for what these tests pin down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness.anthropic_fake import AnthropicFake, ToolResult, Turn, text, tool_use
from harness.claude import ClaudeRunner, plan_file, write_settings
from harness.hookproc import wait_pending
from harness.tmux import ClaudeTty
from harness.waiting import until

from tether_hooks.store import Store

LOCAL = {"TETHER_HOOKS_LOCAL_APPROVALS": "1"}
DIALOG = "Do you want to proceed?"
PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "claude"


def th(claude: ClaudeRunner, *args: str) -> subprocess.CompletedProcess:
    """Run ``tether-hooks`` in Claude's environment (its HOME, CLAUDE_CONFIG_DIR, our home)."""
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], env=claude.env(),
                          capture_output=True, text=True, timeout=60)


def poll(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll until ``condition()`` is truthy (bounded); its value."""
    return until(condition, timeout=timeout, what=what)


def pending() -> dict:
    return wait_pending()[0]


def status(rid: str) -> str:
    return Store().read()["requests"][rid]["status"]


@pytest.fixture
def installed(claude: ClaudeRunner) -> ClaudeRunner:
    run = th(claude, "install")
    assert run.returncode == 0, run.stderr
    return claude


@pytest.fixture
def bash_dialog(installed: ClaudeRunner, claude_tty: ClaudeTty, fake_anthropic: AnthropicFake,
                claude_project: Path):
    """Claude shows its Bash dialog while our hook waits; (terminal, request, target file)."""
    target = claude_project / "out.txt"
    fake_anthropic.script(
        tool_use("Bash", {"command": f"echo hi > {target}", "description": "Write a file"}),
        text("done"),
    )
    term = claude_tty.start("write the file", cwd=claude_project, extra_env=LOCAL, ready=False)
    term.wait_for(DIALOG)
    request = pending()
    assert request["event"] == "PermissionRequest" and request["tool_name"] == "Bash"
    return term, request, target


# -- the race: Claude's own dialog and our waiting hook ------------------------------------


def test_no_in_the_terminal_settles_the_request_as_answered_there(bash_dialog, installed,
                                                                  fake_anthropic) -> None:
    term, request, target = bash_dialog
    term.choose("No")
    term.wait_for("Interrupted")  # Claude 2.1.328: "No" ends the turn, the model is not called
    # Claude SIGTERMs the hook; the relay settles the request instead of leaving it pending.
    poll(lambda: status(request["id"]) == "answered_in_terminal", "answered_in_terminal")
    late = th(installed, "approve", request["id"])
    assert late.returncode != 0 and "already answered in terminal" in late.stderr
    assert not target.exists()
    assert fake_anthropic.tool_results() == []


def test_approve_from_another_terminal_closes_the_dialog_and_runs(bash_dialog,
                                                                  installed) -> None:
    term, request, target = bash_dialog
    assert th(installed, "approve", request["id"]).returncode == 0
    term.wait_gone(DIALOG)  # no keypress: our hook's allow closed Claude's dialog
    poll(target.exists, "the command ran")
    term.wait_for("done")
    assert status(request["id"]) == "allowed"


def test_yes_in_the_terminal_settles_the_request_as_answered_there(
    bash_dialog, installed: ClaudeRunner
) -> None:
    term, request, target = bash_dialog
    term.choose("Yes")
    poll(target.exists, "the command ran")
    term.wait_for("done")
    # Our async PostToolUse hook settles it: never left pending, never decided later.
    poll(lambda: status(request["id"]) != "pending", "request settled", timeout=15)
    assert status(request["id"]) == "answered_in_terminal"
    late = th(installed, "approve", request["id"])
    assert late.returncode == 1 and "already answered in terminal" in late.stderr


def test_the_permission_prompt_notification_arrives_while_our_hook_waits(
    installed: ClaudeRunner, claude_tty: ClaudeTty, fake_anthropic: AnthropicFake,
    claude_project: Path, tmp_path: Path,
) -> None:
    # A second Notification hook beside ours records the payloads (ours only answers "").
    seen = tmp_path / "notifications.jsonl"
    settings = json.loads(installed.user_settings.read_text())
    settings["hooks"]["Notification"].append(
        {"hooks": [{"type": "command", "command": f"cat >> {seen}; echo >> {seen}"}]})
    write_settings(installed.user_settings, settings)
    target = claude_project / "out.txt"
    fake_anthropic.script(
        tool_use("Bash", {"command": f"echo hi > {target}", "description": "Write a file"}),
        text("done"),
    )
    term = claude_tty.start("write the file", cwd=claude_project, extra_env=LOCAL, ready=False)
    term.wait_for(DIALOG)
    request = pending()

    def prompt_notification() -> dict | None:
        lines = seen.read_text().split("\n") if seen.exists() else []
        found = [json.loads(line) for line in lines if line.strip()]
        return next((n for n in found if n.get("notification_type") == "permission_prompt"),
                    None)

    notification = poll(prompt_notification, "Notification permission_prompt", timeout=20)
    assert notification["session_id"] == request["session_id"]
    # Our Notification hook leaves the waiting request alone; the flow goes on as usual.
    assert status(request["id"]) == "pending" and DIALOG in term.capture()
    assert th(installed, "approve", request["id"]).returncode == 0
    poll(target.exists, "the command ran")


# -- questions and plans answered by a PermissionRequest hook --------------------------------

QUESTIONS = {
    "questions": [
        {"question": "Which database should we use?", "header": "Database", "multiSelect": False,
         "options": [{"label": "Postgres", "description": "Relational server"},
                     {"label": "SQLite", "description": "Embedded file"}]},
        {"question": "Which features do you want?", "header": "Features", "multiSelect": True,
         "options": [{"label": "Auth", "description": "Login"},
                     {"label": "Search", "description": "Full text"},
                     {"label": "Export", "description": "CSV"}]},
    ]
}
ANSWERS = {"Which database should we use?": "SQLite", "Which features do you want?": "Auth, Export"}
PLAN = "# Plan\n\n1. Create after.txt\n2. Report back\n"

# A PermissionRequest hook that answers like a chat bridge would: it logs its payload, waits
# until the test has seen Claude's dialog (the go file), then prints the decision from the
# answer file, with updatedInput = the input it got + "merge".
STUB = """\
import json, os, sys, time
payload = json.load(sys.stdin)
base = sys.argv[1]
with open(os.path.join(base, "payloads.jsonl"), "a") as f:
    f.write(json.dumps(payload) + "\\n")
answer_file = os.path.join(base, payload["tool_name"] + ".json")
if payload["hook_event_name"] != "PermissionRequest" or not os.path.exists(answer_file):
    sys.exit(0)
answer = json.load(open(answer_file))
deadline = time.monotonic() + 20
while not os.path.exists(os.path.join(base, "go")) and time.monotonic() < deadline:
    time.sleep(0.02)
decision = answer["decision"]
if "merge" in answer:
    decision["updatedInput"] = {**payload["tool_input"], **answer["merge"]}
print(json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                         "decision": decision}}))
"""


class AnswerStub:
    """The stub hook registered for PermissionRequest and PreToolUse (matcher ``tools``)."""

    def __init__(self, claude: ClaudeRunner, base: Path, tools: str) -> None:
        self.base = base
        base.mkdir()
        script = base / "stub.py"
        script.write_text(STUB)
        hook = {"type": "command", "command": f"{sys.executable} {script} {base}",
                "timeout": 60}
        group = [{"matcher": tools, "hooks": [hook]}]
        write_settings(claude.user_settings,
                       {"hooks": {"PreToolUse": group, "PermissionRequest": group}})

    def answer(self, tool: str, decision: dict, merge: dict | None = None) -> None:
        body: dict = {"decision": decision}
        if merge is not None:
            body["merge"] = merge
        (self.base / f"{tool}.json").write_text(json.dumps(body))

    def go(self) -> None:
        (self.base / "go").touch()

    def payloads(self, event: str) -> list[dict]:
        lines = (self.base / "payloads.jsonl").read_text().splitlines()
        return [p for p in map(json.loads, lines) if p["hook_event_name"] == event]


def same_shape(payload: dict, saved: str) -> None:
    """``payload`` has the keys of the saved real payload (and its tool_input's keys)."""
    reference = json.loads((PAYLOADS / f"{saved}.json").read_text())
    assert sorted(payload) == sorted(reference), saved
    assert sorted(payload["tool_input"]) == sorted(reference["tool_input"]), saved


def test_a_hook_answers_ask_user_question_and_the_model_gets_the_answers(
    claude: ClaudeRunner, claude_tty: ClaudeTty, fake_anthropic: AnthropicFake,
    claude_project: Path, tmp_path: Path,
) -> None:
    stub = AnswerStub(claude, tmp_path / "stub", "AskUserQuestion")
    stub.answer("AskUserQuestion", {"behavior": "allow"}, merge={"answers": ANSWERS})
    fake_anthropic.script(tool_use("AskUserQuestion", QUESTIONS), text("Going with SQLite"))
    term = claude_tty.start("ask me", cwd=claude_project, ready=False)
    term.wait_for("Which database should we use?")
    term.wait_for("Esc to cancel")  # Claude's question dialog is open
    stub.go()
    term.wait_for("Going with SQLite")  # closed without a keypress
    assert "Answered Claude's questions" in term.capture()
    (result,) = fake_anthropic.tool_results()
    assert not result.is_error
    assert '"Which database should we use?"="SQLite"' in result.content
    assert '"Which features do you want?"="Auth, Export"' in result.content
    (pre,) = stub.payloads("PreToolUse")
    (request,) = stub.payloads("PermissionRequest")
    same_shape(pre, "PreToolUse-AskUserQuestion")
    same_shape(request, "PermissionRequest-AskUserQuestion")
    assert request["tool_input"] == QUESTIONS and "tool_use_id" not in request


def _plan_script(fake: AnthropicFake, *then: Turn) -> None:
    """Write the plan file, load ExitPlanMode (a deferred tool), call it, then ``then``."""
    fake.script(
        lambda body: tool_use("Write", {"file_path": plan_file(body), "content": PLAN}),
        tool_use("ToolSearch", {"query": "select:ExitPlanMode", "max_results": 1}),
        tool_use("ExitPlanMode", {}, id="toolu_exit_plan"),
        *then,
        text("Finished"),
    )


def _result(fake: AnthropicFake, tool_use_id: str) -> ToolResult:
    (result,) = [r for r in fake.tool_results() if r.tool_use_id == tool_use_id]
    return result


def test_a_hook_approves_the_plan_and_sets_the_mode(
    claude: ClaudeRunner, claude_tty: ClaudeTty, fake_anthropic: AnthropicFake,
    claude_project: Path, tmp_path: Path,
) -> None:
    stub = AnswerStub(claude, tmp_path / "stub", "ExitPlanMode")
    # updatedInput (the input as received) is what makes Claude take the allow; setMode picks
    # the mode the session goes on in (without it: default).
    stub.answer("ExitPlanMode", {"behavior": "allow", "updatedPermissions": [
        {"type": "setMode", "mode": "acceptEdits", "destination": "session"}]}, merge={})
    after = claude_project / "after.txt"
    _plan_script(fake_anthropic, tool_use("Write", {"file_path": str(after), "content": "x\n"}))
    term = claude_tty.start("make a plan", cwd=claude_project, permission_mode="plan",
                            ready=False)
    term.wait_for("Would you like to proceed?")
    stub.go()
    term.wait_for("Finished")
    assert after.exists()  # written without a prompt: acceptEdits
    assert "accept edits on" in term.capture()
    approved = _result(fake_anthropic, "toolu_exit_plan")
    assert not approved.is_error and "User has approved your plan" in approved.content
    assert PLAN in approved.content
    (request,) = stub.payloads("PermissionRequest")
    same_shape(request, "PermissionRequest-ExitPlanMode")
    assert request["tool_input"]["plan"] == PLAN and request["permission_mode"] == "plan"


def test_a_hook_denies_the_plan_and_claude_keeps_planning(
    claude: ClaudeRunner, claude_tty: ClaudeTty, fake_anthropic: AnthropicFake,
    claude_project: Path, tmp_path: Path,
) -> None:
    stub = AnswerStub(claude, tmp_path / "stub", "ExitPlanMode")
    stub.answer("ExitPlanMode", {"behavior": "deny", "message": "Keep planning: add tests"})
    _plan_script(fake_anthropic)
    term = claude_tty.start("make a plan", cwd=claude_project, permission_mode="plan",
                            ready=False)
    term.wait_for("Would you like to proceed?")
    stub.go()
    term.wait_for("Finished")
    feedback = _result(fake_anthropic, "toolu_exit_plan")
    assert feedback.is_error and feedback.content == "Keep planning: add tests"
    assert "plan mode on" in term.capture()  # still planning
    assert fake_anthropic.requests[-1]["messages"]  # the model was called again with it

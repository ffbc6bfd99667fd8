"""Every payload captured from the real Claude Code 2.1.328 goes through the hook process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from harness.hookproc import PAYLOADS, HookRunner, payload, wait_pending

CAPTURED = sorted(p.stem for p in (PAYLOADS / "claude").glob("*.json"))
GATED = {"PermissionRequest", "PreToolUse"}


def test_payloads_were_captured() -> None:
    assert {"PermissionRequest-Bash", "PreToolUse-Write", "Stop", "Notification"} <= set(CAPTURED)


@pytest.mark.parametrize("name", CAPTURED)
def test_a_session_timer_answers_exactly_the_gated_events(hook: HookRunner, name: str) -> None:
    data = payload(f"claude/{name}")
    subprocess.run([sys.executable, "-m", "tether_hooks", "allow-all", "--session",
                    data["session_id"]], check=True, capture_output=True)
    run = hook.run("claude", data)
    assert run.returncode == 0 and run.stderr == ""
    event = data["hook_event_name"]
    # Questions and plans are never answered by a timer (never_auto_approve).
    never = data.get("tool_name") in ("AskUserQuestion", "ExitPlanMode")
    if event == "PermissionRequest" and not never:
        assert run.output["hookSpecificOutput"] == {"hookEventName": event,
                                                    "decision": {"behavior": "allow"}}
    elif event == "PreToolUse" and not never:
        assert run.output["hookSpecificOutput"]["permissionDecision"] == "allow"
    else:
        assert run.stdout == "", f"{event} must not print anything"
    assert event in GATED or run.output is None


@pytest.mark.parametrize("name", [n for n in CAPTURED if n.split("-")[0] in GATED])
def test_gated_payloads_wait_for_a_decision_with_local_approvals(hook: HookRunner,
                                                                 name: str) -> None:
    data = payload(f"claude/{name}")
    proc = hook.start("claude", data, {"TETHER_HOOKS_LOCAL_APPROVALS": "1"})
    (request,) = wait_pending()
    assert request["tool_input"] == data["tool_input"]
    assert request["session_id"] == data["session_id"] and request["cwd"] == data["cwd"]
    subprocess.run([sys.executable, "-m", "tether_hooks", "deny", request["id"], "--reason",
                    "checked"], check=True, capture_output=True)
    out = json.loads(hook.finish(proc).stdout)["hookSpecificOutput"]
    text = out.get("decision", {}).get("message") or out.get("permissionDecisionReason")
    assert "checked" in text

"""The Codex harness drives the real Codex 0.171 binary: trust, permission hooks, fake model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness.codex import CodexHome, CodexRunner, HookReply, StubHooks
from harness.openai_fake import FakeOpenAI, add_file_patch, call, patch, text

from tether_hooks.agents.codex_trust import trust_entries, trust_key, trusted_hash

PAYLOADS = Path(__file__).parent / "payloads" / "codex"
TURN_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"]


def _permission(behavior: str, **extra: str) -> HookReply:
    decision = {"behavior": behavior, **extra}
    return HookReply.json(
        {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}
    )


def _escalated_write(target: Path, call_id: str) -> Any:
    return call(
        "exec_command",
        {"cmd": f"echo hi > {target}", "sandbox_permissions": "require_escalated",
         "justification": "Write out.txt?"},
        call_id=call_id,
    )


def test_trusted_hooks_fire_without_bypass_flag(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(TURN_EVENTS))
    fake_openai.script(call("exec_command", {"cmd": "echo hello"}, call_id="call_a"), text("done"))

    assert "--dangerously-bypass-hook-trust" not in codex.argv("go", cwd=codex_project)
    result = codex.run("go", cwd=codex_project)

    assert result.returncode == 0, result.stderr
    assert codex_stub_hooks.events() == TURN_EVENTS
    assert codex_stub_hooks.payloads("PreToolUse")[0]["tool_use_id"] == "call_a"
    assert "hello" in fake_openai.function_outputs()["call_a"]
    assert fake_openai.remaining == 0 and fake_openai.unscripted == 0


def test_untrusted_hooks_are_skipped_silently(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(TURN_EVENTS), trust=False)
    fake_openai.script(text("done"))

    result = codex.run("go", cwd=codex_project)

    assert result.returncode == 0, result.stderr
    assert codex_stub_hooks.events() == []
    assert result.hook_lines() == []


def test_permission_request_allow_lets_escalated_command_write(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(["PermissionRequest"]))
    target = codex_project / "out.txt"
    fake_openai.script(_escalated_write(target, "call_w"), text("written"))
    codex_stub_hooks.hold("PermissionRequest")

    running = codex.start("write it", cwd=codex_project, approve_for_me=True)
    payload = codex_stub_hooks.wait_for("PermissionRequest")
    assert not target.exists()  # Codex waits on the hook
    codex_stub_hooks.release("PermissionRequest", _permission("allow"))
    result = running.wait()

    assert result.returncode == 0, result.stderr
    assert target.read_text() == "hi\n"
    assert payload["tool_input"] == {"command": f"echo hi > {target}",
                                     "description": "Write out.txt?"}
    saved = json.loads((PAYLOADS / "PermissionRequest-Bash.json").read_text())
    assert payload.keys() == saved.keys()
    assert fake_openai.bodies("guardian") == []  # the hook decided, not the auto-reviewer


def test_permission_request_deny_message_reaches_model(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(["PermissionRequest"]))
    codex_stub_hooks.reply("PermissionRequest", _permission("deny", message="Denied from phone"))
    target = codex_project / "out.txt"
    fake_openai.script(_escalated_write(target, "call_d"), text("ok, not written"))

    result = codex.run("write it", cwd=codex_project, approve_for_me=True)

    assert result.returncode == 0, result.stderr
    assert not target.exists()
    assert "Denied from phone" in fake_openai.function_outputs()["call_d"]
    assert fake_openai.bodies("guardian") == []


def test_pre_tool_use_deny_reason_reaches_model(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(["PreToolUse", "PostToolUse"]))
    codex_stub_hooks.reply("PreToolUse", HookReply.json({"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": "not today"}}))
    fake_openai.script(call("exec_command", {"cmd": "echo run"}, call_id="call_p"), text("fine"))

    result = codex.run("run it", cwd=codex_project)

    assert result.returncode == 0, result.stderr
    output = fake_openai.function_outputs()["call_p"]
    assert "Command blocked by PreToolUse hook: not today" in output
    assert codex_stub_hooks.events() == ["PreToolUse"]


def test_apply_patch_edit_is_a_pre_tool_use_apply_patch(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    codex_home.write_hooks(codex_stub_hooks.hooks(["PreToolUse"]))
    fake_openai.script(patch(add_file_patch("added.txt", "hello"), call_id="call_e"), text("ok"))

    result = codex.run("edit", cwd=codex_project, approve_for_me=True)

    assert result.returncode == 0, result.stderr
    assert (codex_project / "added.txt").read_text() == "hello\n"
    (payload,) = codex_stub_hooks.payloads("PreToolUse")
    assert payload["tool_name"] == "apply_patch"
    assert payload["tool_input"]["command"].startswith("*** Begin Patch\n*** Add File: added.txt")
    assert "Success" in fake_openai.function_outputs()["call_e"]


def _shapes(command: str) -> dict[str, Any]:
    """Handler shapes whose hashes differ in each normalisation rule Codex applies."""
    def handler(**extra: Any) -> dict[str, Any]:
        return {"type": "command", "command": command, **extra}

    return {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [handler(timeout=30), handler(statusMessage="Asking")]},
            {"hooks": [{"type": "prompt", "prompt": "skipped"}, handler(timeout=0)]},
        ],
        "PermissionRequest": [{"matcher": "", "hooks": [handler(command=f'{command} "é"')]}],
        "Stop": [{"matcher": "ignored", "hooks": [handler(timeout=5)]}],
        "SessionStart": [{"matcher": "startup", "hooks": [handler(**{"async": True})]}],
    }


def test_trusted_hash_matches_codex_hooks_list(
    codex: CodexRunner, codex_home: CodexHome, codex_project: Path,
) -> None:
    user = codex_home.write_hooks(_shapes("/usr/bin/tether-hooks hook"))
    project = codex_home.write_hooks(_shapes("tether-hooks hook"),
                                     path=codex_project / ".codex" / "hooks.json")
    codex_home.trust_project(codex_project)

    listed = codex.hooks_list(codex_project)

    ours = {**trust_entries(str(user), _shapes("/usr/bin/tether-hooks hook")),
            **trust_entries(str(project), _shapes("tether-hooks hook"))}
    assert {h["key"]: h["currentHash"] for h in listed} == ours
    assert {h["trustStatus"] for h in listed} == {"trusted"}
    assert {h["source"] for h in listed} == {"user", "project"}
    assert trust_key(str(project), "Stop", 0, 0) in ours


# Observed in codex-cli 0.171.0 `hooks/list` (currentHash); pinned so drift on either side shows.
@pytest.mark.parametrize(("event", "matcher", "handler", "expected"), [
    ("PreToolUse", "*", {"type": "command", "command": "echo a", "timeout": 30},
     "sha256:7fe1504c3fc55c872a7d8e650eaec61b55218e4969f5d2fbe5f346e995b88398"),
    ("PreToolUse", "*", {"type": "command", "command": "echo b", "statusMessage": "Checking"},
     "sha256:206336b68824e086c3bae1772a2a3d6950c827abcbf4194fabca00f6c4a06a75"),
    ("PreToolUse", None, {"type": "command", "command": "echo c", "async": True},
     "sha256:d39e63337947c9b3c7ebf59463972bbce9bc85cf71c84d38f880261b976e3e03"),
    ("PermissionRequest", "", {"type": "command", "command": 'echo "q" é', "timeout": 0},
     "sha256:c2a487f0ff617ac593cad9bb92677028e77998dd46526567ae0c285dfb39f499"),
    ("Stop", "Bash", {"type": "command", "command": "echo stop"},
     "sha256:236335e9e512004a0f5f42af65a07ea9059bd9a23dbb68286ed57fecf2b69ddf"),
])
def test_trusted_hash_observed_values(
    event: str, matcher: str | None, handler: dict[str, Any], expected: str,
) -> None:
    assert trusted_hash(event, matcher, handler) == expected


def test_project_hooks_need_a_trusted_project(
    codex: CodexRunner, codex_home: CodexHome, fake_openai: FakeOpenAI,
    codex_stub_hooks: StubHooks, codex_project: Path,
) -> None:
    (codex_project / "sub").mkdir()
    codex_home.write_hooks(codex_stub_hooks.hooks(["Stop"], matcher=None),
                           path=codex_project / ".codex" / "hooks.json")
    fake_openai.script(text("one"), text("two"))

    codex.run("untrusted project", cwd=codex_project / "sub")
    assert codex_stub_hooks.events() == []

    codex_home.trust_project(codex_project)
    codex.run("trusted project", cwd=codex_project / "sub")
    assert codex_stub_hooks.events() == ["Stop"]


def test_saved_payloads_are_sanitised() -> None:
    names = sorted(p.name for p in PAYLOADS.glob("*.json"))
    assert {"PermissionRequest-Bash.json", "PermissionRequest-apply_patch.json",
            "PreToolUse-Bash.json", "PreToolUse-apply_patch.json", "Stop.json",
            "SessionStart.json", "notify-agent-turn-complete.json"} <= set(names)
    for name in names:
        raw = (PAYLOADS / name).read_text()
        assert "/tmp/" not in raw and "pytest" not in raw, name
        assert json.loads(raw)["cwd"] == "/home/user/proj"

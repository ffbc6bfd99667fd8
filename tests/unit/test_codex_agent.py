"""agents/codex.py: real Codex payloads in, honoured outputs out; the hook run as Codex runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness.hookproc import PAYLOADS, HookRunner, payload

from tether_hooks import installer, rules
from tether_hooks.agents import codex
from tether_hooks.store import Store

CAPTURED = sorted(p.stem for p in (PAYLOADS / "codex").glob("*.json"))
NOW = 1_000_000.0


def timer(scope: str, **fields: object) -> dict:
    base = {
        "id": "7f3a",
        "scope": scope,
        "session_id": None,
        "agent": None,
        "tool": None,
        "path": None,
        "prefix": None,
        "created_at": NOW - 60,
        "expires_at": NOW + 600,
    }
    return {**base, **fields}


def patch_request(patch: str, cwd: str = "/p") -> dict:
    return codex.parse(
        payload("codex/PreToolUse-apply_patch", cwd=cwd, tool_input={"command": patch})
    )


# -- parse --------------------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURED)
def test_every_captured_payload_parses(name: str) -> None:
    raw = (PAYLOADS / "codex" / f"{name}.json").read_text()
    compact = json.dumps(json.loads(raw), separators=(",", ":"))  # as Codex sends it: no newline
    request = codex.parse(json.loads(compact))
    assert request["agent"] == "codex"
    assert request["session_id"] == "019a0000-0000-7000-8000-000000000001"
    assert request["cwd"] == "/home/user/proj"
    assert request["turn_id"] in (None, "019a0000-0000-7000-8000-000000000002")
    if name.startswith("notify"):
        assert request["event"] == "TurnComplete"
        assert request["last_assistant_message"] == "all done"
    else:
        assert request["event"] == name.split("-")[0]
        assert request["permission_mode"] == "default"


def test_permission_request_bash_has_no_tool_use_id() -> None:
    request = codex.parse(payload("codex/PermissionRequest-Bash"))
    assert request["tool_name"] == "Bash"
    assert request["tool_use_id"] is None
    assert request["tool_input"]["description"] == "Write out.txt?"
    assert request["paths"] == [] and request["tool_aliases"] == []
    assert request["turn_id"] == "019a0000-0000-7000-8000-000000000002"


def test_apply_patch_payloads_carry_their_files_and_aliases() -> None:
    pre = codex.parse(payload("codex/PreToolUse-apply_patch"))
    assert pre["paths"] == ["/home/user/proj/added.txt"]
    assert pre["tool_aliases"] == ["Edit", "Write"]
    assert pre["tool_use_id"] == "call_2"
    outside = codex.parse(payload("codex/PermissionRequest-apply_patch"))
    assert outside["paths"] == ["/opt/tether-capture.txt"]  # no trailing newline in this one


def test_bad_payloads_are_refused() -> None:
    for bad in (
        [],
        {},
        {"hook_event_name": "PreToolUse", "tool_input": {}},
        {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": "x"},
        {"type": "approval-requested"},
    ):
        with pytest.raises(ValueError):
            codex.parse(bad)


# -- apply_patch paths ----------------------------------------------------------------


def test_patch_paths_add_update_delete_move() -> None:
    patch = (
        "*** Begin Patch\n"
        "*** Add File: new.txt\n+hi\n"
        "*** Update File: src/app.py\n*** Move to: src/main.py\n@@ def f():\n-a\n+b\n"
        "*** Delete File: /p/old.txt\n"
        "  *** Update File: padded.txt  \r\n@@\n-x\n+y\n"
        "*** End Patch"
    )
    assert codex.patch_paths(patch, "/p") == [
        "/p/new.txt",
        "/p/src/app.py",
        "/p/src/main.py",
        "/p/old.txt",
        "/p/padded.txt",
    ]


def test_patch_paths_keep_outside_and_dotdot_paths_for_realpath() -> None:
    patch = "*** Begin Patch\n*** Add File: ../x\n+a\n*** Delete File: /etc/passwd\n*** End Patch"
    assert codex.patch_paths(patch, "/p/q") == ["/p/q/../x", "/etc/passwd"]


def test_patch_content_lines_are_not_files() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+*** Delete File: /etc/x\n*** End Patch\n"
    assert codex.patch_paths(patch, "/p") == ["/p/a.txt"]


def test_a_patch_without_files_counts_as_touching_the_root() -> None:
    assert codex.patch_paths("not a patch", "/p") == ["/"]
    assert codex.patch_paths(None, "/p") == ["/"]


def test_dir_timers_cover_patches_inside_only(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    directory = timer("dir", path=str(proj.resolve()))
    inside = "*** Begin Patch\n*** Update File: a.py\n@@\n-a\n+b\n*** End Patch\n"
    assert rules.timer_matches(directory, patch_request(inside, str(proj)), NOW)
    for outside in (
        f"*** Add File: {tmp_path}/other.txt\n+x",
        "*** Add File: ../escape.txt\n+x",
        "*** Update File: a.py\n*** Move to: /etc/a.py\n@@\n-a\n+b",
        "garbage",
    ):
        request = patch_request(f"*** Begin Patch\n{outside}\n*** End Patch\n", str(proj))
        assert not rules.timer_matches(directory, request, NOW), outside


def test_dir_timer_follows_symlinks_out_of_the_directory(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "link").symlink_to(tmp_path)
    request = patch_request(
        "*** Begin Patch\n*** Add File: link/x.txt\n+x\n*** End Patch\n", str(proj)
    )
    assert not rules.timer_matches(timer("dir", path=str(proj.resolve())), request, NOW)


# -- outputs --------------------------------------------------------------------------


def test_permission_request_allow_and_deny() -> None:
    assert json.loads(codex.allow("PermissionRequest", "ok", {"command": "x"})) == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }  # updatedInput fails closed
    denied = json.loads(codex.deny("PermissionRequest", "Denied by me", interrupt=True))
    decision = denied["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and decision["message"].startswith("Denied by me")
    assert "interrupt" not in decision  # reserved in Codex: it would fail closed


def test_pre_tool_use_never_asks() -> None:
    for reason in ("", "tether-hooks: no decision in time"):
        assert codex.no_decision("PreToolUse", reason) == ""
        assert codex.no_decision("PermissionRequest", reason) == ""
    assert codex.allow("PreToolUse", "Allow Bash (timer 7f3a)") == ""
    outputs = [codex.deny("PreToolUse", "no", interrupt=i) for i in (False, True)]
    for text in outputs:
        body = json.loads(text)
        assert body["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert "continue" not in body and "stopReason" not in body


def test_pre_tool_use_allow_with_new_input_is_a_rewrite() -> None:
    body = json.loads(codex.allow("PreToolUse", "ok", {"command": "echo safer"}))
    assert body["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert body["hookSpecificOutput"]["updatedInput"] == {"command": "echo safer"}


def test_stop_block_is_json() -> None:
    assert json.loads(codex.stop_block("go on")) == {"decision": "block", "reason": "go on"}


def test_tool_timers_for_edit_and_write_cover_apply_patch() -> None:
    request = codex.parse(payload("codex/PreToolUse-apply_patch"))
    assert rules.timer_matches(timer("tool", tool="edit"), request, NOW)
    assert rules.timer_matches(timer("tool", tool="apply_patch"), request, NOW)
    assert not rules.timer_matches(timer("tool", tool="bash"), request, NOW)
    assert rules.find_timer({"t": timer("tool", tool="write")}, request, NOW, ["Write"]) is None


# -- installation pieces ----------------------------------------------------------------


def test_settings_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "cx"))
    assert codex.settings_path("user", ".") == str(tmp_path.resolve() / "cx" / "hooks.json")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a" / "b").mkdir(parents=True)
    assert codex.settings_path("project", str(repo / "a" / "b")) == str(
        repo.resolve() / ".codex" / "hooks.json"
    )
    with pytest.raises(Exception, match="scope"):
        codex.settings_path("local", str(repo))


def test_hook_entries_by_mode() -> None:
    permission = codex.hook_entries("'/x/tether-hook' codex", "permission", 300, 0)
    assert set(permission) == {"PermissionRequest", "SessionStart", "Stop"}
    assert permission["PermissionRequest"][0]["hooks"][0]["timeout"] > 300
    gate = codex.hook_entries("'/x/tether-hook' codex", "every-tool", 300, 0)
    assert "PermissionRequest" not in gate
    assert gate["PreToolUse"][0]["matcher"] == "^(Bash|apply_patch|mcp__.*)$"


# -- the hook as a process ----------------------------------------------------------------


def test_hook_answers_codex_with_a_timer(hook: HookRunner) -> None:
    from tether_hooks import timers

    timers.add("tool", "30m", created_by="test", tool="Edit")
    data = payload("codex/PermissionRequest-apply_patch")
    run = hook.run("codex", json.dumps(data, separators=(",", ":")).encode())
    assert run.output == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    assert hook.run("codex", payload("codex/PreToolUse-apply_patch")).stdout == ""


def test_notify_argument_records_a_finished_turn(hook: HookRunner) -> None:
    data = (PAYLOADS / "codex" / "notify-agent-turn-complete.json").read_text()
    proc = subprocess.run(
        [hook.shim, "codex", "notify", data],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=hook.env(),
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    session = Store().read()["sessions"]["019a0000-0000-7000-8000-000000000001"]
    assert session["agent"] == "codex" and session["last_event"] == "turn-finished"
    assert session["turn_id"] == "019a0000-0000-7000-8000-000000000002"
    assert session["last_assistant_message"] == "all done"


FAST_PATH_PROBE = r"""
import io, json, sys
before = set(sys.modules)
sys.stdin = io.TextIOWrapper(io.BytesIO(PAYLOAD.encode()))
from tether_hooks.hook import main
main(["codex"])
heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in
               {"filelock", "click", "httpx", "tomllib", "asyncio", "platformdirs", "dataclasses",
                "typing", "pathlib", "hashlib"} or m == "tether_hooks.agents.codex_config")
print(json.dumps(heavy), file=sys.stderr)
"""


def test_codex_fast_path_imports_nothing_heavy(tether_home: Path) -> None:
    from tether_hooks import config, timers

    timers.add("tool", "30m", created_by="test", tool="Bash")
    config.hook_config()
    probe = FAST_PATH_PROBE.replace(
        "PAYLOAD", repr(json.dumps(payload("codex/PermissionRequest-Bash")))
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=30,
    )
    assert json.loads(run.stderr.strip().splitlines()[-1]) == []
    assert "allow" in run.stdout


def test_our_handlers_are_recognised() -> None:
    command = installer.hook_command("codex")
    assert installer.is_ours({"command": command})
    assert codex.notify_argv(command)[-2:] == ["codex", "notify"]

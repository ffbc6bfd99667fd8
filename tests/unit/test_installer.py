from __future__ import annotations

import json

import pytest

from tether_hooks import installer
from tether_hooks.agents import claude

OURS = "'/x/bin/tether-hook' claude"
FOREIGN = {"type": "command", "command": "/usr/local/bin/block-rm.sh", "timeout": 5}


def entries(mode: str = "permission") -> dict:
    return claude.hook_entries(OURS, mode, 300, 0)


def test_is_ours_recognises_only_our_executable() -> None:
    assert installer.is_ours({"command": OURS})
    assert installer.is_ours({"command": "/home/a b/bin/tether-hook codex"}) is False
    assert installer.is_ours({"command": "'/home/a b/bin/tether-hook' codex"})
    assert not installer.is_ours({"command": "/usr/bin/tether-hooks-fake"})
    assert not installer.is_ours({"command": "echo tether-hook"})
    assert not installer.is_ours("tether-hook")


def test_merge_keeps_foreign_hooks_and_keys() -> None:
    settings = {"model": "opus", "permissions": {"allow": ["Bash(ls)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [FOREIGN]}],
                          "PermissionRequest": [{"matcher": "Bash", "hooks": [FOREIGN]}]}}
    merged = installer.merge(settings, entries())
    assert merged["model"] == "opus" and merged["permissions"] == settings["permissions"]
    assert merged["hooks"]["PreToolUse"] == settings["hooks"]["PreToolUse"]
    groups = merged["hooks"]["PermissionRequest"]
    assert groups[0] == {"matcher": "Bash", "hooks": [FOREIGN]}
    assert groups[1]["hooks"][0]["command"] == OURS
    assert set(merged["hooks"]) >= {"Notification", "Stop", "SessionStart", "SessionEnd"}


def test_merge_is_idempotent() -> None:
    once = installer.merge({"hooks": {"Stop": [{"hooks": [FOREIGN]}]}}, entries())
    assert installer.merge(once, entries()) == once


def test_timeouts_outlast_the_approval_wait() -> None:
    ours = entries()["PermissionRequest"][0]["hooks"][0]
    assert ours["timeout"] > 300
    assert claude.hook_entries(OURS, "permission", 900, 0)["PermissionRequest"][0]["hooks"][0][
        "timeout"] > 900


def test_switching_mode_moves_our_gate() -> None:
    merged = installer.merge(installer.merge({}, entries("permission")), entries("every-tool"))
    assert "PermissionRequest" not in merged["hooks"]
    gate = merged["hooks"]["PreToolUse"][0]
    assert gate["hooks"][0]["onFailure"] == "block"
    assert "Bash" in gate["matcher"]


def test_unmerge_removes_only_ours_and_cleans_up() -> None:
    settings = {"hooks": {"Stop": [{"hooks": [FOREIGN]}]}, "env": {"A": "1"}}
    merged = installer.merge(settings, entries())
    assert installer.unmerge(merged) == settings
    assert installer.unmerge(installer.merge({}, entries())) == {}


def test_shared_group_keeps_foreign_handler() -> None:
    settings = {"hooks": {"Stop": [{"hooks": [FOREIGN, {"type": "command", "command": OURS}]}]}}
    assert installer.unmerge(settings) == {"hooks": {"Stop": [{"hooks": [FOREIGN]}]}}


def test_single_object_event_value_is_tolerated() -> None:
    settings = {"hooks": {"Stop": {"hooks": [FOREIGN]}}}
    merged = installer.merge(settings, entries())
    assert merged["hooks"]["Stop"][0] == {"hooks": [FOREIGN]}


def test_read_settings_refuses_broken_json(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"hooks": ')
    with pytest.raises(installer.SettingsError, match="not valid JSON"):
        installer.read_settings(str(path))
    path.write_text("[]")
    with pytest.raises(installer.SettingsError, match="JSON object"):
        installer.read_settings(str(path))
    assert path.read_text() == "[]"


def test_merge_refuses_a_hooks_key_that_is_not_an_object() -> None:
    with pytest.raises(installer.SettingsError):
        installer.merge({"hooks": []}, entries())


def test_hook_command_is_the_stable_shim() -> None:
    command = installer.hook_command("claude")
    assert command.endswith(" claude") and "bin/tether-hook" in command
    assert installer.is_ours({"command": command})
    json.dumps(entries())  # serialisable

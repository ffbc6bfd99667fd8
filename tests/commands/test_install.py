"""install / uninstall through the CLI, on real files in a sandboxed home."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

from click.testing import CliRunner

from tether_hooks import paths
from tether_hooks.main import cli

FOREIGN = {"type": "command", "command": "/usr/local/bin/audit.sh"}


def run(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def user_settings() -> Path:
    return Path(os.environ["HOME"]) / ".claude" / "settings.json"


def test_install_user_scope_writes_settings_and_the_shim() -> None:
    result = run("install")
    assert result.exit_code == 0, result.output
    settings = json.loads(user_settings().read_text())
    command = settings["hooks"]["PermissionRequest"][0]["hooks"][0]["command"]
    assert shlex.split(command) == [paths.hook_shim(), "claude"]
    shim = Path(paths.hook_shim())
    assert os.access(shim, os.X_OK)
    assert stat.S_IMODE(os.stat(user_settings()).st_mode) == 0o600
    # It bakes in this profile's home, so the agent needs no environment of ours.
    assert repr(paths.home_override()) in shim.read_text()


def test_install_honours_claude_config_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert run("install").exit_code == 0
    assert (tmp_path / "cfg" / "settings.json").exists()
    assert not user_settings().exists()


def test_install_twice_changes_nothing_the_second_time() -> None:
    run("install")
    before = user_settings().read_text()
    result = run("install")
    assert "nothing to change" in result.output
    assert user_settings().read_text() == before


def test_project_install_and_uninstall_keep_foreign_hooks(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    original = {"permissions": {"allow": ["Bash(npm test)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [FOREIGN]}]}}
    target = project / ".claude" / "settings.json"
    target.write_text(json.dumps(original, indent=4))
    result = run("install", "--scope", "project", "--project", str(project))
    assert result.exit_code == 0 and "backup" in result.output
    merged = json.loads(target.read_text())
    assert merged["hooks"]["PreToolUse"] == original["hooks"]["PreToolUse"]
    assert "PermissionRequest" in merged["hooks"]
    assert run("uninstall", "--scope", "project", "--project", str(project)).exit_code == 0
    assert json.loads(target.read_text()) == original


def test_local_scope_targets_settings_local(tmp_path: Path) -> None:
    assert run("install", "--scope", "local", "--project", str(tmp_path)).exit_code == 0
    assert (tmp_path / ".claude" / "settings.local.json").exists()


def test_broken_settings_are_refused_and_untouched() -> None:
    user_settings().parent.mkdir(parents=True)
    user_settings().write_text('{"hooks": {')
    result = CliRunner().invoke(cli, ["install"])
    assert result.exit_code == 1
    assert "not valid JSON" in result.output and "left untouched" in result.output
    assert user_settings().read_text() == '{"hooks": {'


def test_dry_run_shows_the_diff_and_writes_nothing() -> None:
    result = run("install", "--dry-run")
    assert result.exit_code == 0 and "PermissionRequest" in result.output
    assert not user_settings().exists()


def test_every_tool_mode_installs_a_pretooluse_gate() -> None:
    run("install", "--mode", "every-tool")
    hooks = json.loads(user_settings().read_text())["hooks"]
    assert "PreToolUse" in hooks and "PermissionRequest" not in hooks


def test_uninstall_without_settings_is_a_no_op() -> None:
    result = run("uninstall")
    assert result.exit_code == 0 and "nothing to remove" in result.output

"""status shows each overridable setting's effective value and where it came from."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tether_hooks.main import cli


def status(*args: str) -> object:
    return CliRunner().invoke(cli, ["status", *args])


def test_status_shows_the_environment_override_not_the_file(tether_home, monkeypatch) -> None:
    (tether_home / "config.toml").write_text("local_approvals = false\napproval_timeout = 120\n")
    monkeypatch.setenv("TETHER_HOOKS_LOCAL_APPROVALS", "1")
    result = status()
    assert result.exit_code == 0, result.output
    assert ("Settings: local approvals: on (env TETHER_HOOKS_LOCAL_APPROVALS=1; config.toml: off)"
            "; approval timeout: 120 s (config.toml)") in result.output
    assert "hooks use the agent's" in result.output
    data = json.loads(status("--json").stdout)
    assert data["local_approvals"] is True
    assert data["settings"][0] == {"name": "local_approvals", "value": True,
                                   "source": "env TETHER_HOOKS_LOCAL_APPROVALS=1",
                                   "config_value": False, "config_source": "config.toml"}


def test_status_names_the_timeout_and_token_from_the_environment(tether_home: Path,
                                                                 monkeypatch) -> None:
    (tether_home / "config.toml").write_text("[telegram]\nchat_id = 5\nallowed_user_ids = [5]\n")
    monkeypatch.setenv("TETHER_HOOKS_APPROVAL_TIMEOUT", "45")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    result = status()
    assert result.exit_code == 0, result.output
    assert ("approval timeout: 45 s (env TETHER_HOOKS_APPROVAL_TIMEOUT=45; default: 300 s)"
            in result.output)
    assert "telegram token: set (env TELEGRAM_BOT_TOKEN)" in result.output
    assert "123:abc" not in result.output


def test_status_without_overrides_says_default_and_config(tether_home: Path) -> None:
    (tether_home / "config.toml").write_text("local_approvals = true\n")
    result = status()
    assert "local approvals: on (config.toml); approval timeout: 300 s (default)" in result.output
    assert "agent's" not in result.output

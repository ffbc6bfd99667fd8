"""doctor on a real store in a temporary home: exit status, --json, and fixes that work."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tether_hooks import paths
from tether_hooks.main import cli


def doctor() -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    return result.exit_code, json.loads(result.stdout)


def by_name(checks: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in checks}


def run_fix(fix: str) -> None:
    """Run the shell command a fix ends with (after its last ': '), as a user would paste it."""
    command = fix.rsplit(": ", 1)[1]
    subprocess.run(shlex.split(command), check=True)


def install() -> None:
    result = CliRunner().invoke(cli, ["install"])
    assert result.exit_code == 0, result.output


def test_doctor_after_install_is_healthy() -> None:
    install()
    code, checks = doctor()
    found = by_name(checks)
    assert code == 0, checks
    assert all(c["status"] == "ok" and c["fix"] == "" for c in checks), checks
    assert found["hook"]["status"] == "ok" and found["claude user"]["status"] == "ok"
    assert set(checks[0]) == {"name", "status", "detail", "fix"}


def test_doctor_fails_on_a_fresh_home_and_names_the_install_command() -> None:
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "[FAIL] hook: the hook executable" in result.output
    assert f"fix: run `tether-hooks install` (it writes {paths.hook_shim()})" in result.output
    assert "[WARN] claude: no Claude Code settings file has our hooks" in result.output
    assert result.output.rstrip().endswith("1 failure(s), 1 warning(s).")
    install()
    assert doctor()[0] == 0


def test_warnings_alone_exit_zero_and_the_help_says_so(tether_home: Path) -> None:
    install()
    (tether_home / "config.toml").write_text(
        '[telegram]\nbot_token = "1:x"\nchat_id = 5\nallowed_user_ids = [5]\n')
    code, checks = doctor()
    found = by_name(checks)
    assert code == 0, checks
    assert found["listener"]["status"] == "warn"
    assert found["listener"]["fix"].startswith("tether-hooks listener start")
    help_text = CliRunner().invoke(cli, ["doctor", "--help"]).output
    assert "1 if any check fails" in help_text and "warnings alone exit 0" in help_text


def test_a_config_that_does_not_parse_gets_its_line_and_a_move_aside(tether_home: Path) -> None:
    install()
    config = tether_home / "config.toml"
    config.write_text("approval_timeout = 60\non_timeout = ask\n")
    code, checks = doctor()
    found = by_name(checks)["config"]
    assert code == 1 and found["status"] == "fail"
    assert f"correct line 2, column 14 of {config}" in found["fix"]
    assert f"mv {config} {config}.bad-" in found["fix"]
    run_fix(found["fix"])
    assert doctor()[0] == 0
    assert [p.name.startswith("config.toml.bad-") for p in tether_home.iterdir()
            if p.name.startswith("config.toml")] == [True]


def test_a_config_value_that_is_invalid_names_the_key(tether_home: Path) -> None:
    install()
    (tether_home / "config.toml").write_text('on_timeout = "allow"\n')
    code, checks = doctor()
    found = by_name(checks)["config"]
    assert code == 1 and "on_timeout" in found["detail"]
    assert found["fix"].startswith("edit that key in ")


def test_a_corrupt_state_is_moved_aside_by_the_printed_command() -> None:
    install()
    state = Path(paths.state_file())
    os.makedirs(state.parent, exist_ok=True)
    state.write_text('{"schema": 1, "timers": {')
    code, checks = doctor()
    found = by_name(checks)["state"]
    assert code == 1 and found["status"] == "fail" and "not valid JSON" in found["detail"]
    assert f"mv {state} {state}.corrupt-" in found["fix"]
    run_fix(found["fix"])
    code, checks = doctor()
    found = by_name(checks)
    assert code == 0, checks
    moved = found["state (moved aside)"]
    assert moved["status"] == "warn" and f"{state}.corrupt-" in moved["detail"]
    assert "rm " in moved["fix"]
    run_fix(moved["fix"])
    assert "state (moved aside)" not in by_name(doctor()[1])


def test_a_hook_whose_python_is_gone_is_reinstalled_by_the_fix() -> None:
    install()
    shim = Path(paths.hook_shim())
    text = shim.read_text()
    shim.write_text("#!/nonexistent/python3 -I\n" + text.split("\n", 1)[1])
    code, checks = doctor()
    found = by_name(checks)["hook"]
    assert code == 1 and "/nonexistent/python3, which is gone" in found["detail"]
    assert "tether-hooks install" in found["fix"]
    install()
    assert doctor()[0] == 0


def test_agent_settings_that_do_not_parse_are_named(tether_home: Path) -> None:
    settings = Path(os.environ["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"model": "opus",')
    code, checks = doctor()
    found = by_name(checks)["claude user"]
    assert code == 1 and found["status"] == "fail"
    assert found["fix"].startswith(f"fix the JSON in {settings}")


@pytest.mark.parametrize(("value", "status", "shown"), [
    ("1", "ok", "local approvals: on (env TETHER_HOOKS_LOCAL_APPROVALS=1; default: off)"),
    ("no", "ok", "local approvals: off (env TETHER_HOOKS_LOCAL_APPROVALS=no)"),
])
def test_environment_overrides_are_shown_with_their_source(
    monkeypatch, value: str, status: str, shown: str
) -> None:
    install()
    monkeypatch.setenv("TETHER_HOOKS_LOCAL_APPROVALS", value)
    code, checks = doctor()
    found = by_name(checks)["settings"]
    assert code == 0 and found["status"] == status
    assert shown in found["detail"]
    assert "approval timeout: 300 s (default)" in found["detail"]


def test_an_invalid_environment_timeout_fails_with_the_fix(monkeypatch) -> None:
    install()
    monkeypatch.setenv("TETHER_HOOKS_APPROVAL_TIMEOUT", "ten minutes")
    code, checks = doctor()
    found = by_name(checks)["settings"]
    assert code == 1 and "TETHER_HOOKS_APPROVAL_TIMEOUT='ten minutes'" in found["detail"]
    assert found["fix"] == "unset TETHER_HOOKS_APPROVAL_TIMEOUT, or set it to a number of seconds"


def test_doctor_warns_when_a_hook_timeout_is_too_short(tether_home: Path) -> None:
    install()
    (tether_home / "config.toml").write_text("approval_timeout = 900\n")
    found = by_name(doctor()[1])
    assert found["claude user"]["status"] == "warn"
    assert "tether-hooks install" in found["claude user"]["fix"]


def test_the_real_command_exits_1_on_a_failure_and_0_when_fixed() -> None:
    """Through the console entry point (not CliRunner): the exit status a script sees."""
    import sys

    def real() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tether_hooks", "doctor"],
                              capture_output=True, text=True, timeout=60)

    failing = real()
    assert failing.returncode == 1 and "[FAIL] hook" in failing.stdout
    install()
    assert real().returncode == 0

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from tether_hooks import paths
from tether_hooks.main import cli


def doctor() -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    return result.exit_code, json.loads(result.stdout)


def by_name(checks: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in checks}


def test_doctor_after_install_is_healthy() -> None:
    assert CliRunner().invoke(cli, ["install"]).exit_code == 0
    code, checks = doctor()
    found = by_name(checks)
    assert code == 0, checks
    assert found["hook"]["status"] == "ok" and found["claude user"]["status"] == "ok"
    assert found["config"]["status"] == "ok" and found["state"]["status"] == "ok"


def test_doctor_names_what_is_broken_and_how_to_fix_it(tether_home: Path) -> None:
    code, checks = doctor()
    found = by_name(checks)
    assert code == 1
    assert found["hook"]["status"] == "fail" and "tether-hooks install" in found["hook"]["hint"]
    assert found["claude"]["status"] == "warn"
    (tether_home / "config.toml").write_text("approval_timeout = -1\n")
    os.makedirs(paths.state_dir(), exist_ok=True)
    Path(paths.state_file()).write_text("{")
    found = by_name(doctor()[1])
    assert "approval_timeout" in found["config"]["detail"]
    assert found["state"]["status"] == "fail"


def test_doctor_warns_when_a_hook_timeout_is_too_short(tether_home: Path) -> None:
    CliRunner().invoke(cli, ["install"])
    (tether_home / "config.toml").write_text("approval_timeout = 900\n")
    found = by_name(doctor()[1])
    assert found["claude user"]["status"] == "warn"
    assert "install" in found["claude user"]["hint"]

"""Timer verbs through the CLI, against a real store in a temporary home."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from tether_hooks.main import cli


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def timers_json() -> list[dict]:
    result = run("timers", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_allow_tool_keeps_the_name_as_typed_and_matches_any_case() -> None:
    result = run("allow-tool", "bash", "--for", "90s")
    assert result.exit_code == 0 and "Allow bash (timer" in result.stdout
    (timer,) = timers_json()
    assert (timer["scope"], timer["tool"], timer["session_id"]) == ("tool", "bash", None)
    assert 80 < timer["expires_at"] - timer["created_at"] <= 90


def test_default_duration_comes_from_config(tether_home: Path) -> None:
    (tether_home / "config.toml").write_text('default_timer = "2h"\n')
    run("allow-tool", "Write", "--session", "s-1")
    (timer,) = timers_json()
    assert timer["expires_at"] - timer["created_at"] == 7200 and timer["session_id"] == "s-1"


def test_allow_all_needs_a_session() -> None:
    assert run("allow-all").exit_code == 2
    assert run("allow-all", "--session", "s-1", "--for", "5m").exit_code == 0
    assert timers_json()[0]["scope"] == "session"


def test_allow_bash_and_allow_dir(tmp_path: Path) -> None:
    assert run("allow-bash", "git status*", "--session", "s-1").exit_code == 0
    assert run("allow-dir", str(tmp_path)).exit_code == 0
    scopes = {t["scope"]: t for t in timers_json()}
    assert scopes["bash"]["prefix"] == "git status*"
    assert scopes["dir"]["path"] == os.path.realpath(tmp_path)


def test_allow_dir_refuses_home_and_root_without_force() -> None:
    for broad in ("/", os.environ["HOME"], os.path.dirname(os.environ["HOME"])):
        result = run("allow-dir", broad)
        assert result.exit_code == 1 and "nearly every session" in result.output
    assert timers_json() == []
    assert run("allow-dir", os.environ["HOME"], "--force").exit_code == 0
    assert run("allow-dir").exit_code == 2  # PATH is required


def test_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    for args in (("allow-tool", "Bash", "--for", "soon"),
                 ("allow-dir", str(tmp_path / "missing"))):
        result = run(*args)
        assert result.exit_code == 1 and result.output.startswith("tether-hooks: error: ")
        assert "Traceback" not in result.output


def test_revoke_one_or_all() -> None:
    run("allow-tool", "Bash")
    run("allow-tool", "Write")
    first = timers_json()[0]["id"]
    assert run("revoke", first).exit_code == 0
    assert [t["id"] for t in timers_json()] != [first] and len(timers_json()) == 1
    assert run("revoke").exit_code == 2  # an id or --all
    assert run("revoke", "--all").exit_code == 0 and timers_json() == []
    missing = run("revoke", "abcd")
    assert missing.exit_code == 1 and "no timer with id 'abcd'" in missing.output

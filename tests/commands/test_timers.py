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


# -- scopes broader than meant, or impossible ---------------------------------------------


def refused(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, (args, result.output)
    assert result.output.startswith("tether-hooks: error: ") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    return result.output


def test_an_empty_session_is_refused_not_every_session(tmp_path: Path) -> None:
    for blank in ("", " ", "\t", "\n"):
        for args in (("allow-tool", "Bash"), ("allow-bash", "git status*"),
                     ("allow-all",), ("allow-tool", "*")):
            assert "session id is empty" in refused(*args, "--session", blank)
    assert timers_json() == []


def test_a_wildcard_tool_with_no_session_needs_force() -> None:
    for pattern in ("*", "**", " * "):
        message = refused("allow-tool", pattern)
        assert "every tool in every session" in message and "--force" in message
    assert timers_json() == []
    assert run("allow-tool", "*", "--session", "s-1").exit_code == 0  # one session: allow-all
    assert run("allow-tool", "*", "--force").exit_code == 0
    assert sorted(str(t["session_id"]) for t in timers_json()) == ["None", "s-1"]


def test_a_match_everything_bash_rule_with_no_session_needs_force() -> None:
    for pattern in ("*", " *", ":*"):
        message = refused("allow-bash", pattern)
        assert "every command in every session" in message and "--force" in message
    assert timers_json() == []
    assert run("allow-bash", "*", "--session", "s-1").exit_code == 0
    assert run("allow-bash", "*", "--force").exit_code == 0
    assert len(timers_json()) == 2


def test_empty_and_impossible_tool_names_are_refused() -> None:
    for name in ("", " ", "\t"):
        assert "tool name is empty" in refused("allow-tool", name)
    for name in ("Bash Write", "Ba\x00sh", "Bash\tx"):
        assert "can never match" in refused("allow-tool", name)
    assert timers_json() == []


def test_approve_for_a_request_without_a_session_is_refused_before_deciding() -> None:
    """A tool timer "like" a request that names no session would cover every session."""
    from tether_hooks.store import Store

    request = Store().add_request({"agent": "claude", "event": "PermissionRequest",
                                   "session_id": "", "cwd": "/p", "tool_name": "Bash",
                                   "tool_input": {"command": "make"}, "paths": [],
                                   "pid": os.getpid()}, 600)
    for scope in ((), ("--scope", "session"), ("--scope", "tool")):
        assert "names no session" in refused("approve", request["id"], "--for", "1h", *scope)
    assert Store().read()["requests"][request["id"]]["status"] == "pending"
    assert timers_json() == []
    assert run("approve", request["id"]).exit_code == 0  # alone, it is fine


def test_force_is_explained_in_help() -> None:
    for verb in ("allow-tool", "allow-bash"):
        text = " ".join(run(verb, "--help").output.split())
        assert "--force" in text and "as allow-all with no session" in text

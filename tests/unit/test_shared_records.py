"""What a station puts in Redis of its records: redacted as chat redacts, local fields
dropped, fleet ids that round-trip."""

from __future__ import annotations

import json

import pytest

from tether_hooks.errors import UsageError
from tether_hooks.shared import records

GITHUB = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
OPENAI = "sk-proj-" + "Zx9Yw8Vu7T" * 4
PASSWORD = "Hunter2horse!"
DEEP = "deeplyhidden-pw-77"


def request(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "a1b2", "agent": "claude", "event": "PermissionRequest", "session_id": "s1",
        "cwd": "/home/me/proj", "tool_name": "Bash",
        "tool_input": {"command": f"git push https://me:{GITHUB}@github.com/o/r && "
                                  f"OPENAI_API_KEY={OPENAI} make && mysql -p{PASSWORD} db",
                       "description": "push it",
                       "env": {"list": [{"password": DEEP}, {"note": "fine"}]}},
        "transcript_path": "/home/me/.claude/t.jsonl", "pid": 4242, "never": ["Bash"],
        "tool_use_id": "toolu_1", "chat": {"nonce": "n1"}, "summary": "git push …",
        "status": "pending", "decision": None, "created_at": 1.5, "expires_at": 9.5,
    }
    base.update(over)
    return base


def test_secrets_of_every_kind_never_reach_the_shared_record() -> None:
    shared = records.shared_request(request(), "laptop")  # type: ignore[arg-type]
    blob = json.dumps(shared)
    for secret in (GITHUB, OPENAI, PASSWORD, DEEP):
        assert secret not in blob
    command = shared["tool_input"]["command"]
    assert command.startswith("git push https://me:«secret") and "make" in command
    assert shared["tool_input"]["description"] == "push it"  # what is no secret stays
    assert shared["tool_input"]["env"]["list"][1] == {"note": "fine"}


def test_local_fields_are_dropped_and_the_rest_kept() -> None:
    shared = records.shared_request(request(), "laptop")  # type: ignore[arg-type]
    for field in ("transcript_path", "pid", "never", "tool_use_id", "chat"):
        assert field not in shared
    assert shared["id"] == "a1b2" and shared["machine"] == "laptop"
    assert shared["summary"] == "git push …" and shared["status"] == "pending"
    assert shared["created_at"] == 1.5 and shared["session_id"] == "s1"


def test_updated_input_of_a_decision_is_redacted() -> None:
    decided = request(status="allowed", decision={
        "behavior": "allow", "reason": None, "by": "me", "via": "telegram", "at": 2.0,
        "updated_input": {"command": f"echo {GITHUB}", "answers": {"Which?": "A"}}})
    shared = records.shared_request(decided, "laptop")  # type: ignore[arg-type]
    assert GITHUB not in json.dumps(shared)
    assert shared["decision"]["updated_input"]["answers"] == {"Which?": "A"}
    assert decided["decision"]["updated_input"]["command"] == f"echo {GITHUB}"  # not changed


def test_sessions_lose_their_transcript_threads_and_stop() -> None:
    session = {"id": "s1", "agent": "claude", "status": "active", "cwd": "/p",
               "transcript_path": "/t", "chat": {"telegram": {"chat_id": "1", "thread_id": None}},
               "stop": {"by": "me", "via": "telegram", "at": 1.0}, "model": "opus"}
    shared = records.shared_session(session, "dev-box")  # type: ignore[arg-type]
    assert shared == {"id": "s1", "agent": "claude", "status": "active", "cwd": "/p",
                      "model": "opus", "machine": "dev-box"}


def test_timers_carry_their_machine_and_a_redacted_rule() -> None:
    timer = {"id": "t1", "scope": "bash", "prefix": f"curl -u me:{PASSWORD} *",
             "created_at": 1.0, "expires_at": 2.0, "created_by": "me"}
    shared = records.shared_timer(timer, "ci")  # type: ignore[arg-type]
    assert shared["machine"] == "ci" and PASSWORD not in json.dumps(shared)
    assert shared["id"] == "t1" and "machine" not in timer


@pytest.mark.parametrize("machine", ["devbox", "dev-box-2", "a", "x-1-y"])
def test_fleet_ids_round_trip(machine: str) -> None:
    fid = records.fleet_id("a1b2", machine)
    assert fid == f"a1b2@{machine}"
    assert records.split_id(fid) == ("a1b2", machine)


@pytest.mark.parametrize("bad", ["a1b2", "@devbox", "a1b2@", ""])
def test_a_local_id_is_not_a_fleet_id(bad: str) -> None:
    with pytest.raises(UsageError, match="not a fleet request id"):
        records.split_id(bad)

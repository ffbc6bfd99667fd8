from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tether_hooks import approvals, audit, paths, state, timers
from tether_hooks.errors import NotFound, StoreCorrupt, StoreError, UsageError
from tether_hooks.store import Store

REQ = {"agent": "claude", "event": "PermissionRequest", "session_id": "s1", "cwd": "/p",
       "tool_name": "Bash", "tool_input": {"command": "make"}, "paths": []}


def test_missing_state_reads_as_empty() -> None:
    assert Store().read() == state.empty()


def test_files_are_private(tether_home: Path) -> None:
    Store().add_timer("tool", 60, created_by="me", tool="Bash")
    for p in (paths.state_file(), paths.audit_file() if os.path.exists(paths.audit_file())
              else paths.state_file()):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths.state_dir()).st_mode) == 0o700


def test_newer_schema_is_refused_not_overwritten() -> None:
    os.makedirs(paths.state_dir(), exist_ok=True)
    Path(paths.state_file()).write_text(json.dumps({"schema": 99, "timers": {}}))
    with pytest.raises(StoreError, match="upgrade"):
        Store().add_timer("tool", 60, created_by="me", tool="Bash")
    assert json.loads(Path(paths.state_file()).read_text())["schema"] == 99


def test_corrupt_state_is_an_error_with_the_path_then_moved_aside(capsys) -> None:
    os.makedirs(paths.state_dir(), exist_ok=True)
    Path(paths.state_file()).write_text("{not json")
    with pytest.raises(StoreCorrupt, match="state.json is corrupt"):
        state.load(paths.state_file())
    assert Store().read() == {**state.empty(), "rev": 1}  # one write: the fresh state
    (aside,) = Path(paths.state_dir()).glob("state.json.corrupt-*")
    assert aside.read_text() == "{not json"
    assert f"moved it to {aside}" in capsys.readouterr().err


def test_decide_applies_once_and_is_audited() -> None:
    store = Store()
    record = store.add_request(REQ, timeout=60)
    first, req = store.decide(record["id"], "allow", by="alice", via="cli")
    assert first and req["status"] == "allowed"
    again, req2 = store.decide(record["id"], "deny", by="bob", via="chat")
    assert not again and req2["status"] == "allowed" and req2["decision"]["by"] == "alice"
    entries = audit.read()
    assert [e["status"] for e in entries] == ["allowed"]
    assert entries[0]["by"] == "alice" and entries[0]["input"] == "make"


def test_ids_resolve_by_unique_prefix() -> None:
    store = Store()
    record = store.add_request(REQ, timeout=60)
    ok, _ = store.decide(record["id"][:3], "allow", by="a", via="cli")
    assert ok
    with pytest.raises(NotFound):
        store.decide("zzzz", "allow", by="a", via="cli")


def test_new_timer_allows_pending_requests_it_covers() -> None:
    store = Store()
    bash = store.add_request(REQ, timeout=60)
    write = store.add_request({**REQ, "tool_name": "Write", "tool_input": {}}, timeout=60)
    _, resolved = store.add_timer("tool", 600, created_by="alice", tool="bash")
    assert [r["id"] for r in resolved] == [bash["id"]]
    requests = store.read()["requests"]
    assert requests[bash["id"]]["status"] == "allowed"
    assert requests[bash["id"]]["decision"]["via"] == "timer"
    assert requests[write["id"]]["status"] == "pending"


def test_new_timer_never_allows_never_tools() -> None:
    store = Store()
    ask = store.add_request({**REQ, "tool_name": "AskUserQuestion",
                             "never": ["AskUserQuestion"]}, timeout=60)
    store.add_timer("session", 600, created_by="a", session_id="s1")
    assert store.read()["requests"][ask["id"]]["status"] == "pending"


def test_expired_timers_and_dead_hooks_are_pruned() -> None:
    from tether_hooks.lifecycle import prune

    store = Store()
    store.add_timer("tool", 60, created_by="a", tool="Write")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    record = store.add_request({**REQ, "pid": int(dead)}, timeout=600)
    data = store.read()
    prune(data, now=time.time() + 120)  # two minutes on: the 60 s timer is gone
    assert data["timers"] == {}
    assert data["requests"][record["id"]]["status"] == "abandoned"


def test_bad_timer_arguments_are_usage_errors(tmp_path: Path) -> None:
    store = Store()
    with pytest.raises(UsageError):
        store.add_timer("session", 60, created_by="a")
    with pytest.raises(UsageError):
        store.add_timer("dir", 60, created_by="a", path=str(tmp_path / "missing"))
    with pytest.raises(UsageError):
        store.add_timer("planet", 60, created_by="a")


def test_huge_inputs_are_capped_in_the_shared_state() -> None:
    big = {**REQ, "tool_name": "Write",
           "tool_input": {"file_path": "/p/a", "content": "x" * 5_000_000}}
    record = Store().add_request(big, timeout=60)
    assert record["input_truncated"]
    assert os.path.getsize(paths.state_file()) < 300_000


WORKER = r"""
import sys
from tether_hooks.store import Store
store = Store()
n = int(sys.argv[1])
for i in range(3):
    store.add_timer("tool", 600, created_by=f"w{n}", tool=f"tool{n}_{i}")
"""

READER = r"""
import os, sys
from tether_hooks import paths, state
reads = 0
while not os.path.exists(sys.argv[1]) or reads == 0:
    state.load(paths.state_file())
    reads += 1
print(reads)
"""


def test_64_concurrent_writers_lose_no_update_and_readers_never_see_a_torn_file(
    tmp_path: Path,
) -> None:
    env = dict(os.environ)
    done = tmp_path / "writers-done"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(done)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(n)], env=env,
                                stderr=subprocess.PIPE, text=True) for n in range(64)]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), errors
    done.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err  # a torn read raises StoreError
    assert int(out) > 0
    timers = Store().read()["timers"]
    assert sorted(t["tool"] for t in timers.values()) == sorted(
        f"tool{n}_{i}" for n in range(64) for i in range(3))


def test_a_timer_that_appeared_before_the_request_was_recorded_decides_it() -> None:
    store = Store()
    store.add_timer("tool", 600, created_by="alice", tool="Bash")
    record = store.add_request(REQ, timeout=60)
    assert record["status"] == "allowed" and record["decision"]["via"] == "timer"


def test_timers_judge_the_full_input_never_the_capped_copy(tmp_path: Path) -> None:
    store = Store()
    store.add_timer("dir", 600, created_by="a", path=str(tmp_path))
    sneaky = {**REQ, "cwd": str(tmp_path),
              "tool_input": {"command": "echo " + "A" * 300_000 + " ; cat ~/.ssh/id_rsa"}}
    record = store.add_request(sneaky, timeout=60)
    assert record["input_truncated"] and record["status"] == "pending"
    _, resolved = store.add_timer("dir", 600, created_by="a", path=str(tmp_path))
    assert resolved == []  # a new timer never settles a request it cannot see whole


def test_a_new_timer_leaves_requests_of_dead_hooks_alone() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    store = Store()
    store.add_request({**REQ, "pid": int(dead)}, timeout=60)
    _, resolved = store.add_timer("tool", 600, created_by="a", tool="Bash")
    assert resolved == []


def test_questions_are_never_timed_whatever_the_config_says() -> None:
    from tether_hooks import rules

    timers = {"t": {"id": "t", "scope": "tool", "tool": "*", "expires_at": time.time() + 60}}
    ask = {**REQ, "tool_name": "AskUserQuestion"}
    assert rules.find_timer(timers, ask, time.time(), never=["Bash"]) is None


def test_sessions_and_settled_inputs_are_kept_small() -> None:
    from tether_hooks.lifecycle import MAX_SESSIONS, SETTLED_INPUT_LIMIT, prune

    store = Store()
    big = {**REQ, "tool_input": {"command": "x" * 20_000}}
    record = store.add_request(big, timeout=60)
    store.decide(record["id"], "allow", by="a", via="cli")
    data = store.read()
    now = time.time()
    for n in range(MAX_SESSIONS + 50):
        data["sessions"][f"s{n}"] = {"id": f"s{n}", "last_seen": now - n, "status": "active"}
    prune(data, now)
    assert len(data["requests"][record["id"]]["tool_input"]["command"]) == 20_000  # just settled
    assert len(data["sessions"]) == MAX_SESSIONS and "s0" in data["sessions"]
    prune(data, now + 300)  # its chat copies have long been updated
    kept = json.dumps(data["requests"][record["id"]]["tool_input"])
    assert len(kept) <= SETTLED_INPUT_LIMIT


def test_every_store_write_counts_in_rev() -> None:
    store = Store()
    assert store.read().get("rev") is None  # nothing written yet
    record = store.add_request({"session_id": "s-1", "tool_name": "Bash",
                                "tool_input": {"command": "ls"}}, 60)
    assert store.read()["rev"] == 1
    store.decide(record["id"], "allow", by="me", via="cli")
    assert store.read()["rev"] == 2
    inode = os.stat(store.path).st_ino
    again, _ = store.decide(record["id"], "deny", by="me", via="cli")
    assert not again
    # already decided: nothing changed, so nothing is written and no waiting hook wakes
    assert store.read()["rev"] == 2 and os.stat(store.path).st_ino == inode
    with store.edit():
        pass
    assert store.read()["rev"] == 2 and os.stat(store.path).st_ino == inode
    with store.edit() as data:
        data["sessions"]["s-9"] = {"id": "s-9", "status": "active", "last_seen": time.time()}
    assert store.read()["rev"] == 3 and os.stat(store.path).st_ino != inode


def test_a_decision_and_its_timer_are_one_write() -> None:
    store = Store()
    record = store.add_request({"session_id": "s-1", "tool_name": "Bash",
                                "tool_input": {"command": "ls"}, "pid": os.getpid()}, 60)
    other = store.add_request({"session_id": "s-1", "tool_name": "Bash",
                               "tool_input": {"command": "pwd"}, "pid": os.getpid()}, 60)
    rev = store.read()["rev"]
    draft = timers.draft_like(record, "tool", "30m", created_by="me")
    first, decided, added = store.decide_with_timer(record["id"], "allow", by="me",
                                                    via="cli", timer=draft)
    assert first and decided["status"] == "allowed" and added is not None
    timer, also = added
    assert store.read()["rev"] == rev + 1
    assert store.read()["timers"][timer["id"]]["tool"] == "bash"
    assert [r["id"] for r in also] == [other["id"]]  # the timer covers the other one at once
    assert store.read()["requests"][other["id"]]["status"] == "allowed"
    # a second decision adds no timer either
    again, _, none = store.decide_with_timer(record["id"], "deny", by="me", via="cli",
                                             timer=timers.draft_like(record, "session", "1h",
                                                                     created_by="me"))
    assert not again and none is None and len(store.read()["timers"]) == 1
    assert store.read()["rev"] == rev + 1


def test_approve_with_a_timer_from_the_cli_is_one_write() -> None:
    store = Store()
    record = store.add_request({"session_id": "s-1", "tool_name": "Write",
                                "tool_input": {"file_path": "/tmp/x"}}, 60)
    rev = store.read()["rev"]
    request, timer = approvals.approve(record["id"], by="me", via="cli", duration="10m",
                                     store=store)
    assert request["status"] == "allowed" and timer is not None and timer["tool"] == "write"
    assert store.read()["rev"] == rev + 1

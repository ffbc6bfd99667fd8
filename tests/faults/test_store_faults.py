"""A damaged, unreadable, newer, read-only or full state store: the hook never allows and
says one line, the CLI works (after moving a corrupt file aside) or says one line, nothing
is lost that was stored. Read-only and full disks are real: a tmpfs is mounted (as root)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.hookproc import HookRunner
from harness.waiting import until

from tether_hooks import audit, paths, timers
from tether_hooks.store import Store

PERM = {"session_id": "s-1", "transcript_path": "/t.jsonl", "cwd": "/home/user/proj",
        "hook_event_name": "PermissionRequest", "tool_name": "Bash",
        "tool_input": {"command": "make"}}
LOCAL = {"TETHER_HOOKS_LOCAL_APPROVALS": "1", "TETHER_HOOKS_APPROVAL_TIMEOUT": "0"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], capture_output=True,
                          text=True, timeout=60)


def good_state() -> str:
    """A real state file holding a timer that covers PERM."""
    timers.add("tool", "1h", created_by="test", tool="Bash")
    return Path(paths.state_file()).read_text()


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tether-hooks: "), stderr
    return lines[0]


def deep(n: int) -> str:
    return ('{"schema": 1, "timers": {}, "requests": {"x": {"id": "x", "status": "pending", '
            '"tool_input": ' + "[" * n + "]" * n + "}}}")


CORRUPT = {
    "truncated": lambda good: good[: len(good) // 2],
    "garbage": lambda good: "\x00\xff garbage \ud800".encode("utf-8", "surrogatepass"),
    "nested-5000": lambda good: deep(5000),
    "nested-200": lambda good: deep(200),
    "timers-a-list": lambda good: json.dumps({"schema": 1, "timers": [], "requests": {}}),
    "timer-expires-soon": lambda good: good.replace('"expires_at": ',
                                                    '"expires_at": "soon", "x": '),
    "timer-nan": lambda good: json.dumps({"schema": 1, "timers": {"t1": {
        "id": "t1", "scope": "tool", "tool": "bash", "expires_at": float("nan")}}}),
    "request-a-string": lambda good: json.dumps({"schema": 1, "requests": {"r": "pending"}}),
    "no-schema": lambda good: json.dumps({"timers": json.loads(good)["timers"]}),
    "array": lambda good: "[" + good + "]",
}


def place(kind: str, good: str) -> bytes:
    content = CORRUPT[kind](good)
    data = content if isinstance(content, bytes) else content.encode()
    Path(paths.state_file()).write_bytes(data)
    return data


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_a_corrupt_store_is_set_aside_and_never_an_allow(hook: HookRunner, kind: str) -> None:
    data = place(kind, good_state())
    run = hook.run("claude", PERM)
    assert run.returncode == 0 and run.stdout == ""  # the timer in the damaged file is gone
    line = one_line(run.stderr)
    assert "state file was corrupt" in line and "all timers are gone" in line
    (aside,) = Path(paths.state_dir()).glob("state.json.corrupt-*")
    assert aside.read_bytes() == data and f"moved it to {aside}" in line
    assert [e for e in audit.read() if e.get("event") == "store-reset"][0]["timers_lost"]
    assert hook.run("claude", PERM).stdout == ""  # and stays gone


@pytest.mark.parametrize("kind", ["nested-5000", "truncated", "timers-a-list"])
def test_every_cli_verb_works_on_a_corrupt_store(kind: str) -> None:
    place(kind, good_state())
    revoke = cli("revoke", "--all")
    assert revoke.returncode == 0, revoke.stderr
    assert "warning: the state file was corrupt" in one_line(revoke.stderr)
    for args in (["status"], ["timers"], ["pending"], ["allow-tool", "Read", "--for", "5m"]):
        run = cli(*args)
        assert run.returncode == 0 and run.stderr == "", (args, run.stderr)
    assert len(list(Path(paths.state_dir()).glob("state.json.corrupt-*"))) == 1


@pytest.mark.parametrize("thing", ["directory", "fifo"])
def test_an_unreadable_store_is_set_aside(hook: HookRunner, thing: str) -> None:
    good_state()
    os.unlink(paths.state_file())
    if thing == "directory":
        os.mkdir(paths.state_file())
    else:
        os.mkfifo(paths.state_file())  # opening it must not hang the hook
    run = hook.run("claude", PERM, timeout=30)
    assert run.returncode == 0 and run.stdout == ""
    assert "not a regular file" in one_line(run.stderr)
    assert os.path.isfile(paths.state_file()) or not os.path.exists(paths.state_file())
    assert cli("revoke", "--all").returncode == 0


def test_a_newer_schema_is_refused_not_moved(hook: HookRunner) -> None:
    good = json.loads(good_state())
    newer = json.dumps({**good, "schema": 2})
    Path(paths.state_file()).write_text(newer)
    run = hook.run("claude", PERM)
    assert run.returncode == 0 and run.stdout == ""
    assert "upgrade tether-hooks" in one_line(run.stderr)
    revoke = cli("revoke", "--all")
    assert revoke.returncode == 1 and "upgrade tether-hooks" in one_line(revoke.stderr)
    assert Path(paths.state_file()).read_text() == newer
    assert not list(Path(paths.state_dir()).glob("state.json.corrupt-*"))


@pytest.fixture
def tiny_disk(tether_home: Path) -> Iterator[Path]:
    """The state directory on a real 256 KiB tmpfs (the tests run as root)."""
    state_dir = Path(paths.state_dir())
    state_dir.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                            str(state_dir)], capture_output=True, text=True)
    assert mount.returncode == 0, f"cannot mount a tmpfs (run the tests as root): {mount.stderr}"
    try:
        yield state_dir
    finally:
        subprocess.run(["umount", "-l", str(state_dir)], check=True)


def leftovers(state_dir: Path) -> list[str]:
    return [p.name for p in state_dir.iterdir() if p.name.startswith(".state.json.")]


def test_a_read_only_store(hook: HookRunner, tiny_disk: Path) -> None:
    good = good_state()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    assert hook.run("claude", PERM).output["hookSpecificOutput"]["decision"]["behavior"] == \
        "allow"  # the timer still reads (the audit line cannot be written: it says so)
    other = hook.run("claude", {**PERM, "tool_name": "Write", "tool_input": {}}, LOCAL)
    assert other.returncode == 0 and other.stdout == ""
    assert "Read-only file system; nothing was changed" in one_line(other.stderr)
    add = cli("allow-tool", "Write")
    assert add.returncode == 1 and "Read-only file system" in one_line(add.stderr)
    assert Path(paths.state_file()).read_text() == good and not leftovers(tiny_disk)


def test_a_full_disk(hook: HookRunner, tiny_disk: Path) -> None:
    good = good_state()
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    run = hook.run("claude", {**PERM, "tool_name": "Write", "tool_input": {}}, LOCAL)
    assert run.returncode == 0 and run.stdout == ""
    assert "No space left on device; nothing was changed" in one_line(run.stderr)
    add = cli("allow-tool", "Write")
    assert add.returncode == 1 and "No space left on device" in one_line(add.stderr)
    assert Path(paths.state_file()).read_text() == good and not leftovers(tiny_disk)
    (tiny_disk / "filler").unlink()
    assert cli("allow-tool", "Write").returncode == 0  # room again: it works


def nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [100, 900])
def test_a_poisoned_input_is_not_stored_and_no_timer_allows_it(hook: HookRunner,
                                                               levels: int) -> None:
    cli("allow-all", "--session", "s-1", "--for", "1h")  # would allow anything of s-1
    call = {**PERM, "tool_name": "mcp__srv__tool", "tool_input": {"args": nested(levels)}}
    run = hook.run("claude", call, LOCAL)
    assert run.returncode == 0 and run.stdout == ""
    assert "nested over 64 levels deep" in one_line(run.stderr)
    for args in (["revoke", "--all"], ["status"], ["pending"]):
        result = cli(*args)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert json.loads(Path(paths.state_file()).read_text())["requests"] == {}


def test_a_deep_but_legal_input_is_stored_bounded_and_never_judged_by_a_new_timer(
        hook: HookRunner) -> None:
    call = {**PERM, "tool_name": "mcp__srv__tool", "tool_input": {"args": nested(40)},
            "session_id": "s-2"}
    proc = hook.start("claude", call, {"TETHER_HOOKS_LOCAL_APPROVALS": "1"})
    from harness.hookproc import wait_pending

    (request,) = wait_pending()
    assert request["input_truncated"] and "nested too deep" in json.dumps(request["tool_input"])
    add = cli("allow-all", "--session", "s-2", "--for", "1h")
    assert add.returncode == 0
    assert Store().read()["requests"][request["id"]]["status"] == "pending"  # not judged
    cli("deny", request["id"])
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"


REQ = {"agent": "claude", "event": "PermissionRequest", "session_id": "s-1", "cwd": "/p",
       "tool_name": "Bash", "tool_input": {"command": "make deploy"}, "paths": []}


def decisions_of(request_id: str) -> list[dict]:
    return [e for e in audit.read() if e.get("event") == "decision"
            and e.get("request_id") == request_id]


def test_a_decider_killed_after_recording_is_still_logged_once_by_the_next_writer() -> None:
    """`approve` is stopped for good between its state write and its audit line (the log
    is a FIFO nobody reads: opening it blocks), then killed: the decision stands, and the
    next writer (any CLI verb, the listener, a hook) logs it, once, marked late."""
    store = Store()
    request = store.add_request(REQ, timeout=600)
    log = Path(paths.audit_file())
    os.mkfifo(log, 0o600)
    approve = subprocess.Popen([sys.executable, "-m", "tether_hooks", "approve", request["id"]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # the state write, which comes before the audit line
        until(lambda: approve.poll() is not None
              or store.read()["requests"][request["id"]]["status"] == "allowed",
              timeout=60, what="approve to record its decision")
        assert approve.poll() is None  # stuck on the log, as a kill -9 could catch it
    finally:
        approve.kill()
        approve.wait()
    log.unlink()
    assert decisions_of(request["id"]) == []  # the killed decider never wrote it
    assert cli("allow-tool", "Write").returncode == 0  # the next writer
    [line] = decisions_of(request["id"])
    assert line["status"] == "allowed" and line["via"] == "cli" and line.get("late") is True
    assert line["input"] == "make deploy"
    for verb in (["revoke", "--all"], ["allow-tool", "Read"]):
        assert cli(*verb).returncode == 0
    assert len(decisions_of(request["id"])) == 1  # never logged twice


@pytest.mark.parametrize("writers", [1, 5])
def test_decisions_logged_by_their_writer_are_not_logged_again(writers: int) -> None:
    store = Store()
    ids = []
    for i in range(writers):
        request = store.add_request({**REQ, "session_id": f"s-{i}"}, timeout=600)
        assert cli("approve", request["id"]).returncode == 0
        ids.append(request["id"])
    for verb in (["allow-tool", "Write"], ["revoke", "--all"], ["status"]):
        assert cli(*verb).returncode == 0
    for request_id in ids:
        [line] = decisions_of(request_id)
        assert "late" not in line

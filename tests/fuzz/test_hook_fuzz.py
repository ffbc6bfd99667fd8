"""Fuzz the real hook: at least 500 generated payloads per event (missing and mistyped
fields, huge and deeply nested inputs, lone surrogates, invalid UTF-8, markup), each run as
a real process (a fork of a long-lived ``python -I``, see harness/forkhook.py) plus a
sample as genuine subprocesses of the installed shim. No traceback, exit 0, and never an
allow: the store holds timers, none of which covers a generated call."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from harness.forkhook import ForkHook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether_hooks import installer, state, timers

EVENTS = {
    "claude": ["PermissionRequest", "PreToolUse", "Notification", "Stop", "SessionStart",
               "SessionEnd", "PostToolUse"],
    "codex": ["PermissionRequest", "PreToolUse", "Stop", "SessionStart", "PostToolUse",
              "notify"],
}
CASES = [(agent, event) for agent, events in EVENTS.items() for event in events]
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
PER_EVENT = 500
SAMPLE = 30
TOOLS = ["Bash", "Write", "Edit", "Read", "WebFetch", "mcp__x__y", "apply_patch",
         "AskUserQuestion", "ExitPlanMode", "bash", "\ud800", "<b>x</b>", ""]
WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.integers(min_value=10**300, max_value=10**310),
    st.text(max_size=30), st.sampled_from(["\ud800", "a\udfffb", "<script>x</script>",
                                           "*bold* _it_ `code` [l](http://x)", "\x00\x1b[31m"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
)
DEEP = "@@DEEP@@"


@st.composite
def payloads(draw: st.DrawFn, agent: str, event: str) -> tuple[list[str | bytes], bytes]:
    """(argv, stdin bytes) of one hook call of ``event``, damaged in generated ways."""
    if event == "notify":
        base: dict = {"type": "agent-turn-complete", "thread-id": "t-1", "turn-id": "u-1",
                      "cwd": "/home/user/proj", "last-assistant-message": "done",
                      "input-messages": ["hi"]}
    else:
        base = {"session_id": draw(st.sampled_from(["s-1", "", "\ud800", "x" * 2000])),
                "transcript_path": "/t.jsonl", "cwd": draw(st.sampled_from(
                    ["/home/user/proj", "/", "", "rel", "/tmp/\udcff"])),
                "hook_event_name": event, "permission_mode": "default"}
        if event in ("PermissionRequest", "PreToolUse", "PostToolUse"):
            base["tool_name"] = draw(st.sampled_from(TOOLS))
            base["tool_input"] = draw(st.fixed_dictionaries(
                {}, optional={"command": st.sampled_from(["rm -rf /", "git status", "ls\nrm x",
                                                           "tether-hooks allow-all", "\ud800"]),
                              "file_path": st.sampled_from(["/etc/passwd", "a/../../b", ""]),
                              "content": st.text(max_size=50), "path": st.just("/p"),
                              "plan": st.just("# plan")}))
        if event == "PostToolUse":
            base["tool_response"] = {"ok": True}
            base["duration_ms"] = draw(WEIRD)
        if event == "Notification":
            base["message"], base["notification_type"] = "Claude needs you", "idle_prompt"
        if event == "Stop":
            base["stop_hook_active"] = draw(WEIRD)
            base["last_assistant_message"] = draw(WEIRD)
    for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "retype", "deep", "huge"]))
        if action == "drop":
            del base[key]
        elif action == "retype":
            base[key] = draw(WEIRD)
        elif action == "deep":
            base[key] = DEEP
        else:
            # past the stored-input cap; a notify argument stays under Linux's 128 KiB
            size = (10_000, 30_000) if event == "notify" else (66_000, 100_000)
            base[key] = "<i>" + "A" * draw(st.integers(*size))
    if draw(st.booleans()) and isinstance(base.get("tool_input"), dict):
        base["tool_input"]["nested"] = DEEP
    text = json.dumps(base)  # lone surrogates become \ud800 escapes
    depth = draw(st.sampled_from([20, 65, 500, 990, 1200, 5000]))
    text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth)
    data = text.encode()
    damage = draw(st.sampled_from(["none"] * 6 + ["bytes", "truncate", "array", "empty"]))
    if damage == "bytes":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\xff\xfe\xc3(" + data[cut:]
    elif damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "array":
        data = b"[" + data + b"]"
    elif damage == "empty":
        data = b""
    if event == "notify":
        return ["codex", "notify", data], b""  # argv takes the raw bytes
    return [agent], data


def check(rc: int, stdout: str, stderr: str) -> None:
    assert rc == 0, stderr
    assert "Traceback" not in stderr and "Error:" not in stderr.split("tether-hooks:")[0]
    lines = stderr.splitlines()
    assert len(lines) <= 2 and all(line.startswith("tether-hooks: ") for line in lines), stderr
    if stdout.strip():
        out = json.loads(stdout)
        spec = out.get("hookSpecificOutput") or {}
        assert (spec.get("decision") or {}).get("behavior") != "allow", stdout
        assert spec.get("permissionDecision") != "allow", stdout


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A home whose store holds four timers that no generated call can match."""
    # on tmpfs when there is one: each stored request is fsynced twice
    home = Path(tempfile.mkdtemp(prefix="fuzz-", dir="/dev/shm" if os.access(
        "/dev/shm", os.W_OK) else tmp_path_factory.getbasetemp()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(TETHER_HOOKS_HOME=str(home), HOME=str(home))
    (home / "config.toml").write_text(
        'local_approvals = true\napproval_timeout = 0\non_timeout = "ask"\n')
    project = home / "never-a-cwd"
    project.mkdir()
    old = os.environ.get("TETHER_HOOKS_HOME")
    os.environ["TETHER_HOOKS_HOME"] = str(home)
    try:
        timers.add("tool", "1d", created_by="fuzz", tool="NoSuchToolFuzz")
        timers.add("bash", "1d", created_by="fuzz", prefix="fuzz-never-typed*")
        timers.add("session", "1d", created_by="fuzz", session_id="fuzz-timer-session")
        timers.add("dir", "1d", created_by="fuzz", path=str(project))
        env["SHIM"] = installer.write_shim()
    finally:
        if old is None:
            os.environ.pop("TETHER_HOOKS_HOME")
        else:
            os.environ["TETHER_HOOKS_HOME"] = old
    return env


def store_intact(env: dict[str, str]) -> None:
    data = state.load(os.path.join(env["TETHER_HOOKS_HOME"], "state", "state.json"))
    assert len(data["timers"]) == 4


COUNTS: dict[str, int] = {}


@pytest.mark.parametrize(("agent", "event"), CASES)
def test_generated_payloads_never_crash_nor_allow(fuzz_home: dict[str, str], agent: str,
                                                  event: str) -> None:
    server = ForkHook({k: v for k, v in fuzz_home.items() if k != "SHIM"})
    tried = []

    @settings(max_examples=PER_EVENT, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(payloads(agent, event))
    def run(call: tuple[list[str | bytes], bytes]) -> None:
        result = server.run(*call)
        tried.append(1)
        check(result.rc, result.stdout, result.stderr)

    try:
        run()
    finally:
        server.close()
    assert len(tried) >= PER_EVENT
    COUNTS[f"{agent}:{event}"] = len(tried)
    store_intact(fuzz_home)


@pytest.mark.parametrize(("agent", "event"), CASES)
def test_a_sample_as_genuine_subprocesses(fuzz_home: dict[str, str], agent: str,
                                          event: str) -> None:
    env = {k: v for k, v in fuzz_home.items() if k != "SHIM"}
    tried = []

    @settings(max_examples=SAMPLE, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(payloads(agent, event))
    def run(call: tuple[list[str | bytes], bytes]) -> None:
        argv, data = call
        proc = subprocess.run([fuzz_home["SHIM"], *argv], input=data, capture_output=True,
                              env=env, timeout=60)
        tried.append(1)
        check(proc.returncode, proc.stdout.decode("utf-8", "replace"),
              proc.stderr.decode("utf-8", "replace"))

    run()
    assert len(tried) >= SAMPLE
    store_intact(fuzz_home)


def test_the_cli_still_works_after_the_fuzz(fuzz_home: dict[str, str]) -> None:
    env = {k: v for k, v in fuzz_home.items() if k != "SHIM"}
    for args in (["status"], ["pending"], ["log"], ["status", "--json"], ["revoke", "--all"],
                 ["timers"]):
        run = subprocess.run([str(Path(os.sys.executable)), "-m", "tether_hooks", *args],
                             capture_output=True, text=True, env=env, timeout=60)
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert state.load(os.path.join(env["TETHER_HOOKS_HOME"], "state", "state.json"))[
        "timers"] == {}

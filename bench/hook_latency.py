#!/usr/bin/env python3
"""How much does the hook cost per tool call, against bare interpreter start-up?

Builds a clean venv under .bench/ with a regular (non-editable) install of this checkout,
then times, interleaved in shuffled rounds:

  floor   the hook's own interpreter: python -I -c 'import json,sys; json.load(sys.stdin)'
  bare    the same, ending in os._exit(0) as the hook does (no interpreter teardown): the
          floor for what the hook itself costs (shown, not the target)
  timer   the installed hook, a PermissionRequest that a live timer allows (the fast path)
  quiet   the installed hook, a PermissionRequest nothing decides (no platform: no output)
  busy    the timer path with a well-used store: 100 settled requests (the most kept),
          20 timers, 30 sessions
  shared  (--shared) the timer path with a [shared] table in config.toml: its redis_url is
          a socket this bench holds open and never answers; the hook must not touch it
          (checked: no connection reached it), nor import a Redis client (none is installed)

each fed the same real payload on stdin, and prints medians and ratios to the floor.
Usage: python bench/hook_latency.py [--rounds 40] [--shared]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench" / "venv"
PAYLOAD = ROOT / "tests" / "payloads" / "claude" / "PermissionRequest-Bash.json"


BUSY = """
from tether_hooks.store import Store
store = Store()
for n in range(20):
    store.add_timer("tool", 7200, created_by="bench", tool=f"mcp__srv__tool{n}")
for n in range(230):
    record = store.add_request({"agent": "claude", "event": "PermissionRequest",
        "session_id": f"s-{n % 30}", "cwd": "/home/user/proj", "tool_name": "Write",
        "tool_input": {"file_path": f"/home/user/proj/f{n}.py", "content": "x = 1\\n" * 400},
        "paths": []}, timeout=300)
    store.decide(record["id"], "allow", by="bench", via="cli")
with store.edit() as data:  # decided a while ago: the steady state the hook sees
    for request in data["requests"].values():
        request["decision"]["at"] -= 600
print(len(store.read()["requests"]), "requests kept")
"""


def venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "click", "httpx", "filelock",
                        "platformdirs"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                    str(ROOT)], check=True, cwd=tempfile.gettempdir())
    return python


def silent_redis() -> socket.socket:
    """A listening socket on 127.0.0.1 that accepts nothing: a Redis URL the hook must ignore."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    return sock


def was_reached(sock: socket.socket) -> bool:
    """Whether any connection reached ``sock`` (completed connections wait in its backlog)."""
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def run_once(argv: list[str], stdin: bytes, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter_ns()
    proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.decode()}")
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--shared", action="store_true",
                        help="also time the timer path with [shared] configured")
    args = parser.parse_args()

    python = venv_python()
    payload = PAYLOAD.read_bytes()
    names = ("t", "q", "b", "s") if args.shared else ("t", "q", "b")
    homes = {name: Path(tempfile.mkdtemp(prefix=f"th-bench-{name}-")) for name in names}
    redis = silent_redis() if args.shared else None
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(homes["t"])}
    tool = json.loads(payload)["tool_name"]
    shims = {}
    for name, home in homes.items():
        env = {**base_env, "TETHER_HOOKS_HOME": str(home)}
        script = "from tether_hooks import installer; print(installer.write_shim())"
        shims[name] = subprocess.run([str(python), "-c", script], env=env, check=True,
                                     capture_output=True, text=True).stdout.strip()
        if name in ("t", "b", "s"):
            subprocess.run([str(VENV / "bin" / "tether-hooks"), "allow-tool", tool, "--for", "2h"],
                           env=env, check=True, capture_output=True)
        if name == "b":
            subprocess.run([str(python), "-c", BUSY], env=env, check=True)
        if name == "s" and redis is not None:  # after the timer: the CLI may use [shared]
            port = redis.getsockname()[1]
            (home / "config.toml").write_text(
                f'[shared]\nredis_url = "redis://tether:bench-password@127.0.0.1:{port}/0"\n'
                'machine = "bench"\n')
    subjects = {
        "floor": ([str(python), "-I", "-c", "import json,sys; json.load(sys.stdin)"], base_env),
        "bare": ([str(python), "-I", "-c",
                  "import json,os,sys; json.load(sys.stdin); os._exit(0)"], base_env),
        "timer": ([shims["t"], "claude"], {**base_env, "TETHER_HOOKS_HOME": str(homes["t"])}),
        "quiet": ([shims["q"], "claude"], {**base_env, "TETHER_HOOKS_HOME": str(homes["q"])}),
        "busy": ([shims["b"], "claude"], {**base_env, "TETHER_HOOKS_HOME": str(homes["b"])}),
    }
    if args.shared:
        subjects["shared"] = ([shims["s"], "claude"],
                              {**base_env, "TETHER_HOOKS_HOME": str(homes["s"])})
        _, out = run_once(*subjects["shared"][:1], payload, subjects["shared"][1])
        assert b'"allow"' in out, f"the timer path with [shared] did not allow: {out!r}"
    _, out = run_once(*subjects["timer"][:1], payload, subjects["timer"][1])
    assert b'"allow"' in out, f"the timer path did not allow: {out!r}"
    _, out = run_once(*subjects["quiet"][:1], payload, subjects["quiet"][1])
    assert out == b"", f"the quiet path printed: {out!r}"

    samples: dict[str, list[float]] = {name: [] for name in subjects}
    rng = random.Random(7)
    order = list(subjects)
    for round_no in range(args.warmup + args.rounds):
        rng.shuffle(order)
        for name in order:
            argv, env = subjects[name]
            elapsed, _ = run_once(argv, payload, env)
            if round_no >= args.warmup:
                samples[name].append(elapsed)
    for home in homes.values():
        shutil.rmtree(home, ignore_errors=True)
    if redis is not None:
        assert not was_reached(redis), "a hook connected to the [shared] Redis URL"
        redis.close()

    floor = statistics.median(samples["floor"])
    print(f"python: {python} ({sys.version.split()[0]}), {args.rounds} interleaved rounds, "
          f"payload {PAYLOAD.name} ({len(payload)} bytes)")
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:>6}: median {med:6.1f} ms  p90 {p90:6.1f} ms  min {min(values):6.1f} ms  "
              f"ratio {med / floor:.2f}x")
    bare = statistics.median(samples["bare"])
    for name in [n for n in ("timer", "quiet", "busy", "shared") if n in samples]:
        print(f"{name:>6}: {statistics.median(samples[name]) / bare:.2f}x the bare start "
              f"without teardown")
    print(f"hook fast path (timer allows): {statistics.median(samples['timer']) / floor:.2f}x "
          f"the interpreter floor (target <= 1.10x)")
    if args.shared:
        print(f"hook fast path with [shared]: {statistics.median(samples['shared']) / floor:.2f}x "
              f"the interpreter floor (without: {statistics.median(samples['timer']) / floor:.2f}x;"
              f" no connection reached its Redis URL)")


if __name__ == "__main__":
    main()

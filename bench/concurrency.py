#!/usr/bin/env python3
"""Many sessions at once: do concurrent hooks and deciders lose an update?

Runs CALLS real hook processes (the installed ``tether-hook`` shim, PermissionRequest
payloads) from WORKERS threads, spread over SESSIONS sessions, in a fresh
TETHER_HOOKS_HOME. About half the calls hit a live Bash timer (the fast path); the others
wait until a concurrent decider settles them: most through the store API (what the
listener does for a chat button), every tenth with the ``tether-hooks approve`` / ``deny``
CLI. Even-numbered calls are allowed, odd ones denied.

Lost updates (must be 0) counts: a hook whose answer is not the decision made for it, a
request decided twice or never, an audit line missing or doubled, a session not recorded.
Latencies are wall time per hook process (spawn to exit); decided calls include the
decider's reaction. It prints a report (``--json`` for a machine) and asserts no timing;
it exits 1 when an update was lost.

Usage: python bench/concurrency.py [--sessions 64] [--calls 2000] [--workers 32]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _figures(values: list[float]) -> dict:
    p50, p99 = _pct(values, 0.50), _pct(values, 0.99)
    return {"count": len(values), "p50_ms": round(p50 * 1000, 1),
            "p99_ms": round(p99 * 1000, 1), "p99_over_p50": round(p99 / p50, 2) if p50 else 0}


def run(sessions: int, calls: int, workers: int, seed: int = 7) -> dict:
    home = tempfile.mkdtemp(prefix="tether-bench-")
    os.environ["TETHER_HOOKS_HOME"] = home
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write('local_approvals = true\napproval_timeout = 300\non_timeout = "ask"\n')
    from tether_hooks import audit, installer, timers
    from tether_hooks.store import Store

    shim = installer.write_shim()
    timers.add("bash", "1h", created_by="bench", prefix="echo hit*")
    rng = random.Random(seed)
    plan = []
    for n in range(calls):
        kind = "timer" if rng.random() < 0.5 else "decide"
        command = f"echo hit {n}" if kind == "timer" else f"make target-{n}"
        plan.append((n, f"bench-session-{n % sessions}", kind, command))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # call number -> (behavior, request id): request ids are short and reused once pruned
    decided: dict[int, tuple[str, str]] = {}
    twice: list[str] = []
    refused: list[str] = []  # a CLI decision that failed with an error (retried)
    done = threading.Event()

    def decider() -> None:
        store = Store()
        while not done.is_set():
            for rid, request in store.read()["requests"].items():
                if request.get("status") != "pending":
                    continue
                n = int(str(request["tool_input"]["command"]).rsplit("-", 1)[1])
                if n in decided:
                    continue
                behavior = "allow" if n % 2 == 0 else "deny"
                if n % 10 == 0 or n % 10 == 5:
                    args = ["approve", rid] if behavior == "allow" else [
                        "deny", rid, "--reason", f"no {n}"]
                    cli = subprocess.run([sys.executable, "-m", "tether_hooks", *args],
                                         capture_output=True, text=True, env=env)
                    if cli.returncode != 0 and "already" not in cli.stderr:
                        refused.append(cli.stderr.strip())  # e.g. the lock was busy: retry
                        continue
                    first = cli.returncode == 0
                else:
                    first, _ = store.decide(rid, behavior, by="bench", via="bench",
                                            reason=None if behavior == "allow" else f"no {n}")
                if not first:
                    twice.append(rid)
                decided[n] = (behavior, rid)
            time.sleep(0.002)

    def call(item: tuple[int, str, str, str]) -> dict:
        n, session, kind, command = item
        payload = {"session_id": session, "transcript_path": "/t.jsonl",
                   "cwd": "/home/user/proj", "permission_mode": "default",
                   "hook_event_name": "PermissionRequest", "tool_name": "Bash",
                   "tool_input": {"command": command, "description": "bench"}}
        started = time.perf_counter()
        proc = subprocess.run([shim, "claude"], input=json.dumps(payload).encode(),
                              capture_output=True, env=env, timeout=600)
        took = time.perf_counter() - started
        out = json.loads(proc.stdout) if proc.stdout.strip() else {}
        behavior = ((out.get("hookSpecificOutput") or {}).get("decision") or {}).get("behavior")
        want = "allow" if kind == "timer" or n % 2 == 0 else "deny"
        ok = proc.returncode == 0 and not proc.stderr and behavior == want
        return {"n": n, "kind": kind, "seconds": took, "ok": ok,
                "problem": None if ok else (proc.returncode, proc.stdout, proc.stderr)}

    thread = threading.Thread(target=decider, daemon=True)
    thread.start()
    began = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(call, plan))
    wall = time.perf_counter() - began
    done.set()
    thread.join()

    entries = [e for e in audit.read() if e.get("event") == "decision"]
    per_request: dict[str, int] = {}  # by the call's command (ids are reused)
    for entry in entries:
        if entry.get("request_id"):
            per_request[entry["input"]] = per_request.get(entry["input"], 0) + 1
    data = Store().read()
    wanted_sessions = {s for _, s, kind, _ in plan if kind == "decide"}
    lost = {
        "wrong_answers": sum(not r["ok"] for r in results),
        "decided_twice": len(twice) + sum(c > 1 for c in per_request.values()),
        "never_decided": sum(r.get("status") == "pending" for r in data["requests"].values())
        + (sum(k == "decide" for _, _, k, _ in plan) - len(decided)),
        "audit_lines_off": abs(len(entries) - calls),
        "sessions_missing": len(wanted_sessions - set(data["sessions"])),
    }
    shutil.rmtree(home, ignore_errors=True)
    return {
        "sessions": sessions, "calls": calls, "workers": workers,
        "timer_hits": sum(k == "timer" for _, _, k, _ in plan),
        "decisions": len(decided),
        "decided_by_cli": sum(1 for n in decided if n % 10 in (0, 5)),
        "audit_lines": len(entries),
        "cli_errors_retried": len(refused),
        "first_cli_error": refused[0] if refused else None,
        "lost_updates": sum(lost.values()),
        "lost_detail": lost,
        "problems": [r["problem"] for r in results if r["problem"]][:5],
        "wall_seconds": round(wall, 2),
        "calls_per_second": round(calls / wall, 1),
        "latency_all": _figures([r["seconds"] for r in results]),
        "latency_timer": _figures([r["seconds"] for r in results if r["kind"] == "timer"]),
        "latency_decided": _figures([r["seconds"] for r in results if r["kind"] == "decide"]),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.sessions, args.calls, args.workers)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['calls']} hook calls, {report['sessions']} sessions, "
              f"{report['workers']} workers, {report['cpus']} CPUs, python {report['python']}")
        print(f"  timer hits {report['timer_hits']}, decisions {report['decisions']} "
              f"({report['decided_by_cli']} by the CLI), audit lines {report['audit_lines']}")
        print(f"  lost updates: {report['lost_updates']} {report['lost_detail']}")
        if report["cli_errors_retried"]:
            print(f"  CLI decisions that failed and were retried: "
                  f"{report['cli_errors_retried']} (first: {report['first_cli_error']})")
        for name in ("all", "timer", "decided"):
            f = report[f"latency_{name}"]
            print(f"  {name:8} n={f['count']:5}  p50 {f['p50_ms']:7.1f} ms  "
                  f"p99 {f['p99_ms']:7.1f} ms  p99/p50 {f['p99_over_p50']}")
        print(f"  wall {report['wall_seconds']} s, {report['calls_per_second']} calls/s")
        for problem in report["problems"]:
            print(f"  problem: {problem}")
    return 1 if report["lost_updates"] else 0


if __name__ == "__main__":
    sys.exit(main())

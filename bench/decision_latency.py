#!/usr/bin/env python3
"""How fast does a waiting hook see a decision? From ``decide()`` returning to the hook's exit.

Starts the hook (local approvals on) with a real PermissionRequest payload, waits until its
request is pending, then times approvals.approve() returning → the hook's answer read and
its process exited (interpreter teardown included). Median of --rounds runs (default 30).
Target: within 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "tests" / "payloads" / "claude" / "PermissionRequest-Bash.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    os.environ["TETHER_HOOKS_HOME"] = tempfile.mkdtemp(prefix="th-bench-decision-")
    os.environ["TETHER_HOOKS_LOCAL_APPROVALS"] = "1"
    from tether_hooks import approvals, installer
    from tether_hooks.store import Store

    shim = installer.write_shim()
    payload = PAYLOAD.read_bytes()
    store = Store()
    samples = []
    for _ in range(args.rounds):
        proc = subprocess.Popen([shim, "claude"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
        while True:
            waiting = [r for r in store.read()["requests"].values() if r["status"] == "pending"]
            if waiting:
                break
            time.sleep(0.002)
        approvals.approve(waiting[0]["id"], by="bench", via="cli", store=store)
        start = time.perf_counter()
        out = proc.stdout.read() if proc.stdout else b""
        proc.wait()
        samples.append((time.perf_counter() - start) * 1000)
        assert b'"allow"' in out, out
    med = statistics.median(samples)
    p90 = sorted(samples)[int(0.9 * (len(samples) - 1))]
    print(f"decision seen by the waiting hook: median {med:.1f} ms, p90 {p90:.1f} ms, "
          f"max {max(samples):.1f} ms over {args.rounds} runs (target <= 50 ms)")


if __name__ == "__main__":
    main()

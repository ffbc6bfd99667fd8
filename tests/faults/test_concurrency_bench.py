"""bench/concurrency.py, run small so it cannot rot: no update lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "concurrency.py"


def test_the_concurrency_bench_loses_no_update() -> None:
    run = subprocess.run([sys.executable, str(BENCH), "--sessions", "4", "--calls", "40",
                          "--workers", "8", "--json"], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["lost_updates"] == 0, report["lost_detail"]
    assert report["audit_lines"] == report["calls"] == 40
    assert report["timer_hits"] + report["decisions"] == 40 and report["decisions"] > 0
    assert report["decided_by_cli"] > 0

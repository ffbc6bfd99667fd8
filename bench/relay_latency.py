"""How long from a button press to the waiting hook's decision, against the Telegram emulator.

    .venv/bin/python bench/relay_latency.py [--runs 25]

Each run starts a hook process (PermissionRequest) with a running listener whose real
TelegramBridge polls the emulator, waits for the request message, makes sure the
listener's long poll is open, then presses Allow. Measured: from the press being queued
(the open getUpdates answers at once) to the hook process exiting with the allow.

Reference, the emulator's own round trip: the same press delivered to a bare long poll
(httpx, on a second emulator) until its response is read. The figure is the median of
both, their difference (target: <= 10 ms) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TOKEN = "7000000001:AAHtether-hooks_bench-token-0123456"
USER = 4242001


def _emulator():  # noqa: ANN202
    from emulators.telegram import TelegramEmulator

    emu = TelegramEmulator(TOKEN).start()
    emu.create_private_chat(USER, "Alice", "alice")
    emu.default_user_id = USER
    return emu


def _payload(n: int) -> bytes:
    return json.dumps({
        "session_id": "bench", "cwd": "/tmp", "hook_event_name": "PermissionRequest",
        "tool_name": "Bash", "tool_input": {"command": f"echo bench {n}"},
    }).encode()


def relay_runs(runs: int) -> list[float]:
    """Milliseconds from the press to the hook's exit, one per run."""
    from tether_hooks import installer
    from tether_hooks.listener import daemon

    emu = _emulator()
    home = Path(os.environ["TETHER_HOOKS_HOME"])
    (home / "config.toml").write_text(
        f'[telegram]\nbot_token = "{TOKEN}"\nchat_id = {USER}\n'
        f'allowed_user_ids = [{USER}]\napi_base = "{emu.base_url}"\npoll_timeout = 5\n')
    shim = installer.write_shim()
    daemon.start()
    results = []
    try:
        for n in range(runs + 2):  # two warm-up runs
            proc = subprocess.Popen([shim, "claude"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert proc.stdin is not None
            proc.stdin.write(_payload(n))
            proc.stdin.close()
            msg = emu.wait_for_message(
                lambda m, n=n: f"echo bench {n}" in (m.text or "") and bool(m.buttons),
                chat_id=USER, timeout=30)
            emu.wait_for_poll(timeout=10)
            exited = threading.Event()
            ended: list[float] = []

            def wait(p: subprocess.Popen = proc, e: threading.Event = exited,
                     out: list[float] = ended) -> None:
                p.wait()
                out.append(time.perf_counter())
                e.set()

            threading.Thread(target=wait, daemon=True).start()
            began = time.perf_counter()
            emu.press(msg, "✅ Allow")
            if not exited.wait(30):
                raise RuntimeError("the hook did not exit after the press")
            out = proc.stdout.read().decode() if proc.stdout else ""
            if '"allow"' not in out:
                raise RuntimeError(f"unexpected hook output: {out!r}")
            if n >= 2:
                results.append((ended[0] - began) * 1000)
    finally:
        daemon.stop()
        emu.stop()
    return results


def emulator_rtt(runs: int) -> list[float]:
    """Milliseconds from queuing a press to a bare long poll reading it."""
    import httpx

    emu = _emulator()
    msg_id = emu.send_text(USER, "x").message_id  # something to press on
    results = []
    offset = 0
    try:
        with httpx.Client(base_url=f"{emu.base_url}{TOKEN}", timeout=15) as client:
            queued = client.post("/getUpdates", json={"timeout": 0}).json()["result"]
            offset = queued[-1]["update_id"] + 1 if queued else 0
            for _ in range(runs + 2):
                box: list[float] = []
                done = threading.Event()

                def poll(o: int = offset, out: list[float] = box,
                         e: threading.Event = done) -> None:
                    r = client.post("/getUpdates", json={"offset": o, "timeout": 10})
                    out.append(time.perf_counter())
                    out.append(r.json()["result"][-1]["update_id"])
                    e.set()

                threading.Thread(target=poll, daemon=True).start()
                emu.wait_for_poll(timeout=10)
                began = time.perf_counter()
                emu.press(msg_id, "data", chat_id=USER, force=True)
                if not done.wait(15):
                    raise RuntimeError("the bare long poll got nothing")
                offset = int(box[1]) + 1
                results.append((box[0] - began) * 1000)
    finally:
        emu.stop()
    return results[2:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as home:
        os.environ["TETHER_HOOKS_HOME"] = home
        relay = relay_runs(args.runs)
        rtt = emulator_rtt(args.runs)
    relay_ms, rtt_ms = statistics.median(relay), statistics.median(rtt)
    print(f"relay latency (press -> hook exit): median {relay_ms:.1f} ms over {len(relay)} runs "
          f"(p90 {sorted(relay)[int(len(relay) * 0.9) - 1]:.1f} ms)")
    print(f"emulator round trip (press -> bare long poll): median {rtt_ms:.1f} ms "
          f"over {len(rtt)} runs")
    over = relay_ms - rtt_ms
    print(f"overhead above the emulator: {over:.1f} ms (target <= 10 ms: "
          f"{'met' if over <= 10 else 'MISSED'}); ratio {relay_ms / rtt_ms:.1f}x")
    return 0 if over <= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())

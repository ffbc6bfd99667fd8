"""How long from a button press to the waiting hook's decision, against the Telegram and
the Slack emulators.

    .venv/bin/python bench/relay_latency.py [--runs 25] [--platform telegram|slack|both]

Each run starts a hook process (PermissionRequest) with a running listener whose real
TelegramBridge polls the emulator, waits for the request message, makes sure the
listener's long poll is open, then presses Allow. Measured: from the press being queued
(the open getUpdates answers at once) to the hook process exiting with the allow.

Reference, the emulator's own round trip: the same press delivered to a bare long poll
(httpx, on a second emulator) until its response is read. The figure is the median of
both, their difference (target: <= 10 ms) and their ratio.

Slack, the same way: the listener's real SlackBridge on the emulator's Socket Mode socket;
measured from the click's envelope being queued to the hook's exit. Its reference: a bare
WebSocket client (aiohttp) on a second emulator, from the click to the envelope read.
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
from collections.abc import Callable
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
            proc = start_hook(shim, n)
            msg = emu.wait_for_message(
                lambda m, n=n: f"echo bench {n}" in (m.text or "") and bool(m.buttons),
                chat_id=USER, timeout=30)
            emu.wait_for_poll(timeout=10)
            took = _hook_exit_ms(proc, lambda msg=msg: emu.press(msg, "✅ Allow"))
            if n >= 2:
                results.append(took)
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


SLACK_USER, SLACK_CHANNEL = "U0ALICE001", "C0APPROVAL"


def _slack_emulator():  # noqa: ANN202
    from emulators.slack import SlackEmulator

    emu = SlackEmulator().start()
    emu.add_user(SLACK_USER, "alice", "Alice")
    emu.create_channel("approvals", channel_id=SLACK_CHANNEL)
    emu.default_user_id = SLACK_USER
    return emu


def _hook_exit_ms(proc: subprocess.Popen, act: Callable[[], object]) -> float:
    """Milliseconds from ``act()`` (the press) to ``proc`` exiting with an allow."""
    exited = threading.Event()
    ended: list[float] = []

    def wait() -> None:
        proc.wait()
        ended.append(time.perf_counter())
        exited.set()

    threading.Thread(target=wait, daemon=True).start()
    began = time.perf_counter()
    act()
    if not exited.wait(30):
        raise RuntimeError("the hook did not exit after the press")
    out = proc.stdout.read().decode() if proc.stdout else ""
    if '"allow"' not in out:
        raise RuntimeError(f"unexpected hook output: {out!r}")
    return (ended[0] - began) * 1000


def start_hook(shim: str, n: int) -> subprocess.Popen:
    """A hook process asking to run ``echo bench <n>`` (also used by discord_reading)."""
    proc = subprocess.Popen([shim, "claude"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(_payload(n))
    proc.stdin.close()
    return proc


def slack_runs(runs: int) -> list[float]:
    """Milliseconds from a Slack click to the hook's exit, one per run."""
    from harness.slack import button_id, section_text

    from tether_hooks import installer
    from tether_hooks.listener import daemon

    emu = _slack_emulator()
    home = Path(os.environ["TETHER_HOOKS_HOME"])
    (home / "config.toml").write_text(
        f'[slack]\nbot_token = "{emu.bot_token}"\napp_token = "{emu.app_token}"\n'
        f'channel_id = "{SLACK_CHANNEL}"\nallowed_user_ids = ["{SLACK_USER}"]\n'
        f'api_base = "{emu.base_url}"\n')
    shim = installer.write_shim()
    daemon.start()
    results = []
    try:
        emu.wait_for_connection(timeout=30)
        for n in range(runs + 2):  # two warm-up runs
            proc = start_hook(shim, n)
            msg = emu.wait_for_message(
                lambda m, n=n: f"echo bench {n}" in section_text(m) and bool(m.buttons()),
                channel=SLACK_CHANNEL, timeout=30)
            took = _hook_exit_ms(proc, lambda msg=msg: emu.click(
                SLACK_CHANNEL, msg.ts, button_id(msg, "✅ Allow"), SLACK_USER))
            if n >= 2:
                results.append(took)
    finally:
        daemon.stop()
        emu.stop()
    return results


def slack_rtt(runs: int) -> list[float]:
    """Milliseconds from a click to a bare Socket Mode client reading its envelope."""
    import asyncio

    import aiohttp
    import httpx

    emu = _slack_emulator()
    posted = httpx.post(f"{emu.base_url}chat.postMessage", timeout=10,
                        headers={"Authorization": f"Bearer {emu.bot_token}"},
                        json={"channel": SLACK_CHANNEL, "text": "x"}).json()
    url = httpx.post(f"{emu.base_url}apps.connections.open", timeout=10,
                     headers={"Authorization": f"Bearer {emu.app_token}"}).json()["url"]

    async def measure() -> list[float]:
        out = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.receive_json()  # hello
            for _ in range(runs + 2):
                began = time.perf_counter()
                await asyncio.to_thread(emu.click, SLACK_CHANNEL, posted["ts"], "a",
                                        SLACK_USER, force=True)
                envelope = await ws.receive_json()
                out.append((time.perf_counter() - began) * 1000)
                await ws.send_json({"envelope_id": envelope["envelope_id"]})
        return out[2:]

    try:
        return asyncio.run(measure())
    finally:
        emu.stop()


def report(name: str, relay: list[float], rtt: list[float]) -> bool:
    relay_ms, rtt_ms = statistics.median(relay), statistics.median(rtt)
    print(f"{name} relay latency (press -> hook exit): median {relay_ms:.1f} ms over "
          f"{len(relay)} runs (p90 {sorted(relay)[int(len(relay) * 0.9) - 1]:.1f} ms)")
    print(f"{name} emulator round trip (press -> bare client): median {rtt_ms:.1f} ms "
          f"over {len(rtt)} runs")
    over = relay_ms - rtt_ms
    print(f"{name} overhead above the emulator: {over:.1f} ms (target <= 10 ms: "
          f"{'met' if over <= 10 else 'MISSED'}); ratio {relay_ms / rtt_ms:.1f}x")
    return over <= 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--platform", choices=("telegram", "slack", "both"), default="both")
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    met = True
    for name, runs, rtts in (("telegram", relay_runs, emulator_rtt),
                             ("slack", slack_runs, slack_rtt)):
        if args.platform not in (name, "both"):
            continue
        with tempfile.TemporaryDirectory(prefix="tether-bench-") as home:
            os.environ["TETHER_HOOKS_HOME"] = home
            relay = runs(args.runs)
            rtt = rtts(args.runs)
        met = report(name, relay, rtt) and met
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What Discord costs: the decision latency while a request waits, and the API calls per
minute while idle and while one request waits, against the Discord emulator.

    .venv/bin/python bench/discord_reading.py [--runs 15] [--window 60]

Latency: a hook process (PermissionRequest) with a running listener whose real
DiscordBridge reads the emulator; once the request's reactions are seeded, an allowed
user's ✅ is added at the emulator, measured until the hook exits with the allow. Discord
pushes nothing over REST, so the figure is bounded by ``poll_pending`` (1 s): the
reference printed beside it is half that interval (a reaction lands, on average, half an
interval before the next read), and the ratio is against it.

Calls: the emulator's log of every call the listener made (webhook and bot) over
``--window`` seconds with nothing pending, then with one request pending.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from relay_latency import start_hook  # noqa: E402  (bench/ is on sys.path: the script's dir)

POLL_PENDING = 1.0


def _request(emu, n: int) -> dict:  # noqa: ANN001
    """The request message of run ``n`` once the bot seeded its four reactions."""
    def seeded() -> dict | None:
        for message in emu.messages():
            text = json.dumps(message.get("embeds"), ensure_ascii=False)
            if f"echo bench {n}" in text and len(emu.reactions(message["id"])) >= 3:
                return message
        return None
    return emu.wait_until(seeded, timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    from emulators.discord import DiscordEmulator

    from tether_hooks import installer
    from tether_hooks.listener import daemon

    with tempfile.TemporaryDirectory(prefix="tether-bench-") as home, \
            DiscordEmulator(message_content_intent=True) as emu:
        os.environ["TETHER_HOOKS_HOME"] = home
        alice = emu.add_user(username="alice")
        (Path(home) / "config.toml").write_text(
            f'approval_timeout = 600\n[discord]\nwebhook_url = "{emu.webhook_url}"\n'
            f'bot_token = "{emu.bot_token}"\nchannel_id = "{emu.channel_id}"\n'
            f'api_base = "{emu.api_base}"\nallowed_user_ids = ["{alice["id"]}"]\n'
            f'poll_pending = {POLL_PENDING}\n')
        shim = installer.write_shim()
        daemon.start()
        try:
            latencies = []
            for n in range(args.runs + 1):  # one warm-up run
                proc = start_hook(shim, n)
                message = _request(emu, n)
                exited = threading.Event()
                threading.Thread(target=lambda p=proc, e=exited: (p.wait(), e.set()),
                                 daemon=True).start()
                # a person reacts at no particular moment of the read cycle: a random phase
                # (reacting right after the post would always land just after a read)
                time.sleep(random.uniform(0, 2 * POLL_PENDING))
                began = time.perf_counter()
                emu.react(message["id"], "✅", alice["id"])
                if not exited.wait(30):
                    raise RuntimeError("the hook did not exit after the reaction")
                took = (time.perf_counter() - began) * 1000
                out = proc.stdout.read().decode() if proc.stdout else ""
                if '"allow"' not in out:
                    raise RuntimeError(f"unexpected hook output: {out!r}")
                if n:
                    latencies.append(took)
            # idle: wait until the follow-up window after the last activity has passed
            from tether_hooks.platforms.discord import FOLLOW
            time.sleep(FOLLOW + 2)
            start = time.time()
            time.sleep(args.window)
            idle = [c for c in emu.calls() if start <= c.at < start + args.window]
            proc = start_hook(shim, 999)
            message = _request(emu, 999)
            start = time.time()
            time.sleep(args.window)
            pending = [c for c in emu.calls() if start <= c.at < start + args.window]
            emu.react(message["id"], "✅", alice["id"])
            proc.wait(30)
        finally:
            daemon.stop()
    per_min = 60.0 / args.window
    median = statistics.median(latencies)
    reference = POLL_PENDING * 1000 / 2
    print(f"discord decision latency (✅ at the emulator -> hook exit): median {median:.0f} ms "
          f"over {len(latencies)} runs (p90 {sorted(latencies)[int(len(latencies) * 0.9) - 1]:.0f}"
          f" ms); reference half the read interval {reference:.0f} ms; ratio "
          f"{median / reference:.2f}x")
    for name, calls in (("idle", idle), ("one request pending", pending)):
        kinds: dict[str, int] = {}
        for call in calls:
            what = ("reactions" if "/reactions/" in call.path else "messages"
                    if call.path.endswith("/messages") else "other")
            key = f"{call.method} {what}"
            kinds[key] = kinds.get(key, 0) + 1
        print(f"discord API calls per minute while {name}: {len(calls) * per_min:.1f} "
              f"({', '.join(f'{k}: {v * per_min:.1f}' for k, v in sorted(kinds.items()))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

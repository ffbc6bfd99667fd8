"""Several machines, one bot: what the fleet adds, against the Telegram emulator and a real
Redis (the Debian ``redis-server``), with listener processes as in tests/shared.

    .venv/bin/python bench/fleet_relay.py [--runs 15] [--failovers 3]

Relay: machine ``laptop`` leads (it has the bot), ``devbox`` has no chat of its own. For
each run a hook asks on the leader, then one on devbox; measured for each: from the hook's
start to its message in the chat (posted), and from the press to the hook's exit with the
allow (decided). The baseline is the same figure for a request of the leader's own machine
in the same run; printed: medians, the added time for a request from another machine, and
the ratio.

Failover: three machines with the bot; the leader is killed with SIGKILL while a request
waits, and a new request is made on another machine at once; measured: from the kill to
that request's message in the chat. Printed beside the lease (8 s) it is bound by.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness.telegram import ALLOWED_USER_ID as USER  # noqa: E402 (the tests' harness)
from harness.telegram import TOKEN  # noqa: E402


def _fleet(base: Path):  # noqa: ANN202
    from emulators.telegram import TelegramEmulator
    from harness.fleet import Fleet
    from harness.hookproc import HookRunner
    from harness.redis import RedisServer

    from tether_hooks import installer

    redis = RedisServer(str(base / "redis"))
    (base / "redis").mkdir()
    redis.start()
    emu = TelegramEmulator(TOKEN).start()
    emu.create_private_chat(USER, "Alice", "alice")
    emu.default_user_id = USER
    os.environ["TETHER_HOOKS_HOME"] = str(base / "shim")
    hooks = HookRunner(installer.write_shim())
    return Fleet(base, redis, "bench", emu, hooks), redis, emu


def _posted(emu, needle: str, timeout: float = 30):  # noqa: ANN001, ANN202
    return emu.wait_for_message(lambda m: needle in (m.text or "") and bool(m.buttons),
                                chat_id=USER, timeout=timeout)


def _one(emu, machine, needle: str) -> tuple[float, float]:  # noqa: ANN001
    """(ms from hook start to message, ms from press to the hook's exit)."""
    from harness.fleet import bash

    began = time.perf_counter()
    proc = machine.hook(bash("bench", f"echo {needle}"))
    msg = _posted(emu, needle)
    posted = (time.perf_counter() - began) * 1000
    emu.wait_for_poll(timeout=10)
    pressed = time.perf_counter()
    emu.press(msg, "✅ Allow")
    out, _ = proc.communicate(timeout=30)
    decided = (time.perf_counter() - pressed) * 1000
    if b'"allow"' not in out:
        raise RuntimeError(f"unexpected hook output: {out!r}")
    return posted, decided


def relay(runs: int) -> None:
    from harness.fleet import leader_of

    with tempfile.TemporaryDirectory() as tmp:
        fleet, redis, emu = _fleet(Path(tmp))
        try:
            laptop = fleet.machine("laptop")
            devbox = fleet.machine("devbox", chat=False)
            laptop.start()
            devbox.start()
            leader_of([laptop, devbox])
            own: list[tuple[float, float]] = []
            other: list[tuple[float, float]] = []
            for n in range(runs + 2):  # two warm-up rounds
                a = _one(emu, laptop, f"leader-{n}")
                b = _one(emu, devbox, f"devbox-{n}")
                if n >= 2:
                    own.append(a)
                    other.append(b)
        finally:
            fleet.close()
            emu.stop()
            redis.stop()
    for i, what in enumerate(("posted (hook start -> message)", "decided (press -> hook exit)")):
        base = statistics.median(x[i] for x in own)
        got = statistics.median(x[i] for x in other)
        print(f"{what}: leader's own {base:.0f} ms, another machine's {got:.0f} ms "
              f"(added {got - base:+.0f} ms, ratio {got / base:.2f}x), median of {runs}")


def failover(times: int) -> None:
    from harness.fleet import bash, leader_of

    took: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        fleet, redis, emu = _fleet(Path(tmp))
        try:
            machines = [fleet.machine(n) for n in ("laptop", "devbox", "ci")]
            for m in machines:
                m.start()
            for n in range(times):
                lead = leader_of(machines)
                rest = [m for m in machines if m is not lead]
                waiting = rest[0].hook(bash("bench", f"echo waiting-{n}"))
                _posted(emu, f"waiting-{n}")
                lead.kill9()
                killed = time.perf_counter()
                late = rest[1].hook(bash("bench", f"echo after-{n}"))
                _posted(emu, f"after-{n}")
                took.append(time.perf_counter() - killed)
                for proc in (waiting, late):
                    proc.kill()
                    proc.wait()
                lead.start()
        finally:
            fleet.close()
            emu.stop()
            redis.stop()
    print(f"failover (leader killed -> next request posted): median "
          f"{statistics.median(took):.1f} s, max {max(took):.1f} s over {times} "
          f"(lease 8 s; required < 15 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    relay(args.runs)
    failover(args.failovers)


if __name__ == "__main__":
    main()

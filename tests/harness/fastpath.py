"""The one fast-path guard: what a hook call imports, judged by an allowlist.

``imported(agent, payload)`` runs one hook call (``tether_hooks.hook.main``) in a fresh
isolated interpreter (``python -I``, like the installed shim) and returns the modules it
imported, and its stdout. ``outside_allowlist`` names those that are neither standard
library (``sys.stdlib_module_names``) nor ``tether_hooks``: a new third-party import on the
fast path fails whatever its name. ``SLOW_STDLIB`` are standard modules the fast path must
not pay for either (they cost milliseconds per tool call, or belong to the slow path).

    assert_fast_path("claude", payload)            # a timer allows, or nothing is asked
    assert_fast_path("claude", payload, until_wait=True, also_allowed=SLOW_PATH_DEPS)

``until_wait``: the request path, up to the point where the hook would wait for a human
(its first read of the store after recording the request: the probe's audit hook
stops there; with a short approval timeout, a hook that never gets there fails the probe).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable

__all__ = ["SLOW_PATH_DEPS", "SLOW_STDLIB", "assert_fast_path", "imported",
           "outside_allowlist"]

# Standard modules the fast path stays clear of: a few ms each, or the slow path's.
SLOW_STDLIB = frozenset(("tomllib", "asyncio", "dataclasses", "typing", "pathlib", "hashlib",
                         "socket", "subprocess", "logging", "inspect", "importlib"))
# The only third-party package a waiting hook may import: the store's file lock.
SLOW_PATH_DEPS = frozenset(("filelock",))

_PROBE = r"""
import sys
before = set(sys.modules)  # what the bare interpreter loaded (-S: no site, no .pth files)
sys.path[:0] = [SOURCE]  # tether_hooks from its tree, not through an editable finder
sys.path.append(PURELIB)  # filelock, for the waiting path: no .pth file runs
import io, json, os

def report():
    sys.stderr.write("\nFAST-PATH-MODULES " + json.dumps(sorted(set(sys.modules) - before))
                     + "\n")
    sys.stderr.flush()

if UNTIL_WAIT:
    recorded = []
    def stop_at_the_wait(event, args):
        # the request is recorded (state.json renamed into place); the next open of
        # state.json is the waiting loop's first read of the store: stop there
        if event == "os.rename" and str(args[1]).endswith("state.json"):
            recorded.append(True)
        elif event == "open" and recorded and str(args[0]).endswith("state.json"):
            report()
            os._exit(0)
    sys.addaudithook(stop_at_the_wait)
sys.stdin = io.TextIOWrapper(io.BytesIO(PAYLOAD.encode()))
from tether_hooks.hook import main
main([AGENT])
report()
"""


def imported(agent: str, payload: object, *, until_wait: bool = False,
             env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The modules one hook call imported (beyond interpreter start-up), and its stdout."""
    import sysconfig

    import tether_hooks

    source = os.path.dirname(os.path.dirname(os.path.abspath(tether_hooks.__file__)))
    probe = (_PROBE.replace("UNTIL_WAIT", repr(until_wait)).replace("AGENT", repr(agent))
             .replace("PAYLOAD", repr(json.dumps(payload)))
             .replace("SOURCE", repr(source))
             .replace("PURELIB", repr(sysconfig.get_paths()["purelib"])))
    env = dict(os.environ if env is None else env)
    env.setdefault("TETHER_HOOKS_APPROVAL_TIMEOUT", "10")  # a wait never reached: no hang
    # -S: an editable install's finder (a .pth file run by ``site``) imports importlib, re
    # and enum at start-up, which would hide the same imports by the hook itself
    run = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True,
                         text=True, env=env, timeout=60)
    marker = [line for line in run.stderr.splitlines() if line.startswith("FAST-PATH-MODULES ")]
    assert marker, f"the probe reported no modules: {run.stderr[-2000:]}"
    return json.loads(marker[-1].split(" ", 1)[1]), run.stdout


def outside_allowlist(modules: Iterable[str], also_allowed: Iterable[str] = ()) -> list[str]:
    """The modules that are neither standard library nor ``tether_hooks`` (nor a package
    in ``also_allowed``)."""
    allowed = set(sys.stdlib_module_names) | {"tether_hooks", *also_allowed}
    return sorted(m for m in modules if m.split(".")[0] not in allowed)


def assert_fast_path(agent: str, payload: object, *, until_wait: bool = False,
                     also_allowed: Iterable[str] = (), forbidden: Iterable[str] = (),
                     env: dict[str, str] | None = None) -> str:
    """Run one hook call; fail naming any module outside the allowlist, any of
    ``SLOW_STDLIB`` (unless ``until_wait``) and any in ``forbidden``. Returns its stdout."""
    modules, stdout = imported(agent, payload, until_wait=until_wait, env=env)
    assert outside_allowlist(modules, also_allowed) == [], modules
    heavy = set() if until_wait else set(SLOW_STDLIB)
    banned = sorted(m for m in modules if m.split(".")[0] in heavy or m in set(forbidden))
    assert banned == [], f"the fast path imported {banned}"
    return stdout

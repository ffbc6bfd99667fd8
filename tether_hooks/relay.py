"""The hook's slow path: record a pending request and wait for someone to decide it.

The store is the record: whoever decides (``tether-hooks approve``, the listener relaying
a chat button, a new timer) settles the request in ``state.json``. The waiting hook
watches that file (a ``stat`` every few milliseconds, a read only when it changed), so
it sees a decision within ~10 ms and never depends on a live connection.

If the agent kills the hook while it waits (Claude Code sends SIGTERM when the user
answers its own dialog in the terminal), the request is settled as answered in the
terminal: never left pending, never decided later.
"""

from __future__ import annotations

import os
import signal
import time

from tether_hooks import paths, state

__all__ = ["POLL_SECONDS", "Terminated", "wait_for_decision"]

POLL_SECONDS = 0.005


class Terminated(Exception):
    """The agent stopped waiting for the hook (SIGTERM/SIGHUP/SIGINT)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def wait_for_decision(request: dict, timeout: float, on_timeout: str) -> dict | None:
    """Add ``request`` as pending and block until it is settled; the settled record.

    Returns None when the agent stopped us (the request is recorded as answered in the
    terminal). On timeout the request is settled by ``on_timeout`` (``ask`` or ``deny``)
    unless someone decided at the same moment, whose decision then wins.
    """
    from tether_hooks.store import Store

    store = Store()
    record = None
    handled = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in handled}
    try:
        record = store.add_request(request, timeout)
        rid = record["id"]
        deadline = time.monotonic() + timeout
        state_path = paths.state_file()
        seen = None
        while True:
            sig = _signature(state_path)
            if sig != seen:
                seen = sig
                current = state.load(state_path)["requests"].get(rid)
                if current is None or current.get("status") != "pending":
                    return current or record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(POLL_SECONDS, remaining))
        behavior = "deny" if on_timeout == "deny" else "ask"
        reason = f"no answer from a remote approver within {timeout:g} s"
        _, settled = store.decide(
            rid, behavior, by="tether-hooks", via="timeout", reason=reason, status="expired"
        )
        return settled
    except Terminated:
        for sig in handled:
            signal.signal(sig, signal.SIG_IGN)
        if record is not None:
            store.decide(
                record["id"],
                "ask",
                by="terminal",
                via="terminal",
                reason="answered in the terminal",
                status="answered_in_terminal",
            )
        return None
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is _raise_terminated:
                signal.signal(sig, handler)

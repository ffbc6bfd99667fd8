"""The listener's heartbeat: a file whose modification time the listener's event loop
renews every ``BEAT_SECONDS``. A waiting hook reads it (one ``stat``) to tell a listener
that is stopped or stuck (its process alive, its loop silent) from one that is busy, and
falls back instead of waiting out its whole timeout. Stdlib only: the hook's slow path
imports it."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable

from tether_hooks import paths

__all__ = ["BEAT_SECONDS", "STALL_SECONDS", "beat", "confirmed", "lock_held", "silent_for",
           "stalled"]

BEAT_SECONDS = 2.0
STALL_SECONDS = 20.0  # ten beats missed: not a slow disk or a busy moment


def beat() -> None:
    """Renew the heartbeat (the listener, from its event loop)."""
    path = paths.listener_beat_file()
    try:
        os.utime(path)
    except FileNotFoundError:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)


def lock_held() -> bool:
    """Does a listener hold ``listener.lock`` (it does for its whole life)? Probed with a
    shared lock, dropped at once; only asked when the heartbeat is already silent."""
    try:
        fd = os.open(paths.listener_lock_file(), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # drops the probe's lock, if it got one
    return False


def silent_for(now: float | None = None) -> float | None:
    """Seconds since the last beat; None when there is no heartbeat file (no listener
    yet, or one from before heartbeats)."""
    try:
        mtime = os.stat(paths.listener_beat_file()).st_mtime
    except OSError:
        return None
    return max(0.0, (time.time() if now is None else now) - mtime)


def confirmed(pid: Callable[[], int | None]) -> str | None:
    """``stalled(pid())``, read again one beat later before it counts."""
    if stalled(pid()) is None:
        return None
    time.sleep(BEAT_SECONDS * 1.25)
    return stalled(pid())


def stalled(pid: int | None) -> str | None:
    """Why the listener ``pid`` (alive) cannot answer: stopped or stuck, its heartbeat silent
    for ``STALL_SECONDS``; None when it beats (or there is none to judge)."""
    silent = silent_for()
    if pid is None or silent is None or silent < STALL_SECONDS:
        return None
    if not lock_held():
        return None  # no listener at all: a pid (reused since) and a beat left by a dead one
    return (f"the listener (pid {pid}) has not responded for {silent:.0f} s (stopped or "
            "stuck?): see `tether-hooks status`, then `tether-hooks listener stop` and "
            "`start`")

"""The hook's slow path: record a pending request and wait for someone to decide it.

The store is the record: whoever decides (``tether-hooks approve``, the listener relaying
a chat button, a new timer) settles the request in ``state.json``. The waiting hook
watches that file (a ``stat`` every few milliseconds, a read only when it changed), so
it sees a decision within ~10 ms and never depends on a live connection. With a chat
platform it also keeps a wait connection to the listener (``push.py``) and waits on it
between two polls: the listener writes a line there right after it wrote a decision, and
the hook reads the store at once (the line only wakes it; the store stays the record).

If the agent kills the hook while it waits (Claude Code sends SIGTERM when the user
answers its own dialog in the terminal), the request is settled as answered in the
terminal: never left pending, never decided later.

With a chat platform configured, the hook rings the listener's doorbell (one line of JSON
on ``<state dir>/listener.sock``, see ``listener/server.py``) after recording the request.
If nobody answers it starts the listener (detached; one hook starts it, the others wait)
and retries for ``START_SECONDS`` (``STARTING_SECONDS`` while a start is under way);
if that fails, or no platform can post, it settles the request at once as no decision
(the agent's own prompt) instead of waiting out the timeout for nothing. While waiting it
checks the listener's pid every second and starts a new one if it died; decisions live
in the store, so one made while the listener restarts is not lost; once the request is
posted in the chat, a listener that is slow to come back never makes it give up (a press
the dead one fetched is applied by the next).

Stdlib only: the hook imports this module on its slow path.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from tether_hooks import heartbeat, paths, state

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import subprocess
    from types import FrameType
    from typing import Any

    from tether_hooks.models import Behavior, HookRequest, Request
    from tether_hooks.store import Store

__all__ = [
    "POLL_SECONDS",
    "START_SECONDS",
    "Terminated",
    "call",
    "listener_pid",
    "listener_command",
    "reach",
    "spawn_listener",
    "wait_for_decision",
]

POLL_SECONDS = 0.005
START_SECONDS = 2.0
STARTING_SECONDS = 8.0  # the wait while a listener is being started
LIVENESS_SECONDS = 1.0
CALL_TIMEOUT = 2.0


# listeners this process started (a dead child stays a zombie)
_spawned: list[subprocess.Popen[bytes]] = []


def listener_pid() -> int | None:
    """The pid in the listener's pidfile if that process is alive."""
    try:
        with open(paths.listener_pid_file(), "rb") as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    if any(p.pid == pid and p.poll() is not None for p in _spawned):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def call(message: dict[str, object], timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
    """One exchange with the listener. Raises OSError or ValueError if it does not answer."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(paths.listener_socket())
        sock.sendall(json.dumps(message, ensure_ascii=False).encode("utf-8", "backslashreplace")
                     + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            buf += chunk
    finally:
        sock.close()
    answer = json.loads(buf)
    if not isinstance(answer, dict):
        raise ValueError("the listener's answer is not an object")
    return answer


OUT_CAP = 256 * 1024  # listener.out is appended to; past this it starts over


def listener_command(daemon: bool = True) -> list[str]:
    """The listener's command line: this interpreter (isolated if we are), ``listen``."""
    flags = ["-I"] if sys.flags.isolated else []
    return [sys.executable, *flags, "-m", "tether_hooks", "listen",
            *(["--daemon"] if daemon else [])]


def spawn_listener() -> subprocess.Popen[bytes]:
    """Start ``tether-hooks listen --daemon`` detached: own session, no inherited stdio
    (the agent waits for the hook's stdout to close, so the daemon must not hold it).
    Its stdout/stderr go to ``listener.out``: only what it says before its (redacting)
    log is set up; after that the daemon sends its stderr through the log."""
    import subprocess

    paths.ensure_dir(paths.log_dir())
    out_path = paths.listener_out_file()
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        if os.path.getsize(out_path) > OUT_CAP:
            flags |= os.O_TRUNC
    except OSError:
        pass
    out = os.open(out_path, flags, 0o600)
    try:
        proc = subprocess.Popen(
            listener_command(), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, cwd="/",
        )
        _spawned.append(proc)
    finally:
        os.close(out)
    return proc


def reach(
    message: dict[str, object], budget: float = START_SECONDS, timeout: float = CALL_TIMEOUT
) -> dict[str, Any] | None:
    """Send ``message``; if no listener answers, start one and retry for ``budget`` s.

    One hook starts it: the starter holds ``listener.spawn.lock`` until the listener
    answers (or its start fails), so fifty hooks arriving together start one listener,
    not fifty. While a start is under way (ours or another hook's) the wait stretches to
    ``STARTING_SECONDS``: a loaded machine may need longer than ``budget`` to start it.
    """
    try:
        return call(message, timeout)
    except (OSError, ValueError):
        pass
    if stalled():
        return None  # alive but stopped or stuck: a new one could not start beside it
    start = time.monotonic()
    spawns = 0
    lock = _SpawnLock()
    try:
        while True:
            now = time.monotonic()
            ours = bool(_spawned) and _spawned[-1].poll() is None
            if ours and not lock.held:
                ours = False  # an earlier call's child: not this start
            if not ours and spawns < 3 and lock.take():
                # no start under way: ours (none yet, or it died at once) is next
                spawns += 1
                try:
                    spawn_listener()
                except OSError:
                    return None
                ours = True
            starting = ours or (not lock.held and lock.busy())
            if now - start >= (STARTING_SECONDS if starting else budget):
                return None
            time.sleep(0.02)  # the new listener binds its socket within a few hundred ms
            try:
                return call(message, timeout)
            except (OSError, ValueError):
                continue
    finally:
        lock.release()


class _SpawnLock:
    """``listener.spawn.lock``: taken by the hook that starts the listener."""

    def __init__(self) -> None:
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def _open(self) -> int | None:
        try:
            paths.ensure_dir(paths.state_dir())
            return os.open(paths.listener_spawn_lock_file(), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None

    def take(self) -> bool:
        """Take it (True), or False if another hook is starting a listener."""
        import fcntl

        if self.fd is not None:
            return True
        fd = self._open()
        if fd is None:
            return True  # cannot lock (read-only state dir): start it anyway
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def busy(self) -> bool:
        """Another hook holds it: a listener is being started."""
        if self.fd is not None:
            return True
        if not self.take():
            return True
        self.release()
        return False

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def stalled() -> str | None:
    """Why the listener cannot answer though its process lives (``heartbeat``), or None.
    A silent heartbeat is read again one beat later: a wall clock stepped forward (NTP,
    a resume) makes one reading look old, and the next beat puts it right."""
    return heartbeat.confirmed(listener_pid)


def _doorbell(rid: str) -> str | None:
    """Tell the listener about request ``rid``; the reason it cannot relay it, or None."""
    if problem := stalled():
        return problem  # no start can help while it holds the lock: say so at once
    answer = reach({"op": "request", "id": rid})
    if answer is None:
        return stalled() or (
            "the listener is not running and could not be started "
            "(see `tether-hooks listener logs`)"
        )
    if answer.get("usable") is False:
        bridges = answer.get("bridges") or {}
        detail = "; ".join(f"{k}: {v.get('detail') or v.get('state')}" for k, v in bridges.items())
        return f"no chat platform is reachable ({detail or 'none configured'})"
    return None


class Terminated(Exception):
    """The agent stopped waiting for the hook (SIGTERM/SIGHUP/SIGINT)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def wait_for_decision(
    request: HookRequest, timeout: float, on_timeout: str, remote: bool = False,
    local: bool = True,
) -> Request | None:
    """Add ``request`` as pending and block until it is settled; the settled record.

    Returns None when the agent stopped us (the request is recorded as answered in the
    terminal). On timeout the request is settled by ``on_timeout`` (``ask`` or ``deny``)
    unless someone decided at the same moment, whose decision then wins. ``remote``: a
    chat platform is configured, so the listener relays it; if it cannot and nobody may
    answer locally (``local``), the request is settled at once as no decision.
    """
    from tether_hooks.push import Push
    from tether_hooks.store import Store

    store = Store()
    record: Request | None = None
    push: Push | None = None
    handled = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in handled}
    try:
        # A signal while the request is being recorded waits until we know its id: it is
        # then settled as answered in the terminal, never left pending.
        signal.pthread_sigmask(signal.SIG_BLOCK, handled)
        try:
            plain: Any = request  # the store takes and gives untyped dicts
            record = _record(store.add_request(plain, timeout))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
        rid = record["id"]
        deadline = time.monotonic() + timeout
        if remote and (problem := _doorbell(rid)) and not local:
            return _unrelayed(store, rid, problem)
        # the push (remote only): the listener wakes us once it wrote a decision
        push = Push.open(rid) if remote else Push(None)
        state_path = paths.state_file()
        seen: tuple[int, int, int] | None = None
        current: Request | None = None
        check_at = time.monotonic() + LIVENESS_SECONDS
        while True:
            stamp = state.signature(state_path)
            if stamp != seen:
                seen = stamp
                found = store.read()["requests"].get(rid)  # a corrupt file: set aside
                if not found:
                    return record
                current = _record(found)
                if current.get("status") != "pending":
                    return current
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                break
            if remote and now >= check_at:
                check_at = now + LIVENESS_SECONDS
                # Posted already: a press may be held by the dead listener, and a new one
                # applies it; keep (re)starting it rather than giving up. Not posted yet:
                # nobody can answer, fall back at once.
                if listener_pid() is None and (problem := _doorbell(rid)) and not (
                        local or _posted(rid, current)):
                    return _unrelayed(store, rid, problem)
                # Alive but silent (SIGSTOP, a stuck loop): no press can come through it,
                # and no new listener can start beside it: fall back now, saying why.
                if not local and (problem := stalled()):
                    return _unrelayed(store, rid, problem)
                if not push.connected:  # dropped (a restart): wait on the new listener
                    push = Push.open(rid)
            push.wait(min(POLL_SECONDS, remaining))  # select on the push, or a plain sleep
        behavior: Behavior = "deny" if on_timeout == "deny" else "ask"
        reason = f"no answer from a remote approver within {timeout:g} s"
        _, settled = store.decide(
            rid, behavior, by="tether-hooks", via="timeout", reason=reason, status="expired"
        )
        return _record(settled)
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
        if push is not None:
            push.close()  # the listener forgets this wait
        for sig, handler in previous.items():
            if signal.getsignal(sig) is _raise_terminated:
                signal.signal(sig, handler)


def _posted(rid: str, current: Request | None = None) -> bool:
    """Is request ``rid`` posted in a chat, so a press may come? The listener records its
    messages in its own file, ``chat.json`` beside ``state.json`` (``listener.book``);
    ``current`` (its record) counts too: a listener of the previous version wrote them
    there. Read when it matters (the listener is gone): posting changes no ``state.json``."""
    if current and (current.get("chat") or {}).get("refs"):
        return True
    try:
        with open(os.path.join(os.path.dirname(paths.state_file()), "chat.json"), "rb") as f:
            book = json.loads(f.read())
        return bool(book["requests"][rid]["refs"])
    except (OSError, ValueError, RecursionError, LookupError, TypeError):
        return False


def _unrelayed(store: Store, rid: str, problem: str) -> Request:
    """Settle ``rid`` as no decision (unless someone decided meanwhile: that wins)."""
    _, settled = store.decide(
        rid, "ask", by="tether-hooks", via="listener", reason=problem, status="expired"
    )
    return _record(settled)


def _record(value: Any) -> Request:
    """A request record from the store (whose records are untyped dicts until it is typed)."""
    record: Request = value
    return record

"""The listener process: ``tether-hooks listen`` (foreground) and the daemon verbs.

Single instance: the process holds an exclusive ``flock`` on ``<state>/listener.lock`` for
its whole life (the kernel drops it when the process dies, so a crash never leaves a
stale lock) and writes its pid to ``<state>/listener.pid``. It binds its socket before it
imports any chat SDK, so a hook that started it gets an answer within a few hundred ms.
Logs go to ``<log dir>/listener.log`` (``logs``: rotated, 0600, every secret redacted, the
daemon's own stderr included); it runs with umask 077. SIGTERM (and SIGINT) shut it down
cleanly: polling stopped, socket and pidfile removed. Every path comes from ``paths``
(``listener_*``), and it is spawned one way (``relay.spawn_listener``), by a hook or by
``tether-hooks listener start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from tether_hooks import __version__, config, paths, relay
from tether_hooks.errors import TetherError
from tether_hooks.heartbeat import beat
from tether_hooks.listener import logs
from tether_hooks.listener.logs import log_lines
from tether_hooks.listener_status import health, status

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from tether_hooks.models import Config, ListenerStatus, ListenerStop

__all__ = ["ListenerError", "health", "log_lines", "serve", "start", "status", "stop"]

log = logging.getLogger("tether_hooks.listener")

START_TIMEOUT = 15.0
CONFIG_POLL = 1.0
STOP_TIMEOUT = 10.0


class ListenerError(TetherError):
    """The listener cannot be started, stopped or reached."""


# -- status -------------------------------------------------------------------------------


# health() and status() live in tether_hooks.listener_status (any layer may ask them);
# daemon.health and daemon.status are the same functions.


# -- start / stop -------------------------------------------------------------------------


def _reason() -> str:
    """The last meaningful line the listener wrote before it died."""
    lines: list[str] = []
    for path in (paths.listener_out_file(), paths.listener_log_file()):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += [ln.rstrip() for ln in f.readlines()[-30:] if ln.strip()]
        except OSError:
            continue
    errors = [ln for ln in lines if "ERROR" in ln or "Error" in ln or "error:" in ln]
    return (errors or lines or ["no log written"])[-1]


def start(timeout: float = START_TIMEOUT) -> ListenerStatus:
    """Start the daemon unless it runs; return once its socket answers. Raises ListenerError."""
    info = status()
    if info["running"]:
        return {**info, "started": False}
    proc = relay.spawn_listener()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            relay.call({"op": "ping"}, timeout=1.0)
            return {**status(), "started": True}
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            info = status()  # another start may have won the race
            if info["running"]:
                return {**info, "started": False}
            raise ListenerError(
                f"the listener exited at once: {_reason()}; see `tether-hooks listener logs`"
            )
        time.sleep(0.02)  # polling for the socket to come up
    raise ListenerError(f"the listener did not answer within {timeout:g} s: {_reason()}")


def _lock_free() -> bool:
    fd = os.open(paths.listener_lock_file(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's lock at once
    return True


def stop(timeout: float = STOP_TIMEOUT) -> ListenerStop:
    """SIGTERM the daemon and wait until it is gone (SIGKILL after ``timeout``)."""
    pid = relay.listener_pid()
    if pid is None or _lock_free():  # a pid left by a dead listener may be another's now
        return {"running": False, "stopped": False}
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _lock_free():
            return {"running": False, "stopped": True, "pid": pid}
        time.sleep(0.02)  # polling for the process to release its lock
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return {"running": False, "stopped": True, "pid": pid, "killed": True}


def _lock() -> int:
    directory = paths.ensure_dir(paths.state_dir())
    os.chmod(directory, 0o700)
    fd = os.open(paths.listener_lock_file(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ListenerError(
            f"a listener is already running (pid {relay.listener_pid()}); "
            "`tether-hooks listener stop` stops it"
        ) from None
    return fd


def serve(foreground: bool = True) -> int:
    """Run the listener until SIGTERM/SIGINT. Raises ListenerError if one already runs."""
    os.umask(0o077)  # the log, its rotations, the socket, every file: ours alone
    fd = _lock()
    pid_path = paths.listener_pid_file()
    try:
        beat()  # before the pid: a hook never sees our pid beside an old listener's beat
        state_write(pid_path, f"{os.getpid()}\n")
        cfg = config.load()
        logs.setup(foreground, logs.secrets(cfg))
        names = config.remote_platforms(cfg)
        log.info(
            "tether-hooks %s listener starting (pid %d); platforms: %s",
            __version__,
            os.getpid(),
            ", ".join(names) or "none",
        )
        restart = asyncio.run(_main(cfg, names))
        log.info("listener stopped" + ("; restarting for the new config" if restart else ""))
    except Exception:
        log.exception("the listener failed")
        raise
    finally:
        for path in (pid_path, paths.listener_health_file(), paths.listener_beat_file()):
            with contextlib.suppress(OSError):
                os.unlink(path)
        os.close(fd)
    if restart:  # same command line, fresh config (our fds, the lock's too, close on exec)
        os.execv(sys.executable, relay.listener_command(daemon=not foreground))
    return 0


def _config_source() -> tuple[int, int] | None:
    try:
        st = os.stat(paths.config_file())
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def state_write(path: str, text: str) -> None:
    from tether_hooks.state import write_atomic

    write_atomic(path, text.encode())


async def _main(cfg: Config, names: list[str]) -> bool:
    """Serve until a signal (False) or until config.toml changes (True: restart). With
    ``[shared]`` this machine is a station of a fleet (``shared.station``)."""
    from tether_hooks.listener.dispatch import Dispatcher
    from tether_hooks.listener.offsets import Offsets
    from tether_hooks.listener.server import Server
    from tether_hooks.store import Store

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)
    source = _config_source()
    changed: list[bool] = []
    if "shared" in cfg:
        from tether_hooks.shared import settings
        from tether_hooks.shared.station import Station

        station = Station(cfg, settings.check(cfg["shared"]), names)
        watching = asyncio.ensure_future(_watch_config(source, changed, stopping))
        try:
            await station.serve(stopping)
        finally:
            watching.cancel()
        return bool(changed)
    store = Store()
    offsets = Offsets()
    dispatcher = Dispatcher(
        [], cfg, store, health_path=paths.listener_health_file(), offsets=offsets
    )
    for name in names:
        dispatcher.bridges.expect(name)
    server = Server(dispatcher)
    dispatcher.runtime.on_decided = server.notify  # every decision the listener writes
    await server.start()
    log.info("listening on %s", server.path)

    def watch_config() -> Coroutine[Any, Any, None]:
        return _watch_config(source, changed, stopping)

    watcher = dispatcher.runtime.supervise("config watcher", watch_config)
    beating = dispatcher.runtime.supervise("heartbeat", dispatcher.runtime.heartbeat)
    try:
        await dispatcher.start()
        from tether_hooks.listener.bridgemaker import add_bridges

        await add_bridges(dispatcher, names, cfg)
        await stopping.wait()
        log.info("shutting down")
    finally:
        watcher.cancel()
        beating.cancel()
        await server.close()
        await dispatcher.close()
    return bool(changed)


async def _watch_config(source: tuple[int, int] | None, changed: list[bool],
                        stopping: asyncio.Event) -> None:
    while _config_source() == source:
        await asyncio.sleep(CONFIG_POLL)  # a poll interval: nothing notifies us
    log.info("%s changed", paths.config_file())
    changed.append(True)
    stopping.set()

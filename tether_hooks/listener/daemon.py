"""The listener process: ``tether-hooks listen`` (foreground) and the daemon verbs.

Single instance: the process holds an exclusive ``flock`` on ``<state>/listener.lock`` for
its whole life (the kernel drops it when the process dies, so a crash never leaves a
stale lock) and writes its pid to ``<state>/listener.pid``. It binds its socket before it
imports any chat SDK, so a hook that started it gets an answer within a few hundred ms.
Logs go to ``<log dir>/listener.log`` (rotated, 1 MiB x 3) with every secret redacted;
SIGTERM (and SIGINT) shut it down cleanly: polling stopped, socket and pidfile removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import json
import logging
import logging.handlers
import os
import re
import signal
import subprocess
import sys
import time

from tether_hooks import __version__, config, paths, relay
from tether_hooks.errors import TetherError

__all__ = ["ListenerError", "health", "log_lines", "serve", "start", "status", "stop"]

log = logging.getLogger("tether_hooks.listener")

START_TIMEOUT = 15.0
CONFIG_POLL = 1.0
STOP_TIMEOUT = 10.0
LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3
# A Telegram bot token, wherever it appears (URLs in SDK errors included).
_TOKEN_RE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")


class ListenerError(TetherError):
    """The listener cannot be started, stopped or reached."""


def _file(name: str) -> str:
    return os.path.join(paths.state_dir(), name)


def log_file() -> str:
    return os.path.join(paths.log_dir(), "listener.log")


def _out_file() -> str:
    return os.path.join(paths.log_dir(), "listener.out")


def health_file() -> str:
    return _file("listener.health.json")


# -- status -------------------------------------------------------------------------------


def health() -> dict | None:
    """The health file the running listener keeps (per-bridge state), if any."""
    try:
        with open(health_file(), "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def status() -> dict:
    """``running`` (its socket answers), ``pid``, per-bridge state from the health file."""
    pid = relay.listener_pid()
    try:
        answer = relay.call({"op": "ping"}, timeout=2.0)
    except (OSError, ValueError):
        answer = None
    info: dict = {"running": answer is not None, "pid": pid, "socket": relay.socket_path(),
                  "log": log_file()}
    if answer is not None:
        info.update(pid=answer.get("pid", pid), usable=answer.get("usable"),
                    bridges=answer.get("bridges") or {})
    elif pid is not None:
        info["unresponsive"] = True
    report = health()
    if report and info["running"]:
        info["started_at"] = report.get("started_at")
        info.setdefault("bridges", report.get("bridges") or {})
    return info


# -- start / stop -------------------------------------------------------------------------


def _reason() -> str:
    """The last meaningful line the listener wrote before it died."""
    lines: list[str] = []
    for path in (_out_file(), log_file()):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += [ln.rstrip() for ln in f.readlines()[-30:] if ln.strip()]
        except OSError:
            continue
    errors = [ln for ln in lines if "ERROR" in ln or "Error" in ln or "error:" in ln]
    return (errors or lines or ["no log written"])[-1]


def start(timeout: float = START_TIMEOUT) -> dict:
    """Start the daemon unless it runs; return once its socket answers. Raises ListenerError."""
    info = status()
    if info["running"]:
        return {**info, "started": False}
    paths.ensure_dir(paths.log_dir())
    out = os.open(_out_file(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, *_flags(), "-m", "tether_hooks", "listen", "--daemon"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, cwd="/",
        )
    finally:
        os.close(out)
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
    fd = os.open(_file("listener.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's lock at once
    return True


def stop(timeout: float = STOP_TIMEOUT) -> dict:
    """SIGTERM the daemon and wait until it is gone (SIGKILL after ``timeout``)."""
    pid = relay.listener_pid()
    if pid is None:
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


def log_lines(count: int = 50) -> list[str]:
    """The last ``count`` lines of the listener's log (rotated files included)."""
    lines: list[str] = []
    for path in [f"{log_file()}.{n}" for n in range(LOG_BACKUPS, 0, -1)] + [log_file()]:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()
        except OSError:
            continue
    return lines[-count:] if count else lines


# -- the process --------------------------------------------------------------------------


class _Redact(logging.Formatter):
    """Formats, then blanks every secret (tracebacks included)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        return _TOKEN_RE.sub("<token>", text)


def _secrets(cfg: dict) -> list[str]:
    found = [v for k, v in os.environ.items() if k.endswith(("_TOKEN", "_SECRET")) and v]
    for name in config.PLATFORMS:
        section = cfg.get(name)
        if isinstance(section, dict):
            found += [str(v) for k, v in section.items()
                      if any(w in k for w in ("token", "secret", "password", "key")) and v]
    return found


def _setup_logging(foreground: bool, secrets: list[str]) -> None:
    paths.ensure_dir(paths.log_dir())
    formatter = _Redact(secrets)
    handler = logging.handlers.RotatingFileHandler(log_file(), maxBytes=LOG_BYTES,
                                                   backupCount=LOG_BACKUPS, encoding="utf-8")
    os.chmod(log_file(), 0o600)
    handlers: list[logging.Handler] = [handler]
    if foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "telegram.Bot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _lock() -> int:
    directory = paths.ensure_dir(paths.state_dir())
    os.chmod(directory, 0o700)
    fd = os.open(_file("listener.lock"), os.O_RDWR | os.O_CREAT, 0o600)
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
    fd = _lock()
    pid_path = _file("listener.pid")
    try:
        state_write(pid_path, f"{os.getpid()}\n")
        cfg = config.load()
        _setup_logging(foreground, _secrets(cfg))
        names = config.remote_platforms(cfg)
        log.info("tether-hooks %s listener starting (pid %d); platforms: %s", __version__,
                 os.getpid(), ", ".join(names) or "none")
        restart = asyncio.run(_main(cfg, names))
        log.info("listener stopped" + ("; restarting for the new config" if restart else ""))
    except Exception:
        log.exception("the listener failed")
        raise
    finally:
        for path in (pid_path, health_file()):
            with contextlib.suppress(OSError):
                os.unlink(path)
        os.close(fd)
    if restart:  # same command line, fresh config (our fds, the lock's too, close on exec)
        os.execv(sys.executable, [sys.executable, *_flags(), "-m", "tether_hooks", "listen",
                                  *([] if foreground else ["--daemon"])])
    return 0


def _flags() -> list[str]:
    return ["-I"] if sys.flags.isolated else []


def _config_source() -> tuple[int, int] | None:
    try:
        st = os.stat(paths.config_file())
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def state_write(path: str, text: str) -> None:
    from tether_hooks.state import write_atomic

    write_atomic(path, text.encode())


async def _main(cfg: dict, names: list[str]) -> bool:
    """Serve until a signal (False) or until config.toml changes (True: restart)."""
    from tether_hooks.listener.dispatch import Dispatcher
    from tether_hooks.listener.server import Server
    from tether_hooks.store import Store

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)
    store = Store()
    dispatcher = Dispatcher([], cfg, store, health_path=health_file())
    for name in names:
        dispatcher.expect(name)
    server = Server(dispatcher)
    await server.start()
    log.info("listening on %s", server.path)
    source = _config_source()
    changed: list[bool] = []

    async def watch_config() -> None:
        while _config_source() == source:
            await asyncio.sleep(CONFIG_POLL)  # a poll interval: nothing notifies us
        log.info("%s changed", paths.config_file())
        changed.append(True)
        stopping.set()

    watcher = asyncio.ensure_future(watch_config())
    try:
        await dispatcher.start()
        for name in names:
            try:
                bridge = await asyncio.to_thread(_make_bridge, name, cfg, store, loop)
            except Exception as exc:
                await dispatcher.fail(name, f"cannot load the {name} bridge: {exc}")
                continue
            dispatcher.add_bridge(bridge)
        await stopping.wait()
        log.info("shutting down")
    finally:
        watcher.cancel()
        await server.close()
        await dispatcher.close()
    return bool(changed)


def _make_bridge(name: str, cfg: dict, store: object, loop: asyncio.AbstractEventLoop) -> object:
    """Construct a bridge, passing the known topics and a topic recorder when it takes them."""
    from tether_hooks import platforms

    try:
        cls = platforms.load(name)
    except ImportError as exc:
        raise ListenerError(
            f"{exc}; install the extra: pip install 'tether-hooks[{name}]'"
        ) from exc
    params = inspect.signature(cls).parameters
    kwargs: dict = {}
    if "topics" in params:
        sessions = store.read()["sessions"]  # type: ignore[attr-defined]
        kwargs["topics"] = {
            sid: int(thread) for sid, s in sessions.items()
            if str(thread := ((s.get("chat") or {}).get(name) or {}).get("thread_id")).isdigit()
        }
    if "on_topic" in params:
        def on_topic(session_id: str, thread_id: int) -> None:
            chat = {name: {"chat_id": str((cfg.get(name) or {}).get("chat_id")),
                           "thread_id": str(thread_id)}}
            loop.run_in_executor(None, _remember_topic, store, session_id, chat)

        kwargs["on_topic"] = on_topic
    return cls(cfg.get(name) or {}, **kwargs)


def _remember_topic(store: object, session_id: str, chat: dict) -> None:
    try:
        session = store.read()["sessions"].get(session_id) or {}  # type: ignore[attr-defined]
        store.set_session(session_id, chat={**(session.get("chat") or {}), **chat})  # type: ignore[attr-defined]
    except TetherError as exc:
        log.warning("cannot record the topic of session %s: %s", session_id, exc)

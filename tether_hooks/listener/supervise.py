"""No listener task dies silently: each long-lived task (the store watcher, the audit tail,
the config watcher, a bridge's poller watchdog) runs under :func:`supervise`. One that
raises is logged with its traceback (through the redacting log), shown as ``restarting``
in the health file (``tether-hooks status``), and started again after a backoff; a task
that ran ``STEADY`` seconds before failing starts over from the shortest delay. What
cannot be restarted (the event loop itself) ends ``serve`` with an error: the process exits
non-zero and the next hook starts a new listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tether_hooks.platforms.base import redact

__all__ = ["RESTART_DELAYS", "STEADY", "Tasks"]

log = logging.getLogger("tether_hooks.listener")

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
STEADY = 60.0


class Tasks:
    """The supervised tasks' states (``{"store watcher": {"state": "ok", ...}}``)."""

    def __init__(self, on_change: Callable[[], None], secrets: list[str] | None = None) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self._on_change = on_change
        self._secrets = secrets or []

    def report(self, name: str, state: str, detail: str = "", **extra: object) -> None:
        """Set a task's state (a task may report a problem it survives, e.g. a bad store)."""
        new = {"state": state, "detail": redact(detail, self._secrets)[:300], **extra}
        if self.states.get(name) != new:
            self.states[name] = new
            self._on_change()

    def failing(self) -> dict[str, dict[str, Any]]:
        return {n: s for n, s in self.states.items() if s.get("state") != "ok"}

    async def supervise(self, name: str, factory: Callable[[], Awaitable[None]],
                        closing: Callable[[], bool]) -> None:
        """Run ``factory()`` until it returns (done) or ``closing()``; restart it on errors."""
        failures = 0
        restarts = 0
        while not closing():
            started = time.monotonic()
            if self.states.get(name, {}).get("state") != "error":
                self.report(name, "ok", restarts=restarts)
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if closing():
                    return
                if time.monotonic() - started > STEADY:
                    failures = 0
                delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
                failures += 1
                restarts += 1
                log.error("listener task %r failed; restarting it in %g s", name, delay,
                          exc_info=exc)
                self.report(name, "restarting",
                            f"{type(exc).__name__}: {exc}; restart {restarts} in {delay:g} s",
                            restarts=restarts, at=time.time())
                await asyncio.sleep(delay)

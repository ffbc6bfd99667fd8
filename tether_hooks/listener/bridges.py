"""Dispatch, part four: the bridges' lives. Starting them (with backoff), their states
(``listener.health.json`` for ``tether-hooks status``) and what happens when none can post:
waiting requests are settled as no decision at once, so no hook waits for nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

from tether_hooks import state
from tether_hooks.listener.commands import COMMANDS
from tether_hooks.platforms.base import BridgeAuthError

__all__ = ["BridgeStates", "DOWN", "RETRY_DELAYS"]

log = logging.getLogger("tether_hooks.listener")

RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0)
DOWN = ("auth", "error")  # health states that cannot post (models.DOWN_STATES)


class BridgeStates:
    """Mixed into ``Dispatcher``: uses its bridges, states, cfg, store, ``_spawn``, ``_io``."""

    def usable(self) -> bool:
        """True while some bridge is (or may soon be) able to post."""
        return any(s["state"] not in DOWN for s in self.states.values())

    def add_bridge(self, bridge: object) -> None:
        """A bridge loaded after ``start`` (the daemon binds its socket before the SDK import)."""
        name = bridge.name  # type: ignore[attr-defined]
        self.bridges[name] = bridge
        users = (self.cfg.get(name) or {}).get("allowed_user_ids") or []
        self.allowed[name] = {str(u) for u in users}
        self.states[name] = {"state": "starting", "detail": ""}
        self._spawn(self._run_bridge(name, bridge))

    def expect(self, name: str) -> None:
        """A configured platform still loading: counts as usable meanwhile."""
        self.states.setdefault(name, {"state": "starting", "detail": "loading"})

    async def fail(self, name: str, detail: str) -> None:
        """A configured platform could not even be loaded (no SDK, bad config)."""
        log.error("%s: %s", name, detail)
        self._set_state(name, "error", detail)
        await self._no_bridge_left()

    async def _run_bridge(self, name: str, bridge: object) -> None:
        """Start ``bridge``; on any failure (unreachable, token rejected...) say so at once
        (``_no_bridge_left``: no hook waits for it) and try again with backoff, for ever."""
        delays = iter(RETRY_DELAYS)
        while not self._closing:
            self._set_state(name, "starting", "")
            try:
                await bridge.start(self.on_event)  # type: ignore[attr-defined]
            except Exception as exc:
                auth = isinstance(exc, BridgeAuthError)
                delay = next(delays, RETRY_DELAYS[-1])
                log.error("%s could not start: %s; retrying in %g s", name, exc, delay)
                self._set_state(name, "auth" if auth else "error",
                                f"{exc}; retrying in {delay:g} s")
                await self._no_bridge_left()
                await asyncio.sleep(delay)  # backoff before a retry
                continue
            self._started.add(name)
            self._refresh_health()
            if self.states[name]["state"] == "starting":
                self._set_state(name, "ok", "")
            log.info("%s connected", name)
            if bridge.capabilities.commands:
                try:
                    await bridge.set_commands(COMMANDS)
                except Exception as exc:
                    log.warning("%s: could not register commands: %s", name, exc)
            self._wake.set()
            return

    def _check_pollers(self) -> None:
        """A started bridge whose poller ended (``polling_alive``) gets it started again."""
        for name in list(self._started):
            bridge = self.bridges.get(name)
            if bridge is None or name in self._restarting or bridge.polling_alive():
                continue
            self._restarting.add(name)
            self._set_state(name, "error", "polling stopped; starting it again")

            async def restart(name: str = name, bridge: object = bridge) -> None:
                try:
                    await bridge.restart_polling()
                except Exception as exc:
                    log.error("%s: restarting polling failed: %s", name, exc)
                    await asyncio.sleep(RETRY_DELAYS[0])
                finally:
                    self._restarting.discard(name)

            self._spawn(restart())

    def _ready(self) -> list:
        return [b for n, b in self.bridges.items()
                if self.states[n]["state"] not in (*DOWN, "starting")]

    def _set_state(self, name: str, value: str, detail: str, extra: dict | None = None) -> None:
        new = {**(extra or {}), "state": value, "detail": detail}
        old = self.states.get(name)
        if old != new:
            self.states[name] = new
            self._write_health()
            self._changed.set()
            self._changed = asyncio.Event()
            if value in DOWN and (old or {}).get("state") not in DOWN and not self._closing:
                self._spawn(self._no_bridge_left())  # none can post now: nobody waits

    async def _until_started(self) -> None:
        """Until no configured bridge is still starting."""
        while any(s["state"] == "starting" for s in self.states.values()):
            await self._changed.wait()

    def _refresh_health(self) -> None:
        for name, bridge in self.bridges.items():
            if name not in self._started:
                continue
            try:
                report = bridge.health()
            except Exception as exc:
                report = {"state": "error", "detail": str(exc)}
            if isinstance(report, dict) and report.get("state"):
                self._set_state(name, str(report["state"]), str(report.get("detail") or ""),
                                report)

    def _write_health(self) -> None:
        if not self.health_path:
            return
        blob = {"pid": os.getpid(), "started_at": self.started_at, "updated_at": time.time(),
                "bridges": self.states, "tasks": getattr(self, "tasks", None) and self.tasks.states}
        try:
            state.write_atomic(self.health_path, json.dumps(blob).encode())
        except OSError as exc:
            log.warning("cannot write %s: %s", self.health_path, exc)

    async def _no_bridge_left(self) -> None:
        """No platform can post: settle what waits for one, so no hook waits for nothing."""
        if self.usable() or self.local:
            return
        detail = "; ".join(f"{n}: {s['detail']}" for n, s in self.states.items())
        for request in self.store.read()["requests"].values():
            if request.get("status") == "pending" and not (request.get("chat") or {}).get("refs"):
                await self._unrelayed(request["id"], f"no chat platform is reachable ({detail})")

    async def _unrelayed(self, rid: str, reason: str) -> None:
        """Settle as no decision: the hook falls back to the agent's own prompt at once."""
        await self._io(self.store.decide, rid, "ask", by="tether-hooks", via="listener",
                       reason=reason, status="expired")

"""The set of bridges and their lives: starting them (with backoff), their states
(``listener.health.json`` for ``tether-hooks status``), whether any can post, and the
messages every bridge gets (errors, notices) or one event's bridge gets (answers)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tether_hooks import state
from tether_hooks.listener import access
from tether_hooks.listener.notices import Debouncer
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import DOWN_STATES
from tether_hooks.platforms.base import (
    BridgeAuthError,
    BridgeBase,
    Incoming,
    MessageRef,
    Notice,
    OnEvent,
)

__all__ = ["DOWN", "RETRY_DELAYS", "Bridges"]

log = logging.getLogger("tether_hooks.listener")

RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0)
DOWN: tuple[str, ...] = DOWN_STATES  # health states that cannot post
CLOSE_TIMEOUT = 5.0


class Bridges:
    """Every configured bridge, its allowlist and its state."""

    def __init__(self, cfg: Mapping[str, Any], runtime: Runtime, *, on_event: OnEvent,
                 on_ready: Callable[[], None], on_down: Callable[[], Awaitable[None]],
                 commands: list[tuple[str, str]], health_path: str | None = None) -> None:
        self.cfg = cfg
        self.runtime = runtime
        self.on_event = on_event
        self.on_ready = on_ready  # a bridge connected: what waits may be posted now
        self.on_down = on_down  # none can post any more: nothing may wait for one
        self.commands = commands
        self.health_path = health_path
        self.all: dict[str, BridgeBase] = {}
        self.allowed: dict[str, set[str]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.started_at = time.time()
        self.errors = Debouncer()
        self._changed = asyncio.Event()  # set (and replaced) when a bridge's state changes
        self._started: set[str] = set()  # bridges whose start() returned
        self._restarting: set[str] = set()  # bridges whose poller is being restarted
        # since when every bridge has been refused (auth: a token, the bot out of the
        # channel): nothing, not even a press on a message already posted, comes through
        self.refused_since: float | None = None

    def get(self, name: str | None) -> BridgeBase | None:
        return self.all.get(name) if name is not None else None

    def started(self, name: object) -> bool:
        return name in self._started

    def add(self, bridge: BridgeBase, *, start: bool = True) -> None:
        """A bridge, started now (in the background) unless ``start`` is False."""
        name = bridge.name
        self.all[name] = bridge
        users = (self.cfg.get(name) or {}).get("allowed_user_ids") or []
        self.allowed[name] = {str(u) for u in users}
        self.states[name] = {"state": "starting", "detail": ""}
        if start:
            self.runtime.spawn(self._run(name, bridge))

    def start_all(self) -> None:
        for name, bridge in self.all.items():
            self.runtime.spawn(self._run(name, bridge))

    def expect(self, name: str) -> None:
        """A configured platform still loading: counts as usable meanwhile."""
        self.states.setdefault(name, {"state": "starting", "detail": "loading"})

    async def fail(self, name: str, detail: str) -> None:
        """A configured platform could not even be loaded (no SDK, bad config)."""
        log.error("%s: %s", name, detail)
        self.set_state(name, "error", detail)
        await self.on_down()

    def usable(self) -> bool:
        """True while some bridge is (or may soon be) able to post."""
        return any(s["state"] not in DOWN for s in self.states.values())

    def refused_for(self) -> float:
        """How long every bridge has been refused (0: some is not)."""
        since = self.refused_since
        return 0.0 if since is None else time.monotonic() - since

    def ready(self) -> list[BridgeBase]:
        return [b for n, b in self.all.items()
                if self.states[n]["state"] not in (*DOWN, "starting")]

    async def until_started(self) -> None:
        """Until no configured bridge is still starting."""
        while any(s["state"] == "starting" for s in self.states.values()):
            await self._changed.wait()

    async def settled(self, within: float) -> None:
        """``until_started``, for at most ``within`` s (a bridge may still be connecting)."""
        try:
            await asyncio.wait_for(self.until_started(), within)
        except TimeoutError:
            pass

    # -- who may act, and where ------------------------------------------------------------

    def chat_of(self, name: str) -> str | None:
        known = self.all.get(name)
        return access.chat_of(self.cfg, name, known.resolved_chat_id if known else None)

    def in_chat(self, event: Incoming) -> bool:
        return access.in_chat(self.chat_of(event.bridge), event)

    def authorized(self, event: Incoming) -> bool:
        """An allowed user, in the configured chat: nothing is answered anywhere else."""
        return (str(event.user_id) in self.allowed.get(event.bridge, set())
                and self.in_chat(event))

    def event_key(self, event: Incoming) -> str | None:
        """What a decision, timer or toggle made by ``event`` is keyed on (its bridge's
        ``event_key``), so applying the same event again never does anything twice."""
        bridge = self.all.get(event.bridge)
        if bridge is None or (event.update_id is None and not event.event_id):
            return None
        return bridge.event_key(event)

    # -- messages ---------------------------------------------------------------------------

    async def tell(self, event: Incoming, text: str) -> None:
        """Answer a press privately, reply to a text or command."""
        bridge = self.all[event.bridge]
        if event.kind == "press":
            await bridge.answer(event, text)
        else:
            await bridge.reply(event, text)

    async def broadcast(self, session: dict[str, Any] | None, notice: Notice
                        ) -> list[MessageRef]:
        """Post ``notice`` on every bridge that can post; the refs of what was posted."""
        refs = []
        for bridge in self.ready():
            try:
                ref = await bridge.post_notice(session, notice)
            except Exception as exc:
                self.error(f"notice:{bridge.name}",
                           f"{bridge.name}: posting a notice failed: {exc}")
                continue
            if ref is not None:
                refs.append(ref)
        return refs

    def error(self, key: str, text: str) -> None:
        """Log and post an error, at most once a minute per ``key``."""
        if not self.errors.allow(key):
            return
        log.error("%s", text)
        self.runtime.spawn(self.broadcast(None, Notice("error", f"⚠️ {text}")))

    # -- lives ------------------------------------------------------------------------------

    async def _run(self, name: str, bridge: BridgeBase) -> None:
        """Start ``bridge``; on any failure (unreachable, token rejected...) say so at once
        (``on_down``: no hook waits for it) and try again with backoff, for ever."""
        delays = iter(RETRY_DELAYS)
        while not self.runtime.closing:
            self.set_state(name, "starting", "")
            try:
                await bridge.start(self.on_event)
            except Exception as exc:
                auth = isinstance(exc, BridgeAuthError)
                delay = next(delays, RETRY_DELAYS[-1])
                log.error("%s could not start: %s; retrying in %g s", name, exc, delay)
                self.set_state(name, "auth" if auth else "error",
                               f"{exc}; retrying in {delay:g} s")
                await self.on_down()
                await asyncio.sleep(delay)  # backoff before a retry
                continue
            self._started.add(name)
            self.refresh_health()
            if self.states[name]["state"] == "starting":
                self.set_state(name, "ok", "")
            log.info("%s connected", name)
            if bridge.capabilities.commands:
                try:
                    await bridge.set_commands(self.commands)
                except Exception as exc:
                    log.warning("%s: could not register commands: %s", name, exc)
            self.on_ready()
            return

    def check_pollers(self) -> None:
        """A started bridge whose poller ended (``polling_alive``) gets it started again."""
        for name in list(self._started):
            bridge = self.all.get(name)
            if bridge is None or name in self._restarting or bridge.polling_alive():
                continue
            self._restarting.add(name)
            if self.states[name]["state"] != "auth":  # a refusal stands until it is mended
                self.set_state(name, "error", "polling stopped; starting it again")
            self.runtime.spawn(self._restart(name, bridge))

    async def _restart(self, name: str, bridge: BridgeBase) -> None:
        try:
            await bridge.restart_polling()
        except Exception as exc:
            log.error("%s: restarting polling failed: %s", name, exc)
            await asyncio.sleep(RETRY_DELAYS[0])
        finally:
            self._restarting.discard(name)

    def set_state(self, name: str, value: str, detail: str,
                  extra: dict[str, Any] | None = None) -> None:
        new = {**(extra or {}), "state": value, "detail": detail}
        old = self.states.get(name)
        if old != new:
            self.states[name] = new
            if not all(s["state"] == "auth" for s in self.states.values()):
                self.refused_since = None
            elif self.refused_since is None:
                self.refused_since = time.monotonic()
            self.write_health()
            self._changed.set()
            self._changed = asyncio.Event()
            was = (old or {}).get("state")
            if ((value in DOWN and was not in DOWN) or (value == "auth" and was != "auth")
                    ) and not self.runtime.closing:
                self.runtime.spawn(self.on_down())  # none can post now: nobody waits

    def refresh_health(self) -> None:
        for name, bridge in self.all.items():
            if name not in self._started:
                continue
            try:
                report: dict[str, Any] = dict(bridge.health())
            except Exception as exc:
                report = {"state": "error", "detail": str(exc)}
            if report.get("state"):
                self.set_state(name, str(report["state"]), str(report.get("detail") or ""),
                               report)

    def write_health(self) -> None:
        if not self.health_path:
            return
        blob = {"pid": os.getpid(), "started_at": self.started_at, "updated_at": time.time(),
                "bridges": self.states, "tasks": self.runtime.tasks.states}
        try:
            state.write_atomic(self.health_path, json.dumps(blob).encode())
        except OSError as exc:
            log.warning("cannot write %s: %s", self.health_path, exc)

    async def close(self) -> None:
        for bridge in self.all.values():
            try:  # an unreachable platform must not hold up a SIGTERM
                await asyncio.wait_for(bridge.close(), CLOSE_TIMEOUT)
            except TimeoutError:
                log.warning("%s did not close within %g s", bridge.name, CLOSE_TIMEOUT)
            except Exception:
                log.exception("closing %s failed", bridge.name)

"""The listener of a machine in a fleet (``[shared]``): a *station*.

Every station serves its own hooks on its socket as a lone listener does, forwards its
store to Redis (``Forwarder``), applies the decisions written there for it (``Applier``),
mirrors the fleet's timers (``Mirror``), sends its hooks' notices and its auto-approvals
(``Notes``) and beats (``machines``). A station with chat platforms of its own campaigns
for the lead (``Elector``); the leader runs the usual ``Dispatcher`` on the whole fleet
(``FleetStore``, ``SharedOffsets``, ``SharedBook``), its bridges gated by the lease so two
machines never poll at once. Redis unreachable for ``FALLBACK_AFTER`` seconds: the station
runs today's ``Dispatcher`` on its own store and platforms until Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import redis

from tether_hooks import __version__, paths
from tether_hooks.listener.bridgemaker import add_bridges
from tether_hooks.listener.dispatch import Dispatcher
from tether_hooks.listener.hooknotices import is_auto_approval
from tether_hooks.listener.notices import AuditTail
from tether_hooks.listener.runtime import Runtime
from tether_hooks.listener.server import Server
from tether_hooks.models import Config
from tether_hooks.shared import client
from tether_hooks.shared.apply import Applier
from tether_hooks.shared.book import SharedBook
from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.forward import Forwarder
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.leader import Elector, Lease
from tether_hooks.shared.mirror import Mirror
from tether_hooks.shared.notes import Notes
from tether_hooks.shared.offsets import SharedOffsets
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.shared.snapshot import number
from tether_hooks.state import write_atomic
from tether_hooks.store import Store

__all__ = ["Station"]

log = logging.getLogger("tether_hooks.listener")

BEAT = 1.0
FALLBACK_AFTER = 14.0  # lease (8) + longest platform wait (4) + guard: no leader polls any more
DOORBELL_WAIT = 1.5
YIELD_FOR = 600.0  # alone, after a 409: another machine reads the bot; leave it to it
TAKEOVER = 15.0  # a machine with platforms that beat this recently may take the lead


class YieldLease:
    """The lease of a station serving alone while Redis is away: several machines of one
    fleet may then poll the same bot. The first 409 (another program polls it) makes this
    one stop polling for ``YIELD_FOR`` s, so the two never take turns stealing each other's
    presses; it still posts, and its requests can be answered in its terminal or with
    ``tether-hooks approve`` there."""

    max_wait = 30.0

    def __init__(self, machine: str) -> None:
        self.machine = machine
        self.yielded_at: float | None = None

    def allows(self, seconds: float) -> bool:
        return self.yielded_at is None or time.monotonic() - self.yielded_at >= YIELD_FOR

    def conflict(self) -> None:
        if self.allows(0):
            log.warning("%s: another machine polls this bot while the shared store is away: "
                        "this one stops reading it for %.0f min (it still posts)",
                        self.machine, YIELD_FOR / 60)
        self.yielded_at = time.monotonic()


class Station:
    def __init__(self, cfg: Config, s: SharedSettings, names: list[str]) -> None:
        self.cfg, self.s, self.names = cfg, s, names
        self.machine = s.machine
        self.keys = Keys(s.namespace)
        self.store = Store()
        self.aclient = client.connect(s)
        self.sclient = client.connect_sync(s)
        self.server = Server(self)
        self.token = f"{s.machine}:{os.getpid()}:{os.urandom(4).hex()}"
        self.runtime = Runtime(lambda: None, [p for p in (s.password,) if p])
        self.forwarder = Forwarder(self.aclient, self.keys, self.machine, self.store)
        self.applier = Applier(self.aclient, self.keys, self.machine, self.store,
                               self.server.notify)
        self.mirror = Mirror(self.aclient, self.keys, self.store,
                             on_decided=self.server.notify)
        self.notes = Notes(self.aclient, self.keys, self.machine)
        self.elector = Elector(self.aclient, self.keys, self.token, self._elected,
                               self._deposed)
        self.role = "member"
        self.leading: Dispatcher | None = None  # this station's Dispatcher while it leads
        self.fallback: Dispatcher | None = None  # its own platforms while Redis is away
        self.fleet: dict[str, dict[str, Any]] = {}  # machine -> what it published
        self.leader_machine: str | None = None
        self.reached = time.monotonic()  # the last time Redis answered
        self.problem: str | None = None
        self.started_at = time.time()
        self._health: dict[str, Any] | None = None  # what the health file says

    # -- lifecycle ----------------------------------------------------------------------

    async def serve(self, stopping: asyncio.Event) -> None:
        await self.server.start()
        log.info("listening on %s; machine %s of the fleet at %s", self.server.path,
                 self.machine, self.s.where())
        run = self.runtime.supervise
        run("forwarder", self.forwarder.run)
        run("applier", self.applier.run)
        run("mirror", self.mirror.run)
        run("presence", self._presence)
        run("heartbeat", self.runtime.heartbeat)
        run("auto-approvals", AuditTail(paths.audit_file(), self._on_audit).run)
        if self.names:  # only a station that can reach a chat may lead
            run("election", self.elector.run)
        try:
            await stopping.wait()
            log.info("shutting down")
        finally:
            self.runtime.closing = True
            await self._close_leading()
            if self.names:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.elector.release(), 2)
            if self.fallback is not None:
                await self.fallback.close()
            await self.runtime.cancel_all()
            await self.server.close()
            with contextlib.suppress(Exception):
                await self.aclient.aclose()
            self.sclient.close()

    # -- leading ------------------------------------------------------------------------

    async def _elected(self, lease: Lease) -> None:
        log.info("elected leader of the fleet (%s)", self.token)
        if self.fallback is not None:  # Redis is back: its own platforms only as leader
            await self.fallback.close()
            self.fallback = None
        fleet = FleetStore(self.keys, self.sclient, self.store.path)
        await asyncio.to_thread(fleet.refresh)
        offsets = SharedOffsets(self.sclient, self.keys, self.token)
        book = SharedBook(self.sclient, self.keys, self.token)
        dispatcher = Dispatcher([], self.cfg, fleet, offsets=offsets, book=book,
                                follow_audit=False)
        for name in self.names:
            dispatcher.bridges.expect(name)
        self.leading, self.role = dispatcher, "leader"
        await dispatcher.start()
        dispatcher.runtime.supervise(
            "fleet", lambda: fleet.follow(self.aclient, dispatcher.outbox.wake))
        dispatcher.runtime.supervise(
            "notes", lambda: self.notes.follow(self.token, self._on_note))
        await add_bridges(dispatcher, self.names, self.cfg, lease=lease)

    async def _deposed(self) -> None:
        log.warning("no longer the leader of the fleet")
        await self._close_leading()

    async def _close_leading(self) -> None:
        dispatcher, self.leading = self.leading, None
        if self.role == "leader":
            self.role = "member"
        if dispatcher is not None:
            await dispatcher.close()

    async def _on_note(self, note: dict[str, Any]) -> dict[str, Any] | None:
        dispatcher = self.leading
        if dispatcher is None:
            raise RuntimeError("not leading")  # left pending: the next leader claims it
        body = dict(note.get("body") or {})
        if note.get("kind") == "audit":
            dispatcher.notices.on_audit(body)
            return None
        return await dispatcher.on_notice(body)

    # -- what this machine's hooks ask (``server.Handler``) ------------------------------

    def status(self) -> dict[str, Any]:
        if self.fallback is not None:
            return {**self.fallback.status(), "shared": self._shared_status()}
        if self.leading is not None:
            return {**self.leading.status(), "shared": self._shared_status()}
        leader = self.fleet.get(self.leader_machine or "")
        if leader is not None and leader.get("role") == "leader":
            usable, bridges = bool(leader.get("usable")), leader.get("bridges") or {}
        elif leader is not None:  # elected, its bridges not published yet
            usable = True
            bridges = {"shared": {"state": "starting", "detail": f"{self.leader_machine} "
                                  "was just elected and is connecting"}}
        else:
            usable = self._takeover_possible()
            bridges = {"shared": {"state": "starting" if usable else "error",
                                  "detail": self.problem or "no machine of the fleet leads "
                                  "(none with a chat platform is listening)"}}
        return {"ok": True, "pid": os.getpid(), "usable": usable, "bridges": bridges,
                "tasks": self.runtime.tasks.states, "shared": self._shared_status()}

    def _takeover_possible(self) -> bool:
        if self.problem is not None:
            return False
        now = time.time() * 1000
        return any(info["platforms"] and now - info["beat"] < TAKEOVER * 1000
                   for info in self.fleet.values())

    def _shared_status(self) -> dict[str, Any]:
        return {"machine": self.machine, "role": self.role, "leader": self.leader_machine,
                "store": self.s.where(), "problem": self.problem}

    async def on_request(self, request_id: str) -> dict[str, Any]:
        log.info("request %s: the hook is waiting", request_id)
        if self.fallback is not None:
            return await self.fallback.on_request(request_id)
        with contextlib.suppress(Exception):  # in Redis before the answer (else: next round)
            await asyncio.wait_for(self.forwarder.sync(), DOORBELL_WAIT)
        deadline = time.monotonic() + DOORBELL_WAIT
        while True:
            with contextlib.suppress(Exception):  # what the fleet published, read now
                await asyncio.wait_for(self._read_fleet(), DOORBELL_WAIT)
            status = self.status()
            if status["usable"] or time.monotonic() >= deadline:
                return status
            await asyncio.sleep(0.2)  # the leader publishes its bridges each second

    async def on_notice(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.fallback is not None:
            return await self.fallback.on_notice(message)
        wait = float(message.get("wait") or 0)
        try:
            return await self.notes.send("notice", message, wait=wait)
        except Exception as exc:
            log.warning("cannot send a notice to the fleet: %s", client.describe(exc, self.s))
            return {"ok": True, "reply": None}

    def _on_audit(self, entry: dict[str, Any]) -> None:
        if is_auto_approval(entry):
            self.runtime.spawn(self._send_audit(entry))

    async def _send_audit(self, entry: dict[str, Any]) -> None:
        if self.fallback is not None:
            self.fallback.notices.on_audit(entry)
            return
        try:
            await self.notes.send("audit", entry)
        except Exception as exc:
            log.warning("cannot send an auto-approval to the fleet: %s",
                        client.describe(exc, self.s))

    # -- presence and fallback ----------------------------------------------------------

    async def _presence(self) -> None:
        while not self.runtime.closing:
            try:
                await self._beat()
            except (redis.RedisError, OSError) as exc:
                self._unreachable(exc)
            except Exception:  # ours: never taken for Redis being away (no fallback)
                log.exception("publishing this machine's presence failed")
            else:
                self.reached, self.problem = time.monotonic(), None
                if self.fallback is not None and self.leading is None:
                    log.info("the shared store answers again: leaving the fallback")
                    fallback, self.fallback = self.fallback, None
                    self.role = "member"
                    await fallback.close()
                    self.forwarder.wake()
            self._write_health()
            await asyncio.sleep(BEAT)

    async def _beat(self) -> None:
        """Publish this machine's presence, then read the fleet's."""
        seconds, micros = await self.aclient.time()
        now_ms = seconds * 1000 + micros // 1000
        leading = self.leading
        info: dict[Any, Any] = {
            "version": __version__, "pid": str(os.getpid()), "state": self.role,
            "platforms": json.dumps(self.names), "beat": str(now_ms),
            "usable": json.dumps(leading.bridges.usable() if leading else False),
            "bridges": json.dumps(leading.bridges.states if leading else {})}
        async with self.aclient.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.machines, {self.machine: now_ms})
            pipe.hset(self.keys.machine(self.machine), mapping=info)
            pipe.expire(self.keys.machine(self.machine), 86400)
            await pipe.execute()
        await self._read_fleet()

    async def _read_fleet(self) -> None:
        """Who leads, and what every machine published (two round trips)."""
        async with self.aclient.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.leader)
            pipe.zrange(self.keys.machines, 0, -1)
            token, names = await pipe.execute()
        async with self.aclient.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.keys.machine(name))
            published = await pipe.execute()
        self.fleet = {name: _published(raw) for name, raw in zip(names, published, strict=True)
                      if raw}
        self.leader_machine = token.split(":", 1)[0] if token else None

    def _unreachable(self, exc: BaseException) -> None:
        first = self.problem is None
        self.problem = client.describe(exc, self.s)
        if first:
            log.warning("%s; retrying", self.problem)
        self.leader_machine = None
        away = time.monotonic() - self.reached
        if away >= FALLBACK_AFTER and self.fallback is None and self.leading is None:
            log.warning("%s for %.0f s: serving this machine alone (its own platforms: %s)",
                        self.problem, away, ", ".join(self.names) or "none")
            self.runtime.spawn(self._start_fallback())

    async def _start_fallback(self) -> None:
        dispatcher = Dispatcher([], self.cfg, self.store, follow_audit=False)  # ours: _on_audit
        dispatcher.runtime.on_decided = self.server.notify
        for name in self.names:
            dispatcher.bridges.expect(name)
        self.fallback, self.role = dispatcher, "fallback"
        await dispatcher.start()
        await add_bridges(dispatcher, self.names, self.cfg, lease=YieldLease(self.machine))

    def _write_health(self) -> None:
        """The health file, written when what it says changed (not at every beat: each
        write is two fsyncs)."""
        status = self.status()
        said = {"pid": os.getpid(), "started_at": self.started_at,
                "bridges": status.get("bridges") or {}, "tasks": status.get("tasks") or {},
                "shared": status["shared"]}
        if said == self._health:
            return
        try:
            write_atomic(paths.listener_health_file(),
                         json.dumps({**said, "updated_at": time.time()}).encode())
        except OSError as exc:
            log.warning("cannot write the health file: %s", exc)
        else:
            self._health = said


def _published(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """What a station published about itself (``machine:{m}``), each field checked: a
    record of another version or a hand edit reads as a machine that can do nothing."""
    def field(name: str, kind: type, default: Any) -> Any:
        try:
            value = json.loads(raw.get(name) or "null")
        except ValueError:
            return default
        return value if isinstance(value, kind) else default

    return {"beat": number(raw.get("beat")), "role": str(raw.get("state") or ""),
            "platforms": field("platforms", list, []), "usable": field("usable", bool, False),
            "bridges": field("bridges", dict, {})}

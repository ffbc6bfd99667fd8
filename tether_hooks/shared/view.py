"""``FleetView``: what the CLI shows of the fleet (blocking client, short timeouts).

Every Redis error becomes ``SharedUnavailable`` with a one-line message and no password
(``opened`` turns it into the "showing this machine only" line of ``status``). This machine's
own records are read from its local store by the verbs; the view gives the others'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, TypedDict

from tether_hooks import paths
from tether_hooks.shared import client as shared_client
from tether_hooks.shared.client import SharedUnavailable
from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.records import fleet_id, parse_id
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.shared.snapshot import number, resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import Request, Session, Timer

__all__ = ["BEAT", "FleetView", "MachineRow", "opened", "route"]

TIMEOUT = 1.0
BEAT = 3.0  # a station's heartbeat period; stale after 3 missed beats
STALE_AFTER = 3 * BEAT


class MachineRow(TypedDict):
    name: str
    role: str  # what it published: member | leader | fallback
    leader: bool  # it holds the leader lock now
    you: bool
    beat: float | None  # Redis time (s) of its last heartbeat
    age: float | None  # seconds since then
    stale: bool
    version: str | None
    platforms: list[str]
    pending: int


class FleetView:
    """Read the fleet once (``load``), then ask; writes go through ``store`` (FleetStore)."""

    def __init__(self, s: SharedSettings, timeout: float = TIMEOUT) -> None:
        self.settings = s
        self.me = s.machine
        self.keys = Keys(s.namespace)
        self.client = shared_client.connect_sync(s, timeout)
        self.store = FleetStore(self.keys, self.client, paths.state_file())

    def load(self) -> FleetView:
        with shared_client.unavailable(self.settings):
            self.store.refresh()
        return self

    def requests(self) -> list[Request]:
        return list(self.store.read()["requests"].values())

    def sessions(self) -> list[Session]:
        return list(self.store.read()["sessions"].values())

    def timers(self) -> list[Timer]:
        return list(self.store.read()["timers"].values())

    def others(self, kind: str) -> dict[str, Any]:
        """Another machine's records (and fleet timers) of ``kind``, by snapshot key."""
        table: Mapping[str, Any] = self.store.read()[kind]  # type: ignore[literal-required]
        return {k: v for k, v in table.items() if v.get("machine") != self.me}

    def leader(self) -> str | None:
        """The machine holding the leader lock, or None."""
        with shared_client.unavailable(self.settings):
            token = self.client.get(self.keys.leader)
        return str(token).split(":", 1)[0] if token else None

    def machines(self) -> list[MachineRow]:
        """Every machine that beat, by name."""
        with shared_client.unavailable(self.settings):
            raw: list[Any] = self.client.zrange(self.keys.machines, 0, -1,
                                                withscores=True)
            beats = [(str(name), float(score)) for name, score in raw]
            pipe = self.client.pipeline(transaction=False)
            for name, _ in beats:
                pipe.hgetall(self.keys.machine(name))
            pipe.time()
            *infos, (sec, usec) = pipe.execute()
        leader = self.leader()
        now = float(sec) + float(usec) / 1e6
        pending: dict[str, int] = {}
        for r in self.requests():
            if r.get("status") == "pending" and number(r.get("expires_at")) > time.time():
                pending[str(r.get("machine"))] = pending.get(str(r.get("machine")), 0) + 1
        rows: list[MachineRow] = []
        for (name, score), info in zip(beats, infos, strict=True):
            beat = number(info.get("beat"), score) / 1000
            rows.append({
                "name": str(name), "role": str(info.get("state") or "member"),
                "leader": leader == name, "you": name == self.me, "beat": beat,
                "age": max(0.0, now - beat), "stale": now - beat > STALE_AFTER,
                "version": info.get("version"), "platforms": _list(info.get("platforms")),
                "pending": pending.get(str(name), 0)})
        return sorted(rows, key=lambda row: row["name"])

    def alive(self, machine: str) -> bool:
        """Has ``machine`` beaten recently (so its station will apply an order soon)?"""
        return any(row["name"] == machine and not row["stale"] for row in self.machines())

    def confirm(self, fid: str, timeout: float) -> Request | None:
        """The request once its machine has settled it (within ``timeout``), else None."""
        rid, machine = parse_id(fid)
        deadline = time.monotonic() + timeout
        while machine and time.monotonic() < deadline:
            with shared_client.unavailable(self.settings):
                text = self.client.hget(self.keys.requests(machine), rid)
            if _status(text) not in (None, "pending"):
                with shared_client.unavailable(self.settings):
                    self.store.refresh()
                return self.store.read()["requests"].get(fid)
            time.sleep(0.1)  # polling the owner's record, with a deadline
        return None


def _list(text: object) -> list[str]:
    try:
        value = json.loads(str(text)) if text else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _status(text: object) -> str | None:
    try:
        value = json.loads(str(text)) if text else None
    except ValueError:
        return None
    return str(value.get("status")) if isinstance(value, dict) else None


def opened(s: SharedSettings) -> tuple[FleetView | None, str | None]:
    """A loaded view, or None and the line saying Redis is unreachable."""
    try:
        return FleetView(s).load(), None
    except SharedUnavailable as exc:
        detail = str(exc).rsplit(" is unreachable ", 1)[-1]
        return None, f"shared store unreachable {detail}: showing this machine only"


def route(s: SharedSettings, key: str, local: Mapping[str, Any], kind: str
          ) -> tuple[str, FleetView | None]:
    """Which record ``key`` names in the fleet: ``(local key, None)`` for one of this
    machine's (``local``: its store's table), ``(snapshot key, view)`` for another's or a
    fleet timer. Redis unreachable: this machine's only, and naming another machine's
    record raises SharedUnavailable. NotFound / UsageError (ambiguous) as ``Store``."""
    wanted = key.strip().lstrip("#").lower()
    local_id, named = parse_id(wanted)
    try:
        view = FleetView(s).load()
    except SharedUnavailable:
        if named not in (None, s.machine):
            raise
        return local_id, None
    items: dict[str, object] = {fleet_id(k, s.machine): v for k, v in local.items()}
    table = "requests" if kind == "request" else "timers"
    items.update(view.others(table))
    chosen = resolve(items, key, kind)
    rid, machine = parse_id(chosen)
    if machine == s.machine and chosen not in view.others(table):
        return rid, None
    return chosen, view


"""Every Redis key and channel of a fleet, under ``th:<namespace>:``.

    leader          string  the elected station's token (expires unless renewed)
    machines        zset    machine -> ms of its last heartbeat (Redis TIME)
    machine:{m}     hash    what station m publishes about itself (json fields)
    rev             hash    machine -> counter bumped at each change of its records
    req:{m}         hash    request id -> m's request, redacted as for chat (json)
    sess:{m}        hash    session id -> m's session (json)
    tmr:{m}         hash    timer id -> m's own timers (json; display)
    tmr:all         hash    timer id -> a timer for every machine (tool/bash scope)
    ord:{m}         hash    request id -> the one order (decision) for m's request, HSETNX
    ops:{m}         stream  revoke / stop / timer operations for m
    notes           stream  notices for the chat (group ``lead``): hooks' and auto-approvals
    reply:{m}       hash    wait id -> the chat's reply to m's Stop hook
    book            string  the chat book (fenced: written by the leader only)
    off:{bridge}    string  a bridge's applied offsets and held updates (fenced)
    bell:fleet      channel a machine's records or tmr:all changed (payload: machine)
    bell:{m}        channel an order, op or reply for m
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys"]


@dataclass(frozen=True)
class Keys:
    namespace: str = "tether"

    @property
    def prefix(self) -> str:
        return f"th:{self.namespace}:"

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def leader(self) -> str:
        return self._k("leader")

    @property
    def machines(self) -> str:
        return self._k("machines")

    def machine(self, m: str) -> str:
        return self._k("machine", m)

    @property
    def rev(self) -> str:
        return self._k("rev")

    def requests(self, m: str) -> str:
        return self._k("req", m)

    def sessions(self, m: str) -> str:
        return self._k("sess", m)

    def timers(self, m: str) -> str:
        return self._k("tmr", m)

    @property
    def fleet_timers(self) -> str:
        return self._k("tmr", "all")

    def orders(self, m: str) -> str:
        return self._k("ord", m)

    def ops(self, m: str) -> str:
        return self._k("ops", m)

    @property
    def notes(self) -> str:
        return self._k("notes")

    def replies(self, m: str) -> str:
        return self._k("reply", m)

    @property
    def book(self) -> str:
        return self._k("book")

    def offsets(self, bridge: str) -> str:
        return self._k("off", bridge)

    @property
    def fleet_bell(self) -> str:
        return self._k("bell", "fleet")

    def bell(self, m: str) -> str:
        return self._k("bell", m)

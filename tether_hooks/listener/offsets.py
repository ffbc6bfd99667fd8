"""Replay protection: the highest update id handled per bridge, kept in
``paths.listener_offsets_file()`` (``{"telegram": {"id": 812345, "at": ..., "account": ...}}``),
a few bytes beside the store.

Dispatch claims an update *before* handling it: a restart then never applies a press or a
text twice (a crash in the middle loses that one update instead). The bridge gets the
offset back when the listener starts (``update_offset`` = highest + 1) and skips what came
before; the claim check stays as a second guard for a bridge that redelivers anyway.

An offset is forgotten after ``KEEP`` seconds (Telegram keeps an unconfirmed update 24 h at
most, and after a week without updates it numbers them from a random new start) and when
the bridge's ``account`` changed (another bot token: another numbering). Only the listener
(one process, under its lock) writes the file.
"""

from __future__ import annotations

import json
import os
import threading
import time

from tether_hooks import paths, state

__all__ = ["KEEP", "Offsets"]

KEEP = 24 * 3600.0


class Offsets:
    """Highest handled update id per bridge; ``claim`` in memory, ``save`` to the file."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or paths.listener_offsets_file()
        self._lock = threading.Lock()
        self._pending: tuple[int, bytes] = (0, b"{}")  # (version, what to write)
        self._written = 0
        self._accounts: dict[str, str] = {}
        try:
            with open(self.path, "rb") as f:
                loaded = json.loads(f.read())
        except (OSError, ValueError):
            loaded = {}
        self._ids: dict[str, dict] = {
            str(k): v for k, v in (loaded if isinstance(loaded, dict) else {}).items()
            if isinstance(v, dict) and isinstance(v.get("id"), int)
            and isinstance(v.get("at"), (int, float))
        }

    def _live(self, bridge: str, now: float) -> dict | None:
        entry = self._ids.get(bridge)
        if entry is None or now - float(entry["at"]) >= KEEP:
            return None
        return entry

    def bind(self, bridge: str, account: str) -> None:
        """The account ``bridge`` now runs as; an offset of another account is dropped."""
        self._accounts[bridge] = account
        entry = self._ids.get(bridge)
        if entry is not None and entry.get("account") != account:
            del self._ids[bridge]

    def get(self, bridge: str) -> int | None:
        """The highest update id of ``bridge`` handled lately, if any."""
        entry = self._live(bridge, time.time())
        return None if entry is None else int(entry["id"])

    def claim(self, bridge: str, update_id: int) -> bool:
        """Record ``update_id`` as handled; False if it (or a later one) already was."""
        now = time.time()
        entry = self._live(bridge, now)
        if entry is not None and update_id <= int(entry["id"]):
            return False
        self._ids[bridge] = {"id": update_id, "at": now,
                             "account": self._accounts.get(bridge, "")}
        self._pending = (self._pending[0] + 1, json.dumps(self._ids, sort_keys=True).encode())
        return True

    def save(self) -> None:
        """Write the latest offsets (atomically; from any thread): call after ``claim``,
        before acting on the update."""
        with self._lock:
            version, data = self._pending
            if version <= self._written:
                return  # a later save already wrote this (or newer)
            paths.ensure_dir(os.path.dirname(self.path))
            state.write_atomic(self.path, data)
            self._written = version

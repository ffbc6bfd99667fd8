"""At-least-once updates: per bridge, the highest update id *applied* and the updates
fetched but not applied yet, kept in ``paths.listener_offsets_file()``::

    {"telegram": {"id": 812345, "at": ..., "account": ...,
                  "inbox": {"812346": {"raw": {...the update...}, "at": ..., "tries": 0}}}}

A bridge that can (Telegram) ``hold``\\ s what it fetched before the platform hears it was
received, so a listener killed at any moment (kill -9, OOM, reboot) loses nothing: the
restarted one gets the held updates back (``backlog``) and applies them first. Dispatch
marks an update ``done`` only *after* applying it, and drops one whose id is not
``fresh`` (applied already: a redelivery). Applying an update twice (the listener died
after applying it, before ``done`` was written) changes nothing: decisions and timers are
keyed on the update (``listener.dispatch``). An update held through ``MAX_TRIES``
restarts without being applied (it crashes the listener) is dropped with an error.

A bridge whose event ids do not grow (``replays_by_order`` False) is kept by key instead:
the ``KEYS`` most recently applied event keys (``fresh_key``, ``done_key``), and an
event whose key is among them is a redelivery. Such a bridge (Slack) holds what it received
by key (``hold_keyed``, before it acknowledges it): ``"keyed": {"slack:...": {"raw": ...,
"seq": 3, ...}}``, given back by ``backlog`` in the order it arrived and dropped by
``done_key`` once applied. A key applied already, or held already, is not held again.

An offset is forgotten after ``KEEP`` seconds (Telegram keeps an unconfirmed update 24 h at
most, and after a week without updates it numbers them from a random new start) and when
the bridge's ``account`` changed (another bot token: another numbering). Only the listener
(one process, under its lock) writes the file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from tether_hooks import paths, state

__all__ = ["KEEP", "KEYS", "MAX_TRIES", "Offsets"]

log = logging.getLogger("tether_hooks.listener")

KEEP = 24 * 3600.0
MAX_TRIES = 3
KEYS = 1000  # recently applied event keys kept per bridge (``replays_by_order`` False)


class Offsets:
    """Applied update ids and held updates per bridge; every change is written at once."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or paths.listener_offsets_file()
        self._lock = threading.RLock()
        self._accounts: dict[str, str] = {}
        try:
            raw = self._read_doc()
            loaded = json.loads(raw) if raw is not None else {}
        except (OSError, ValueError, RecursionError):
            loaded = {}
        self._ids: dict[str, dict[str, Any]] = {
            str(k): v for k, v in (loaded if isinstance(loaded, dict) else {}).items()
            if isinstance(v, dict) and isinstance(v.get("id"), int)
            and isinstance(v.get("at"), (int, float))
        }
        for entry in self._ids.values():
            inbox = entry.get("inbox")
            entry["inbox"] = {k: v for k, v in (inbox if isinstance(inbox, dict) else {}).items()
                              if str(k).lstrip("-").isdigit() and isinstance(v, dict)
                              and isinstance(v.get("raw"), dict)}
            keys = entry.get("keys")
            entry["keys"] = [str(k) for k in (keys if isinstance(keys, list) else ())][-KEYS:]
            keyed = entry.get("keyed")
            entry["keyed"] = {str(k): v for k, v in (keyed if isinstance(keyed, dict)
                                                     else {}).items()
                              if isinstance(v, dict) and isinstance(v.get("raw"), dict)}

    def _live(self, bridge: str, now: float) -> dict[str, Any] | None:
        entry = self._ids.get(bridge)
        if entry is None or now - float(entry["at"]) >= KEEP:
            return None
        return entry

    def _entry(self, bridge: str, now: float) -> dict[str, Any]:
        entry = self._live(bridge, now)
        if entry is None:
            entry = self._ids[bridge] = {"id": -(2**62), "at": now, "keys": [], "keyed": {},
                                         "account": self._accounts.get(bridge, ""), "inbox": {}}
        return entry

    def bind(self, bridge: str, account: str) -> None:
        """The account ``bridge`` now runs as; what another account left is dropped."""
        with self._lock:
            self._accounts[bridge] = account
            entry = self._ids.get(bridge)
            if entry is not None and entry.get("account") != account:
                del self._ids[bridge]

    def get(self, bridge: str) -> int | None:
        """The highest update id of ``bridge`` applied lately, if any."""
        with self._lock:
            entry = self._live(bridge, time.time())
            if entry is None or entry["id"] == -(2**62):
                return None
            return int(entry["id"])

    def fresh(self, bridge: str, update_id: int) -> bool:
        """False if ``update_id`` (or a later one) was applied already: a redelivery."""
        with self._lock:
            entry = self._live(bridge, time.time())
            return entry is None or update_id > int(entry["id"])

    def fresh_key(self, bridge: str, key: str) -> bool:
        """False if the event ``key`` was applied lately: a redelivery."""
        with self._lock:
            entry = self._live(bridge, time.time())
            return entry is None or key not in entry["keys"]

    def done_key(self, bridge: str, key: str) -> None:
        """The event ``key`` is applied: written now (the last ``KEYS`` are kept)."""
        with self._lock:
            now = time.time()
            entry = self._entry(bridge, now)
            if key not in entry["keys"]:
                entry["keys"] = [*entry["keys"][-(KEYS - 1):], key]
            entry["keyed"].pop(key, None)
            entry["at"] = now
            entry["account"] = self._accounts.get(bridge, entry.get("account", ""))
            self._save()

    def hold(self, bridge: str, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """Keep fetched updates (``(update_id, raw)``) until they are applied; written now."""
        with self._lock:
            now = time.time()
            entry = self._entry(bridge, now)
            added = False
            entry["at"] = now
            for update_id, raw in updates:
                if update_id > int(entry["id"]) and str(update_id) not in entry["inbox"]:
                    entry["inbox"][str(update_id)] = {"raw": raw, "at": now, "tries": 0}
                    added = True
            if added:
                self._save()

    def hold_keyed(self, bridge: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Keep received events (``(event key, raw)``) until they are applied, in the order
        given after those held before; written now. A key applied or held already is
        skipped (a redelivery)."""
        with self._lock:
            now = time.time()
            entry = self._entry(bridge, now)
            entry["at"] = now
            held = entry["keyed"]
            seq = max((int(v.get("seq") or 0) for v in held.values()), default=0)
            added = False
            for key, raw in items:
                if key in held or key in entry["keys"]:
                    continue
                seq += 1
                held[key] = {"raw": raw, "at": now, "seq": seq, "tries": 0}
                added = True
            if added:
                self._save()

    def backlog(self, bridge: str) -> list[dict[str, Any]]:
        """The held updates of ``bridge`` (oldest first: by update id, then the keyed ones
        in the order they arrived), each counted as one more try."""
        with self._lock:
            entry = self._live(bridge, time.time())
            if entry is None or not (entry["inbox"] or entry["keyed"]):
                return []
            out = []
            for box, keys in (
                (entry["inbox"], sorted(entry["inbox"], key=int)),
                (entry["keyed"], sorted(entry["keyed"],
                                        key=lambda k: int(entry["keyed"][k].get("seq") or 0))),
            ):
                for key in keys:
                    held = box[key]
                    if int(held.get("tries") or 0) >= MAX_TRIES:
                        log.error("%s: dropping update %s: applying it failed %d times",
                                  bridge, key, MAX_TRIES)
                        del box[key]
                        continue
                    held["tries"] = int(held.get("tries") or 0) + 1
                    out.append(held["raw"])
            self._save()
            return out

    def held(self, bridge: str) -> list[int]:
        """The ids of the updates held (fetched, not applied yet)."""
        with self._lock:
            entry = self._live(bridge, time.time())
            return sorted(int(k) for k in (entry or {}).get("inbox", {}))

    def held_keys(self, bridge: str) -> list[str]:
        """The keys of the events held by key (received, not applied yet), oldest first."""
        with self._lock:
            keyed = (self._live(bridge, time.time()) or {}).get("keyed", {})
            return sorted(keyed, key=lambda k: int(keyed[k].get("seq") or 0))

    def done(self, bridge: str, update_id: int) -> None:
        """``update_id`` is applied (updates are applied in order): written now."""
        with self._lock:
            now = time.time()
            entry = self._entry(bridge, now)
            entry["id"] = max(int(entry["id"]), update_id)
            entry["at"] = now
            entry["account"] = self._accounts.get(bridge, entry.get("account", ""))
            for key in [k for k in entry["inbox"] if int(k) <= update_id]:
                del entry["inbox"][key]
            self._save()

    def _save(self) -> None:
        self._write_doc(json.dumps(self._ids, sort_keys=True).encode())

    # -- where the document lives (``shared.offsets`` keeps it in Redis) -------------------

    def _read_doc(self) -> bytes | None:
        """The stored document, or None if there is none yet."""
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _write_doc(self, blob: bytes) -> None:
        paths.ensure_dir(os.path.dirname(self.path))
        state.write_atomic(self.path, blob)

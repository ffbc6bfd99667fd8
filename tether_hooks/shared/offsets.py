"""The leader's ``Offsets`` (applied update ids, held updates) in Redis, one key per bridge:
``off:{bridge}`` = that bridge's entry of the document, as JSON (``listener.offsets``).

Written only by the leader, with ``leader.fenced_set``: a write after this station lost
the lease raises ``NotLeader`` (so a deposed leader never holds nor marks an update), and
the next leader reads what the last one held and applied. A key lives ``TTL`` after its
last write (an offset is forgotten after ``KEEP`` anyway). Reading fails loudly (a Redis
error is raised): starting from empty offsets could hand applied updates to dispatch again.
"""

from __future__ import annotations

import json

import redis

from tether_hooks.listener.offsets import KEEP, Offsets
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.leader import fenced_set

__all__ = ["TTL", "SharedOffsets"]

TTL = int(2 * KEEP * 1000)  # ms


class SharedOffsets(Offsets):
    """``Offsets`` whose document lives in Redis, written while ``token`` leads."""

    def __init__(self, sync_client: redis.Redis, keys: Keys, token: str) -> None:
        self.client, self.keys, self.token = sync_client, keys, token
        self._written: dict[str, str] = {}  # bridge -> its entry as last read or written
        super().__init__(path=keys.offsets("*"))

    def _read_doc(self) -> bytes | None:
        prefix = self.keys.offsets("")
        found = sorted(self.client.scan_iter(match=prefix + "*", count=100))
        values = self.client.mget(found) if found else []
        doc: dict[str, object] = {}
        for key, value in zip(found, values, strict=True):
            if not isinstance(value, str):
                continue
            bridge = str(key)[len(prefix):]
            self._written[bridge] = value
            try:
                doc[bridge] = json.loads(value)
            except (ValueError, RecursionError):
                continue  # dropped (as a corrupt file is); rewritten at the next change
        return json.dumps(doc).encode() if doc else None

    def _write_doc(self, blob: bytes) -> None:
        for bridge, entry in json.loads(blob).items():
            value = json.dumps(entry, sort_keys=True)
            if self._written.get(bridge) != value:
                fenced_set(self.client, self.keys, self.token, self.keys.offsets(bridge),
                           value, TTL)
                self._written[bridge] = value

"""The leader's ``ChatBook`` (nonces, message refs, answers, session threads) in Redis:
the whole document in ``book``, as JSON.

The leader is its only writer (each write is ``leader.fenced_set``: after the lease is
lost it raises ``NotLeader`` and Redis keeps what the next leader wrote), so the in-process
lock of ``ChatBook`` is enough for its read-modify-write. The document is read once, when
a station is elected; a Redis error while reading is raised (an empty book would post every
pending request again). A corrupt document is logged and replaced at the next write.
"""

from __future__ import annotations

import logging

import redis

from tether_hooks.listener.book import ChatBook, _empty
from tether_hooks.models import ChatBookDoc
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.leader import fenced_set

__all__ = ["SharedBook"]

log = logging.getLogger("tether_hooks.shared")


class SharedBook(ChatBook):
    """``ChatBook`` whose document lives in Redis, written while ``token`` leads."""

    def __init__(self, sync_client: redis.Redis, keys: Keys, token: str) -> None:
        self.client, self.keys, self.token = sync_client, keys, token
        super().__init__(path=keys.book)

    def _read_doc(self) -> bytes | None:
        value = self.client.get(self.keys.book)
        return None if value is None else str(value).encode()

    def _write_doc(self, blob: bytes) -> None:
        fenced_set(self.client, self.keys, self.token, self.keys.book, blob.decode())

    def _migrate(self) -> ChatBookDoc:
        return _empty()  # nothing to copy: a local state.json is no fleet's book

    def _set_aside(self, why: str) -> None:
        log.error("the shared chat book %s was corrupt (%s); starting afresh: posted "
                  "requests are posted again", self.path, why)

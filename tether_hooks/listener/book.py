"""The listener's own bookkeeping: ``<state dir>/chat.json``, written by the listener alone.

What a chat needs and no hook reads lives here, not in ``state.json`` (which every waiting
hook re-reads on each change)::

    {"schema": 1,
     "requests": {"7f3a": {"nonce": "1f2e3d4c", "refs": [MessageRef dict + "question"],
                           "posted_at": ..., "shown": false,
                           "answers": {"0": "SQLite"}, "picks": {"1": ["Auth"]},
                           "toggled": ["memory:12"]}},
     "sessions": {"s-1": {"telegram": {"chat_id": "-100", "thread_id": "42"}}}}

One writer (the listener process, under its lock), every change written at once with an
atomic rename; a corrupt file is moved aside (``chat.json.corrupt-<time>``) and a fresh
one used: posted messages are then posted again, nothing is decided. A listener of the
previous version kept this on the records of ``state.json`` (``request["chat"]``,
``session["chat"]``): when ``chat.json`` does not exist yet it is copied from there once;
those old keys are then left alone and never read again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Unpack, cast

from tether_hooks import paths, state
from tether_hooks.models import ChatBookDoc, ChatRef, RequestChat, SessionThread

__all__ = ["FILE_NAME", "ChatBook", "book_path"]

log = logging.getLogger("tether_hooks.listener")

FILE_NAME = "chat.json"
SCHEMA = 1
TOGGLES_KEPT = 50


def book_path(state_path: str | None = None) -> str:
    """``chat.json`` beside ``state.json``."""
    return os.path.join(os.path.dirname(state_path or paths.state_file()), FILE_NAME)


def _empty() -> ChatBookDoc:
    return {"schema": SCHEMA, "requests": {}, "sessions": {}}


class ChatBook:
    """Nonces, message refs, shown outcomes, answers, picks and session threads."""

    def __init__(self, path: str | None = None, state_path: str | None = None, *,
                 writer: bool = True) -> None:
        self.writer = writer  # False: a reader (status, tests), never writes nor moves
        self.state_path = state_path or paths.state_file()
        self.path = path or book_path(self.state_path)
        self._lock = threading.RLock()
        self.writes = 0
        self._data = self._load()

    # -- reading ---------------------------------------------------------------------------

    def request(self, rid: str) -> RequestChat:
        """The chat record of request ``rid`` (a deep copy; empty if none)."""
        with self._lock:
            copied: RequestChat = json.loads(json.dumps(self._data["requests"].get(rid) or {}))
            return copied

    def refs(self, rid: str) -> list[ChatRef]:
        return list(self.request(rid).get("refs") or ())

    def by_nonce(self, nonce: str) -> str | None:
        """The request whose buttons carry ``nonce``."""
        with self._lock:
            return next((rid for rid, rec in self._data["requests"].items()
                         if nonce and rec.get("nonce") == nonce), None)

    def by_message(self, bridge: str, chat_id: str, message_id: str
                   ) -> tuple[str, ChatRef] | None:
        """The request posted as that message, and the message's ref."""
        key = (bridge, str(chat_id), str(message_id))
        with self._lock:
            for rid, rec in self._data["requests"].items():
                for ref in rec.get("refs") or ():
                    if (ref.get("bridge"), str(ref.get("chat_id")),
                            str(ref.get("message_id"))) == key:
                        return rid, ChatRef(**ref)
        return None

    def session_chat(self, sid: str | None) -> dict[str, SessionThread]:
        """``{bridge: {"chat_id", "thread_id"}}`` of a session."""
        with self._lock:
            return {k: SessionThread(**v)
                    for k, v in (self._data["sessions"].get(sid or "") or {}).items()}

    def threads(self, bridge: str) -> dict[str, str]:
        """``{session id: thread id}`` known on ``bridge``."""
        with self._lock:
            return {sid: str(where["thread_id"])
                    for sid, chats in self._data["sessions"].items()
                    if (where := chats.get(bridge)) is not None
                    and where.get("thread_id") is not None}

    def sessions_in(self, bridge: str, thread_id: str) -> set[str]:
        return {sid for sid, thread in self.threads(bridge).items() if thread == str(thread_id)}

    # -- writing (the listener only) ---------------------------------------------------------

    def stage(self, rid: str, nonce: str) -> None:
        """The nonce of a request being posted, known at once (a press on its first message
        resolves) and written before the post."""
        with self._lock:
            record = self._data["requests"].setdefault(rid, {})
            if record.get("nonce") != nonce:
                record["nonce"] = nonce
                self._save()  # before the post: a listener that dies right after it
                # (a fleet's leader killed) leaves a nonce the next one posts with again

    def update(self, rid: str, *, session_id: str | None = None,
               **fields: Unpack[RequestChat]) -> RequestChat:
        """Merge ``fields`` into request ``rid``'s record; refs also record the session's
        thread per bridge (``session_id`` given). Written at once."""
        with self._lock:
            record = self._data["requests"].setdefault(rid, {})
            record.update(fields)
            for ref in fields.get("refs") or ():
                if session_id:
                    self._data["sessions"].setdefault(str(session_id), {})[ref["bridge"]] = {
                        "chat_id": ref.get("chat_id"), "thread_id": ref.get("thread_id")}
            self._save()
            return self.request(rid)

    def add_refs(self, rid: str, refs: list[ChatRef], *, session_id: str | None = None
                 ) -> RequestChat:
        """The copies one platform just posted, added to those of the others (each platform
        posts on its own: a slow one holds up no other); the outcome is to be shown again."""
        with self._lock:
            known = list(self._data["requests"].get(rid, {}).get("refs") or ())
            return self.update(rid, session_id=session_id, refs=[*known, *refs], shown=False,
                               posted_at=time.time())

    def set_thread(self, sid: str, bridge: str, chat_id: str, thread_id: str) -> None:
        with self._lock:
            chats = self._data["sessions"].setdefault(sid, {})
            new: SessionThread = {"chat_id": chat_id, "thread_id": str(thread_id)}
            if chats.get(bridge) != new:
                chats[bridge] = new
                self._save()

    def answer(self, rid: str, index: int, value: object) -> RequestChat:
        """Record the answer to question ``index``; the record."""
        with self._lock:
            record = self._data["requests"].setdefault(rid, {})
            record.setdefault("answers", {})[str(index)] = value
            self._save()
            return self.request(rid)

    def toggle(self, rid: str, index: int, label: str, labels: list[str],
               key: str | None = None) -> list[str]:
        """Toggle ``label``; once per ``key`` (the event), so a replay changes nothing.
        The picks of question ``index`` after it."""
        with self._lock:
            record = self._data["requests"].setdefault(rid, {})
            picks = record.setdefault("picks", {})
            if key:
                applied = record.setdefault("toggled", [])
                if key in applied:
                    return list(picks.get(str(index)) or ())
                applied[:] = [*applied[-(TOGGLES_KEPT - 1):], key]
            chosen = set(picks.get(str(index)) or ()) ^ {label}
            picks[str(index)] = [x for x in labels if x in chosen]
            self._save()
            return list(picks[str(index)])

    def prune(self, requests: set[str], sessions: set[str]) -> None:
        """Forget what the store forgot (old requests, stale sessions)."""
        with self._lock:
            data = self._data
            gone = [r for r in data["requests"] if r not in requests]
            left = [s for s in data["sessions"] if s not in sessions]
            for rid in gone:
                del data["requests"][rid]
            for sid in left:
                del data["sessions"][sid]
            if gone or left:
                self._save()

    # -- the file -----------------------------------------------------------------------------

    def _save(self) -> None:
        if not self.writer:
            raise RuntimeError(f"{self.path} is written by the listener alone")
        self._write_doc(json.dumps(self._data, sort_keys=True).encode())
        self.writes += 1

    def _read_doc(self) -> bytes | None:
        """The stored document, or None if there is none yet (``shared.book`` overrides
        this and ``_write_doc`` to keep it in Redis)."""
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _write_doc(self, blob: bytes) -> None:
        paths.ensure_dir(os.path.dirname(self.path))
        state.write_atomic(self.path, blob)

    def _load(self) -> ChatBookDoc:
        try:
            raw = self._read_doc()
        except OSError as exc:
            log.error("cannot read %s: %s; starting afresh", self.path, exc.strerror)
            return _empty()
        if raw is None:
            return self._migrate()
        try:
            data = json.loads(raw)
            if (not isinstance(data, dict) or not isinstance(data.get("requests"), dict)
                    or not isinstance(data.get("sessions"), dict)):
                raise ValueError("not a chat book")
        except (ValueError, RecursionError) as exc:
            if self.writer:
                self._set_aside(str(exc))
            return _empty()
        # our own file (0600, one writer): records are taken as written, wrong types dropped
        data["requests"] = {str(k): v for k, v in data["requests"].items() if isinstance(v, dict)}
        data["sessions"] = {str(k): {str(b): c for b, c in v.items() if isinstance(c, dict)}
                            for k, v in data["sessions"].items() if isinstance(v, dict)}
        return cast(ChatBookDoc, data)

    def _set_aside(self, why: str) -> None:
        target = f"{self.path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            os.replace(self.path, target)
        except OSError as exc:
            log.error("%s is corrupt (%s) and cannot be moved aside: %s", self.path, why,
                      exc.strerror)
            return
        log.error("%s was corrupt (%s); moved it to %s and started afresh: posted "
                  "requests are posted again", self.path, why, target)

    def _migrate(self) -> ChatBookDoc:
        """The previous version's chat keys of ``state.json``, copied once (read only)."""
        data = _empty()
        try:
            old = state.load(self.state_path)
        except Exception:  # corrupt or unreadable: the store handles it; nothing to copy
            return data
        for rid, request in old.get("requests", {}).items():
            if isinstance(request, dict) and isinstance(request.get("chat"), dict):
                data["requests"][str(rid)] = cast(RequestChat, dict(request["chat"]))
        for sid, session in old.get("sessions", {}).items():
            chats = session.get("chat") if isinstance(session, dict) else None
            if isinstance(chats, dict):
                data["sessions"][str(sid)] = {str(b): cast(SessionThread, dict(c))
                                              for b, c in chats.items() if isinstance(c, dict)}
        if self.writer and (data["requests"] or data["sessions"]):
            log.info("copied the chat bookkeeping of %s to %s", self.state_path, self.path)
            self._data = data
            self._save()
        return data

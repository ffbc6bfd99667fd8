"""The state store: the only writer of ``state.json``.

Every change is load-modify-write under one file lock (filelock) and is published with
an atomic rename (see ``state.py``), so 64 hooks at once lose no update and readers
never see a torn file. Every write increments the top-level ``rev``. The listener's chat
bookkeeping is not here: it lives in ``chat.json`` (``listener.book``). Expired timers
and old requests are pruned on every write. Nothing here does network I/O or waits on a
human while holding the lock.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from filelock import FileLock, Timeout

from tether_hooks import audit, bounds, paths, rules, state
from tether_hooks.errors import NotFound, StoreCorrupt, StoreError, UsageError
from tether_hooks.lifecycle import (
    RECORD_DEPTH,
    audit_outbox,
    bound_record,
    cap_input,
    draft_timer,
    insert_timer,
    missing_chars,
    new_id,
    prune,
    settle,
    settle_if_abandoned,
)
from tether_hooks.models import (
    AuditEntry,
    Behavior,
    DecisionExtra,
    HookRequest,
    Request,
    RequestStatus,
    Session,
    State,
    Timer,
    Via,
)

__all__ = ["Store"]

LOCK_TIMEOUT = 30.0
# filelock retries a busy lock every 50 ms by default: a decision would wait that long.
LOCK_POLL = 0.002


class Store:
    """File-locked access to the state document.

    A corrupt state file (see ``state.load``) is moved aside to ``state.json.corrupt-<time>``
    under the lock and a fresh state is used: timers are lost, which is the safe direction.
    ``warn`` gets the one-line notice (default: stderr); the audit log records it too.
    """

    def __init__(self, path: str | None = None, warn: Callable[[str], None] | None = None
                 ) -> None:
        self.path = path or paths.state_file()
        self.lock_path = os.path.join(os.path.dirname(self.path), "state.lock")
        self.warn = warn or _warn

    def signature(self) -> object:
        """Changes whenever the file may have (``state.signature``)."""
        return state.signature(self.path)

    def read(self) -> State:
        """The current state, without taking the lock (a corrupt file is moved aside first)."""
        try:
            return state.load(self.path)
        except StoreCorrupt:
            with self.edit() as data:  # re-read under the lock: a writer may have fixed it
                return data

    @contextmanager
    def edit(self) -> Iterator[State]:
        """Lock, load, yield the state for changes, prune, write atomically on clean exit;
        an edit that changed nothing writes nothing (hooks poll the file: each write wakes
        them all).

        If the write fails (full or read-only disk) the old file stays as it was, no audit
        line of the change is written, and StoreError says why."""
        try:
            paths.ensure_dir(os.path.dirname(self.path))
            lock = FileLock(self.lock_path, timeout=LOCK_TIMEOUT, mode=0o600)
            lock.acquire(poll_interval=LOCK_POLL)
        except Timeout as exc:
            raise StoreError(
                f"the state lock {self.lock_path} is held by another process for over "
                f"{LOCK_TIMEOUT:.0f} s"
            ) from exc
        except OSError as exc:
            raise StoreError(f"cannot lock the state file {self.lock_path}: {exc.strerror}; "
                             "nothing was changed") from exc
        try:
            try:
                data, before = state.read(self.path)  # b"": no file yet, always written
            except StoreCorrupt as exc:
                self._set_aside(exc)
                data, before = state.empty(), b""
            _log_due(data)  # a writer killed between its state write and its audit lines
            with audit_outbox() as outbox:
                yield data
                prune(data, time.time())
                try:
                    blob = bounds.dumps_bytes(data, allow_nan=False)
                    if blob == before:  # (the bytes this very writer wrote: same dumps)
                        return  # nothing changed: no write, no waiting hook woken
                    data["rev"] = _rev(data) + 1  # counts the writes (tests, benchmarks)
                    write = os.urandom(6).hex()
                    lines: list[AuditEntry] = [{**entry, "write": write} for entry in outbox]
                    if lines:  # written ahead, with the change they record
                        data["audit_due"] = {"write": write, "entries": lines}
                    else:
                        data.pop("audit_due", None)  # (logged: _log_due saw to it)
                    blob = bounds.dumps_bytes(data, allow_nan=False)
                except ValueError as exc:  # NaN/inf: the next reader would call it corrupt
                    raise StoreError(f"not writing the state file {self.path}: {exc}; "
                                     "nothing was changed") from exc
                try:
                    state.write_atomic(self.path, blob)
                except OSError as exc:
                    raise StoreError(f"cannot write the state file {self.path}: "
                                     f"{exc.strerror}; nothing was changed") from exc
            for line in lines:  # only what was really recorded
                audit.append(line)
            _LOGGED.add(write)
        finally:
            lock.release()

    def _set_aside(self, exc: StoreCorrupt) -> None:
        """Move the corrupt file out of the way (under the lock), say so once."""
        target = f"{self.path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
        n = 1
        while os.path.lexists(target):
            n += 1
            target = f"{self.path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}"
        try:
            os.rename(self.path, target)
        except FileNotFoundError:
            return
        except OSError as err:
            raise StoreError(f"{exc}, and it cannot be moved aside ({err.strerror}): move it "
                             "away by hand") from exc
        audit.append({"event": "store-reset", "path": self.path, "moved_to": target,
                      "reason": exc.detail, "timers_lost": True})
        self.warn(f"the state file was corrupt ({exc.detail}); moved it to {target} and "
                  "started afresh: all timers are gone, waiting requests fall back to the "
                  "agent's prompt")

    # -- timers ---------------------------------------------------------------

    def add_timer(self, scope: str, seconds: float, *, created_by: str,
                  **fields: str | None) -> tuple[Timer, list[Request]]:
        """Add a timer (``fields``: those of ``lifecycle.draft_timer``); pending requests it
        covers are allowed at once. Returns both. With ``key`` (the chat update that asked
        for it) a second call adds nothing."""
        return self.add_drafted(draft_timer(scope, seconds, time.time(),
                                            created_by=created_by, **fields))

    def add_drafted(self, timer: Timer) -> tuple[Timer, list[Request]]:
        """``add_timer`` for a timer already checked and built (``lifecycle.draft_timer``)."""
        with self.edit() as data:
            return insert_timer(data, timer, time.time())

    def revoke(self, timer_id: str | None) -> list[Timer]:
        """Remove one timer (by id or unique prefix) or, with None, all of them."""
        with self.edit() as data:
            if timer_id is None:
                removed = list(data["timers"].values())
                data["timers"].clear()
                return removed
            key = _resolve(data["timers"], timer_id, "timer")
            return [data["timers"].pop(key)]

    def sync_fleet_timers(self, live: Mapping[str, Timer]) -> list[Request]:
        """Make the copies of the fleet's timers (``origin == "fleet"``) exactly ``live``
        (``shared.records.sync_copies``); returns the pending requests new ones allowed."""
        from tether_hooks.shared.records import sync_copies  # (never on a hook's path)

        with self.edit() as data:
            return sync_copies(data, live, time.time())

    # -- requests -------------------------------------------------------------

    def add_request(self, request: HookRequest, timeout: float) -> Request:
        """Record a pending request (id assigned); it expires after ``timeout`` seconds."""
        now = time.time()
        full = request.get("tool_input")
        seen_whole = bounds.depth(full) <= bounds.MAX_DEPTH
        record, cut = bound_record(request)
        kept, capped = cap_input(full)
        cast(dict[str, object], record)["tool_input"] = kept  # as given, when not an object
        record["input_truncated"] = cut or capped
        if record["input_truncated"]:  # what a preview of the kept copy cannot see
            record["input_missing"] = missing_chars(full, kept)
        record["created_at"] = now
        record["expires_at"] = now + timeout
        record["pid"] = record.get("pid", os.getpid())
        record["status"] = "pending"
        record["decision"] = None
        record["summary"] = audit.summarize_input(
            str(record.get("tool_name")), full if seen_whole else record["tool_input"]
        )
        with self.edit() as data:
            record["id"] = new_id(data["requests"])
            data["requests"][record["id"]] = record
            self._touch_session(data, record, now)
            # A timer added since the hook looked (it reads without the lock) decides now,
            # judged on the request the hook was given, never the capped copy we keep (and
            # never on an input nested too deep to be seen whole).
            never = request.get("never", rules.DEFAULT_NEVER)
            timer = (
                rules.find_timer(data["timers"], request, now,
                                 never if isinstance(never, (list, tuple)) else
                                 rules.DEFAULT_NEVER)
                if seen_whole
                else None
            )
            if timer is not None:
                settle(
                    record,
                    "allow",
                    rules.describe(timer, now),
                    str(timer.get("created_by")),
                    "timer",
                    now,
                    timer["id"],
                )
        return record

    def find_request(self, request_id: str) -> Request:
        """A request by id or unique prefix, read without the lock. Raises NotFound."""
        requests = self.read()["requests"]
        return requests[_resolve(requests, request_id, "request")]

    def decide(
        self,
        request_id: str,
        behavior: Behavior,
        *,
        by: str,
        via: str,
        reason: str | None = None,
        status: RequestStatus | None = None,
        extra: DecisionExtra | None = None,
    ) -> tuple[bool, Request]:
        """Settle a pending request once. Returns (True, request) only the first time."""
        first, request, _ = self.decide_with_timer(request_id, behavior, by=by, via=via,
                                                   reason=reason, status=status, extra=extra)
        return first, request

    def decide_with_timer(
        self,
        request_id: str,
        behavior: Behavior,
        *,
        by: str,
        via: str,
        reason: str | None = None,
        status: RequestStatus | None = None,
        extra: DecisionExtra | None = None,
        timer: Timer | None = None,
    ) -> tuple[bool, Request, tuple[Timer, list[Request]] | None]:
        """``decide``, and with ``timer`` (a ``draft_timer``) add it in the same write when
        this decision is the first: ``(first, request, (timer, also allowed) or None)``."""
        with self.edit() as data:
            key = _resolve(data["requests"], request_id, "request")
            request = data["requests"][key]
            if request.get("status") != "pending":
                return False, request, None
            if settle_if_abandoned(request, time.time()):
                return False, request, None  # nothing waits for it any more: decide nothing
            # ``via``: a source of ``models.ViaSource`` or the name of a bridge
            settle(request, behavior, reason, by, cast(Via, via), time.time(), None, status,
                   extra)
            return True, request, None if timer is None else insert_timer(data, timer,
                                                                      time.time())

    # -- sessions -------------------------------------------------------------

    def set_session(self, session_id: str, **fields: object) -> Session | None:
        """Update fields of a known session (``stop``); None values remove keys."""
        with self.edit() as data:
            session = data["sessions"].get(session_id)
            if session is None:
                return None
            record = cast(dict[str, object], session)  # fields named by the caller
            for key, value in fields.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = value
            return session

    def touch_session(self, request: Mapping[str, object], **fields: object) -> None:
        """Create or update the session a hook event belongs to."""
        request, _ = bound_record(request)
        fields, _ = bounds.bounded(fields, RECORD_DEPTH)  # type: ignore[assignment]
        with self.edit() as data:
            self._touch_session(data, request, time.time(), **fields)

    @staticmethod
    def _touch_session(data: State, request: Mapping[str, Any], now: float,
                       **fields: object) -> None:
        sid = request.get("session_id")
        if not sid:
            return
        session = data["sessions"].setdefault(
            sid, {"id": sid, "agent": request.get("agent"), "started_at": now, "status": "active"}
        )
        session["last_seen"] = now
        record = cast(dict[str, object], session)  # fields named by the caller
        for key in ("cwd", "transcript_path", "agent"):
            if request.get(key):
                record[key] = request[key]
        record.update({k: v for k, v in fields.items() if v is not None})

    def end_session(self, request: Mapping[str, object], reason: str | None) -> list[Request]:
        """Mark a session ended; its pending requests are cancelled. Returns them."""
        now = time.time()
        cancelled = []
        request, _ = bound_record(request)
        reason = reason if isinstance(reason, str) else None
        with self.edit() as data:
            self._touch_session(data, request, now, status="ended", ended_at=now,
                                end_reason=reason[:200] if reason else None)
            for item in data["requests"].values():
                if item.get("status") == "pending" and item.get("session_id") == request.get(
                    "session_id"
                ):
                    settle(
                        item,
                        "deny",
                        "the session ended",
                        "agent",
                        "session-end",
                        now,
                        status="cancelled",
                    )
                    cancelled.append(item)
        return cancelled


# The writes (``audit_due.write``) this process has seen in the audit log.
_LOGGED: set[str] = set()


def _log_due(data: State) -> None:
    """Append the audit lines of the last write if its writer died before it could (they
    are written ahead in the state, ``audit_due``): a decision recorded is never missing
    from the log, and is never logged twice."""
    due = data.get("audit_due")
    if not isinstance(due, dict):
        return
    write, entries = due.get("write"), due.get("entries")
    if not isinstance(write, str) or not isinstance(entries, list) or write in _LOGGED:
        return
    if not audit.has_write(write):
        for entry in entries:
            if isinstance(entry, dict):
                audit.append(cast(AuditEntry, {**entry, "late": True}))
    if len(_LOGGED) > 1000:
        _LOGGED.clear()
    _LOGGED.add(write)


def _rev(data: State) -> int:
    rev = data.get("rev")
    return rev if isinstance(rev, int) and not isinstance(rev, bool) else 0


def _warn(message: str) -> None:
    sys.stderr.write(bounds.printable(f"tether-hooks: warning: {message}\n"))
    sys.stderr.flush()


def _resolve(items: Mapping[str, object], key: str, kind: str) -> str:
    """Find ``key`` exactly or as a unique prefix (case-insensitive)."""
    wanted = key.strip().lstrip("#").lower()
    if wanted in items:
        return wanted
    matches = [k for k in items if k.lower().startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no {kind} with id {key!r}")
    raise UsageError(f"{key!r} matches several {kind}s: {', '.join(sorted(matches))}")

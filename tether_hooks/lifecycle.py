"""How state records live and age: ids, capped inputs, settling a request, pruning.

Pure functions over the state document, used by ``store.Store`` under its lock.

A request is ``pending`` until settled, once, as ``allowed``, ``denied``, ``expired`` (no
answer in time), ``answered_in_terminal``, ``cancelled`` (its session ended) or
``abandoned`` (its hook died).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Container, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast, overload

from tether_hooks import audit, bounds, rules
from tether_hooks.errors import UsageError

if TYPE_CHECKING:
    from tether_hooks.models import (
        AuditEntry,
        Behavior,
        Decision,
        DecisionExtra,
        Request,
        RequestStatus,
        State,
        Timer,
        TimerScope,
        ToolInput,
        Via,
    )

__all__ = [
    "DECIDED_KEEP_SECONDS",
    "INPUT_LIMIT",
    "audit_outbox",
    "bound_record",
    "cap_input",
    "missing_chars",
    "new_id",
    "pid_alive",
    "prune",
    "settle",
    "settle_if_abandoned",
    "draft_timer",
    "insert_timer",
]

DECIDED_KEEP_SECONDS = 2 * 3600
SESSION_KEEP_SECONDS = 7 * 24 * 3600
ENDED_SESSION_KEEP_SECONDS = 24 * 3600
MAX_SESSIONS = 200
# Settled inputs are cut to SETTLED_INPUT_LIMIT once their chat copies had time to show them.
SETTLED_GRACE_SECONDS = 30
MAX_DECIDED = 100
# A settled request keeps a small input (for its chat copies); the audit log has the rest.
SETTLED_INPUT_LIMIT = 1024
INPUT_LIMIT = 64 * 1024
_STATUS_OF: dict[str, RequestStatus] = {"allow": "allowed", "deny": "denied"}


def new_id(taken: Container[str], length: int = 4) -> str:
    """A short hex id, unique in ``taken``, with a digit (so it never reads as a word)."""
    while True:
        candidate = os.urandom(8).hex()[:length]
        if candidate not in taken and any(c.isdigit() for c in candidate):
            return candidate


def pid_alive(pid: object) -> bool:
    """False only when the process is known to be gone."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


INPUT_DEPTH = 16  # levels of a tool input kept in the store (deeper ones become a note)
RECORD_DEPTH = 4  # levels of the other fields of a request (strings, lists of paths)


@overload
def cap_input(
    tool_input: ToolInput, limit: int = ..., chars: int = ...
) -> tuple[ToolInput, bool]: ...
@overload
def cap_input(tool_input: object, limit: int = ..., chars: int = ...) -> tuple[object, bool]: ...
def cap_input(
    tool_input: object, limit: int = INPUT_LIMIT, chars: int = 4096
) -> tuple[object, bool]:
    """``tool_input`` within ``limit`` bytes of JSON (long strings cut to ``chars``, nesting
    to INPUT_DEPTH levels, lists and objects to ``bounds.MAX_ITEMS`` entries), and whether it
    was cut: huge inputs (a Write of a 5 MB file) stay out of the shared state."""
    tool_input, cut = bounds.bounded(tool_input, INPUT_DEPTH, limit)
    blob = json.dumps(tool_input, ensure_ascii=False)
    if len(blob) <= limit:
        return tool_input, cut
    if isinstance(tool_input, dict):
        capped: dict[str, object] = {}
        for key, value in tool_input.items():
            if isinstance(value, str) and len(value) > chars:
                value = _cut(value, chars)
            capped[key] = value
        if len(json.dumps(capped, ensure_ascii=False)) <= limit:
            return capped, True
    return {"preview": _cut(blob, chars, " ")}, True


_cut = bounds.cut_text


def missing_chars(original: object, capped: object) -> int:
    """How many characters of ``original`` its capped copy ``capped`` lacks (net of the
    cut markers), so a preview of the copy can say how much is really hidden."""
    if (isinstance(original, dict) and isinstance(capped, dict)
            and set(original) == set(capped)):
        return sum(  # per key net of its marker: the preview counts the marker as hidden
            len(value) - len(capped[key])
            for key, value in original.items()
            if isinstance(value, str) and isinstance(capped[key], str)
        )
    size = len(json.dumps(original, ensure_ascii=False))
    return max(0, size - len(json.dumps(capped, ensure_ascii=False)))


def bound_record(request: Mapping[str, object]) -> tuple[Request, bool]:
    """A request's fields other than ``tool_input`` within small limits (an agent may send
    anything), and whether any was cut."""
    rest = {k: v for k, v in request.items() if k != "tool_input"}
    record, cut = bounds.bounded(rest, RECORD_DEPTH)
    return cast("Request", record), cut  # a dict in, a dict (of the same keys) out


_local = threading.local()


@contextmanager
def audit_outbox() -> Iterator[list[AuditEntry]]:
    """Hold back the audit lines ``settle`` writes until the caller has stored the change
    (``store.Store.edit``): a decision that failed to be saved is never logged as made."""
    box: list[AuditEntry] = []
    outer = getattr(_local, "box", None)
    _local.box = box
    try:
        yield box
    finally:
        _local.box = outer


def settle(
    request: Request,
    behavior: Behavior,
    reason: str | None,
    by: str,
    via: Via,
    now: float,
    timer_id: str | None = None,
    status: RequestStatus | None = None,
    extra: DecisionExtra | None = None,
) -> None:
    """Record a decision on ``request`` (in place) and its audit line."""
    decision: Decision = {"behavior": behavior, "reason": reason, "by": by, "via": via, "at": now}
    if timer_id:
        decision["timer_id"] = timer_id
    if extra:
        decision = {**decision, **extra}
    request["decision"] = decision
    request["status"] = status or _STATUS_OF.get(behavior, "expired")
    box: list[AuditEntry] | None = getattr(_local, "box", None)
    (audit.append if box is None else box.append)(
        {
            "at": now,
            "event": "decision",
            "request_id": request.get("id"),
            "agent": request.get("agent"),
            "session_id": request.get("session_id"),
            "cwd": request.get("cwd"),
            "tool_name": request.get("tool_name"),
            "input": request.get("summary"),
            "behavior": behavior,
            "status": request["status"],
            "via": via,
            "by": by,
            "reason": reason,
        }
    )


def settle_if_abandoned(request: Request, now: float) -> bool:
    """Settle ``request`` as abandoned when its waiting hook is gone; True if it was."""
    if pid_alive(request.get("pid")):
        return False
    settle(
        request, "ask", "the waiting hook is gone", "tether-hooks", "stale", now, status="abandoned"
    )
    return True


def _decided_at(request: Request) -> float:
    decision = request.get("decision")
    return float(decision.get("at", 0)) if decision else 0.0


def prune(data: State, now: float) -> None:
    """Drop expired timers, old decided requests and stale sessions; settle the pending
    requests whose hook is gone or whose time ran out long ago."""
    timers = data["timers"]
    for key in [k for k, t in timers.items() if float(t.get("expires_at", 0)) <= now]:
        del timers[key]
    requests = data["requests"]
    for request in requests.values():
        if request.get("status") != "pending":
            continue
        if float(request.get("expires_at", 0)) + 60 < now:
            settle(
                request,
                "ask",
                "no decision in time",
                "tether-hooks",
                "timeout",
                now,
                status="expired",
            )
        else:
            settle_if_abandoned(request, now)
    decided = sorted(
        (r for r in requests.values() if r.get("status") != "pending"),
        key=_decided_at,
    )
    drop = [
        r
        for r in decided
        if _decided_at(r) + DECIDED_KEEP_SECONDS < now
    ]
    drop += decided[len(drop) : max(len(drop), len(decided) - MAX_DECIDED)]
    for request in drop:
        rid = request.get("id")
        if rid is not None:
            requests.pop(rid, None)
    # Every hook reads the whole state on every call: settled inputs must stay small.
    for request in decided:
        at = _decided_at(request)
        if (
            at + SETTLED_GRACE_SECONDS < now
            and len(json.dumps(request.get("tool_input"), ensure_ascii=False)) > SETTLED_INPUT_LIMIT
        ):
            kept = request.get("tool_input") or {}
            request["tool_input"], _ = cap_input(kept, SETTLED_INPUT_LIMIT, 256)
            request["input_truncated"] = True
            request["input_missing"] = int(request.get("input_missing") or 0) + missing_chars(
                kept, request["tool_input"]
            )
    data.pop("listener", None)  # processed update ids of versions before listener.offsets.json
    sessions = data["sessions"]
    for key, session in list(sessions.items()):
        keep = (
            ENDED_SESSION_KEEP_SECONDS if session.get("status") == "ended" else SESSION_KEEP_SECONDS
        )
        if float(session.get("last_seen", 0)) + keep < now:
            del sessions[key]
    for key in sorted(sessions, key=lambda k: float(sessions[k].get("last_seen", 0)))[
        : max(0, len(sessions) - MAX_SESSIONS)
    ]:
        del sessions[key]


def draft_timer(
    scope: str,
    seconds: float,
    now: float,
    *,
    created_by: str,
    session_id: str | None = None,
    tool: str | None = None,
    path: str | None = None,
    prefix: str | None = None,
    agent: str | None = None,
    key: str | None = None,
) -> Timer:
    """A checked timer, not yet stored (``Store.add_timer``, ``Store.decide(timer=)``)."""
    if scope not in rules.SCOPES:
        raise UsageError(f"unknown scope {scope!r}: use one of {', '.join(rules.SCOPES)}")
    if scope == "session" and not session_id:
        raise UsageError("a session timer needs a session id")
    if scope == "tool" and not (tool and tool.strip()):
        raise UsageError("a tool timer needs a tool name")
    if scope == "bash" and not (prefix and prefix.strip()):
        raise UsageError("a Bash rule needs a command prefix, like 'git status*'")
    if scope == "dir":
        path = rules.check_dir(path, broad_ok=True)  # policy on broad dirs: timers.add
    timer: Timer = {
        "id": "",
        "scope": cast("TimerScope", scope),
        "session_id": session_id or None,
        "agent": agent,
        "tool": tool.strip().casefold() if tool else None,
        "tool_label": tool.strip() if tool else None,
        "path": path,
        "prefix": prefix.strip() if prefix else None,
        "created_at": now,
        "expires_at": now + seconds,
        "created_by": created_by,
    }
    if key:
        timer["key"] = key
    return timer


def insert_timer(data: State, timer: Timer, now: float) -> tuple[Timer, list[Request]]:
    """Store ``timer`` (once per ``key``; under its own id when it has a free one, as a fleet
    timer does) and allow the pending requests it covers."""
    resolved: list[Request] = []
    key = timer.get("key")
    done = [t for t in data["timers"].values() if key and t.get("key") == key]
    if done:
        return done[0], []
    if not timer.get("id") or timer["id"] in data["timers"]:  # a drafted one has none
        timer["id"] = new_id(data["timers"])
    data["timers"][timer["id"]] = timer
    for request in data["requests"].values():
        # A capped input is not the call: a timer must never judge it; nor a request
        # whose hook is gone (nothing would run).
        if (
            request.get("status") != "pending"
            or request.get("input_truncated")
            or not pid_alive(request.get("pid"))
        ):
            continue
        if rules.find_timer(
            {timer["id"]: timer}, request, now,
            request.get("never", rules.DEFAULT_NEVER)
        ):
            reason = rules.describe(timer, now)
            settle(request, "allow", reason, timer["created_by"], "timer", now, timer["id"])
            resolved.append(request)
    return timer, resolved

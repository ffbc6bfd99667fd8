"""What a station puts in Redis of its own records (pure): fleet ids, and requests,
sessions and timers stripped of what other machines do not need and redacted as chat
redacts them (``redact.value``), so no secret of a tool call reaches the shared store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from tether_hooks import redact
from tether_hooks.errors import UsageError
from tether_hooks.lifecycle import insert_timer
from tether_hooks.models import Request, Session, State, Timer

__all__ = ["fleet_id", "shared_request", "shared_session", "shared_timer", "split_id",
           "sync_copies"]

# Local-only fields: a transcript path, the waiting hook's pid, the machine's never list,
# the agent's tool-use id, the listener's chat bookkeeping (the leader keeps its own).
_REQUEST_DROPS = ("transcript_path", "pid", "never", "tool_use_id", "chat")
_SESSION_DROPS = ("transcript_path", "chat", "stop")


def fleet_id(rid: str, machine: str) -> str:
    """A request's id across the fleet: ``a1b2@devbox``."""
    return f"{rid}@{machine}"


def parse_id(key: str) -> tuple[str, str | None]:
    """``("a1b2", "devbox")`` for ``a1b2@devbox``; ``(key, None)`` for a plain id."""
    rid, at, machine = key.partition("@")
    return rid, (machine if at else None)


def split_id(fid: str) -> tuple[str, str]:
    """``("a1b2", "devbox")`` of ``"a1b2@devbox"``; UsageError when it is not a fleet id."""
    rid, machine = parse_id(fid)
    if not rid or not machine:
        raise UsageError(f"{fid!r} is not a fleet request id (like a1b2@devbox)")
    return rid, machine


def shared_request(request: Request, machine: str) -> dict[str, Any]:
    """``request`` as other machines may see it: local fields dropped, its tool input and
    any updated input redacted; ``machine`` added (``id`` stays the local id)."""
    out = _chat_texts({k: v for k, v in request.items() if k not in _REQUEST_DROPS})
    if "tool_input" in out:
        out["tool_input"] = redact.value(out["tool_input"])
    decision = out.get("decision")
    if isinstance(decision, dict):
        decision = _chat_texts(decision)
        if "updated_input" in decision:
            decision["updated_input"] = redact.value(decision["updated_input"])
        out["decision"] = decision
    out["machine"] = machine
    return out


def _chat_texts(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with every text field redacted as chat redacts it (no hashes: the
    summary's markers carry one, an unsalted hash a reader of Redis could test guesses
    against), whatever the field: summary, reason, answer, a session's last message."""
    return {k: redact.chat(v) if isinstance(v, str) else v for k, v in record.items()}


def shared_session(session: Session, machine: str) -> dict[str, Any]:
    """``session`` without its transcript path, chat threads and pending stop."""
    out = _chat_texts({k: v for k, v in session.items() if k not in _SESSION_DROPS})
    out["machine"] = machine
    return out


def shared_timer(timer: Timer, machine: str) -> dict[str, Any]:
    """``timer`` as shown to the fleet (a Bash rule's prefix redacted like chat text)."""
    out: dict[str, Any] = dict(timer)
    if isinstance(out.get("prefix"), str):
        out["prefix"] = redact.chat(out["prefix"])
    out["machine"] = machine
    return out


def _same(timer: Mapping[str, object]) -> dict[str, object]:
    """What makes a fleet timer the same timer (not its local bookkeeping)."""
    return {k: v for k, v in timer.items() if k not in ("id", "key", "machine", "origin")}


def sync_copies(data: State, live: Mapping[str, Timer], now: float) -> list[Request]:
    """In ``data`` (under the store's lock): the timers with ``origin == "fleet"`` made
    exactly ``live``. Copies gone or changed there are removed; new ones are added under
    the fleet's id and allow the pending requests they cover (``insert_timer``: each
    request's own ``never`` list applies). Other timers are untouched. The requests allowed."""
    timers, allowed = data["timers"], []
    for tid, timer in list(timers.items()):
        if timer.get("origin") == "fleet" and (tid not in live or _same(timer) != _same(
                live[tid])):
            del timers[tid]
    for tid, timer in live.items():
        if tid in timers:
            continue  # already mirrored (or a timer of ours has that id: not replaced)
        copy = cast(Timer, {k: v for k, v in timer.items() if k not in ("key", "machine")})
        copy["origin"] = "fleet"
        placed, covered = insert_timer(data, copy, now)
        timers[tid] = timers.pop(placed["id"])  # insert_timer numbers it; keep the fleet's id
        placed["id"] = tid
        for request in covered:
            if request.get("decision"):
                request["decision"]["timer_id"] = tid  # type: ignore[index]
        allowed += covered
    return allowed

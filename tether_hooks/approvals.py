"""Approval actions shared by the CLI verbs and the chat commands: pending, approve, deny."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tether_hooks import rules, timers
from tether_hooks.errors import TetherError, UsageError
from tether_hooks.ledger import Ledger
from tether_hooks.questions import answer_input
from tether_hooks.store import Store

if TYPE_CHECKING:
    from tether_hooks.models import DecisionExtra, Request, Timer, Via

__all__ = ["SCOPES", "approve", "deny", "pending"]

SCOPES = timers.REQUEST_SCOPES


def pending(store: Ledger | None = None) -> list[Request]:
    """Requests waiting for a decision, oldest first."""
    requests = (store or Store()).read()["requests"].values()
    now = time.time()
    waiting: list[Request] = [
        r for r in requests if r.get("status") == "pending" and float(r.get("expires_at", 0)) > now
    ]
    return sorted(waiting, key=lambda r: float(r.get("created_at", 0)))


def _already(request: Request) -> TetherError:
    status = str(request.get("status", "")).replace("_", " ")
    decision = request.get("decision")
    by = f" by {decision['by']}" if decision and decision.get("by") else ""
    return TetherError(f"request {request.get('id')} is already {status}{by}; nothing changed")


def approve(
    request_id: str,
    *,
    by: str,
    via: Via,
    duration: str | None = None,
    scope: str | None = None,
    answers: list[str] | None = None,
    store: Ledger | None = None,
) -> tuple[Request, Timer | None]:
    """Allow a pending request; with a duration, also add a timer of ``scope`` (tool by default).

    ``answers`` answer an AskUserQuestion request (see ``questions.answer_input``). Returns the
    request and the timer (or None). Raises TetherError if it was already decided.
    """
    store = store or Store()
    if scope and scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}")
    if duration:
        timers.seconds(duration)  # a bad duration fails before anything is decided
    extra: DecisionExtra | None = None
    pending_request = store.find_request(request_id)
    if pending_request.get("tool_name") == "AskUserQuestion":
        updated = answer_input(pending_request.get("tool_input") or {}, answers or [])
        extra = {"updated_input": updated}
    elif answers:
        raise UsageError(f"request {pending_request['id']} asks no question; drop --answer")
    if scope == "dir" and not pending_request.get("machine"):  # (a fleet one: draft_like)
        rules.check_dir(pending_request.get("cwd"))  # fails before anything is decided
    draft = (timers.draft_like(pending_request, scope or "tool", duration, created_by=by)
             if duration or scope else None)
    first, request, added = store.decide_with_timer(request_id, "allow", by=by, via=via,
                                                    extra=extra, timer=draft)
    if not first:
        raise _already(request)
    return request, added[0] if added else None


def deny(
    request_id: str,
    *,
    by: str,
    via: Via,
    reason: str | None = None,
    interrupt: bool = False,
    store: Ledger | None = None,
) -> Request:
    """Deny a pending request; ``reason`` reaches the agent. Raises if already decided."""
    extra: DecisionExtra | None = {"interrupt": True} if interrupt else None
    first, request = (store or Store()).decide(
        request_id, "deny", by=by, via=via, reason=reason or None, extra=extra
    )
    if not first:
        raise _already(request)
    return request

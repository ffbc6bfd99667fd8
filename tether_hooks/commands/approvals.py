"""Approval verbs: pending, approve, deny."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from tether_hooks import approvals as core
from tether_hooks import audit, output, rules
from tether_hooks.actor import cli_actor
from tether_hooks.agent_check import human_only

if TYPE_CHECKING:
    from tether_hooks.models import Request

__all__ = ["COMMANDS", "describe_request"]

_FIELDS = (
    "id",
    "agent",
    "session_id",
    "cwd",
    "tool_name",
    "tool_input",
    "created_at",
    "expires_at",
    "event",
    "permission_mode",
    "summary",
    "input_truncated",
    "input_missing",
)


def describe_request(request: Request, now: float) -> str:
    """``7f3a  claude  Bash: rm -rf build  (~/proj, session 1a2b3c4d, expires in 4 min)``."""
    left = output.until(float(request.get("expires_at", now)) - now)
    summary = request.get("summary", "")
    if audit.summary_cut(summary):
        summary += (" (too large to keep in full: tether-hooks pending --json shows its start)"
                    if request.get("input_truncated")
                    else " (tether-hooks pending --json shows all)")
    return (
        f"{request['id']}  {request.get('agent')}  {request.get('tool_name')}: "
        f"{summary}  ({request.get('cwd')}, session "
        f"{str(request.get('session_id'))[:8]}, expires {left})"
    )


@click.command("pending")
@output.json_option
def pending(as_json: bool) -> None:
    """List permission requests waiting for a decision."""
    items = core.pending()
    now = time.time()
    output.emit(
        [{k: r.get(k) for k in _FIELDS} for r in items],
        as_json,
        lambda: "\n".join(describe_request(r, now) for r in items) or "No pending requests.",
    )


@click.command("approve")
@click.argument("request_id")
@click.option(
    "--for",
    "duration",
    metavar="DURATION",
    help="Also auto-approve similar calls for this long (e.g. 30m).",
)
@click.option(
    "--scope",
    type=click.Choice(core.SCOPES),
    help="What --for covers: this tool in this session (default), the whole "
    "session, or the session's directory.",
)
@click.option("--answer", "answers", multiple=True, metavar="ANSWER",
              help="Answer a question (AskUserQuestion): once per question, in order, as an "
                   "option number, a label ('Auth,Export' for multi-select) or "
                   "'Question text=answer'.")
@output.json_option
@human_only
def approve(request_id: str, duration: str | None, scope: str | None, answers: tuple[str, ...],
            as_json: bool) -> None:
    """Allow the pending request REQUEST_ID."""
    request, timer = core.approve(
        request_id, by=cli_actor(), via="cli", duration=duration, scope=scope,
        answers=list(answers),
    )

    def text() -> str:
        line = f"Allowed {request['id']} ({request.get('tool_name')})"
        return line + (f"; {rules.describe(timer, time.time())}" if timer else "")

    output.emit({"request": request, "timer": timer}, as_json, text)


@click.command("deny")
@click.argument("request_id")
@click.option("--reason", help="Why; the agent is told.")
@click.option("--stop", "interrupt", is_flag=True, help="Also stop the agent.")
@output.json_option
@human_only
def deny(request_id: str, reason: str | None, interrupt: bool, as_json: bool) -> None:
    """Deny the pending request REQUEST_ID."""
    request = core.deny(request_id, by=cli_actor(), via="cli", reason=reason, interrupt=interrupt)
    output.emit(
        {"request": request},
        as_json,
        lambda: f"Denied {request['id']} ({request.get('tool_name')})",
    )


COMMANDS = [pending, approve, deny]

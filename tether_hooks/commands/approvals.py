"""Approval verbs: pending, approve, deny."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from tether_hooks import approvals as core
from tether_hooks import audit, config, output, rules
from tether_hooks.actor import cli_actor
from tether_hooks.agent_check import human_only
from tether_hooks.errors import ConfigError
from tether_hooks.ledger import Ledger
from tether_hooks.shared import settings as shared_settings
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.store import Store

if TYPE_CHECKING:
    from tether_hooks.models import Request
    from tether_hooks.shared.view import FleetView

__all__ = ["COMMANDS", "Fleet", "describe_request", "fleet_pending", "fleet_settings",
           "machine_of", "open_fleet"]

CONFIRM_WAIT = 2.0  # how long approve waits for another machine to apply its order

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
    machine = f"{request['machine']}  " if request.get("machine") else ""
    return (
        f"{machine}{request['id']}  {request.get('agent')}  {request.get('tool_name')}: "
        f"{summary}  ({request.get('cwd')}, session "
        f"{str(request.get('session_id'))[:8]}, expires {left})"
    )


@dataclass(frozen=True)
class Fleet:
    """What a CLI verb knows of the fleet: no ``settings`` without ``[shared]``; no ``view``
    and a ``problem`` line when Redis is unreachable."""

    settings: SharedSettings | None = None
    view: FleetView | None = None
    problem: str | None = None


def fleet_settings() -> SharedSettings | None:
    """``[shared]`` of config.toml, or None (then nothing imports redis). A config.toml
    that does not load (a bad value elsewhere) leaves this machine's own view: the
    command still lists and revokes what is here; ``doctor`` names the problem."""
    try:
        cfg = config.load()
    except ConfigError:
        return None
    return shared_settings.load(cfg)


def open_fleet() -> Fleet:
    """The fleet, read once (or why not)."""
    s = fleet_settings()
    if s is None:
        return Fleet()
    from tether_hooks.shared import view as fleet_view

    return Fleet(s, *fleet_view.opened(s))


def machine_of(records: list[Request], machine: str) -> list[Request]:
    """This machine's records, marked with its name (fleet views)."""
    return [{**r, "machine": machine} for r in records]


def fleet_pending(store: Store, fleet: Fleet | None = None) -> tuple[list[Request], str | None]:
    """Pending requests of this machine, and with ``[shared]`` of every machine (the line
    saying Redis is unreachable, if it is)."""
    fleet = fleet or open_fleet()
    items = core.pending(store)
    if fleet.settings is None:
        return items, None
    me = fleet.settings.machine
    items = machine_of(items, me)
    if fleet.view is not None:
        items += [r for r in core.pending(fleet.view.store) if r.get("machine") != me]
    return sorted(items, key=lambda r: float(r.get("created_at", 0))), fleet.problem


@click.command("pending")
@output.json_option
def pending(as_json: bool) -> None:
    """List permission requests waiting for a decision (every machine's, with [shared])."""
    items, problem = fleet_pending(Store())
    now = time.time()
    if problem:
        click.echo(problem, err=True)
    output.emit(
        [{k: r.get(k) for k in (*_FIELDS, "machine") if k in r or k in _FIELDS}
         for r in items],
        as_json,
        lambda: "\n".join(describe_request(r, now) for r in items) or "No pending requests.",
    )


def _ledger(request_id: str) -> tuple[str, Ledger, FleetView | None]:
    """Where REQUEST_ID lives: this machine's store (as today), or another machine's
    through the fleet (an order its station applies)."""
    store = Store()
    s = fleet_settings()
    if s is None:
        return request_id, store, None
    from tether_hooks.shared import view as fleet_view

    key, view = fleet_view.route(s, request_id, store.read()["requests"], "request")
    return (key, store, None) if view is None else (key, view.store, view)


def _sent(view: FleetView | None, request: Request) -> str:
    """For another machine's request: whether its machine has applied the order yet."""
    if view is None:
        return ""
    machine = str(request.get("machine"))
    if view.alive(machine) and view.confirm(request["id"], CONFIRM_WAIT) is not None:
        return f" on {machine}"
    return (f"; sent to {machine}, not confirmed yet (its listener applies it when it "
            "runs)")


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
    """Allow the pending request REQUEST_ID (any machine's, with [shared])."""
    key, store, view = _ledger(request_id)
    request, timer = core.approve(
        key, by=cli_actor(), via="cli", duration=duration, scope=scope,
        answers=list(answers), store=store,
    )
    sent = _sent(view, request)

    def text() -> str:
        line = f"Allowed {request['id']} ({request.get('tool_name')}){sent}"
        return line + (f"; {rules.describe(timer, time.time())}" if timer else "")

    output.emit({"request": request, "timer": timer}, as_json, text)


@click.command("deny")
@click.argument("request_id")
@click.option("--reason", help="Why; the agent is told.")
@click.option("--stop", "interrupt", is_flag=True, help="Also stop the agent.")
@output.json_option
@human_only
def deny(request_id: str, reason: str | None, interrupt: bool, as_json: bool) -> None:
    """Deny the pending request REQUEST_ID (any machine's, with [shared])."""
    key, store, view = _ledger(request_id)
    request = core.deny(key, by=cli_actor(), via="cli", reason=reason, interrupt=interrupt,
                        store=store)
    sent = _sent(view, request)
    output.emit(
        {"request": request},
        as_json,
        lambda: f"Denied {request['id']} ({request.get('tool_name')}){sent}",
    )


COMMANDS = [pending, approve, deny]

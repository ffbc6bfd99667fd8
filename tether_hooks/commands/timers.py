"""Timer verbs: allow-dir, allow-tool, allow-all, allow-bash, timers, revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tether_hooks import output
from tether_hooks import timers as core
from tether_hooks.actor import cli_actor
from tether_hooks.agent_check import human_only
from tether_hooks.commands.approvals import Fleet, fleet_settings, open_fleet
from tether_hooks.errors import NotFound, UsageError
from tether_hooks.store import Store

if TYPE_CHECKING:
    from tether_hooks.models import Request, Timer

__all__ = ["COMMANDS", "fleet_timers"]

_all_machines = click.option(
    "--all-machines", is_flag=True,
    help="Apply on every machine sharing this bot ([shared]); not with --session.")


def _add(scope: str, duration: str | None, all_machines: bool, broad_ok: bool,
         session_id: str | None, tool: str | None = None, prefix: str | None = None
         ) -> tuple[Timer, list[Request]]:
    """A timer here, or with ``all_machines`` one for the whole fleet (``tmr:all``)."""
    if not all_machines:
        return core.add(scope, duration, created_by=cli_actor(), broad_ok=broad_ok,
                        session_id=session_id, tool=tool, prefix=prefix)
    s = fleet_settings()
    if s is None:
        raise UsageError("--all-machines needs [shared] in config.toml (several machines on one "
                         "bot); without it a timer applies on this machine only: drop the flag")
    from tether_hooks.shared import view as fleet_view
    from tether_hooks.shared.client import unavailable

    view = fleet_view.FleetView(s)
    with unavailable(s):
        return core.add_all_machines(scope, duration, created_by=cli_actor(), fleet=view.store,
                                     broad_ok=broad_ok, session_id=session_id, tool=tool,
                                     prefix=prefix)


def fleet_timers(store: Store, now: float | None = None, fleet: Fleet | None = None
                 ) -> tuple[list[Timer], str | None]:
    """Live timers of this machine, and with ``[shared]`` of every machine and the fleet's
    (``machine`` "all"); the line saying Redis is unreachable, if it is."""
    fleet = fleet or open_fleet()
    mine = core.live(store, now)
    s, view, problem = fleet.settings, fleet.view, fleet.problem
    if s is None:
        return mine, None
    if view is None:
        return [_on(t, "all" if t.get("origin") == "fleet" else s.machine) for t in mine], problem
    here = [_on(t, s.machine) for t in mine if t.get("origin") != "fleet"]
    there = [t for t in core.live(view.store, now) if t.get("machine") != s.machine]
    return sorted(here + there, key=lambda t: float(t["expires_at"])), None


def _on(timer: Timer, machine: str) -> Timer:
    marked: Timer = {**timer}
    marked["machine"] = machine
    return marked


def describe_timer(timer: Timer, now: float | None = None) -> str:
    return core.describe_all([timer], now)[0]

_for = click.option(
    "--for",
    "duration",
    metavar="DURATION",
    help="How long, e.g. 90s, 30m, 2h (default: default_timer, 30m).",
)
_session = click.option(
    "--session",
    "session_id",
    metavar="ID",
    help="Only this agent session (default: every session); an empty ID is refused.",
)


def _report(timer: Timer, resolved: list[Request], as_json: bool) -> None:
    def text() -> str:
        lines = [describe_timer(timer)]
        lines += [f"  also allowed pending request {r['id']} ({r['tool_name']})" for r in resolved]
        return "\n".join(lines)

    output.emit({"timer": timer, "allowed_requests": [r["id"] for r in resolved]}, as_json, text)


@click.command("allow-dir")
@click.argument("path", type=click.Path(file_okay=False))
@_for
@click.option("--force", is_flag=True, help="Allow / or your home directory too.")
@output.json_option
@human_only
def allow_dir(path: str, duration: str | None, force: bool, as_json: bool) -> None:
    """Auto-approve calls of sessions working inside PATH that touch nothing outside it."""
    _report(*core.add("dir", duration, created_by=cli_actor(), path=path, broad_ok=force),
            as_json)


_force_all = click.option(
    "--force",
    is_flag=True,
    help="Allow a pattern matching everything ('*') with no --session: every call in every "
    "session, as allow-all with no session.",
)


@click.command("allow-tool")
@click.argument("tool")
@_session
@_for
@_force_all
@_all_machines
@output.json_option
@human_only
def allow_tool(tool: str, session_id: str | None, duration: str | None, force: bool,
               all_machines: bool, as_json: bool) -> None:
    """Auto-approve TOOL (any case; mcp__server__* for a whole MCP server).

    '*' matches every tool: with no --session it needs --force."""
    _report(*_add("tool", duration, all_machines, force, session_id, tool=tool),
            as_json)


@click.command("allow-all")
@click.option(
    "--session",
    "session_id",
    metavar="ID",
    required=True,
    help="The agent session to allow everything in.",
)
@_for
@output.json_option
@human_only
def allow_all(session_id: str, duration: str | None, as_json: bool) -> None:
    """Auto-approve every tool call of one session."""
    _report(*core.add("session", duration, created_by=cli_actor(), session_id=session_id), as_json)


@click.command("allow-bash")
@click.argument("prefix")
@_session
@_for
@_force_all
@_all_machines
@output.json_option
@human_only
def allow_bash(prefix: str, session_id: str | None, duration: str | None, force: bool,
               all_machines: bool, as_json: bool) -> None:
    """Auto-approve Bash commands matching PREFIX ('git status*'); no chaining or redirects.

    '*' matches every command: with no --session it needs --force."""
    _report(*_add("bash", duration, all_machines, force, session_id, prefix=prefix),
            as_json)


@click.command("timers")
@output.json_option
def timers(as_json: bool) -> None:
    """List live auto-approve timers (every machine's, with [shared])."""
    live, problem = fleet_timers(Store())
    if problem:
        click.echo(problem, err=True)
    output.emit(live, as_json,
                lambda: "\n".join(describe_timer(t) for t in live) or "No timers.")


@click.command("revoke")
@click.argument("timer_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every timer.")
@output.json_option
@human_only
def revoke(timer_id: str | None, revoke_all: bool, as_json: bool) -> None:
    """Revoke the timer TIMER_ID (any machine's, with [shared]), or --all of them."""
    if bool(timer_id) == revoke_all:
        raise click.UsageError("give a timer id or --all (not both)")
    removed = _revoke_all() if revoke_all else _revoke(str(timer_id))
    output.emit(
        removed, as_json, lambda: "\n".join(f"Revoked {t['id']}" for t in removed) or "No timers."
    )


def _revoke_all() -> list[Timer]:
    """Every timer: this machine's at once and, with [shared], every machine's and every
    fleet timer (Redis unreachable: this machine's only, and it says so)."""
    removed = core.revoke(None)
    s = fleet_settings()
    if s is None:
        return removed
    from tether_hooks.shared import view as fleet_view

    view, problem = fleet_view.opened(s)
    if view is None:
        click.echo(f"{problem}; the other machines keep their timers", err=True)
        return removed
    from tether_hooks.shared.client import unavailable

    with unavailable(s):
        others = view.store.revoke(None)
    mine = {t["id"] for t in removed}
    return removed + [t for t in others if t["id"] not in mine]


def _revoke(timer_id: str) -> list[Timer]:
    """This machine's timer (as today), another machine's (an op to it) or a fleet timer
    (gone from ``tmr:all`` and from this machine's copy at once)."""
    store = Store()
    s = fleet_settings()
    if s is None:
        return core.revoke(timer_id, store)
    from tether_hooks.shared import view as fleet_view

    local = {k: t for k, t in store.read()["timers"].items() if t.get("origin") != "fleet"}
    key, view = fleet_view.route(s, timer_id, local, "timer")
    if view is None:
        return core.revoke(key, store)
    from tether_hooks.shared.client import unavailable

    with unavailable(s):
        removed = view.store.revoke(key)
    for timer in removed:
        if timer.get("machine") == "all":
            try:
                store.revoke(timer["id"])
            except NotFound:
                pass  # not mirrored here yet
    return removed


COMMANDS = [allow_dir, allow_tool, allow_all, allow_bash, timers, revoke]

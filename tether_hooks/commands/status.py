"""Overview verbs: status (sessions, pending, timers) and log (the audit log)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import click

from tether_hooks import (
    agents,
    audit,
    config,
    effective,
    listener_status,
    output,
)
from tether_hooks.commands.approvals import Fleet, describe_request, fleet_pending, open_fleet
from tether_hooks.commands.listener import describe_status
from tether_hooks.commands.timers import describe_timer, fleet_timers
from tether_hooks.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import Session

__all__ = ["COMMANDS"]


@click.command("status")
@output.json_option
def status(as_json: bool) -> None:
    """Sessions, pending requests and timers."""
    store = Store()
    now = time.time()
    fleet = open_fleet()
    sessions, shared = _sessions(store, fleet)
    waiting, _ = fleet_pending(store, fleet)
    live, _ = fleet_timers(store, now, fleet)
    cfg = config.load()
    platforms = config.remote_platforms(cfg)
    settings = effective.settings(cfg)
    listener = listener_status.status()
    data: dict[str, object] = {
        "sessions": sessions,
        "pending": waiting,
        "timers": live,
        "platforms": platforms,
        "local_approvals": config.apply_env(cfg)["local_approvals"],
        "settings": settings,
    }
    if shared:
        data["shared"] = shared
    hooks = {}  # per agent that reports on its hooks (Codex: whether it trusts them)
    for name in agents.AGENTS:
        report = agents.get(name).hooks_report(os.getcwd())
        if report is not None:
            hooks[name] = report
            data[f"{name}_hooks"] = report
    data["listener"] = listener

    def text() -> str:
        lines = [f"Shared: {_describe_shared(shared)}"] if shared else []
        lines.append("Sessions:")
        lines += [
            f"  {_machine(s)}{s['id'][:8]}  {s.get('agent')}  {s.get('status')}  {s.get('cwd')}  "
            f"(seen {output.ago(now - float(s.get('last_seen', now)))})"
            for s in sessions
        ] or ["  none"]
        lines.append("Pending requests:")
        lines += [f"  {describe_request(r, now)}" for r in waiting] or ["  none"]
        lines.append("Timers:")
        lines += [f"  {describe_timer(t, now)}" for t in live] or ["  none"]
        remote = ", ".join(platforms) or "none configured"
        lines.append(f"Chat platforms: {remote}")
        lines.append(f"Settings: {effective.describe(settings)}")
        if any(s["source"].startswith("env ") for s in settings):
            lines.append("  (env: this shell's environment; hooks use the agent's)")
        for name, report in hooks.items():
            agent = agents.get(name)
            lines.append(f"{agent.DISPLAY} hooks: {agent.describe_hooks(report)}")
        if platforms or listener["running"]:
            lines.append(f"Listener: {describe_status(listener)}")
        return "\n".join(lines)

    output.emit(data, as_json, text)


def _sessions(store: Store, fleet: Fleet) -> tuple[list[Session], dict[str, object] | None]:
    """Sessions, newest first: this machine's, and with ``[shared]`` every machine's; and
    what to say about the shared store (None without ``[shared]``)."""
    mine = list(store.read()["sessions"].values())
    s, view, problem = fleet.settings, fleet.view, fleet.problem
    shared: dict[str, object] | None = None
    if s is not None:
        shared = {"machine": s.machine, "url": s.where(), "reachable": view is not None}
        for session in mine:
            session["machine"] = s.machine
        if view is None:
            shared["problem"] = problem
        else:
            shared["leader"] = view.leader()
            mine += [x for x in view.sessions() if x.get("machine") != s.machine]
    return sorted(mine, key=lambda x: -float(x.get("last_seen", 0))), shared


def _describe_shared(shared: dict[str, object]) -> str:
    if not shared["reachable"]:
        return str(shared["problem"])
    leader = shared.get("leader")
    return (f"this machine is {shared['machine']}, store {shared['url']}, leader "
            f"{leader or 'none yet'}")


def _machine(record: Session) -> str:
    return f"{record['machine']}  " if record.get("machine") else ""


@click.command("log")
@click.option(
    "-n",
    "--lines",
    "limit",
    type=int,
    default=50,
    show_default=True,
    help="How many entries (0: all).",
)
@output.json_option
def log(limit: int, as_json: bool) -> None:
    """The audit log: every decision, who made it, how and why."""
    entries = audit.read(limit or None)

    def line(e: Mapping[str, Any]) -> str:
        when = datetime.fromtimestamp(float(e.get("at", 0))).strftime("%Y-%m-%d %H:%M:%S")
        reason = f" ({e['reason']})" if e.get("reason") else ""
        return (
            f"{when}  {e.get('status', e.get('behavior'))} {e.get('tool_name')}: "
            f"{e.get('input')}  via {e.get('via')} by {e.get('by')}{reason}"
        )

    output.emit(entries, as_json, lambda: "\n".join(map(line, entries)) or "The log is empty.")


COMMANDS = [status, log]

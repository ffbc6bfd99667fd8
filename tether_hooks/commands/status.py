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
    approvals,
    audit,
    config,
    effective,
    listener_status,
    output,
    timers,
)
from tether_hooks.commands.approvals import describe_request
from tether_hooks.commands.listener import describe_status
from tether_hooks.store import Store

__all__ = ["COMMANDS"]


@click.command("status")
@output.json_option
def status(as_json: bool) -> None:
    """Sessions, pending requests and timers."""
    store = Store()
    now = time.time()
    sessions = sorted(
        store.read()["sessions"].values(), key=lambda s: -float(s.get("last_seen", 0))
    )
    waiting = approvals.pending(store)
    live = timers.live(store, now)
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
    hooks = {}  # per agent that reports on its hooks (Codex: whether it trusts them)
    for name in agents.AGENTS:
        report = agents.get(name).hooks_report(os.getcwd())
        if report is not None:
            hooks[name] = report
            data[f"{name}_hooks"] = report
    data["listener"] = listener

    def text() -> str:
        lines = ["Sessions:"]
        lines += [
            f"  {s['id'][:8]}  {s.get('agent')}  {s.get('status')}  {s.get('cwd')}  "
            f"(seen {output.ago(now - float(s.get('last_seen', now)))})"
            for s in sessions
        ] or ["  none"]
        lines.append("Pending requests:")
        lines += [f"  {describe_request(r, now)}" for r in waiting] or ["  none"]
        lines.append("Timers:")
        lines += [f"  {t}" for t in timers.describe_all(live, now)] or ["  none"]
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

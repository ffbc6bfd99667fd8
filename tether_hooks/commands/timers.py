"""Timer verbs: allow-dir, allow-tool, allow-all, allow-bash, timers, revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tether_hooks import output
from tether_hooks import timers as core
from tether_hooks.actor import cli_actor
from tether_hooks.agent_check import human_only

if TYPE_CHECKING:
    from tether_hooks.models import Request, Timer

__all__ = ["COMMANDS"]

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
        lines = [f"{core.describe_all([timer])[0]}"]
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
@output.json_option
@human_only
def allow_tool(tool: str, session_id: str | None, duration: str | None, force: bool,
               as_json: bool) -> None:
    """Auto-approve TOOL (any case; mcp__server__* for a whole MCP server).

    '*' matches every tool: with no --session it needs --force."""
    _report(
        *core.add("tool", duration, created_by=cli_actor(), session_id=session_id, tool=tool,
                  broad_ok=force),
        as_json,
    )


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
@output.json_option
@human_only
def allow_bash(prefix: str, session_id: str | None, duration: str | None, force: bool,
               as_json: bool) -> None:
    """Auto-approve Bash commands matching PREFIX ('git status*'); no chaining or redirects.

    '*' matches every command: with no --session it needs --force."""
    _report(
        *core.add("bash", duration, created_by=cli_actor(), session_id=session_id, prefix=prefix,
                  broad_ok=force),
        as_json,
    )


@click.command("timers")
@output.json_option
def timers(as_json: bool) -> None:
    """List live auto-approve timers."""
    live = core.live()
    output.emit(live, as_json, lambda: "\n".join(core.describe_all(live)) or "No timers.")


@click.command("revoke")
@click.argument("timer_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every timer.")
@output.json_option
@human_only
def revoke(timer_id: str | None, revoke_all: bool, as_json: bool) -> None:
    """Revoke the timer TIMER_ID, or --all of them."""
    if bool(timer_id) == revoke_all:
        raise click.UsageError("give a timer id or --all (not both)")
    removed = core.revoke(None if revoke_all else timer_id)
    output.emit(
        removed, as_json, lambda: "\n".join(f"Revoked {t['id']}" for t in removed) or "No timers."
    )


COMMANDS = [allow_dir, allow_tool, allow_all, allow_bash, timers, revoke]

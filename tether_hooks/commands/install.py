"""Install verbs: install, uninstall (our hooks into the agents' settings)."""

from __future__ import annotations

import click

from tether_hooks import agents, installer, output
from tether_hooks.agent_check import human_only

__all__ = ["COMMANDS"]

_agent = click.option(
    "--agent",
    type=click.Choice([*agents.AGENTS, "all"]),
    default="claude",
    show_default=True,
    help="Which agent's settings to change (all: every agent).",
)
_scope = click.option(
    "--scope",
    type=click.Choice(["user", "project", "local"]),
    default="user",
    show_default=True,
    help="user: ~/.claude/settings.json or $CODEX_HOME/hooks.json; project: "
    ".claude/settings.json or <git root>/.codex/hooks.json; local (Claude Code only): "
    ".claude/settings.local.json.",
)
_project = click.option(
    "--project",
    type=click.Path(file_okay=False),
    default=".",
    help="The project directory for --scope project/local.",
)
_dry = click.option("--dry-run", is_flag=True, help="Show the change; write nothing.")


def _names(agent: str) -> tuple[str, ...]:
    return agents.AGENTS if agent == "all" else (agent,)


def _report(changes: list[installer.Change], verb: str, dry_run: bool, as_json: bool) -> None:
    def line(change: installer.Change) -> str:
        if not change.changed:
            head = [] if change.notes else [f"{change.path}: already {verb}, nothing to change."]
        elif dry_run:
            head = [f"Would change {change.path}:\n{change.diff}"]
        else:
            backup = f" (backup: {change.backup})" if change.backup else ""
            head = [f"{verb.capitalize()} in {change.path}{backup}"]
        return "\n".join(head + [f"{change.path}: {note}" for note in change.notes])

    data = [
        {
            "path": c.path,
            "changed": c.changed,
            "written": c.written,
            "backup": c.backup,
            "diff": c.diff,
            "notes": c.notes,
        }
        for c in changes
    ]
    output.emit(data[0] if len(data) == 1 else data, as_json, lambda: "\n".join(map(line, changes)))


@click.command("install")
@_agent
@_scope
@click.option(
    "--mode",
    type=click.Choice(["permission", "every-tool"]),
    default="permission",
    show_default=True,
    help="permission: ask only where the agent would ask (PermissionRequest); "
    "every-tool: gate every matching tool call (PreToolUse).",
)
@_project
@click.option(
    "--trust-project",
    is_flag=True,
    help="Codex, --scope project: also mark the project trusted in $CODEX_HOME/config.toml "
    "(Codex loads a project's hooks only then).",
)
@_dry
@output.json_option
@human_only
def install(
    agent: str,
    scope: str,
    mode: str,
    project: str,
    trust_project: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Add our hooks to the agent's settings (idempotent; everything else is kept)."""
    changes = [
        change
        for name in _names(agent)
        for change in installer.install(name, scope, project, mode, dry_run, trust_project)
    ]
    _report(changes, "installed", dry_run, as_json)


@click.command("uninstall")
@_agent
@_scope
@_project
@_dry
@output.json_option
@human_only
def uninstall(agent: str, scope: str, project: str, dry_run: bool, as_json: bool) -> None:
    """Remove our hooks (only ours) from the agent's settings."""
    changes = [
        change
        for name in _names(agent)
        for change in installer.uninstall(name, scope, project, dry_run)
    ]
    _report(changes, "uninstalled", dry_run, as_json)


COMMANDS = [install, uninstall]

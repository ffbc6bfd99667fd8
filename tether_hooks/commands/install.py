"""Install verbs: install, uninstall (our hooks into the agents' settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tether_hooks import agents, installer, output
from tether_hooks.agent_check import human_only

if TYPE_CHECKING:
    from tether_hooks.purge import Plan

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
@click.option("--purge", is_flag=True, help="Remove everything: our hooks from every agent's "
              "settings (user scope and --project's), Codex trust/notify entries, the "
              "listener, config (with its secrets), state, logs, the venv, the hook "
              "executable and the ~/.local/bin/tether-hooks link if it is ours.")
@click.option("--yes", is_flag=True, help="With --purge: do not ask (needed without a terminal).")
@_dry
@output.json_option
@human_only
def uninstall(agent: str, scope: str, project: str, purge: bool, yes: bool, dry_run: bool,
              as_json: bool) -> None:
    """Remove our hooks (only ours) from the agent's settings; --purge removes everything."""
    if purge:
        _purge(project, yes, dry_run, as_json)
        return
    changes = [
        change
        for name in _names(agent)
        for change in installer.uninstall(name, scope, project, dry_run)
    ]
    _report(changes, "uninstalled", dry_run, as_json)


def _purge(project: str, yes: bool, dry_run: bool, as_json: bool) -> None:
    import sys

    from tether_hooks import purge
    from tether_hooks.errors import UsageError

    planned = purge.plan(project)
    if dry_run:
        output.emit(_purge_data(planned, False), as_json, lambda: _purge_text(planned, False))
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("uninstall --purge deletes your config, state and the install "
                             "itself; without a terminal to confirm, add --yes "
                             "(--dry-run shows what it would remove)")
        click.echo(_purge_text(planned, False))
        click.confirm("Remove all of this?", abort=True)
    done = purge.execute(project)
    output.emit(_purge_data(done, True), as_json, lambda: _purge_text(done, True))


def _purge_data(p: Plan, done: bool) -> dict[str, object]:
    return {"done": done, "settings": [{"path": c.path, "backup": c.backup} for c in p.changes],
            "listener": p.listener, "removed" if done else "remove": p.remove,
            "kept": p.kept, "notes": p.notes}


def _purge_text(p: Plan, done: bool) -> str:
    head = "Removed" if done else "Would remove"
    lines = [f"{head} our hooks from {c.path}" for c in p.changes]
    if not p.changes:
        lines.append("No agent settings file has our hooks.")
    if done:
        state = p.listener
        lines.append(f"Stopped the listener (pid {state.get('pid')})." if state.get("stopped")
                     else "The listener was not running.")
    else:
        lines.append("Would stop the listener, if it runs.")
    lines += [f"{head} {path}" for path in p.remove]
    lines += [f"Left {path}: not ours." for path in p.kept]
    lines += [f"Note: {n}" for n in p.notes]
    if done:
        lines.append("tether-hooks is uninstalled; your clone of the repository is untouched.")
    return "\n".join(lines)


COMMANDS = [install, uninstall]

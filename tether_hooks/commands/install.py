"""Install verbs: install, uninstall (our hooks into the agents' settings)."""

from __future__ import annotations

import os

import click

from tether_hooks import agents, config, installer, output

__all__ = ["COMMANDS"]

_agent = click.option(
    "--agent",
    type=click.Choice(["claude"]),
    default="claude",
    show_default=True,
    help="Which agent's settings to change.",
)
_scope = click.option(
    "--scope",
    type=click.Choice(["user", "project", "local"]),
    default="user",
    show_default=True,
    help="user: ~/.claude/settings.json; project: .claude/settings.json; "
    "local: .claude/settings.local.json.",
)
_project = click.option(
    "--project",
    type=click.Path(file_okay=False),
    default=".",
    help="The project directory for --scope project/local.",
)
_dry = click.option("--dry-run", is_flag=True, help="Show the change; write nothing.")


def _report(change: installer.Change, verb: str, dry_run: bool, as_json: bool) -> None:
    def text() -> str:
        if not change.changed:
            return f"{change.path}: already {verb}, nothing to change."
        if dry_run:
            return f"Would change {change.path}:\n{change.diff}"
        backup = f" (backup: {change.backup})" if change.backup else ""
        return f"{verb.capitalize()} in {change.path}{backup}"

    output.emit(
        {
            "path": change.path,
            "changed": change.changed,
            "written": change.written,
            "backup": change.backup,
            "diff": change.diff,
        },
        as_json,
        text,
    )


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
@_dry
@output.json_option
def install(agent: str, scope: str, mode: str, project: str, dry_run: bool, as_json: bool) -> None:
    """Add our hooks to the agent's settings (idempotent; everything else is kept)."""
    module = agents.get(agent)
    cfg = config.load()
    path = module.settings_path(scope, os.path.abspath(project))
    settings, text = installer.read_settings(path)
    command = installer.hook_command(agent)
    entries = module.hook_entries(
        command, mode, float(cfg["approval_timeout"]), float(cfg["stop_wait"])
    )
    new = installer.merge(settings, entries)
    if not dry_run:
        installer.write_shim()
    _report(installer.save(path, new, text, dry_run), "installed", dry_run, as_json)


@click.command("uninstall")
@_agent
@_scope
@_project
@_dry
@output.json_option
def uninstall(agent: str, scope: str, project: str, dry_run: bool, as_json: bool) -> None:
    """Remove our hooks (only ours) from the agent's settings."""
    path = agents.get(agent).settings_path(scope, os.path.abspath(project))
    settings, text = installer.read_settings(path)
    if not text:
        output.emit(
            {"path": path, "changed": False},
            as_json,
            lambda: f"{path}: no settings file, nothing to remove.",
        )
        return
    _report(
        installer.save(path, installer.unmerge(settings), text, dry_run),
        "uninstalled",
        dry_run,
        as_json,
    )


COMMANDS = [install, uninstall]

"""Where Codex keeps its files: ``$CODEX_HOME``, a project's root, the hooks.json per scope.

Stdlib only; shared by the Codex agent module and ``codex_config`` (which edits them).
"""

from __future__ import annotations

import os

__all__ = ["codex_home", "project_root", "settings_path"]


def codex_home() -> str:
    """``$CODEX_HOME`` (default ``~/.codex``), resolved as Codex resolves it."""
    base = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    return os.path.realpath(base)


def project_root(project: str) -> str:
    """The git root above ``project`` (real path), or ``project`` itself outside git."""
    start = os.path.realpath(project)
    current = start
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return start
        current = parent


def settings_path(scope: str, project: str) -> str:
    """``$CODEX_HOME/hooks.json`` (user) or ``<git root>/.codex/hooks.json`` (project)."""
    if scope == "user":
        return os.path.join(codex_home(), "hooks.json")
    if scope == "project":
        return os.path.join(project_root(project), ".codex", "hooks.json")
    from tether_hooks.errors import UsageError

    raise UsageError(f"Codex has no {scope!r} scope: use --scope user or --scope project")

"""``tether-hooks uninstall --purge``: remove everything ./install.sh and tether-hooks made.

What goes, in this order (so nothing restarts what was just removed):

1. our hooks from every agent's user settings and from the project's (``--project``), with
   Codex's trust records and notify entry (``installer.uninstall``: only ours, the rest kept);
2. the listener (stopped);
3. the ``~/.local/bin/tether-hooks`` link, only if it points into our venv;
4. the config (it may hold the bot token), the state, the audit log, logs and backups;
5. the data directory: the venv and the hook executable.

Directories named ``tether-hooks`` are ours and go whole. Under ``TETHER_HOOKS_HOME`` (a
directory the user chose) only what we create there goes: ``config.toml*``, ``state/``,
``logs/``, ``venv/``, ``bin/tether-hook``; the directory itself only if then empty.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass, field

from tether_hooks import agents, installer, paths
from tether_hooks.models import ListenerStop

__all__ = ["Plan", "bin_link", "execute", "plan"]


@dataclass
class Plan:
    """What a purge changes: settings edits, then paths to delete; ``kept``: not ours."""

    changes: list[installer.Change] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    listener: ListenerStop = field(default_factory=ListenerStop)  # empty until stopped


def bin_link() -> str:
    """Where install.sh puts the ``tether-hooks`` command (``$XDG_BIN_HOME`` or ~/.local/bin)."""
    base = os.environ.get("XDG_BIN_HOME", "").strip() or os.path.expanduser("~/.local/bin")
    return os.path.join(base, "tether-hooks")


def _ours_link(link: str, venv: str) -> bool:
    """A symlink that resolves into our venv (install.sh's), never a foreign command."""
    if not os.path.islink(link):
        return False
    target = os.path.realpath(link)
    return target.startswith(os.path.realpath(venv) + os.sep)


def _files() -> tuple[list[str], list[str]]:
    """Paths to delete (ours) and paths seen but left (not ours)."""
    remove: list[str] = []
    kept: list[str] = []
    home = paths.home_override()
    data = paths.data_dir()
    link = bin_link()
    if _ours_link(link, os.path.join(data, "venv")):
        remove.append(link)
    elif os.path.lexists(link):
        kept.append(f"{link} (not a link into our venv)")
    if home is None:
        for directory in dict.fromkeys([paths.config_dir(), paths.state_dir(), paths.log_dir(),
                                        data]):
            if not os.path.lexists(directory):
                continue
            if os.path.basename(directory) == paths.APP:
                remove.append(directory)
            else:  # not named after us (never so today): left as it is
                kept.append(f"{directory} (not named {paths.APP})")
        # the log dir inside the state dir goes with it
        return [p for p in remove if not any(p.startswith(q + os.sep) for q in remove)], kept
    remove += sorted(glob.glob(glob.escape(paths.config_file()) + "*"))
    for directory in (paths.state_dir(), paths.log_dir(), os.path.join(home, "venv"),
                      paths.hook_shim()):
        if os.path.lexists(directory):
            remove.append(directory)
    return remove, kept


def plan(project: str) -> Plan:
    """Everything a purge would do, changing nothing. A settings file that does not parse
    raises SettingsError here, before anything is removed."""
    result = Plan()
    for name in agents.AGENTS:
        module = agents.get(name)
        for scope in module.SCOPES:
            for change in installer.uninstall(name, scope, project, dry_run=True):
                if change.changed:
                    result.changes.append(change)
    result.remove, result.kept = _files()
    result.notes.append(
        "hooks installed with --scope project/local in other projects are not found from "
        "here: remove them there first (`tether-hooks uninstall --scope project --project DIR`)")
    return result


def _rm(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def execute(project: str) -> Plan:
    """Purge (see the module's docstring) and return what was done."""
    done = plan(project)
    done.changes = []
    for name in agents.AGENTS:
        for scope in agents.get(name).SCOPES:
            for change in installer.uninstall(name, scope, project, dry_run=False):
                if change.changed:
                    done.changes.append(change)
    from tether_hooks.listener import daemon

    done.listener = daemon.stop()
    done.remove, done.kept = _files()  # again: uninstalling wrote backups under state
    for path in done.remove:
        _rm(path)
    home = paths.home_override()
    leftovers = [os.path.join(paths.data_dir(), "bin"), home] if home else []
    for directory in leftovers:
        try:
            os.rmdir(directory)  # only when empty: anything else in it is not ours
        except OSError:
            pass
    return done

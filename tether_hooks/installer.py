"""Merge our hook entries into an agent's settings file, and take them out again.

The merge is pure (``merge``/``unmerge`` over parsed JSON); ``install``/``uninstall`` add
the file handling: refuse a file that does not parse, keep every key and hook we do not
own, write nothing when nothing changes, back up, write atomically. Our handlers are
recognised by their command: the stable ``tether-hook`` executable (see ``write_shim``).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether_hooks import agents, config, paths
from tether_hooks.errors import SettingsError
from tether_hooks.state import write_atomic

if TYPE_CHECKING:
    from tether_hooks.agents.protocol import Agent

__all__ = [
    "Change",
    "Companion",
    "hook_command",
    "install",
    "is_ours",
    "merge",
    "save",
    "save_text",
    "uninstall",
    "unmerge",
    "write_shim",
]

SHIM_NAME = "tether-hook"

# A parsed settings file (JSON object): Claude Code's settings.json, Codex's hooks.json.
Settings = dict[str, Any]


@dataclass
class Change:
    """What an install or uninstall did (or, with dry_run, would do) to one file."""

    path: str
    changed: bool
    diff: str
    backup: str | None = None
    written: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Companion:
    """A second file an agent changes with its settings (Codex: config.toml), planned before
    anything is written; the installer backs it up and writes it."""

    path: str
    old_text: str
    new_text: str
    notes: list[str] = field(default_factory=list)


def hook_command(agent: str) -> str:
    """The command our handlers run: the stable shim plus the agent's name."""
    return f"{shlex.quote(paths.hook_shim())} {agent}"


def is_ours(handler: object) -> bool:
    """True for a handler that runs our ``tether-hook`` executable."""
    if not isinstance(handler, dict):
        return False
    command = handler.get("command")
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and os.path.basename(words[0]) == SHIM_NAME


def _groups(hooks: Settings, event: str) -> list[Any]:
    value = hooks.get(event)
    if isinstance(value, dict):  # some tools write a single group instead of a list
        value = [value]
    return value if isinstance(value, list) else []


def unmerge(settings: Settings) -> Settings:
    """``settings`` without our handlers; groups, events and ``hooks`` left empty go."""
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        return result
    for event in list(hooks):
        groups = _groups(hooks, event)
        if not groups:
            continue
        kept = []
        for group in groups:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(handlers, list):
                kept.append(group)
                continue
            mine = [h for h in handlers if is_ours(h)]
            if not mine:
                kept.append(group)
            elif len(mine) < len(handlers):
                kept.append({**group, "hooks": [h for h in handlers if not is_ours(h)]})
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    if not hooks:
        del result["hooks"]
    return result


def merge(settings: Settings, entries: Settings) -> Settings:
    """``settings`` with exactly our ``entries``: ours updated in place, others untouched."""
    result = copy.deepcopy(settings)
    hooks = result.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError('the "hooks" key is not an object; fix it by hand first')
    positions: dict[str, int] = {}
    for event in list(hooks):
        for index, group in enumerate(_groups(hooks, event)):
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(handlers, list) and any(is_ours(h) for h in handlers):
                positions.setdefault(event, index)
    result = unmerge(result)
    hooks = result.setdefault("hooks", {})
    for event, groups in entries.items():
        existing = _groups(hooks, event)
        at = min(positions.get(event, len(existing)), len(existing))
        hooks[event] = existing[:at] + copy.deepcopy(groups) + existing[at:]
    return result


def _dump(settings: Settings, like: str = "") -> str:
    """JSON text in the style of ``like`` (its indent and final newline), so a file we only
    add to and take from again comes back byte for byte."""
    indent: int | str = 2
    for line in like.splitlines()[1:2]:
        lead = line[: len(line) - len(line.lstrip())]
        if lead:
            indent = lead if "\t" in lead else len(lead)
    text = json.dumps(settings, indent=indent, ensure_ascii=False)
    return text if like and not like.endswith("\n") else text + "\n"


def read_settings(path: str) -> tuple[Settings, str]:
    """Parsed settings and their text ('' when the file is missing). Raises SettingsError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        return {}, text
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise SettingsError(
            f"{path} is not valid JSON ({exc}); it was left untouched. "
            "Fix it (or move it away) and run the command again."
        ) from exc
    if not isinstance(settings, dict):
        raise SettingsError(f"{path} does not hold a JSON object; it was left untouched")
    return settings, text


def save(path: str, new: Settings, old_text: str, dry_run: bool) -> Change:
    """Write ``new`` to ``path`` if it differs: backup first, then an atomic replace."""
    new_text = _dump(new, old_text)
    # Compare like with like: the old file as we would write it, so formatting is no change.
    old_cmp = _dump(json.loads(old_text), old_text) if old_text.strip() else _dump({})
    return save_text(path, new_text, old_text, dry_run, changed=new_text != old_cmp)


def save_text(path: str, new_text: str, old_text: str, dry_run: bool,
              changed: bool | None = None) -> Change:
    """Write ``new_text`` to ``path`` if it differs from ``old_text``: backup, atomic replace."""
    changed = new_text != old_text if changed is None else changed
    diff = "".join(difflib.unified_diff(old_text.splitlines(keepends=True),
                                        new_text.splitlines(keepends=True),
                                        fromfile=path, tofile=path)) if changed else ""
    change = Change(path=path, changed=changed, diff=diff)
    if not changed or dry_run:
        return change
    return _write(change, new_text, old_text)


def _write(change: Change, new_text: str, old_text: str) -> Change:
    path = change.path
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    mode = 0o600
    if old_text:
        mode = os.stat(path).st_mode & 0o777
        backups = paths.ensure_dir(os.path.join(paths.state_dir(), "backups"))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = path.strip(os.sep).replace(os.sep, "_")
        change.backup = os.path.join(backups, f"{name}.{stamp}.{os.getpid()}")
        write_atomic(change.backup, old_text.encode("utf-8"))
    write_atomic(path, new_text.encode("utf-8"), mode)
    change.written = True
    return change


_TEMPLATE = os.path.join(os.path.dirname(__file__), "resources", SHIM_NAME)


def write_shim() -> str:
    """Write the stable hook executable for this interpreter; returns its path."""
    path = paths.hook_shim()
    home = paths.home_override()
    home_line = f"import os\nos.environ.setdefault('TETHER_HOOKS_HOME', {home!r})\n" if home else ""
    with open(_TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    # The template (also hooks/tether-hook) with this interpreter baked in, isolated (-I).
    body = template.split("\n", 1)[1].replace("import sys\n", "import sys\n" + home_line, 1)
    text = f"#!{sys.executable} -I\n{body}"
    paths.ensure_dir(os.path.dirname(path))
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return path
    except FileNotFoundError:
        pass
    write_atomic(path, text.encode("utf-8"), 0o755)
    return path


# -- install / uninstall for one agent ------------------------------------------------


def install(
    agent: str, scope: str, project: str, mode: str, dry_run: bool, trust_project: bool = False
) -> list[Change]:
    """Add our hooks for ``agent``; a broken file anywhere means nothing is written."""
    module = agents.get(agent)
    cfg = config.load()
    path = module.settings_path(scope, os.path.abspath(project))
    settings, text = read_settings(path)
    command = hook_command(agent)
    entries = module.hook_entries(
        command, mode, float(cfg["approval_timeout"]), float(cfg["stop_wait"])
    )
    new = merge(settings, entries)
    options = _options(module, scope, project, command, True, trust_project)
    extra = module.companion(path, settings, new, options)
    if not dry_run:
        write_shim()
    changes = []
    if extra is not None:  # trust first: a hook Codex does not trust is silently skipped
        done = save_text(extra.path, extra.new_text, extra.old_text, dry_run)
        done.notes = extra.notes
        changes.append(done)
    changes.insert(0, save(path, new, text, dry_run))
    return changes


def uninstall(agent: str, scope: str, project: str, dry_run: bool) -> list[Change]:
    """Remove our hooks (and, for Codex, our trust records and notify) for ``agent``."""
    module = agents.get(agent)
    path = module.settings_path(scope, os.path.abspath(project))
    settings, text = read_settings(path)
    new = unmerge(settings)
    options = _options(module, scope, project, hook_command(agent), False, False)
    extra = module.companion(path, settings, new, options)
    if text:
        changes = [save(path, new, text, dry_run)]
    else:
        changes = [Change(path, False, "", notes=["no settings file, nothing to remove."])]
    if extra is not None:
        done = save_text(extra.path, extra.new_text, extra.old_text, dry_run)
        done.notes = extra.notes
        changes.append(done)
    return changes


def _options(agent: Agent, scope: str, project: str, command: str, installing: bool,
             trust_project: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"installing": installing, "trust_project": trust_project}
    options.update(agent.install_options(scope, os.path.abspath(project), command))
    return options

"""Codex's user ``config.toml``: our trust records, the project trust flag and ``notify``.

Codex runs a hooks.json handler only when the user config holds its trust record
(``[hooks.state."<key>"] trusted_hash = "sha256:…"``, see ``agents/codex_trust.py``), and loads a
project's ``.codex/`` only for ``[projects."<root>"] trust_level = "trusted"``. This module edits
exactly those tables and the top-level ``notify`` key with tomlkit (``toml_edit``), so every
comment (inside those tables too), the order and the spacing stay as they were. Each edit is
checked with ``tomllib``: the new document must equal the old one plus our intended changes,
or nothing is written.

Our records are the ones for our handlers: a key under the hooks.json we edit whose hash is the
hash of one of our handlers, before or after the change (so records left behind when our handler
moved to another index are found). Foreign records are never touched.
"""

from __future__ import annotations

import copy
import os
import tomllib
from typing import Any, Literal, NotRequired, TypedDict

from tether_hooks import installer, toml_edit
from tether_hooks.agents.codex_home import codex_home, project_root, settings_path
from tether_hooks.agents.codex_trust import EVENT_LABELS, trust_key, trusted_hash
from tether_hooks.errors import SettingsError
from tether_hooks.installer import Companion

__all__ = ["Companion", "TrustEntry", "config_path", "edit", "our_trust", "plan", "trust_report"]

Toml = dict[str, Any]  # a parsed config.toml


class TrustEntry(TypedDict):
    """One of our installed handlers as Codex sees it (``unreadable``: the config, once)."""

    path: str | None
    event: str | None
    key: str | None
    status: Literal["trusted", "untrusted", "changed", "unreadable"]
    error: NotRequired[str]


def config_path() -> str:
    """The user config, where Codex reads trust records."""
    return os.path.join(codex_home(), "config.toml")


def read(path: str) -> tuple[str, Toml]:
    """The text and parsed content of a config.toml ('' and {} when missing)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        return "", {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            f"{path} is not valid TOML ({exc}); it was left untouched. "
            "Fix it (Codex cannot read it either) and run the command again."
        ) from exc


# -- planning ---------------------------------------------------------------------------


def our_trust(hooks_path: str, settings: installer.Settings) -> dict[str, tuple[str, str]]:
    """Trust key -> (event, hash) for each of our handlers in a hooks.json document."""
    found: dict[str, tuple[str, str]] = {}
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        if event not in EVENT_LABELS or not isinstance(groups, list):
            continue
        for g, group in enumerate(groups):
            handlers = group.get("hooks") if isinstance(group, dict) else None
            for h, handler in enumerate(handlers if isinstance(handlers, list) else []):
                if installer.is_ours(handler):
                    key = trust_key(hooks_path, event, g, h)
                    found[key] = (event, trusted_hash(event, group.get("matcher"), handler))
    return found


def _state(data: Toml) -> dict[str, Any]:
    hooks = data.get("hooks")
    state = hooks.get("state") if isinstance(hooks, dict) else None
    return state if isinstance(state, dict) else {}


def _is_ours_notify(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and isinstance(value[0], str)
        and os.path.basename(value[0]) == installer.SHIM_NAME
    )


def _pruned(value: object) -> object:
    """``value`` without empty tables (dropping our last record leaves ``hooks.state = {}``)."""
    if not isinstance(value, dict):
        return value
    kept = {k: _pruned(v) for k, v in value.items()}
    return {k: v for k, v in kept.items() if v != {}}


def edit(text: str, data: Toml, changes: dict[str, Any]) -> str:
    """Apply ``changes`` (trust: key→hash|None, notify: argv|None|"drop", project) to ``text``.

    Raises SettingsError when the result would differ from the intent in any other way.
    """
    expected = copy.deepcopy(data)
    state = _state(expected)
    try:
        doc = toml_edit.parse(text)
        for key, value in changes.get("trust", {}).items():
            path = ("hooks", "state", key)
            if value is None:
                if toml_edit.drop_table(doc, path):
                    state.pop(key, None)
                continue
            toml_edit.set_key(doc, path, "trusted_hash", value)
            hooks = expected.setdefault("hooks", {})
            record = hooks.setdefault("state", {}).setdefault(key, {})
            record["trusted_hash"] = value
        notify = changes.get("notify")
        if notify == "drop":
            doc.pop("notify", None)
            expected.pop("notify", None)
        elif notify is not None:
            doc["notify"] = list(notify)
            expected["notify"] = list(notify)
        root = changes.get("project")
        if root:
            toml_edit.set_key(doc, ("projects", root), "trust_level", "trusted")
            expected.setdefault("projects", {}).setdefault(root, {})["trust_level"] = "trusted"
        new_text = toml_edit.dump(doc, text)
        ok = _pruned(tomllib.loads(new_text)) == _pruned(expected)
    except (toml_edit.Unsupported, tomllib.TOMLDecodeError):
        ok = False
    if not ok:
        raise SettingsError(
            f"cannot update {config_path()} safely (its trust tables are written in a form "
            "this installer does not edit); it was left untouched. Trust the hooks in Codex "
            "instead: run `codex`, open /hooks and trust the tether-hook entries."
        )
    return new_text


def plan(hooks_path: str, old: installer.Settings, new: installer.Settings,
         options: dict[str, Any]) -> Companion | None:
    """The config.toml change that goes with turning hooks.json ``old`` into ``new``.

    ``options``: ``installing`` (bool), ``notify`` (our argv, or None to leave notify alone),
    ``project_root`` (for project scope) and ``trust_project`` (bool).
    """
    path = config_path()
    text, data = read(path)
    notes: list[str] = []
    wanted = {k: h for k, (_, h) in our_trust(hooks_path, new).items()}
    ours_by_event: dict[str, set[str]] = {}
    for event, digest in [
        *our_trust(hooks_path, old).values(),
        *our_trust(hooks_path, new).values(),
    ]:
        ours_by_event.setdefault(EVENT_LABELS[event], set()).add(digest)
    trust: dict[str, str | None] = {}
    prefix = hooks_path + ":"
    for key, record in _state(data).items():
        if key in wanted or not key.startswith(prefix) or not isinstance(record, dict):
            continue
        label = key[len(prefix) :].split(":", 1)[0]
        if record.get("trusted_hash") in ours_by_event.get(label, ()):
            trust[key] = None
    state = _state(data)
    for key, digest in wanted.items():
        record = state.get(key)
        if not (isinstance(record, dict) and record.get("trusted_hash") == digest):
            trust[key] = digest
        if isinstance(record, dict) and record.get("enabled") is False:
            notes.append(
                f"Codex has our {key.rsplit(':', 3)[1]} hook disabled; enable it in /hooks."
            )
    changes: dict[str, Any] = {"trust": trust}
    current = data.get("notify")
    argv = options.get("notify")
    if options.get("installing") and argv is not None:
        if current is None or (_is_ours_notify(current) and current != argv):
            changes["notify"] = argv
        elif not _is_ours_notify(current):
            notes.append(
                f"Codex already runs a notify program ({current!r}); it was left as it is, so "
                "tether-hooks gets no 'turn finished' events. To have both, call "
                f"{' '.join(argv)} '<json>' from your program."
            )
    elif not options.get("installing") and argv is not None and _is_ours_notify(current):
        changes["notify"] = "drop"
    root = options.get("project_root")
    if options.get("installing") and root:
        project = (
            data.get("projects", {}).get(root) if isinstance(data.get("projects"), dict) else None
        )
        trusted = isinstance(project, dict) and project.get("trust_level") == "trusted"
        if options.get("trust_project") and not trusted:
            changes["project"] = root
        elif not trusted:
            notes.append(
                f"WARNING: Codex loads {hooks_path} only in a trusted project, and {root} is not "
                "trusted: until it is, these hooks do NOT run. Run this command again with "
                "--trust-project, or trust the folder when Codex asks."
            )
    if not trust and "notify" not in changes and "project" not in changes:
        return Companion(path, text, text, notes) if notes else None
    return Companion(path, text, edit(text, data, changes), notes)


def trust_report(project: str | None = None) -> list[TrustEntry]:
    """Each of our installed handlers (user scope, and ``project``'s) with Codex's view of it:
    ``trusted``, ``untrusted`` (no record, or the project is not trusted), ``changed`` (the
    record is for another definition), or one ``unreadable`` entry with the ``error``."""
    try:
        return _trust_report(project)
    except SettingsError as exc:
        return [
            {"path": None, "event": None, "key": None, "status": "unreadable", "error": str(exc)}
        ]


def _trust_report(project: str | None) -> list[TrustEntry]:
    text, data = read(config_path())
    state = _state(data)
    report: list[TrustEntry] = []
    files: list[tuple[str, str | None]] = [(settings_path("user", "."), None)]
    if project:
        top = project_root(project)
        files.append((settings_path("project", top), top))
    for hooks_path, root in files:
        settings, _ = installer.read_settings(hooks_path)
        projects = data.get("projects")
        entry = projects.get(root) if root and isinstance(projects, dict) else None
        loaded = root is None or (isinstance(entry, dict) and entry.get("trust_level") == "trusted")
        for key, (event, digest) in our_trust(hooks_path, settings).items():
            record = state.get(key)
            recorded = record.get("trusted_hash") if isinstance(record, dict) else None
            status: Literal["trusted", "untrusted", "changed"]
            if not loaded or recorded is None:
                status = "untrusted"
            elif recorded != digest:
                status = "changed"
            else:
                status = "trusted"
            report.append({"path": hooks_path, "event": event, "key": key, "status": status})
    return report

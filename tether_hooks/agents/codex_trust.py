"""Codex hook trust: the ``[hooks.state."<key>"] trusted_hash`` records checked before a hook runs.

Codex (0.171.0) silently skips a non-managed command hook unless the *user* config
(``$CODEX_HOME/config.toml``) holds its ``trusted_hash`` under a positional key. These functions
compute both as Codex does (``command_hook_hash`` in ``codex-rs/hooks/src/engine/discovery.rs``):

- key: ``<hooks.json path>:<event_label>:<group_index>:<handler_index>``, labels in snake case
  (``pre_tool_use``). Indices count every handler, including skipped ``prompt``/``agent`` ones, so
  inserting a group or handler before ours shifts them and un-trusts ours.
- hash: ``"sha256:"`` + SHA-256 of the canonical JSON (keys sorted, no spaces, UTF-8) of
  ``{"event_name", "matcher"?, "hooks": [handler]}``, the handler reduced to ``type``, ``command``,
  ``timeout`` (default 600, at least 1), ``async`` and ``statusMessage`` when set. ``matcher`` is
  left out when absent and always for UserPromptSubmit and Stop (``""`` stays ``""``).

Project scope (``<repo>/.codex/hooks.json``), observed on the binary:

- The key's path is ``<project root>/.codex/hooks.json`` where the root is the git root of the cwd
  *as Codex was given it*: a plain cwd reaches Codex resolved (getcwd), but ``codex exec -C <link>``
  keeps the symlinked spelling, so a key written for the real path no longer matches there.
- The record must be in the user config; a ``trusted_hash`` in the project's ``.codex/config.toml``
  is ignored (the hook stays "untrusted").
- The project itself must be trusted as well, or its hooks are not even discovered:
  ``[projects."<project root>"] trust_level = "trusted"`` in the user config (trusting a
  subdirectory does not count; ``codex exec --trust`` writes the same entry).

Verified against codex-cli 0.171.0: ``trust_entries`` equals the app-server's ``hooks/list``
``currentHash`` for every handler, user and project scope, for matcher ``"*"``/``""``/absent/regex,
timeout absent/0/30, ``statusMessage``, ``async: true``, non-ASCII and quoted commands, a Stop
matcher, and a handler after a skipped prompt hook; with those records written, hooks fire in
``codex exec`` without ``--dangerously-bypass-hook-trust``, and do not fire without them.
``tests/test_harness_codex.py`` repeats these checks against the pinned binary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["EVENT_LABELS", "trust_entries", "trust_key", "trusted_hash"]

EVENT_LABELS: dict[str, str] = {
    "PreToolUse": "pre_tool_use",
    "PermissionRequest": "permission_request",
    "PostToolUse": "post_tool_use",
    "PreCompact": "pre_compact",
    "PostCompact": "post_compact",
    "SessionStart": "session_start",
    "UserPromptSubmit": "user_prompt_submit",
    "Stop": "stop",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_stop",
}

# Codex ignores the matcher of these events, so it is left out of their identity.
_MATCHERLESS = frozenset({"UserPromptSubmit", "Stop"})
_DEFAULT_TIMEOUT_SEC = 600


def _label(event: str) -> str:
    try:
        return EVENT_LABELS[event]
    except KeyError:
        raise ValueError(f"unknown Codex hook event {event!r}") from None


def trust_key(hooks_json_path: str, event: str, group_index: int, handler_index: int) -> str:
    """Return the ``hooks.state`` key Codex uses for one handler of a hooks file."""
    return f"{hooks_json_path}:{_label(event)}:{group_index}:{handler_index}"


def trusted_hash(event: str, matcher: str | None, handler: Mapping[str, Any]) -> str:
    """Return Codex's ``sha256:…`` trust hash for one command ``handler`` of a matcher group."""
    timeout = handler.get("timeout")
    normalized: dict[str, Any] = {
        "type": "command",
        "command": handler["command"],
        "timeout": max(1, _DEFAULT_TIMEOUT_SEC if timeout is None else int(timeout)),
        "async": bool(handler.get("async", False)),
    }
    if handler.get("statusMessage") is not None:
        normalized["statusMessage"] = handler["statusMessage"]
    identity: dict[str, Any] = {"event_name": _label(event), "hooks": [normalized]}
    if matcher is not None and event not in _MATCHERLESS:
        identity["matcher"] = matcher
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def trust_entries(hooks_json_path: str, hooks: Mapping[str, Any]) -> dict[str, str]:
    """Map the trust key of every command handler in a hooks.json ``"hooks"`` object to its hash."""
    entries: dict[str, str] = {}
    for event, groups in hooks.items():
        for group_index, group in enumerate(groups):
            for handler_index, handler in enumerate(group.get("hooks", [])):
                if handler.get("type", "command") != "command":
                    continue
                key = trust_key(hooks_json_path, event, group_index, handler_index)
                entries[key] = trusted_hash(event, group.get("matcher"), handler)
    return entries

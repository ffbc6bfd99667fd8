"""OpenAI Codex CLI (0.171): hook payloads in, hook outputs out (see docs/codex.md).

Codex's hooks copy Claude Code's shapes with its own rules (research: agent-hooks.md Part B):

- PermissionRequest answers ``decision.behavior`` allow/deny(+message); ``updatedInput``,
  ``updatedPermissions`` and ``interrupt`` are reserved there and fail *closed*: never sent.
- PreToolUse can only deny (or rewrite with ``allow`` + ``updatedInput``); ``ask`` and
  ``continue: false`` fail *open* (the tool runs). So "no decision" and a plain allow are an
  empty stdout here, and a deny never asks to stop the agent.
- Stop must print JSON when it prints anything.
- The legacy ``notify`` program gets ``agent-turn-complete`` JSON as its last argument; it is
  parsed here into a ``TurnComplete`` event.

Stdlib only and cheap to import: every hook call loads this module. The installer's helpers
(trust records in config.toml) live in ``agents.codex_config``, imported lazily.
"""

from __future__ import annotations

import os

from tether_hooks.agents.base import (
    PayloadError,
    checked_payload,
    common_request,
    copy_keys,
    emit,
    known_fields,
    tool_call,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the hook's fast path)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from tether_hooks.agents.codex_config import TrustEntry
    from tether_hooks.check import Check
    from tether_hooks.installer import Companion
    from tether_hooks.models import HookRequest

__all__ = [
    "DISPLAY",
    "ECHO_INPUT_TOOLS",
    "MODES",
    "NAME",
    "SCOPES",
    "allow",
    "codex_home",
    "companion",
    "deny",
    "describe_hooks",
    "doctor_checks",
    "hook_entries",
    "hooks_report",
    "install_options",
    "no_decision",
    "notify_argv",
    "parse",
    "patch_paths",
    "project_root",
    "settings_path",
    "stop_block",
    "trust_report",
]

NAME = "codex"
DISPLAY = "Codex"
TOOL_EVENTS = ("PermissionRequest", "PreToolUse", "PostToolUse")
NOTIFY_ARG = "notify"  # `tether-hook codex notify <json>`: the legacy notify program
TURN_COMPLETE = "TurnComplete"
PATCH_TOOL = "apply_patch"
ECHO_INPUT_TOOLS: tuple[str, ...] = ()  # Codex has no question or plan tools
# Codex's own matcher lets "Edit" and "Write" match apply_patch; timers do the same.
PATCH_ALIASES = ("Edit", "Write")
_FILE_MARKERS = ("*** Add File: ", "*** Delete File: ", "*** Update File: ")
_MOVE_MARKER = "*** Move to: "


def patch_paths(patch: object, cwd: str) -> list[str]:
    """The files an apply_patch text touches, absolute (relative ones joined to ``cwd``).

    At least as lenient as Codex's parser (markers after ``trim()``, ``\\n`` lines), so no
    touched file is missed; a stray marker in context text only adds a path, which only makes
    a directory timer stricter. A patch we find no file in counts as touching ``/``.
    """
    found: list[str] = []
    if isinstance(patch, str):
        for raw in patch.split("\n"):
            line = raw.rstrip("\r")
            stripped = line.strip()
            path = None
            for marker in _FILE_MARKERS:
                if stripped.startswith(marker):
                    path = stripped[len(marker) :]
            if path is None and line.startswith(_MOVE_MARKER):
                path = line[len(_MOVE_MARKER) :]
            if path is not None and path.strip():
                # No normpath: "link/../x" must be resolved by realpath, as the OS would.
                joined = os.path.join(cwd, path.strip())
                if joined not in found:
                    found.append(joined)
    return found or [os.sep]


def _notify(payload: Mapping[str, object]) -> HookRequest:
    kind = payload.get("type")
    if kind != "agent-turn-complete":
        raise PayloadError(f"unknown Codex notify type {kind!r}")
    cwd = payload.get("cwd")
    message = payload.get("last-assistant-message")
    return {
        "agent": NAME,
        "event": TURN_COMPLETE,
        "session_id": str(payload.get("thread-id") or ""),
        "turn_id": _text(payload.get("turn-id")),
        "cwd": cwd if isinstance(cwd, str) and cwd else os.getcwd(),
        "client": _text(payload.get("client")),
        "last_assistant_message": message if isinstance(message, str) else None,
    }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


_EXTRA_KEYS = ("last_assistant_message", "stop_hook_active", "source", "model", "prompt")


def parse(payload: object) -> HookRequest:
    """The agent-neutral request for a Codex hook (or notify) payload. Raises PayloadError."""
    if isinstance(payload, dict) and payload.get("hook_event_name") is None and "type" in payload:
        return _notify(payload)
    request = common_request(payload, NAME)
    body = checked_payload(payload)
    event = request["event"]
    cwd = request["cwd"]
    request["turn_id"] = body.get("turn_id")
    if event in TOOL_EVENTS:
        tool_name, tool_input = tool_call(body, event)
        # None (never covered by a directory timer) for MCP tools, unknown tools and
        # unknown fields that could name a place.
        paths: list[str] | None = None
        aliases: list[str] = []
        if tool_name == PATCH_TOOL:
            if known_fields(tool_input, (), ("command",)) is not None:
                paths = patch_paths(tool_input.get("command"), cwd)
            aliases = list(PATCH_ALIASES)
        elif tool_name == "Bash":
            paths = known_fields(tool_input, (), ("command", "description"))
        request["tool_name"] = tool_name
        request["tool_input"] = tool_input
        request["tool_use_id"] = body.get("tool_use_id")  # absent on PermissionRequest
        request["paths"] = paths
        request["tool_aliases"] = aliases
    copy_keys(request, body, _EXTRA_KEYS)
    return request


def allow(event: str, reason: str, updated_input: dict[str, Any] | None = None,
          updated_permissions: list[Any] | None = None) -> str:
    """Let the tool run: PermissionRequest allow; PreToolUse: no output, or a rewrite."""
    if event == "PermissionRequest":
        # updatedInput is reserved on PermissionRequest and fails closed: never sent.
        decision = {"behavior": "allow"}
        return emit({"hookSpecificOutput": {"hookEventName": event, "decision": decision}})
    rewrite = isinstance(updated_input, dict) and isinstance(updated_input.get("command"), str)
    if event != "PreToolUse" or not rewrite:
        return ""
    output = {
        "hookEventName": event,
        "permissionDecision": "allow",
        "permissionDecisionReason": reason,
        "updatedInput": updated_input,
    }
    return emit({"hookSpecificOutput": output})


def deny(event: str, reason: str, interrupt: bool = False) -> str:
    """Refuse the tool call; ``reason`` reaches the model. Codex cannot be stopped from a hook
    (``interrupt`` fails closed, ``continue: false`` fails open), so the model is told instead."""
    if interrupt:
        reason = f"{reason} The user asked you to stop: end your turn now."
    if event == "PermissionRequest":
        decision = {"behavior": "deny", "message": reason}
        return emit({"hookSpecificOutput": {"hookEventName": event, "decision": decision}})
    return emit(
        {
            "hookSpecificOutput": {
                "hookEventName": event,
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }
    )


def no_decision(event: str, reason: str) -> str:
    """Leave it to Codex: always no output (PreToolUse ``ask`` would fail open)."""
    return ""


def stop_block(reason: str) -> str:
    """Keep Codex going with ``reason`` as its next prompt (Stop needs JSON)."""
    return emit({"decision": "block", "reason": reason})


# -- installation -------------------------------------------------------------------

SCOPES = ("user", "project")
MODES = ("permission", "every-tool")
# PreToolUse mode gates what can change things; Codex's own read-only tools are left alone.
EVERY_TOOL_MATCHER = "^(Bash|apply_patch|mcp__.*)$"


def codex_home() -> str:
    """``$CODEX_HOME`` (default ``~/.codex``), resolved as Codex resolves it."""
    from tether_hooks.agents import codex_home as home

    return home.codex_home()


def project_root(project: str) -> str:
    """The git root above ``project`` (real path), or ``project`` itself outside git."""
    from tether_hooks.agents import codex_home as home

    return home.project_root(project)


def settings_path(scope: str, project: str) -> str:
    """``$CODEX_HOME/hooks.json`` (user) or ``<git root>/.codex/hooks.json`` (project)."""
    from tether_hooks.agents import codex_home as home

    return home.settings_path(scope, project)


def hook_entries(command: str, mode: str, approval_timeout: float, stop_wait: float
                 ) -> dict[str, Any]:
    """Our ``hooks`` groups per event; timeouts (seconds) outlast our own waits."""

    def handler(timeout: float) -> dict[str, object]:
        return {"type": "command", "command": command, "timeout": int(timeout)}

    wait = approval_timeout + 30
    entries: dict[str, Any] = {}
    if mode == "every-tool":
        entries["PreToolUse"] = [{"matcher": EVERY_TOOL_MATCHER, "hooks": [handler(wait)]}]
    else:
        entries["PermissionRequest"] = [{"matcher": "*", "hooks": [handler(wait)]}]
    entries["SessionStart"] = [{"hooks": [handler(30)]}]
    entries["Stop"] = [{"hooks": [handler(stop_wait + 30)]}]
    return entries


def notify_argv(command: str) -> list[str]:
    """The ``notify`` program for config.toml: our shim, the agent, ``notify``."""
    import shlex

    return [*shlex.split(command), NOTIFY_ARG]


def install_options(scope: str, project: str, command: str) -> dict[str, Any]:
    """What ``companion`` needs: our ``notify`` program (user scope) or the project root whose
    trust Codex checks (project scope)."""
    if scope == "user":
        return {"notify": notify_argv(command)}
    if scope == "project":
        return {"project_root": project_root(project)}
    return {}


def companion(hooks_path: str, old: dict[str, Any], new: dict[str, Any],
              options: dict[str, Any]) -> Companion | None:
    """The config.toml edit that goes with a hooks.json change (trust, notify): a Companion."""
    from tether_hooks.agents import codex_config

    return codex_config.plan(hooks_path, old, new, options)


def trust_report(project: str | None = None) -> list[TrustEntry]:
    """Our installed Codex handlers and whether Codex trusts them (trusted/untrusted/changed)."""
    from tether_hooks.agents import codex_config

    return codex_config.trust_report(project)


# -- doctor and status ---------------------------------------------------------------


def doctor_checks(cwd: str) -> list[Check]:
    """Whether every installed hook of ours is trusted, so Codex runs it (a list of Check)."""
    from tether_hooks.agents import codex_doctor

    return codex_doctor.doctor_checks(cwd)


def hooks_report(cwd: str) -> list[TrustEntry]:
    """``status``'s view of our Codex hooks (user scope and ``cwd``'s project): trust_report."""
    return trust_report(cwd)


def describe_hooks(report: Sequence[Mapping[str, object]]) -> str:
    """One line for a trust report: counts per status, and how to fix the rest."""
    from tether_hooks.agents import codex_doctor

    return codex_doctor.describe_hooks(report)

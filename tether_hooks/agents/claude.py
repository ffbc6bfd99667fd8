"""Claude Code: hook payloads in, hook outputs out (see docs/claude-hooks.md).

PermissionRequest answers with ``hookSpecificOutput.decision.behavior``; PreToolUse with
``permissionDecision`` + ``permissionDecisionReason``. "No decision" is an empty stdout
for PermissionRequest (Claude shows its own dialog) and ``ask`` for PreToolUse.
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

    from tether_hooks.check import Check
    from tether_hooks.models import HookRequest

__all__ = [
    "DISPLAY",
    "ECHO_INPUT_TOOLS",
    "MODES",
    "NAME",
    "SCOPES",
    "PayloadError",
    "allow",
    "companion",
    "deny",
    "describe_hooks",
    "doctor_checks",
    "hook_entries",
    "hooks_report",
    "install_options",
    "no_decision",
    "parse",
    "settings_path",
    "stop_block",
]

NAME = "claude"
DISPLAY = "Claude Code"
TOOL_EVENTS = ("PermissionRequest", "PreToolUse", "PostToolUse", "PostToolUseFailure")
# A plain allow does nothing for these: Claude needs the input back (with answers for
# questions) to close its dialog (docs/claude-hooks-observed.md §7).
ECHO_INPUT_TOOLS = ("AskUserQuestion", "ExitPlanMode")
# Per built-in tool: the fields naming a place, and the fields that never do (text, modes).
# Any other field, and any other tool (MCP, WebFetch, Agent ...), leaves ``paths`` None.
_TOOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Read": (("file_path",), ("pages",)),
    "Write": (("file_path",), ("content",)),
    "Edit": (("file_path",), ("old_string", "new_string")),
    "MultiEdit": (("file_path",), ("edits",)),
    "NotebookEdit": (("notebook_path",), ("new_source", "cell_id", "cell_type", "edit_mode")),
    "Glob": (("path",), ("pattern",)),
    "Grep": (("path",), ("pattern", "glob", "type", "output_mode")),
    "LS": (("path",), ("ignore",)),
    "Bash": ((), ("command", "description")),
}
_WILD = "*?[{"


def _pattern_path(pattern: object, root: str) -> str | None:
    """Where a Glob pattern or Grep glob can reach: its literal leading directories (joined to
    ``root``); None when it may climb out (``..``, ``~``) and cannot be judged."""
    if not isinstance(pattern, str) or ".." in pattern or "~" in pattern or "\\" in pattern:
        return None
    if "{" in pattern and "/" in pattern[pattern.index("{"):]:
        return None  # a brace alternative may name another root: {,/etc/}*
    literal: list[str] = []
    for part in pattern.split("/")[:-1]:
        if any(c in part for c in _WILD):
            break
        literal.append(part)
    fixed = "/".join(literal)
    return os.path.join(root, fixed) if fixed or pattern.startswith("/") else root


def _paths(tool_name: str, tool_input: Mapping[str, object]) -> list[str] | None:
    """Every place a built-in tool call names (``~`` expanded, as Claude Code does), or None
    when the tool or one of its fields is unknown. Glob and Grep run ripgrep without
    following links (checked in 2.1.328): their search root and the literal directories of
    their patterns are what they can reach."""
    if tool_name not in _TOOLS:
        return None
    path_keys, inert = _TOOLS[tool_name]
    found = known_fields(tool_input, path_keys, inert)
    if found is None or tool_name not in ("Glob", "Grep"):
        return found
    root = found[0] if found else "."
    for key in ("pattern",) if tool_name == "Glob" else ("glob",):
        if key in tool_input:
            reach = _pattern_path(tool_input[key], root)
            if reach is None:
                return None
            found.append(reach)
    return found


_EXTRA_KEYS = (
    "message",
    "title",
    "notification_type",
    "last_assistant_message",
    "stop_hook_active",
    "source",
    "reason",
    "model",
    "duration_ms",
)


def parse(payload: object) -> HookRequest:
    """The agent-neutral request for a Claude Code hook payload. Raises PayloadError."""
    request = common_request(payload, NAME)
    body = checked_payload(payload)
    event = request["event"]
    if event in TOOL_EVENTS:
        tool_name, tool_input = tool_call(body, event)
        request["tool_name"] = tool_name
        request["tool_input"] = tool_input
        request["tool_use_id"] = body.get("tool_use_id")
        request["paths"] = _paths(tool_name, tool_input)
    copy_keys(request, body, _EXTRA_KEYS)
    return request


def allow(event: str, reason: str, updated_input: dict[str, Any] | None = None,
          updated_permissions: list[Any] | None = None) -> str:
    """Let the tool run (``updated_input`` replaces its input; PermissionRequest may also
    carry ``updated_permissions``, e.g. a setMode after a plan is approved)."""
    if event == "PermissionRequest":
        decision: dict[str, object] = {"behavior": "allow"}
        if updated_input is not None:
            decision["updatedInput"] = updated_input
        if updated_permissions:
            decision["updatedPermissions"] = updated_permissions
        return emit({"hookSpecificOutput": {"hookEventName": event, "decision": decision}})
    output: dict[str, object] = {"hookEventName": event, "permissionDecision": "allow",
                                 "permissionDecisionReason": reason}
    if updated_input is not None:
        output["updatedInput"] = updated_input
    return emit({"hookSpecificOutput": output})


def deny(event: str, reason: str, interrupt: bool = False) -> str:
    """Refuse the tool call; ``reason`` reaches the model. ``interrupt`` stops the agent."""
    if event == "PermissionRequest":
        decision: dict[str, object] = {"behavior": "deny", "message": reason}
        if interrupt:
            decision["interrupt"] = True
        return emit({"hookSpecificOutput": {"hookEventName": event, "decision": decision}})
    output: dict[str, object] = {
        "hookSpecificOutput": {
            "hookEventName": event,
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }
    if interrupt:
        output.update({"continue": False, "stopReason": reason})
    return emit(output)


def no_decision(event: str, reason: str) -> str:
    """Leave it to Claude Code's own prompt."""
    if event == "PreToolUse":
        return emit(
            {
                "hookSpecificOutput": {
                    "hookEventName": event,
                    "permissionDecision": "ask",
                    "permissionDecisionReason": reason,
                }
            }
        )
    return ""


def stop_block(reason: str) -> str:
    """Keep Claude going with ``reason`` as its next instruction (Stop hook)."""
    return emit({"decision": "block", "reason": reason})


# -- installation -------------------------------------------------------------------

SCOPES = ("user", "project", "local")
MODES = ("permission", "every-tool")
# PreToolUse mode gates these; read-only tools (Read, Glob, Grep, ...) are left alone.
EVERY_TOOL_MATCHER = (
    "^(Bash|Edit|Write|MultiEdit|NotebookEdit|WebFetch|WebSearch|Task|Agent"
    "|AskUserQuestion|ExitPlanMode|EnterPlanMode|mcp__.*)$"
)


def settings_path(scope: str, project: str) -> str:
    """The settings file for ``scope``: user (``$CLAUDE_CONFIG_DIR``), project or local."""
    if scope == "user":
        base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(
            os.path.expanduser("~"), ".claude"
        )
        return os.path.join(base, "settings.json")
    name = "settings.json" if scope == "project" else "settings.local.json"
    return os.path.join(project, ".claude", name)


def hook_entries(command: str, mode: str, approval_timeout: float, stop_wait: float
                 ) -> dict[str, Any]:
    """Our ``hooks`` groups per event; timeouts (seconds) outlast our own waits."""

    def handler(timeout: float, **extra: object) -> dict[str, object]:
        return {"type": "command", "command": command, "timeout": int(timeout), **extra}

    wait = approval_timeout + 30
    entries: dict[str, Any] = {}
    if mode == "every-tool":
        # onFailure=block (Claude Code >= 2.1.295): a hook that dies must not let a call through.
        entries["PreToolUse"] = [
            {"matcher": EVERY_TOOL_MATCHER, "hooks": [handler(wait, onFailure="block")]}
        ]
    else:
        entries["PermissionRequest"] = [{"matcher": "*", "hooks": [handler(wait)]}]
    # Claude does not tell a waiting PermissionRequest hook when the user says Yes in the
    # terminal; the tool's PostToolUse is the only trace. Async: Claude does not wait for it.
    entries["PostToolUse"] = [{"matcher": "*", "hooks": [handler(30, **{"async": True})]}]
    entries["PostToolUseFailure"] = [{"matcher": "*",
                                      "hooks": [handler(30, **{"async": True})]}]
    entries["Notification"] = [{"hooks": [handler(30)]}]
    entries["Stop"] = [{"hooks": [handler(stop_wait + 30)]}]
    entries["SessionStart"] = [{"hooks": [handler(30)]}]
    entries["SessionEnd"] = [{"hooks": [handler(10)]}]
    return entries


def install_options(scope: str, project: str, command: str) -> dict[str, Any]:
    """What ``companion`` needs besides the two documents: nothing for Claude Code."""
    return {}


def companion(hooks_path: str, old: dict[str, Any], new: dict[str, Any],
              options: dict[str, Any]) -> None:
    """Claude Code has no second file to change with its settings."""
    return None


# -- doctor and status ---------------------------------------------------------------


def doctor_checks(cwd: str) -> list[Check]:
    """Our hooks in each settings scope, and timeouts that outlast ours (a list of Check)."""
    from tether_hooks.agents import claude_doctor

    return claude_doctor.doctor_checks({scope: settings_path(scope, cwd) for scope in SCOPES})


def hooks_report(cwd: str) -> None:
    """Nothing for ``status``: Claude Code runs the hooks its settings hold, as they are."""
    return None


def describe_hooks(report: Sequence[Mapping[str, object]]) -> str:
    """Claude Code has no hooks report (``hooks_report`` is None)."""
    return ""

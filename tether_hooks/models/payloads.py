"""What an agent writes on the hook's stdin (Claude Code and Codex hook payloads)."""

from __future__ import annotations

from typing import Literal, Required, TypedDict

from tether_hooks.models.stored import JSON, ToolInput

__all__ = [
    "CodexNotify",
    "HookEventName",
    "HookPayload",
    "NotificationPayload",
    "SessionEndPayload",
    "SessionStartPayload",
    "StopPayload",
    "ToolPayload",
    "UserPromptPayload",
]

# -- hook payloads (what an agent writes on the hook's stdin) ----------------------------

HookEventName = Literal[
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
]


class HookPayload(TypedDict, total=False):
    """Fields every Claude Code / Codex hook payload may carry."""

    hook_event_name: Required[str]
    session_id: str
    transcript_path: str
    cwd: str
    permission_mode: str  # absent on some Claude events (Notification, SessionStart...)
    prompt_id: str  # Claude
    effort: dict[str, str]  # Claude: {"level": ...}
    turn_id: str  # Codex
    model: str  # Codex (every event); Claude SessionStart only


class ToolPayload(HookPayload, total=False):
    """PreToolUse, PermissionRequest, PermissionDenied, PostToolUse."""

    tool_name: Required[str]
    tool_input: ToolInput
    tool_use_id: str  # absent on PermissionRequest
    permission_suggestions: list[JSON]  # Claude PermissionRequest
    tool_response: JSON  # PostToolUse (Claude: object, Codex: string)
    duration_ms: float  # Claude PostToolUse
    reason: str  # Claude PermissionDenied


class NotificationPayload(HookPayload, total=False):
    """Claude Notification."""

    message: str
    title: str
    notification_type: str  # "permission_prompt", "idle_prompt", ...


class StopPayload(HookPayload, total=False):
    """Stop (Claude and Codex)."""

    stop_hook_active: bool
    last_assistant_message: str
    background_tasks: list[JSON]  # Claude
    session_crons: list[JSON]  # Claude


class SessionStartPayload(HookPayload, total=False):
    source: str  # "startup", "resume", "clear", "compact"


class SessionEndPayload(HookPayload, total=False):
    reason: str


class UserPromptPayload(HookPayload, total=False):
    prompt: str


# Codex's legacy ``notify`` program argument (its keys have hyphens).
CodexNotify = TypedDict(
    "CodexNotify",
    {
        "type": str,  # "agent-turn-complete"
        "thread-id": str,
        "turn-id": str,
        "cwd": str,
        "client": str,
        "input-messages": list[str],
        "last-assistant-message": str,
    },
    total=False,
)

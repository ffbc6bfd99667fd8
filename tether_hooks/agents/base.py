"""What every agent plug-in shares: payload checks and JSON output (stdlib only)."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the hook's fast path)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from tether_hooks.models import HookRequest, ToolInput

__all__ = [
    "PayloadError",
    "checked_payload",
    "common_request",
    "copy_keys",
    "emit",
    "known_fields",
    "tool_call",
]


class PayloadError(ValueError):
    """The agent sent a payload we cannot act on."""


def checked_payload(payload: object) -> dict[str, Any]:
    """``payload`` when it is a JSON object. Raises PayloadError."""
    if not isinstance(payload, dict):
        raise PayloadError("the hook input is not a JSON object")
    return payload


def common_request(payload: object, agent: str) -> HookRequest:
    """The fields every hook event has, checked. Raises PayloadError."""
    payload = checked_payload(payload)
    event = payload.get("hook_event_name")
    if not isinstance(event, str) or not event:
        raise PayloadError("the hook input has no hook_event_name")
    cwd = payload.get("cwd")
    return {
        "agent": agent,
        "event": event,
        "session_id": str(payload.get("session_id") or ""),
        "cwd": cwd if isinstance(cwd, str) and cwd else os.getcwd(),
        "permission_mode": payload.get("permission_mode"),
        "transcript_path": payload.get("transcript_path"),
    }


def copy_keys(request: HookRequest, payload: Mapping[str, object], keys: tuple[str, ...]
              ) -> None:
    """Copy the optional fields ``keys`` that ``payload`` has into ``request``, as they are
    (the hook drops a field of an unexpected type before using it)."""
    for key in keys:
        if key in payload:
            request[key] = payload[key]  # type: ignore[literal-required]


def tool_call(payload: Mapping[str, object], event: str) -> tuple[str, ToolInput]:
    """``tool_name`` and ``tool_input`` of a tool event, checked. Raises PayloadError."""
    tool_name = payload.get("tool_name")
    tool_input = payload.get("tool_input")
    if not isinstance(tool_name, str) or not tool_name:
        raise PayloadError(f"the {event} input has no tool_name")
    if tool_input is None:
        tool_input = {}
    if not isinstance(tool_input, dict):
        raise PayloadError(f"the {event} input's tool_input is not an object")
    return tool_name, tool_input


def emit(output: Mapping[str, object]) -> str:
    """The JSON an agent reads on the hook's stdout."""
    return json.dumps(output, ensure_ascii=False)


def known_fields(tool_input: Mapping[str, object], path_keys: tuple[str, ...],
                 inert_keys: tuple[str, ...]) -> list[str] | None:
    """The ``path_keys`` values of a tool input, or None when a field could name a place we
    do not know of: a path key that is not a string, or an unknown key whose value is not a
    plain number or boolean. (Directory timers cover a call only when this is a list.)"""
    found: list[str] = []
    for key, value in tool_input.items():
        if key in path_keys:
            if not isinstance(value, str) or not value:
                return None
            try:
                found.append(os.path.expanduser(value))
            except ValueError:  # "~\0x": no user to look up, no place we can judge
                return None
        elif key not in inert_keys and not (value is None or isinstance(value, (bool, int, float))):
            return None
    return found

"""Who may act, and where: an allowed user (``allowed_user_ids``) in the bridge's configured
chat (``chat_id``). Anything else is refused, audited, and never answered in another chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from tether_hooks.models import AuditEntry, Via
from tether_hooks.platforms.base import Incoming

__all__ = ["chat_of", "in_chat", "pressed", "unauthorized"]


def chat_of(cfg: Mapping[str, Any], bridge: str, resolved: str | None = None) -> str | None:
    """The configured chat of ``bridge``; a ``@channel`` name as the numeric id the bridge
    learned (``resolved``), if it did."""
    chat_id = (cfg.get(bridge) or {}).get("chat_id")
    if chat_id is None or chat_id == "":
        return resolved  # a bridge whose table names its chat otherwise (its own id)
    text = str(chat_id)
    if not text.lstrip("-").isdigit():
        return resolved or text
    return text


def in_chat(configured: str | None, event: Incoming) -> bool:
    """Did ``event`` happen in the configured chat (where requests go)?"""
    return configured is None or str(event.chat_id) == configured


def unauthorized(event: Incoming, chat: str | None = None) -> AuditEntry:
    """The audit entry of an attempt by a user who is not allowed, or from another chat
    than the configured one (never a secret)."""
    foreign = chat is not None and str(event.chat_id) != chat
    reason = (f"chat {event.chat_id} is not the configured chat_id" if foreign
              else f"user id {event.user_id} is not in allowed_user_ids")
    from tether_hooks import bounds, redact

    # a stranger's text may hold one: judged in whole words, cut once masked
    said = redact.text(bounds.keep(event.data, 1024), hashed=True)[:128]
    return {"event": "unauthorized", "bridge": event.bridge, "user_id": str(event.user_id),
            "user_name": event.user_name, "chat_id": str(event.chat_id), "kind": event.kind,
            "data": said, "status": "unauthorized", "tool_name": event.kind,
            "input": said, "via": cast(Via, event.bridge), "by": event.user_name,
            "reason": reason}


def pressed(request: Mapping[str, Any], action: str) -> str:
    """The toast a press gets once it decided."""
    tool = request.get("tool_name")
    if action == "allow":
        return {"AskUserQuestion": "Answered", "ExitPlanMode": "Plan approved"}.get(
            str(tool), "Allowed")
    return "Keep planning" if tool == "ExitPlanMode" else "Denied"

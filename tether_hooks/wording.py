"""Neutral chat wording, the same on every platform: agent and project names, short ids,
and the one outcome line of a settled request ("✅ Allowed by @alice"). Plain text: each
platform escapes and marks it up in its own bridge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether_hooks import rules
from tether_hooks.durations import format_duration

if TYPE_CHECKING:
    from tether_hooks.models import Request, Timer

__all__ = ["KEEP_PLANNING", "agent_label", "clip", "outcome_text", "project_name", "short_id"]

_AGENTS = {"claude": "Claude Code", "codex": "Codex"}
# The deny message of "Keep planning" (ExitPlanMode) when the user gave no feedback.
KEEP_PLANNING = "The user wants you to keep planning."
def agent_label(agent: object) -> str:
    """ "Claude Code" for "claude", "Codex" for "codex"."""
    return _AGENTS.get(str(agent), str(agent or "agent"))


def project_name(cwd: object) -> str:
    """The folder name of ``cwd`` ("proj" for /home/u/proj; "/" for the root), everywhere
    a project is named (messages, buttons, topics, commands)."""
    raw = str(cwd or "")
    text = raw.rstrip("/\\")
    return os.path.basename(text) or text or ("/" if raw.startswith("/") else "?")


def short_id(value: object, size: int = 8) -> str:
    """The first characters of an id (a session's 8), as shown in chats."""
    return str(value or "?")[:size]


def clip(text: str, size: int) -> str:
    """``text`` cut to ``size`` characters, with "…" when it was longer."""
    return text if len(text) <= size else text[: size - 1] + "…"


def _waited(request: Request) -> str:
    created, expires = request.get("created_at"), request.get("expires_at")
    if created is None or expires is None:
        return "no answer in time"
    return f"no answer in {round(float(expires) - float(created))} s"


def outcome_text(request: Request, timer: Timer | None = None, now: float | None = None,
                 where: str | None = None) -> str:
    """The one outcome line of a settled request (plain text), whoever settled it.

    ``timer``: the timer a press added along with the allow ("Allow Bash 30m"). ``where``:
    the platform it was decided on, for the copies on the others ("by @alice in Slack").
    """
    decision: Mapping[str, Any] = request.get("decision") or {}
    status = str(request.get("status") or "")
    by = decision.get("by") or "someone"
    if where:
        by = f"{by} in {where}"
    reason = str(decision.get("reason") or "").strip()
    via = decision.get("via")
    tool = request.get("tool_name")
    if status == "answered_in_terminal":
        return "💻 Answered in the terminal"
    if status == "allowed":
        if via == "timer":
            return f"🕒 Auto-approved: {reason}" if reason else "🕒 Auto-approved by a timer"
        if tool == "AskUserQuestion" and decision.get("answer"):
            return f"✅ Answered by {by}: {decision['answer']}"
        if tool == "ExitPlanMode":
            edits = decision.get("updated_permissions")
            return f"✅ Plan approved by {by}" + ("; edits are accepted" if edits else "")
        text = f"✅ Allowed by {by}"
        if timer is not None:
            left = float(timer.get("expires_at", 0)) - (
                now if now is not None else float(timer.get("created_at", 0)))
            text += f"; {rules.label(timer)} for {format_duration(left)} (timer {timer['id']})"
        return text
    if status == "denied":
        if decision.get("interrupt"):
            return f"🛑 Stopped by {by}"
        if tool == "ExitPlanMode":
            feedback = "" if reason in ("", KEEP_PLANNING) else f": {reason}"
            return f"📝 Keep planning, said {by}{feedback}"
        return f"❌ Denied by {by}: {reason}" if reason else f"❌ Denied by {by}"
    if status == "cancelled":
        return f"🚫 Cancelled: {reason or 'the session ended'}"
    if status == "abandoned":
        return "⌛ Expired: the waiting hook is gone"
    if status == "expired":
        if via == "listener":
            return f"⚠️ Not relayed: {reason}"
        if decision.get("behavior") == "deny":
            return f"⌛ Expired: {_waited(request)}; denied"
        who = agent_label(request.get("agent"))
        return f"⌛ Expired: {_waited(request)}; {who} asked in the terminal"
    label_ = status.replace("_", " ").capitalize() or "Closed"
    return f"⏹ {label_}: {reason}" if reason else f"⏹ {label_}"

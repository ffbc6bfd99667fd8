"""Pure helpers of dispatch: buttons for a request, button data, outcome and list texts.

Button data is ``<verb>:<nonce>``: the nonce (8 hex characters) is stored on the request
(``request["chat"]["nonce"]``) and resolved on our side, so the data is at most 13 bytes,
whatever the tool name.
"""

from __future__ import annotations

import json
import os

from tether_hooks import rules
from tether_hooks.durations import format_duration
from tether_hooks.platforms.base import LONG_INPUT, Button

__all__ = [
    "VERBS",
    "agent_display",
    "buttons_for",
    "new_nonce",
    "outcome_text",
    "question",
    "request_line",
    "split_data",
]

# verb -> what a press does
VERBS = {
    "a": "allow",
    "d": "deny",
    "r": "deny with reason",
    "k": "keep planning",
    "t": "allow the tool for the default timer",
    "s": "allow the whole session for the default timer",
    "p": "allow the directory for the default timer",
    "f": "show the full input",
}
_LABEL_CHARS = 28
_DISPLAY = {"claude": "Claude", "codex": "Codex"}


def new_nonce() -> str:
    return os.urandom(4).hex()


def split_data(data: str) -> tuple[str, str]:
    """``("a", "1f2e3d4c")`` from ``"a:1f2e3d4c"``; verbs ``q<n>`` carry an option index."""
    verb, _, nonce = data.partition(":")
    return verb, nonce


def agent_display(request: dict) -> str:
    agent = str(request.get("agent") or "the agent")
    return _DISPLAY.get(agent, agent)


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def question(request: dict) -> dict | None:
    """The single multiple-choice question of an AskUserQuestion request, if it has one."""
    if request.get("tool_name") != "AskUserQuestion":
        return None
    questions = (request.get("tool_input") or {}).get("questions")
    if not isinstance(questions, list) or len(questions) != 1 or not isinstance(questions[0], dict):
        return None
    options = questions[0].get("options")
    if not isinstance(options, list) or not options or questions[0].get("multiSelect"):
        return None
    labels = [o.get("label") if isinstance(o, dict) else o for o in options]
    if not all(isinstance(label, str) and label for label in labels):
        return None
    return {"question": str(questions[0].get("question") or ""), "labels": labels}


def buttons_for(request: dict, nonce: str, timer: str, *, full: bool) -> list[list[Button]]:
    """The rows of buttons for a posted request; ``timer`` is the default length (``30m``)."""

    def b(label: str, verb: str) -> Button:
        return Button(label, f"{verb}:{nonce}")

    tool = str(request.get("tool_name") or "")
    asked = question(request)
    if asked is not None:
        labels = asked["labels"]
        rows = [[b(f"{n + 1}. {_short(label)}", f"q{n}")] for n, label in enumerate(labels)]
        rows.append([b("❌ Deny", "d"), b("💬 Deny with reason", "r")])
    elif tool == "ExitPlanMode":
        rows = [[b("✅ Approve plan", "a"), b("📝 Keep planning", "k")],
                [b("💬 Keep planning, with feedback", "r")]]
    else:
        rows = [[b("✅ Allow", "a"), b("❌ Deny", "d"), b("💬 Deny with reason", "r")]]
        if not rules.is_never(tool, request.get("never") or rules.DEFAULT_NEVER):
            rows.append([b(f"⏱ Allow {_short(tool)} {timer}", "t"), b(f"⏱ Allow all {timer}", "s")])
            folder = os.path.basename(str(request.get("cwd") or "").rstrip("/")) or "/"
            rows.append([b(f"📁 Allow {_short(folder)}/ {timer}", "p")])
    if full and len(json.dumps(request.get("tool_input"), ensure_ascii=False)) > LONG_INPUT:
        rows.append([b("📄 Show full", "f")])
    return rows


def outcome_text(request: dict, timer: dict | None = None, now: float | None = None) -> str:
    """What a request's message says once it is settled, whoever settled it."""
    status = request.get("status")
    decision = request.get("decision") or {}
    by, via, reason = decision.get("by"), decision.get("via"), decision.get("reason")
    who = agent_display(request)
    if status == "allowed":
        if via == "timer":
            text = f"✅ Auto-approved: {reason}" if reason else "✅ Auto-approved by a timer"
        else:
            text = f"✅ Allowed by {by}"
        if decision.get("answer"):
            text += f": {decision['answer']}"
        if timer is not None:
            left = float(timer.get("expires_at", 0)) - (now or float(timer.get("created_at", 0)))
            text += f"; {rules.label(timer)} for {format_duration(left)} (timer {timer['id']})"
        return text
    if status == "denied":
        if decision.get("interrupt"):
            return f"🛑 Stopped by {by}"
        return f"❌ Denied by {by}: {reason}" if reason else f"❌ Denied by {by}"
    if status == "answered_in_terminal":
        return "🖥 Answered in the terminal"
    if status == "cancelled":
        return f"🚫 Cancelled: {reason or 'the session ended'}"
    if status == "abandoned":
        return "⌛ Expired: the waiting hook is gone"
    if status == "expired":
        if via == "listener":
            return f"⚠️ Not relayed: {reason}"
        if decision.get("behavior") == "deny":
            return "⌛ Expired: denied, no answer in time"
        return f"⌛ Expired: {who} asked in the terminal"
    return f"Settled ({status})"


def request_line(request: dict, now: float) -> str:
    """``7f3a Bash: rm -rf build (proj, 4 min left)`` for /pending."""
    folder = os.path.basename(str(request.get("cwd") or "").rstrip("/"))
    left = format_duration(float(request.get("expires_at", now)) - now)
    return (
        f"{request.get('id')} {request.get('tool_name')}: {request.get('summary', '')} "
        f"({folder}, {left} left)"
    )

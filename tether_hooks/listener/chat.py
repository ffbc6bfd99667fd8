"""What a request looks like in a chat: its messages (one per question of an
AskUserQuestion), their buttons (``actions`` holds the table), button data, questions and
list lines. Outcome wording lives in ``tether_hooks.wording``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tether_hooks import questions as core_questions
from tether_hooks import redact
from tether_hooks.durations import format_duration
from tether_hooks.listener import actions
from tether_hooks.listener.actions import ACCEPT_EDITS, ACTIONS, Offer, Point
from tether_hooks.models import ChatRef
from tether_hooks.platforms.base import Button
from tether_hooks.questions import match_labels
from tether_hooks.wording import agent_label, clip, project_name

__all__ = [
    "ACCEPT_EDITS",
    "VERBS",
    "answers_for",
    "buttons_for",
    "new_nonce",
    "parse_options",
    "posted_on",
    "question_buttons",
    "question_rows",
    "question_view",
    "questions",
    "ref_view",
    "request_line",
    "views",
]

# verb -> what a press does (the table is ``actions.ACTIONS``)
VERBS = {a.verb: a.does for a in ACTIONS}
_LABEL_CHARS = 28


def new_nonce() -> str:
    return os.urandom(4).hex()


# -- questions (AskUserQuestion) ------------------------------------------------------------


def questions(request: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """``[{"question", "labels", "multi"}]`` of an AskUserQuestion request (the questions
    ``tether_hooks.questions`` finds); None if it is not one or a question has no usable
    options (then it is shown and decided like any other tool)."""
    if request.get("tool_name") != "AskUserQuestion":
        return None
    tool_input = request.get("tool_input") or {}
    items = core_questions.questions(tool_input)
    if not items or len(items) != len(tool_input.get("questions") or ()):
        return None
    out = []
    for item in items:
        options = item.get("options")
        labels = [o.get("label") if isinstance(o, dict) else o
                  for o in (options if isinstance(options, list) else ())]
        if not labels or not all(isinstance(label, str) and label for label in labels):
            return None
        out.append({"question": item["question"], "labels": labels,
                    "multi": bool(item.get("multiSelect"))})
    return out


def parse_options(text: str, asked: dict[str, Any]) -> str | list[str] | None:
    """A text answer: ``2`` or a label; for multi-select ``1,3`` or labels. None: no match."""
    matched = match_labels(asked["labels"], asked["multi"], text)
    if matched is None:
        return None
    return matched if asked["multi"] else matched[0]


def answers_for(asked: list[dict[str, Any]], answers: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Claude's ``answers`` ({question text: label, multi-select joined with ", "}) and a
    one-line summary, from our per-question answers ``{"0": "SQLite", "1": [...]}``."""
    out, shown = {}, []
    for i, q in enumerate(asked):
        value = answers.get(str(i))
        text = ", ".join(value) if isinstance(value, list) else str(value)
        out[q["question"]] = text
        shown.append(text)
    return out, "; ".join(shown)


def question_view(request: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The request as shown in question ``index``'s own message."""
    items = (request.get("tool_input") or {}).get("questions") or []
    return dict(request, tool_input={"questions": [items[index]]},
                question_part=(index + 1, len(items)))


def question_buttons(asked: dict[str, Any], index: int, nonce: str, picks: list[str] | None = None
                     ) -> list[list[Button]]:
    """Option buttons of one question; multi-select: toggles (☑ when picked) and Done."""
    if not asked["multi"]:
        return [[Button(f"{n + 1}. {clip(redact.chat(label), _LABEL_CHARS)}",
                        actions.data(actions.PICK, nonce, Point(index, n)))]
                for n, label in enumerate(asked["labels"])]
    rows = [[Button(f"{'☑' if label in (picks or ()) else '☐'} "
                    f"{clip(redact.chat(label), _LABEL_CHARS)}",
                    actions.data(actions.TOGGLE, nonce, Point(index, n)))]
            for n, label in enumerate(asked["labels"])]
    rows.append([Button("✔️ Done", actions.data(actions.DONE, nonce, Point(index)))])
    return rows


def question_rows(asked: list[dict[str, Any]], index: int, nonce: str,
                  picks: list[str] | None = None) -> list[list[Button]]:
    """All the buttons of question ``index``'s message: Deny ones on the last question."""
    rows = question_buttons(asked[index], index, nonce, picks)
    if index == len(asked) - 1:
        rows.append(actions.deny_row(nonce))
    return rows


# -- posting ------------------------------------------------------------------------------------


def buttons_for(request: Mapping[str, Any], nonce: str, timer: str, *, full: bool
                ) -> list[list[Button]]:
    """The rows of buttons of a (non-question) request; ``timer`` is the default (``30m``)."""
    return actions.buttons(Offer(request, timer, full), nonce)


def views(request: Mapping[str, Any], nonce: str, timer: str, *, full: bool
          ) -> list[tuple[Mapping[str, Any], list[list[Button]], int | None]]:
    """The messages a request is posted as: ``(shown request, buttons, question index)``.

    A question request is one message per question (Deny buttons on the last); anything
    else is one message.
    """
    asked = questions(request)
    if asked is None:
        return [(request, buttons_for(request, nonce, timer, full=full), None)]
    return [(question_view(request, i), question_rows(asked, i, nonce), i)
            for i in range(len(asked))]


def posted_on(requests: Mapping[str, Mapping[str, Any]], book: Any, bridge: str, timer: str,
              *, full: bool) -> list[tuple[ChatRef, list[list[Button]]]]:
    """The messages of pending requests posted on ``bridge`` and the buttons each was posted
    with: for a bridge whose buttons live on our side (Discord's reactions) after a restart."""
    out: list[tuple[ChatRef, list[list[Button]]]] = []
    for rid, request in requests.items():
        if request.get("status") != "pending":
            continue
        info = book.request(rid)
        nonce = info.get("nonce")
        refs = [r for r in info.get("refs") or () if r.get("bridge") == bridge]
        if not nonce or not refs:
            continue
        shown = {index: buttons for _, buttons, index in views(request, nonce, timer,
                                                                 full=full)}
        for ref in refs:
            index = ref.get("question")
            out.append((ref, shown.get(index if isinstance(index, int) else None, [])))
    return out


def outcome_key(request: Mapping[str, Any]) -> str:
    """What a settled request's message shows, as a key: shown again when it changes."""
    decision = request.get("decision") or {}
    return f"{request.get('status')}|{decision.get('by')}|{decision.get('via')}"


def request_line(request: Mapping[str, Any], now: float) -> str:
    """``7f3a Bash: rm -rf build (Claude Code in proj, 4 min left)`` for /pending."""
    folder = project_name(request.get("cwd"))
    if request.get("machine"):  # a fleet's request: its machine too
        folder = f"{folder} on {request['machine']}"
    left = format_duration(float(request.get("expires_at", now)) - now)
    return (
        f"{request.get('id')} {request.get('tool_name')}: {request.get('summary', '')} "
        f"({agent_label(request.get('agent'))} in {folder}, {left} left)"
    )


def ref_view(request: Mapping[str, Any], ref: ChatRef, outcome: str
             ) -> tuple[Mapping[str, Any], str]:
    """What message ``ref`` shows once ``request`` is settled: its view and outcome line."""
    index = ref.get("question")
    if not isinstance(index, int) or questions(request) is None:
        return request, outcome
    view = question_view(request, index)
    decision = request.get("decision") or {}
    answers = (decision.get("updated_input") or {}).get("answers") or {}
    asked = questions(request) or []
    if request.get("status") == "allowed" and index < len(asked):
        answer = answers.get(asked[index]["question"])
        if answer is not None:
            return view, f"✅ Answered by {decision.get('by') or 'someone'}: {answer}"
    return view, outcome

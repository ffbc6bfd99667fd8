"""AskUserQuestion answers: what Claude Code needs back to close its question dialog.

Claude (2.1.328, verified: docs/claude-hooks-observed.md §7) takes a PermissionRequest allow
whose ``updatedInput`` is the original input plus ``answers``: {question text: label},
multi-select labels joined with ", ". Shared by the CLI (``approve --answer``) and chats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from tether_hooks.errors import UsageError

if TYPE_CHECKING:
    from tether_hooks.models import Question, ToolInput

__all__ = ["answer_input", "match_labels", "pick", "questions"]


def questions(tool_input: object) -> list[Question]:
    """The questions of an AskUserQuestion input (empty when malformed)."""
    items = tool_input.get("questions") if isinstance(tool_input, dict) else None
    found = [q for q in items or [] if isinstance(q, dict) and isinstance(q.get("question"), str)]
    return cast("list[Question]", found)  # each one checked: an object with a question text


def match_labels(labels: list[str], multi: bool, text: str) -> list[str] | None:
    """The option labels ``text`` picks (numbers or labels, any case; multi-select also a
    comma list), in the options' order; None when any part matches no option."""

    def one(part: str) -> str | None:
        cleaned = part.strip().rstrip(".")
        if cleaned.isdigit() and 1 <= int(cleaned) <= len(labels):
            return labels[int(cleaned) - 1]
        return next((label for label in labels if label.casefold() == cleaned.casefold()), None)

    whole = one(text)
    if whole is not None:
        return [whole]
    if not multi:
        return None
    picked = [one(part) for part in text.split(",") if part.strip()]
    if not picked or None in picked:
        return None
    return [label for label in labels if label in picked]


def pick(question: Question, text: str) -> str:
    """The answer ``text`` gives to ``question``: the labels it picks (joined with ", "), or,
    when it picks none, the text itself as a free-text answer (Claude accepts those)."""
    labels = [str(o.get("label")) for o in question.get("options") or [] if isinstance(o, dict)]
    matched = match_labels(labels, bool(question.get("multiSelect")), text)
    return ", ".join(matched) if matched else text.strip()


def answer_input(tool_input: ToolInput, given: list[str]) -> ToolInput:
    """``tool_input`` with ``answers`` from ``given``: ``"Question text=answer"`` items, or
    bare answers taken in question order. Raises UsageError unless every question is answered."""
    asked = questions(tool_input)
    if not asked:
        raise UsageError("this request has no questions to answer")
    answers: dict[str, str] = {}
    in_order: list[str] = []
    for item in given:
        question, sep, value = item.partition("=")
        match = next((q for q in asked if sep and q["question"].casefold() == question.strip()
                      .casefold()), None)
        if match is not None:
            answers[match["question"]] = pick(match, value)
        else:
            in_order.append(item)
    for q in asked:
        if q["question"] not in answers and in_order:
            answers[q["question"]] = pick(q, in_order.pop(0))
    missing = [q["question"] for q in asked if not answers.get(q["question"])]
    if missing or in_order:
        raise UsageError("answer each question once, in order or as 'question=answer': "
                         + "; ".join(_describe(q) for q in asked))
    return {**tool_input, "answers": answers}


def _describe(question: Question) -> str:
    options = ", ".join(f"{n}={o.get('label')}"
                        for n, o in enumerate(question.get("options") or [], 1))
    return f"{question['question']} ({options})"

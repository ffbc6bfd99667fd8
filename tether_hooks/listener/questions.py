"""Questions (AskUserQuestion) answered from the chat.

A question request is posted as one message per question (``chat.views``). Answers are
collected in the chat book (``answers = {"0": "SQLite", "1": ["Auth", "Export"]}``,
multi-select picks in ``picks``), and the request is decided once every question has an
answer: allow with ``updated_input`` = the original input + ``answers`` ({question text:
label}, multi-select labels joined with ", "), which is how Claude Code takes answers from
a hook (docs/claude-hooks-observed.md §7). Timers never answer questions (``rules``).
"""

from __future__ import annotations

import logging
from typing import Any

from tether_hooks import grammar
from tether_hooks.ledger import Ledger
from tether_hooks.listener import chat
from tether_hooks.listener.actions import Point, pressed
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.decider import Decider
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import Request
from tether_hooks.platforms.base import Incoming, MessageRef
from tether_hooks.wording import outcome_text

__all__ = ["Questions"]

log = logging.getLogger("tether_hooks.listener")


def _text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


class Questions:
    """Answers to the questions of AskUserQuestion requests, by press or by text."""

    def __init__(self, store: Ledger, book: ChatBook, bridges: Bridges, decider: Decider,
                 runtime: Runtime) -> None:
        self.store = store
        self.book = book
        self.bridges = bridges
        self.decider = decider
        self.runtime = runtime

    def _current(self, rid: str) -> Request | None:
        return self.store.read()["requests"].get(rid)

    async def _gone(self, event: Incoming, current: Request | None) -> bool:
        """Say so when the request is gone or settled meanwhile."""
        if current is not None and current.get("status") == "pending":
            return False
        await self.bridges.tell(event, "⌛ Expired" if current is None else
                                f"Already decided: {outcome_text(current)}")
        return True

    def _asked(self, request: Request, at: Point) -> dict[str, Any] | None:
        """The question ``at`` points to (and its option, if it names one), or None."""
        asked = chat.questions(request)
        if asked is None or at.question >= len(asked):
            return None
        question = asked[at.question]
        if at.option is not None and at.option >= len(question["labels"]):
            return None
        return question

    async def pick(self, event: Incoming, request: Request, at: Point) -> None:
        """One option of a single-choice question."""
        question = self._asked(request, at)
        if question is None or question["multi"] or at.option is None:
            await self.bridges.tell(event, "⌛ Expired")
            return
        await self.answer(event, request, at.question, question["labels"][at.option])

    async def toggle(self, event: Incoming, request: Request, at: Point) -> None:
        """One option of a multi-select question, on or off (kept in the chat book)."""
        question = self._asked(request, at)
        if question is None or not question["multi"] or at.option is None:
            await self.bridges.tell(event, "⌛ Expired")
            return
        if await self._gone(event, self._current(request["id"])):
            return
        labels = question["labels"]
        picks = await self.runtime.io(self.book.toggle, request["id"], at.question,
                                      labels[at.option], labels, self.bridges.event_key(event))
        await self.bridges.tell(event, f"Selected: {', '.join(picks)}" if picks
                                else "Nothing selected")
        await self._refresh_buttons(request, at.question, picks)

    async def done(self, event: Incoming, request: Request, at: Point) -> None:
        """Done with a multi-select question: its picks are its answer."""
        question = self._asked(request, at)
        if question is None or not question["multi"]:
            await self.bridges.tell(event, "⌛ Expired")
            return
        if event.selected is not None:  # the platform shows the selection: it is the truth
            labels = question["labels"]
            points = [pressed(d)[1] for d in event.selected]
            on = {p.option for p in points if p is not None and p.question == at.question}
            picks = [label for n, label in enumerate(labels) if n in on]
        else:
            record = self.book.request(request["id"])
            picks = (record.get("picks") or {}).get(str(at.question)) or []
        if not picks:
            await self.bridges.tell(event, "Pick at least one option first.")
            return
        await self.answer(event, request, at.question, picks)

    async def _refresh_buttons(self, request: Request, index: int, picks: list[str]
                               ) -> None:
        """Show the toggles' state where the bridge can edit buttons (``button_updates``)."""
        asked = chat.questions(request) or []
        record = self.book.request(request["id"])
        rows = chat.question_rows(asked, index, str(record.get("nonce")), picks)
        for ref in record.get("refs") or ():
            bridge = self.bridges.get(ref.get("bridge"))
            if (bridge is None or not bridge.capabilities.button_updates
                    or ref.get("question") != index):
                continue
            try:
                await bridge.update_buttons(MessageRef.from_dict(ref), rows)
            except Exception as exc:
                log.warning("%s: updating buttons failed: %s", ref.get("bridge"), exc)

    async def answer(self, event: Incoming, request: Request, index: int,
                     value: str | list[str]) -> None:
        """Record one answer; decide once every question has one."""
        current = self._current(request["id"])
        if await self._gone(event, current):
            return
        assert current is not None
        record = await self.runtime.io(self.book.answer, request["id"], index, value)
        asked = chat.questions(current) or []
        answers = record["answers"]
        if all(str(i) in answers for i in range(len(asked))):
            mapping, summary = chat.answers_for(asked, answers)
            tool_input = dict(current.get("tool_input") or {}, answers=mapping)
            await self.decider.decide(event, current, "allow", updated_input=tool_input,
                                      answer=summary)
            return
        left = len(asked) - len(answers)
        await self.bridges.tell(event, f"Noted: {_text(value)} ({left} more to answer)")
        by = event.user_name or f"user {event.user_id}"
        view = chat.question_view(current, index)
        for ref in record.get("refs") or ():
            bridge = self.bridges.get(ref.get("bridge"))
            if bridge is None or ref.get("question") != index:
                continue
            try:
                await bridge.show_outcome(MessageRef.from_dict(ref), dict(view),
                                          f"✅ {by}: {_text(value)}")
            except Exception as exc:
                self.bridges.error(f"edit:{bridge.name}",
                                   f"{bridge.name}: showing an answer failed: {exc}")

    async def text(self, event: Incoming, text: str, request: Request,
                   replied_index: int | None, known: set[str]) -> bool:
        """A text answering a question of ``request``; False if it is not an answer."""
        asked = chat.questions(request)
        if asked is None:
            return False
        answers = self.book.request(request["id"]).get("answers") or {}
        index = replied_index
        if index is None:
            index = next((i for i in range(len(asked)) if str(i) not in answers), None)
        if index is None or index >= len(asked):
            return False
        value = chat.parse_options(text, asked[index])
        if value is None:
            # free text, when it replies to the question itself and is no decision
            if replied_index is None or grammar.parse(text, known) is not None:
                return False
            value = text.strip()
        await self.answer(event, request, index, value)
        return True

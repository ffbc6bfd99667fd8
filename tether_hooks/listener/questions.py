"""Dispatch, part five: questions (AskUserQuestion) answered from the chat.

A question request is posted as one message per question (``chat.views``). Answers are
collected on the request record (``request["chat"]["answers"] = {"0": "SQLite",
"1": ["Auth", "Export"]}``, multi-select picks in ``["chat"]["picks"]``), each update a
locked load-modify-write of the store, and the request is decided once every question has
an answer: allow with ``updated_input`` = the original input + ``answers`` ({question text:
label}, multi-select labels joined with ", "), which is how Claude Code takes answers from
a hook (docs/claude-hooks-observed.md §7). Timers never answer questions (``rules``).
"""

from __future__ import annotations

import logging

from tether_hooks import grammar
from tether_hooks.listener import chat
from tether_hooks.platforms.base import Incoming, MessageRef
from tether_hooks.store import Store
from tether_hooks.wording import outcome_text

__all__ = ["Questions", "ref_view"]

log = logging.getLogger("tether_hooks.listener")


def _record(store: Store, rid: str, index: int, value: object, key: str = "answers"
            ) -> dict | None:
    """Set ``chat[key][index]`` of a pending request; the request (None if gone)."""
    with store.edit() as data:
        request = data["requests"].get(rid)
        if request is None or request.get("status") != "pending":
            return request
        request.setdefault("chat", {}).setdefault(key, {})[str(index)] = value
        return request


def _toggle(store: Store, rid: str, index: int, label: str, labels: list[str],
            key: str | None = None) -> dict | None:
    """Toggle ``label``; once per ``key`` (the update), so a replayed press changes nothing."""
    with store.edit() as data:
        request = data["requests"].get(rid)
        if request is None or request.get("status") != "pending":
            return request
        chat_record = request.setdefault("chat", {})
        if key:
            applied = chat_record.setdefault("toggled", [])
            if key in applied:
                return request
            applied[:] = [*applied[-49:], key]
        picks = chat_record.setdefault("picks", {})
        chosen = set(picks.get(str(index)) or ()) ^ {label}
        picks[str(index)] = [x for x in labels if x in chosen]
        return request


def _text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def ref_view(request: dict, ref: dict, outcome: str) -> tuple[dict, str]:
    """What message ``ref`` shows once ``request`` is settled: its view and outcome line."""
    index = ref.get("question")
    if not isinstance(index, int) or chat.questions(request) is None:
        return request, outcome
    view = chat.question_view(request, index)
    decision = request.get("decision") or {}
    answers = (decision.get("updated_input") or {}).get("answers") or {}
    asked = chat.questions(request) or []
    if request.get("status") == "allowed" and index < len(asked):
        answer = answers.get(asked[index]["question"])
        if answer is not None:
            return view, f"✅ Answered by {decision.get('by') or 'someone'}: {answer}"
    return view, outcome


class Questions:
    """Mixed into ``Dispatcher``: uses its store, bridges, ``tell``, ``decide``, ``_io``."""

    async def _question_press(self, event: Incoming, verb: str, request: dict) -> None:
        asked = chat.questions(request)
        where = chat.indexes(verb)
        if asked is None or where is None or where[0] >= len(asked):
            await self.tell(event, "⌛ Expired")
            return
        index, option = where
        question = asked[index]
        labels = question["labels"]
        if verb[0] == "y":  # Done with a multi-select question
            picks = ((request.get("chat") or {}).get("picks") or {}).get(str(index)) or []
            if not picks:
                await self.tell(event, "Pick at least one option first.")
                return
            await self.answer_question(event, request, index, picks)
            return
        if option is None or option >= len(labels) or question["multi"] != (verb[0] == "x"):
            await self.tell(event, "⌛ Expired")
            return
        if verb[0] == "o":
            await self.answer_question(event, request, index, labels[option])
            return
        updated = await self._io(_toggle, self.store, request["id"], index, labels[option],
                                 labels, self.event_key(event))
        if updated is None or updated.get("status") != "pending":
            await self.tell(event, "⌛ Expired" if updated is None else
                            f"Already decided: {outcome_text(updated)}")
            return
        picks = updated["chat"]["picks"][str(index)]
        await self.tell(event, f"Selected: {', '.join(picks)}" if picks else "Nothing selected")
        await self._refresh_buttons(updated, index, picks)

    async def _refresh_buttons(self, request: dict, index: int, picks: list[str]) -> None:
        """Show the toggles' state where the bridge can edit buttons (``update_buttons``)."""
        asked = chat.questions(request) or []
        rows = chat.question_rows(asked, index, request["chat"]["nonce"], picks)
        for ref in request["chat"].get("refs") or ():
            bridge = self.bridges.get(ref.get("bridge"))
            if (bridge is None or not bridge.capabilities.button_updates
                    or ref.get("question") != index):
                continue
            try:
                await bridge.update_buttons(MessageRef.from_dict(ref), rows)
            except Exception as exc:
                log.warning("%s: updating buttons failed: %s", ref.get("bridge"), exc)

    async def answer_question(self, event: Incoming, request: dict, index: int,
                              value: str | list[str]) -> None:
        """Record one answer; decide once every question has one."""
        updated = await self._io(_record, self.store, request["id"], index, value)
        if updated is None or updated.get("status") != "pending":
            await self.tell(event, "⌛ Expired" if updated is None else
                            f"Already decided: {outcome_text(updated)}")
            return
        asked = chat.questions(updated) or []
        answers = updated["chat"]["answers"]
        if all(str(i) in answers for i in range(len(asked))):
            mapping, summary = chat.answers_for(asked, answers)
            tool_input = dict(updated.get("tool_input") or {}, answers=mapping)
            await self.decide(event, updated, "allow", updated_input=tool_input, answer=summary)
            return
        left = len(asked) - len(answers)
        await self.tell(event, f"Noted: {_text(value)} ({left} more to answer)")
        by = event.user_name or f"user {event.user_id}"
        view = chat.question_view(updated, index)
        for ref in updated["chat"].get("refs") or ():
            bridge = self.bridges.get(ref.get("bridge"))
            if bridge is None or ref.get("question") != index:
                continue
            try:
                await bridge.show_outcome(MessageRef.from_dict(ref), view,
                                          f"✅ {by}: {_text(value)}")
            except Exception as exc:
                self._error(f"edit:{bridge.name}", f"{bridge.name}: showing an answer failed: "
                                                   f"{exc}")

    async def _question_text(self, event: Incoming, text: str, request: dict,
                             replied_index: int | None, known: set[str]) -> bool:
        """A text answering a question of ``request``; False if it is not an answer."""
        asked = chat.questions(request)
        if asked is None:
            return False
        answers = (request.get("chat") or {}).get("answers") or {}
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
        await self.answer_question(event, request, index, value)
        return True

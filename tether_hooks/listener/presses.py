"""Presses: a button's nonce resolves to its request (the chat book), its verb to an
action of ``actions.ACTIONS``, which does the rest. "Deny with reason" makes the user's
next message the reason (kept here until it arrives or the request is settled)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tether_hooks.ledger import Ledger
from tether_hooks.listener import actions
from tether_hooks.listener.actions import Point
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.decider import Decider, already
from tether_hooks.listener.outbox import Outbox
from tether_hooks.listener.questions import Questions
from tether_hooks.models import Behavior, Request
from tether_hooks.platforms.base import Incoming, MessageRef

__all__ = ["Presses"]


class Presses:
    """Handles button presses (an ``actions.Handler``) and owns the pending reasons."""

    def __init__(self, store: Ledger, book: ChatBook, bridges: Bridges, outbox: Outbox,
                 decider: Decider, questions: Questions) -> None:
        self.store = store
        self.book = book
        self.bridges = bridges
        self.outbox = outbox
        self.decider = decider
        self.questions = questions
        self._reasons: dict[tuple[str, str], str] = {}  # (bridge, user) -> request id

    async def on_press(self, event: Incoming) -> None:
        verb, _, nonce = actions.pressed(event.data)
        rid = self.book.by_nonce(nonce) if nonce else None
        request = self.store.read()["requests"].get(rid) if rid else None
        if rid and request is not None:
            await self._adopt(rid, request, event.reply_to)
        if request is None:
            await self.bridges.tell(event, "⌛ Expired")
            return
        if request.get("status") != "pending":
            await self.bridges.tell(event, already(request))
            self.outbox.wake()
            return
        if float(request.get("expires_at", 0)) <= time.time():
            await self.bridges.tell(event, "⌛ Expired")
            return
        action = actions.find(verb)
        if action is None:
            await self.refuse(event)
            return
        await action.apply(self, event, request)

    async def _adopt(self, rid: str, request: Request, ref: MessageRef | None) -> None:
        """A press on a copy the book does not know (its send was never confirmed): record
        it, so the outcome is shown on the copy that was pressed, as on the others."""
        if ref is None or self.book.by_message(ref.bridge, ref.chat_id, ref.message_id):
            return
        if not self.book.request(rid).get("unknown"):
            return  # every copy is known: a press elsewhere is not one of ours
        await self.outbox.runtime.io(self.book.update, rid,
                                     refs=[*self.book.refs(rid), ref.to_dict()], shown=False,
                                     session_id=request.get("session_id"))

    # -- actions.Handler ----------------------------------------------------------------------

    async def decide(self, event: Incoming, request: Request, action: Behavior,
                     **how: Any) -> bool:
        return await self.decider.decide(event, request, action, **how)

    async def ask_reason(self, event: Incoming, request: Request) -> None:
        rid, tool = request["id"], request.get("tool_name")
        self._reasons[(event.bridge, str(event.user_id))] = rid
        bridge = self.bridges.all[event.bridge]
        await bridge.answer(event, "Write the reason")
        what = ("your feedback on the plan" if tool == "ExitPlanMode"
                else f"the reason for denying {tool}")
        await bridge.reply(event, f"💬 {event.user_name}, your next message is {what} ({rid}).")

    async def show_full(self, event: Incoming, request: Request) -> None:
        bridge = self.bridges.all[event.bridge]
        if not bridge.capabilities.full_input:
            await self.refuse(event)
            return
        await bridge.answer(event, "Full input below")
        await bridge.show_full(event, dict(request))

    async def pick(self, event: Incoming, request: Request, at: Point) -> None:
        await self.questions.pick(event, request, at)

    async def toggle(self, event: Incoming, request: Request, at: Point) -> None:
        await self.questions.toggle(event, request, at)

    async def done(self, event: Incoming, request: Request, at: Point) -> None:
        await self.questions.done(event, request, at)

    async def refuse(self, event: Incoming) -> None:
        await self.bridges.tell(event, "⌛ Expired")

    # -- reasons ------------------------------------------------------------------------------

    def reason_for(self, event: Incoming) -> str | None:
        """The request this user was asked a reason for, if any (not taken)."""
        return self._reasons.get((event.bridge, str(event.user_id)))

    def take_reason(self, event: Incoming) -> str | None:
        """The request this user's message is the reason for, if one was asked."""
        return self._reasons.pop((event.bridge, str(event.user_id)), None)

    def forget_settled(self, requests: Mapping[str, Request]) -> None:
        for key, rid in list(self._reasons.items()):
            request = requests.get(rid)
            if request is None or request.get("status") != "pending":
                del self._reasons[key]

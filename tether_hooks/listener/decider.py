"""The decider: settles a request once for the user of a chat event, with the timer a
decision asks for in the same write (``Store.decide_with_timer``), answers the user, shows
the outcome everywhere and announces the decision (``Runtime.decided``: the server pushes
it to the waiting hook).
An event applied again (a restart) finishes what it began, once (``event_key``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from tether_hooks import timers
from tether_hooks.errors import TetherError
from tether_hooks.ledger import Ledger
from tether_hooks.listener import access
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.outbox import Outbox
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import Behavior, DecisionExtra, Request, Timer
from tether_hooks.platforms.base import Incoming
from tether_hooks.wording import outcome_text

__all__ = ["Decider", "already"]

log = logging.getLogger("tether_hooks.listener")


def already(request: Request) -> str:
    if request.get("status") in ("expired", "abandoned"):
        return "⌛ Expired"
    return f"Already decided: {outcome_text(request)}"


class Decider:
    """Applies decisions made in the chat."""

    def __init__(self, store: Ledger, bridges: Bridges, outbox: Outbox, runtime: Runtime, *,
                 default_timer: str) -> None:
        self.store = store
        self.bridges = bridges
        self.outbox = outbox
        self.runtime = runtime
        self.default_timer = default_timer

    async def decide(
        self,
        event: Incoming,
        request: Request,
        action: Behavior,
        *,
        reason: str | None = None,
        scope: str | None = None,
        tool: str | None = None,
        duration: int | None = None,
        updated_input: dict[str, Any] | None = None,
        updated_permissions: list[object] | None = None,
        answer: str | None = None,
        interrupt: bool = False,
    ) -> bool:
        """Settle ``request`` once for the user of ``event``; show the outcome everywhere."""
        rid = request["id"]
        by = event.user_name or f"user {event.user_id}"
        extra: DecisionExtra = {}
        if updated_input is not None:
            extra["updated_input"] = updated_input
        if updated_permissions:
            extra["updated_permissions"] = updated_permissions
        if answer:
            extra["answer"] = answer
        if interrupt:
            extra["interrupt"] = True
        key = self.bridges.event_key(event)
        if key:
            extra["event"] = key
        draft, refused = self._draft(request, scope, tool, duration, by, key)
        self.outbox.showing.add(rid)
        try:
            first, settled, added = await self.runtime.io(
                self.store.decide_with_timer, rid, action, by=by, via=event.bridge,
                reason=reason, extra=extra or None, timer=draft)
            timer = added[0] if added else None
            if first:
                self.runtime.decided(rid)
                for also in added[1] if added else ():
                    self.runtime.decided(str(also.get("id")))
            # the same update applied again (a restart): finish what it began, once
            decision = settled.get("decision")
            first = first or bool(key and decision and decision.get("event") == key)
            if not first:
                await self.bridges.tell(event, already(settled))
                self.outbox.showing.discard(rid)
                self.outbox.wake()
                return False
            log.info("request %s %s by %s via %s", rid, settled["status"], by, event.bridge)
            if refused:
                await self.bridges.all[event.bridge].reply(event, f"No timer was set: {refused}")
            elif draft is not None and timer is None:  # replayed: the timer came with it
                stored = (await self.runtime.io(self.store.read))["timers"]
                timer = next((t for t in stored.values() if t.get("key") == key), None)
            if event.kind == "press":
                await self.bridges.tell(event, access.pressed(dict(settled), action))
            else:
                text = outcome_text(settled, timer,
                                    time.time())
                await self.bridges.tell(event, f"{text} ({rid}: {settled.get('tool_name')})")
        except BaseException:
            self.outbox.showing.discard(rid)
            raise
        await self.outbox.show(settled, timer, first=event.bridge)
        return True

    def _draft(self, request: Request, scope: str | None, tool: str | None,
               duration: int | None, by: str, key: str | None
               ) -> tuple[Timer | None, str | None]:
        """The timer a decision asks for, checked before anything is decided (stored with
        the decision in one write), or why it cannot be set."""
        if not scope:
            return None, None
        length = f"{duration}s" if duration else self.default_timer
        try:
            return timers.draft_like(request, scope, length, created_by=by, tool=tool,
                                     key=key), None
        except TetherError as exc:
            return None, str(exc)

    async def add_timer(self, event: Incoming, request: Request, scope: str,
                        tool: str | None, duration: int | None, by: str
                        ) -> Timer | None:
        """A timer for calls like ``request`` (``timers.add_like``), without deciding it;
        None if it failed."""
        length = f"{duration}s" if duration else self.default_timer
        try:
            timer, resolved = await self.runtime.io(
                timers.add_like, request, scope, length, created_by=by, tool=tool,
                store=self.store, key=self.bridges.event_key(event))
        except TetherError as exc:
            await self.bridges.all[event.bridge].reply(event, f"No timer was set: {exc}")
            return None
        for settled in resolved or ():
            self.runtime.decided(str(settled.get("id")))
        return timer

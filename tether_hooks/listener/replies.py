"""Texts: the shared grammar, in the scope of the message replied to or the session's
topic; an answer to a question; the reason asked for by "Deny with reason"; or the next
prompt for a Stop hook waiting in that scope.

A text that names no request (no reply to one, no id) only applies to a request whose
copy was confirmed posted before the text was sent (``Incoming.sent_at`` against the
book's ``posted_at``): an ``ok`` typed for a request that timed out meanwhile never allows
the one posted after it. A reply to a message that is no longer a request (or that the
listener does not know) names that message: it never falls back to another request. A
text awaited as a "Deny with reason" is the reason unless it names another request or is
written in another session's thread.
A text that names a tool (``allow Bash 2h``) only decides a request of that tool; for
another one it sets the timer and the request keeps waiting."""

from __future__ import annotations

import time

from tether_hooks import grammar, rules
from tether_hooks.ledger import Ledger
from tether_hooks.listener import chat
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.decider import Decider, already
from tether_hooks.listener.outbox import Outbox
from tether_hooks.listener.presses import Presses
from tether_hooks.listener.questions import Questions
from tether_hooks.listener.stopwaits import StopWaits
from tether_hooks.listener.threads import Threads
from tether_hooks.models import Request, RequestChat, Timer
from tether_hooks.platforms.base import Incoming

__all__ = ["Replies"]


class Replies:
    """Turns what users write into decisions, answers, timers or a Stop hook's prompt."""

    def __init__(self, store: Ledger, book: ChatBook, bridges: Bridges, outbox: Outbox,
                 decider: Decider, questions: Questions, presses: Presses, threads: Threads,
                 waits: StopWaits) -> None:
        self.store = store
        self.book = book
        self.bridges = bridges
        self.outbox = outbox
        self.decider = decider
        self.questions = questions
        self.presses = presses
        self.threads = threads
        self.waits = waits

    async def on_text(self, event: Incoming) -> None:
        text = event.data.strip()
        tell = self.bridges.tell
        if event.reply_to is not None:
            await self.outbox.posts_recorded()
        requests = self.store.read()["requests"]
        replied, sids = self.threads.scope(requests, event)
        command = grammar.parse(text, set(requests))
        rid = self.presses.reason_for(event)
        named = replied["id"] if replied is not None else (
            command.request_id if command is not None else None)
        awaited = requests.get(rid) if rid is not None else None
        # written in another session's thread or topic: that session's answer, not the reason
        elsewhere = (sids is not None and awaited is not None
                     and awaited.get("session_id") not in sids)
        if rid is not None and named in (None, rid) and not elsewhere:
            self.presses.take_reason(event)
            request = awaited
            if request is None or request.get("status") != "pending":
                await tell(event, already(request) if request else "⌛ Expired")
            else:
                await self.decider.decide(event, request, "deny", reason=text)
            return
        nowhere = self.threads.reply_points_nowhere(requests, event)
        now = time.time()
        pending = [r for r in requests.values() if r.get("status") == "pending"
                   and float(r.get("expires_at", 0)) > now
                   and (sids is None or r.get("session_id") in sids)]
        sent = event.sent_at if event.sent_at is not None else now
        seen = [] if nowhere else [
            r for r in pending
            if _posted_before(r, self.book.request(r["id"]), event.bridge, sent)]
        candidates = [replied] if replied is not None else seen
        if len(candidates) == 1:
            _, ref = self.threads.replied(requests, event)
            index = ref.get("question") if ref is not None else None
            if await self.questions.text(event, text, candidates[0],
                                         index if isinstance(index, int) else None,
                                         set(requests)):
                return
        if command is None:
            if not await self._continue(event, text, sids):
                await tell(event, "Not a decision. Reply allow or deny (deny: reason), "
                                  "or see /help.")
            return
        if command.request_id:
            target = requests[command.request_id]
        elif len(candidates) == 1:
            target = candidates[0]
        elif nowhere:
            await tell(event, "Not decided: the message you replied to is no longer a request "
                              "waiting for a decision. Reply to the request's own message, or "
                              "add its id (/pending lists what waits).")
            return
        else:
            if not candidates and await self._continue(event, text, sids):
                return
            if not candidates and not pending:
                await tell(event, "Nothing is waiting for a decision.")
                return
            head = ("Several requests are waiting" if candidates else
                    "Not decided: it arrived after your message")
            lines = [f"{command.action} {r['id']}: {r.get('tool_name')} {r.get('summary', '')}"
                     for r in sorted(candidates or pending, key=lambda r: r.get("created_at", 0))]
            await tell(event, f"{head}. Reply to one, or add its id:\n" + "\n".join(lines))
            return
        if target.get("status") != "pending":
            await tell(event, already(target))
            return
        if command.action == "deny":
            await self.decider.decide(event, target, "deny", reason=command.reason)
            return
        if chat.questions(target) is not None:
            await tell(event, "Answer with an option's number or label (1,3 for several).")
            return
        if command.scope == "tool" and not _same_tool(command.tool, target):
            await self._timer_only(event, target, command)
            return
        await self.decider.decide(event, target, "allow", scope=command.scope,
                                  tool=command.tool, duration=command.duration)

    async def _timer_only(self, event: Incoming, target: Request,
                          command: grammar.Command) -> None:
        """``allow Bash 2h`` when the request is a Write: the timer, not the request."""
        by = event.user_name or f"user {event.user_id}"
        timer = await self.decider.add_timer(event, target, "tool", command.tool,
                                             command.duration, by)
        if timer is None:
            return
        await self.bridges.tell(event, f"⏱ {rules.describe(timer, time.time())}. Request "
                                       f"{target['id']} ({target.get('tool_name')}) still "
                                       "waits: allow or deny it.")

    async def _continue(self, event: Incoming, text: str, sids: set[str] | None) -> bool:
        """Hand ``text`` to a Stop hook waiting in this scope; False if none waits."""
        if not self.waits.hand(text, event.user_name, sids):
            return False
        await self.bridges.tell(event, "➡️ Sent; the agent goes on with it.")
        return True


def _posted_before(request: Request, record: RequestChat, bridge: str,
                   sent: float) -> bool:
    """Was ``request`` in the chat when a message sent at ``sent`` was written? Compared on
    the platform's own clock (the date of our posted message) where we have it: the local
    clock may be off. Whole-second dates: the same second counts as "not before"."""
    # Only a confirmed copy on this platform counts: a request still being posted (a 429's
    # wait), or one whose send here was never confirmed (another platform's copy may be),
    # is answered by a reply to it or by its id, never by a bare "ok".
    here = [ref for ref in record.get("refs") or () if ref.get("bridge") == bridge]
    dates = [float(at) for ref in here if isinstance(at := ref.get("sent_at"), int | float)]
    if dates:
        return min(dates) < sent
    posted = record.get("posted_at")
    return bool(here) and isinstance(posted, (int, float)) and float(posted) <= sent


def _same_tool(tool: str | None, request: Request) -> bool:
    """Does a timer for ``tool`` (as typed: any case, ``mcp__*``) cover ``request``'s tool,
    or one of its ``tool_aliases``? The same matching as the timers themselves."""
    rule: Timer = {"id": "", "scope": "tool", "tool": str(tool or "").casefold(),
                   "created_at": 0.0, "expires_at": float("inf"), "created_by": ""}
    return bool(tool) and rules.timer_matches(rule, request, 0.0)

"""Dispatch, part three: what users do. Presses resolve a nonce to a request; texts use
the shared grammar, in the scope of the message replied to or the session's topic.

A text that names no request (no reply to one, no id) only applies to a request posted
before the text was sent (``Incoming.sent_at`` against ``chat.posted_at``): an ``ok`` typed
for a request that timed out meanwhile never allows the one posted after it. A text that
names a tool (``allow Bash 2h``) only decides a request of that tool; for another one it
sets the timer and the request keeps waiting."""

from __future__ import annotations

import asyncio
import time

from tether_hooks import grammar, rules
from tether_hooks.listener import chat
from tether_hooks.platforms.base import Incoming
from tether_hooks.wording import KEEP_PLANNING, outcome_text

__all__ = ["Replies", "already"]


def already(request: dict) -> str:
    if request.get("status") in ("expired", "abandoned"):
        return "⌛ Expired"
    return f"Already decided: {outcome_text(request)}"


class Replies:
    """Mixed into ``Dispatcher``: uses its store, bridges, ``tell``, ``decide``, timers."""

    async def _on_press(self, event: Incoming) -> None:
        verb, nonce = chat.split_data(event.data)
        data = self.store.read()
        request = None
        if nonce:
            request = next((r for r in data["requests"].values()
                            if (r.get("chat") or {}).get("nonce") == nonce), None)
        if request is None:
            await self.tell(event, "⌛ Expired")
            return
        await self._press(event, verb, request)

    async def _press(self, event: Incoming, verb: str, request: dict) -> None:
        if request.get("status") != "pending":
            await self.tell(event, already(request))
            self._wake.set()
            return
        if float(request.get("expires_at", 0)) <= time.time():
            await self.tell(event, "⌛ Expired")
            return
        rid, tool = request["id"], request.get("tool_name")
        bridge = self.bridges[event.bridge]
        if verb == "f" and bridge.capabilities.full_input:
            await bridge.answer(event, "Full input below")
            await bridge.show_full(event, request)
        elif verb == "r":
            self._reasons[(event.bridge, str(event.user_id))] = rid
            await bridge.answer(event, "Write the reason")
            what = ("your feedback on the plan" if tool == "ExitPlanMode"
                    else f"the reason for denying {tool}")
            await bridge.reply(event, f"💬 {event.user_name}, your next message is {what} "
                                      f"({rid}).")
        elif verb == "k":
            await self.decide(event, request, "deny", reason=KEEP_PLANNING)
        elif verb == "e" and tool == "ExitPlanMode":
            await self.decide(event, request, "allow", updated_permissions=chat.ACCEPT_EDITS)
        elif verb[:1] in ("o", "x", "y"):
            await self._question_press(event, verb, request)
        elif verb in ("a", "d"):
            await self.decide(event, request, "allow" if verb == "a" else "deny")
        elif verb in ("t", "s", "p"):
            scope = {"t": "tool", "s": "session", "p": "dir"}[verb]
            await self.decide(event, request, "allow", scope=scope, tool=tool)
        else:
            await self.tell(event, "⌛ Expired")

    # -- texts ----------------------------------------------------------------------------

    async def _posts_recorded(self, budget: float = 2.0) -> None:
        """A quick reply can arrive before the message it answers is recorded with its
        request: let posts in flight finish (bounded) so the reply finds its request."""
        deadline = time.monotonic() + budget
        while self._posting and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def replied(self, data: dict, event: Incoming) -> tuple[dict | None, dict | None]:
        """The request whose message ``event`` replies to, and that message's ref."""
        reply = event.reply_to
        if reply is None:
            return None, None
        key = (reply.bridge, str(reply.chat_id), str(reply.message_id))
        for request in data["requests"].values():
            for ref in (request.get("chat") or {}).get("refs") or ():
                if (ref.get("bridge"), str(ref.get("chat_id")), str(ref.get("message_id"))
                        ) == key:
                    return request, ref
        return None, None

    def scope(self, data: dict, event: Incoming) -> tuple[dict | None, set[str] | None]:
        """The request replied to, or the sessions the event's thread/reply belongs to."""
        request, _ = self.replied(data, event)
        if request is not None:
            return request, None
        reply = event.reply_to
        if reply is not None:
            key = (reply.bridge, str(reply.chat_id), str(reply.message_id))
            if key in self._notice_refs:
                return None, {self._notice_refs[key]}
        if event.thread_id is not None:
            sids = {
                sid for sid, s in data["sessions"].items()
                if str(((s.get("chat") or {}).get(event.bridge) or {}).get("thread_id"))
                == str(event.thread_id)
            }
            return None, sids
        return None, None

    async def _on_text(self, event: Incoming) -> None:
        text = event.data.strip()
        if event.reply_to is not None:
            await self._posts_recorded()
        data = self.store.read()
        rid = self._reasons.pop((event.bridge, str(event.user_id)), None)
        if rid is not None:
            request = data["requests"].get(rid)
            if request is None or request.get("status") != "pending":
                await self.tell(event, already(request) if request else "⌛ Expired")
            else:
                await self.decide(event, request, "deny", reason=text)
            return
        replied, sids = self.scope(data, event)
        now = time.time()
        pending = [r for r in data["requests"].values() if r.get("status") == "pending"
                   and float(r.get("expires_at", 0)) > now
                   and (sids is None or r.get("session_id") in sids)]
        sent = event.sent_at if event.sent_at is not None else now
        seen = [r for r in pending if _posted_before(r, event.bridge, sent)]
        candidates = [replied] if replied is not None else seen
        if len(candidates) == 1:
            _, ref = self.replied(data, event)
            index = (ref or {}).get("question")
            if await self._question_text(event, text, candidates[0],
                                         index if isinstance(index, int) else None,
                                         set(data["requests"])):
                return
        command = grammar.parse(text, set(data["requests"]))
        if command is None:
            if not await self._continue(event, text, sids):
                await self.tell(event, "Not a decision. Reply allow or deny (deny: reason), "
                                       "or see /help.")
            return
        if command.request_id:
            target = data["requests"][command.request_id]
        elif len(candidates) == 1:
            target = candidates[0]
        else:
            if not candidates and await self._continue(event, text, sids):
                return
            if not candidates and not pending:
                await self.tell(event, "Nothing is waiting for a decision.")
                return
            head = ("Several requests are waiting" if candidates else
                    "Not decided: it arrived after your message")
            lines = [f"{command.action} {r['id']}: {r.get('tool_name')} {r.get('summary', '')}"
                     for r in sorted(candidates or pending, key=lambda r: r.get("created_at", 0))]
            await self.tell(event, f"{head}. Reply to one, or add its id:\n" + "\n".join(lines))
            return
        if target.get("status") != "pending":
            await self.tell(event, already(target))
            return
        if command.action == "deny":
            await self.decide(event, target, "deny", reason=command.reason)
            return
        if chat.questions(target) is not None:
            await self.tell(event, "Answer with an option's number or label (1,3 for several).")
            return
        if command.scope == "tool" and not _same_tool(command.tool, target):
            await self._timer_only(event, target, command)
            return
        await self.decide(event, target, "allow", scope=command.scope, tool=command.tool,
                          duration=command.duration)

    async def _timer_only(self, event: Incoming, target: dict, command: grammar.Command) -> None:
        """``allow Bash 2h`` when the request is a Write: the timer, not the request."""
        by = event.user_name or f"user {event.user_id}"
        timer = await self._add_timer(event, target, "tool", command.tool, command.duration, by)
        if timer is None:
            return
        await self.tell(event, f"⏱ {rules.describe(timer, time.time())}. Request "
                               f"{target['id']} ({target.get('tool_name')}) still waits: "
                               "allow or deny it.")

    async def _continue(self, event: Incoming, text: str, sids: set[str] | None) -> bool:
        """Hand ``text`` to a Stop hook waiting in this scope; False if none waits."""
        waiting = [sid for sid in self._waits if sids is None or sid in sids]
        if len(waiting) != 1 or self._waits[waiting[0]].done():
            return False
        self._waits[waiting[0]].set_result((text, event.user_name))
        await self.tell(event, "➡️ Sent; the agent goes on with it.")
        return True


def _posted_before(request: dict, bridge: str, sent: float) -> bool:
    """Was ``request`` in the chat when a message sent at ``sent`` was written? Compared on
    the platform's own clock (the date of our posted message) where we have it: the local
    clock may be off. Whole-second dates: the same second counts as "not before"."""
    chat = request.get("chat") or {}
    dates = [ref.get("sent_at") for ref in chat.get("refs") or ()
             if ref.get("bridge") == bridge and isinstance(ref.get("sent_at"), (int, float))]
    if dates:
        return min(dates) < sent
    posted = chat.get("posted_at", request.get("created_at"))
    return isinstance(posted, (int, float)) and posted <= sent


def _same_tool(tool: str | None, request: dict) -> bool:
    """Does a timer for ``tool`` (as typed: any case, ``mcp__*``) cover ``request``'s tool,
    or one of its ``tool_aliases``? The same matching as the timers themselves."""
    rule = {"scope": "tool", "tool": str(tool or "").casefold(), "expires_at": float("inf")}
    return bool(tool) and rules.timer_matches(rule, request, 0.0)

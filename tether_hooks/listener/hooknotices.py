"""Notices from hooks (``waiting``, ``finished`` + a Stop hook's wait for a reply) and the
batched auto-approval notices (read from the audit log by ``notices.AuditTail``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether_hooks import redact
from tether_hooks.ledger import Ledger
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.notices import Batcher
from tether_hooks.listener.runtime import Runtime
from tether_hooks.listener.stopwaits import StopWaits
from tether_hooks.listener.threads import Threads
from tether_hooks.platforms.base import Notice
from tether_hooks.wording import agent_label, project_name

__all__ = ["BRIDGE_WAIT", "FINISHED_CHARS", "HookNotices"]

FINISHED_CHARS = 1500
BRIDGE_WAIT = 15.0  # how long a notice waits for bridges that are still connecting


def is_auto_approval(entry: Mapping[str, Any]) -> bool:
    """An audit line the chat is told of: a call a timer allowed before it was posted (a
    posted request released by a new timer: its message shows that)."""
    return (entry.get("event") == "decision" and entry.get("via") == "timer"
            and not entry.get("request_id"))


class HookNotices:
    """Posts what hooks and timers tell the chat."""

    def __init__(self, store: Ledger, bridges: Bridges, threads: Threads, waits: StopWaits,
                 runtime: Runtime, *, batch_quiet: float) -> None:
        self.store = store
        self.bridges = bridges
        self.threads = threads
        self.waits = waits
        self.runtime = runtime
        self.batcher = Batcher(self._post_auto_approvals, quiet=batch_quiet)

    async def on_notice(self, message: dict[str, Any]) -> dict[str, Any]:
        """A notice from a hook (``waiting``, ``finished``); ``wait`` > 0: await a reply."""
        sid = str(message.get("session_id") or "")
        session = self.store.read()["sessions"].get(sid) or {
            "id": sid, "agent": message.get("agent"), "cwd": message.get("cwd")}
        who = agent_label(session.get("agent"))
        folder = project_name(session.get("cwd"))
        if session.get("machine"):  # a fleet's session: its machine too
            folder = f"{folder} on {session.get('machine')}"
        wait = float(message.get("wait") or 0)
        if message.get("kind") == "finished":
            last = redact.chat(str(message.get("text") or "")).strip()  # before the cut
            if len(last) > FINISHED_CHARS:
                last = last[: FINISHED_CHARS - 1] + "…"
            text = f"🏁 {who} finished in {folder}." + (f"\n\n{last}" if last else "")
            if wait > 0:
                text += f"\n\nReply here within {wait:g} s and {who} goes on with it."
        else:
            text = f"⏳ {who} is waiting for your input in {folder}: {message.get('text') or ''}"
        notice = Notice(str(message.get("kind") or "info"), text, session_id=sid,
                        agent=session.get("agent"), cwd=session.get("cwd"))
        if wait <= 0:  # the hook need not wait for the platform
            self.runtime.spawn(self.post(session, notice, settle=BRIDGE_WAIT))
            return {"ok": True}
        future = self.waits.open(sid)
        await self.post(session, notice, settle=BRIDGE_WAIT)
        reply = await self.waits.collect(sid, future, wait)
        if reply is None:
            return {"ok": True, "reply": None}
        return {"ok": True, "reply": reply[0], "by": reply[1]}

    async def post(self, session: Mapping[str, Any] | None, notice: Notice, settle: float = 0
                   ) -> None:
        if settle > 0:  # a listener the hook just started: its bridges may still connect
            await self.bridges.settled(settle)
        shown: dict[str, Any] | None = None
        if session is not None:  # where its messages went before (a forum topic)
            shown = dict(session, chat=self.threads.book.session_chat(session.get("id")))
        for ref in await self.bridges.broadcast(shown, notice):
            if notice.session_id:
                self.threads.noticed(notice.session_id, ref)

    # -- auto-approvals (the timer path never talks to us) ----------------------------

    def on_audit(self, entry: dict[str, Any]) -> None:
        if is_auto_approval(entry):
            self.batcher.add(str(entry.get("session_id") or ""), entry)

    async def _post_auto_approvals(self, session_id: str, entries: list[dict[str, Any]]
                                   ) -> None:
        session = self.store.read()["sessions"].get(session_id) or {"id": session_id}
        items = [f"{e.get('tool_name')}: {e.get('input') or ''}".strip() for e in entries]
        reason = str(entries[0].get("reason") or "a timer")
        if len(items) == 1:
            text = f"✅ Auto-approved {items[0]} ({reason})"
        else:
            shown = items[:20] + ([f"… and {len(items) - 20} more"] if len(items) > 20 else [])
            text = f"✅ Auto-approved {len(items)} calls ({reason}):\n" + "\n".join(
                f"• {i}" for i in shown)
        notice = Notice("auto_approved", text, session_id=session_id or None,
                        agent=session.get("agent"), cwd=session.get("cwd"), items=items)
        await self.post(session, notice)

"""Dispatch, part two: notices from hooks (waiting, finished + ``stop_wait``) and the
batched auto-approval notices (read from the audit log by ``notices.AuditTail``)."""

from __future__ import annotations

import asyncio

from tether_hooks import redact
from tether_hooks.platforms.base import MessageRef, Notice
from tether_hooks.wording import agent_label, project_name

__all__ = ["BRIDGE_WAIT", "FINISHED_CHARS", "HookNotices"]

FINISHED_CHARS = 1500
BRIDGE_WAIT = 15.0  # how long a notice waits for bridges that are still connecting


class HookNotices:
    """Mixed into ``Dispatcher``: uses its store, bridges, ``_spawn``, ``_io`` and ``_error``."""

    async def on_notice(self, message: dict) -> dict:
        """A notice from a hook (``waiting``, ``finished``); ``wait`` > 0: await a reply."""
        sid = str(message.get("session_id") or "")
        session = self.store.read()["sessions"].get(sid) or {
            "id": sid, "agent": message.get("agent"), "cwd": message.get("cwd")}
        who = agent_label(session.get("agent"))
        folder = project_name(session.get("cwd"))
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
            self._spawn(self._post_notice(session, notice, settle=BRIDGE_WAIT))
            return {"ok": True}
        future = asyncio.get_running_loop().create_future()
        self._waits[sid] = future
        await self._post_notice(session, notice, settle=BRIDGE_WAIT)
        try:
            reply = await asyncio.wait_for(future, wait)
        except TimeoutError:
            return {"ok": True, "reply": None}
        finally:
            if self._waits.get(sid) is future:
                del self._waits[sid]
        return {"ok": True, "reply": reply[0], "by": reply[1]}

    async def _post_notice(self, session: dict | None, notice: Notice, settle: float = 0
                           ) -> None:
        if settle > 0:  # a listener the hook just started: its bridges may still connect
            try:
                await asyncio.wait_for(self._until_started(), settle)
            except TimeoutError:
                pass
        for bridge in self._ready():
            try:
                ref = await bridge.post_notice(session, notice)
            except Exception as exc:
                self._error(f"notice:{bridge.name}",
                            f"{bridge.name}: posting a notice failed: {exc}")
                continue
            if ref is not None and notice.session_id:
                self._notice_refs[(ref.bridge, str(ref.chat_id), str(ref.message_id))] = (
                    notice.session_id)
                self._remember_thread(notice.session_id, session, ref)

    def _remember_thread(self, sid: str, session: dict | None, ref: MessageRef) -> None:
        known = ((session or {}).get("chat") or {}).get(ref.bridge) or {}
        if ref.thread_id is None or known.get("thread_id") == ref.thread_id:
            return
        chats = dict((session or {}).get("chat") or {})
        chats[ref.bridge] = {"chat_id": ref.chat_id, "thread_id": ref.thread_id}
        self._spawn(self._io(self.store.set_session, sid, chat=chats))

    # -- auto-approvals (the timer path never talks to us) ----------------------------


    def _on_audit(self, entry: dict) -> None:
        if entry.get("event") != "decision" or entry.get("via") != "timer":
            return
        if entry.get("request_id"):
            return  # a posted request released by a new timer: its message shows that
        self.batcher.add(str(entry.get("session_id") or ""), entry)

    async def _post_auto_approvals(self, session_id: str, entries: list[dict]) -> None:
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
        await self._post_notice(session, notice)


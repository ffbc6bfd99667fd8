"""Dispatch: owns the bridges and makes every decision.

Bridges only translate; here live the allowlist (checked on every press, text and
command), decide-once (``Store.decide``), the shared text grammar, timers and nonces. The
store is the record: a request is posted when it appears pending in ``state.json`` (the
hook's doorbell only wakes us up), and its outcome is shown on every bridge once it is
settled there, whoever settled it (a button, a text, the CLI, a timer, a timeout, the
terminal). Nonces, message refs and handled update ids are stored too, so a listener
restart neither loses a request nor re-applies a press.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial

from tether_hooks import config, grammar, paths, state, timers
from tether_hooks.errors import TetherError
from tether_hooks.listener import chat
from tether_hooks.listener.notices import AuditTail, Batcher, Debouncer
from tether_hooks.platforms.base import BridgeAuthError, Incoming, MessageRef, Notice
from tether_hooks.store import Store

__all__ = ["COMMANDS", "Dispatcher"]

log = logging.getLogger("tether_hooks.listener")

STORE_POLL = 0.1
HEALTH_EVERY = 1.0
RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0)
FINISHED_CHARS = 1500
BRIDGE_WAIT = 15.0  # how long a notice waits for bridges that are still connecting
COMMANDS = [
    ("help", "What I can do"),
    ("status", "Sessions, pending requests and timers"),
    ("pending", "Requests waiting for a decision"),
    ("timers", "Live auto-approve timers"),
    ("revoke", "Revoke a timer: /revoke <id|all>"),
    ("stop", "Stop the agent at its next tool call"),
    ("usage", "Tokens and cost of the session"),
]
_DOWN = ("auth", "auth_error", "error", "stopped")  # health states that cannot post


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _already(request: dict) -> str:
    if request.get("status") in ("expired", "abandoned"):
        return "⌛ Expired"
    return f"Already decided: {chat.outcome_text(request)}"


class Dispatcher:
    """Fans requests out to bridges and turns what users do into decisions."""

    def __init__(
        self,
        bridges: list,
        cfg: dict,
        store: Store | None = None,
        *,
        health_path: str | None = None,
        batch_quiet: float = 1.5,
    ) -> None:
        self.bridges = {b.name: b for b in bridges}
        self.cfg = cfg
        self.store = store or Store()
        self.health_path = health_path
        self.allowed = {
            name: {str(u) for u in ((cfg.get(name) or {}).get("allowed_user_ids") or [])}
            for name in self.bridges
        }
        self.states = {name: {"state": "starting", "detail": ""} for name in self.bridges}
        self.started_at = time.time()
        # local approvals: the CLI may still answer, so an unrelayed request keeps waiting
        self.local = bool(config.apply_env(cfg).get("local_approvals"))
        self.batcher = Batcher(self._post_auto_approvals, quiet=batch_quiet)
        self.errors = Debouncer()
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()  # set (and replaced) when a bridge's state changes
        self._tasks: set[asyncio.Task] = set()
        self._posting: set[str] = set()  # request ids being posted
        self._showing: set[str] = set()  # request ids being decided or shown here
        self._reasons: dict[tuple[str, str], str] = {}  # (bridge, user) -> request id
        self._waits: dict[str, asyncio.Future] = {}  # session id -> Stop hook waiting
        self._notice_refs: dict[tuple[str, str, str], str] = {}  # message -> session id
        self._started: set[str] = set()  # bridges whose start() returned
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every bridge (in the background) and the store and audit watchers."""
        self._write_health()
        for name, bridge in self.bridges.items():
            self._spawn(self._run_bridge(name, bridge))
        self._spawn(self._watch_store())
        self._spawn(AuditTail(paths.audit_file(), self._on_audit).run())

    async def close(self) -> None:
        self._closing = True
        await self.batcher.flush_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for bridge in self.bridges.values():
            try:
                await bridge.close()
            except Exception:
                log.exception("closing %s failed", bridge.name)

    def usable(self) -> bool:
        """True while some bridge is (or may soon be) able to post."""
        return any(s["state"] not in _DOWN for s in self.states.values())

    def add_bridge(self, bridge: object) -> None:
        """A bridge loaded after ``start`` (the daemon binds its socket before the SDK import)."""
        name = bridge.name  # type: ignore[attr-defined]
        self.bridges[name] = bridge
        users = (self.cfg.get(name) or {}).get("allowed_user_ids") or []
        self.allowed[name] = {str(u) for u in users}
        self.states[name] = {"state": "starting", "detail": ""}
        self._spawn(self._run_bridge(name, bridge))

    def expect(self, name: str) -> None:
        """A configured platform still loading: counts as usable meanwhile."""
        self.states.setdefault(name, {"state": "starting", "detail": "loading"})

    async def fail(self, name: str, detail: str) -> None:
        """A configured platform could not even be loaded (no SDK, bad config)."""
        log.error("%s: %s", name, detail)
        self._set_state(name, "error", detail)
        await self._no_bridge_left()

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("listener task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task

    async def _io(self, fn: Callable, *args: object, **kwargs: object) -> object:
        """Store writes take a file lock and fsync: keep them off the event loop."""
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    async def _run_bridge(self, name: str, bridge: object) -> None:
        delays = iter(RETRY_DELAYS)
        while not self._closing:
            self._set_state(name, "starting", "")
            try:
                await bridge.start(self.on_event)  # type: ignore[attr-defined]
            except Exception as exc:
                auth = isinstance(exc, BridgeAuthError)
                log.error("%s could not start: %s", name, exc)
                self._set_state(name, "auth" if auth else "error", str(exc))
                await self._no_bridge_left()
                if auth:
                    return
                await asyncio.sleep(next(delays, RETRY_DELAYS[-1]))  # backoff before a retry
                continue
            self._started.add(name)
            self._refresh_health()
            if self.states[name]["state"] in ("starting", "stopped"):
                self._set_state(name, "ok", "")
            log.info("%s connected", name)
            set_commands = getattr(bridge, "set_commands", None)
            if set_commands is not None:
                try:
                    await set_commands(COMMANDS)
                except Exception as exc:
                    log.warning("%s: could not register commands: %s", name, exc)
            self._wake.set()
            return

    def _ready(self) -> list:
        return [b for n, b in self.bridges.items()
                if self.states[n]["state"] not in (*_DOWN, "starting")]

    def _set_state(self, name: str, value: str, detail: str, extra: dict | None = None) -> None:
        new = {**(extra or {}), "state": value, "detail": detail}
        if self.states.get(name) != new:
            self.states[name] = new
            self._write_health()
            self._changed.set()
            self._changed = asyncio.Event()

    async def _until_started(self) -> None:
        """Until no configured bridge is still starting."""
        while any(s["state"] == "starting" for s in self.states.values()):
            await self._changed.wait()

    def _refresh_health(self) -> None:
        for name, bridge in self.bridges.items():
            health = getattr(bridge, "health", None)
            if health is None or name not in self._started:
                continue
            try:
                report = health()
            except Exception as exc:
                report = {"state": "error", "detail": str(exc)}
            if isinstance(report, dict) and report.get("state"):
                self._set_state(name, str(report["state"]), str(report.get("detail") or ""),
                                report)

    def _write_health(self) -> None:
        if not self.health_path:
            return
        blob = {"pid": os.getpid(), "started_at": self.started_at, "updated_at": time.time(),
                "bridges": self.states}
        try:
            state.write_atomic(self.health_path, json.dumps(blob).encode())
        except OSError as exc:
            log.warning("cannot write %s: %s", self.health_path, exc)

    async def _no_bridge_left(self) -> None:
        """No platform can post: settle what waits for one, so no hook waits for nothing."""
        if self.usable() or self.local:
            return
        detail = "; ".join(f"{n}: {s['detail']}" for n, s in self.states.items())
        for request in self.store.read()["requests"].values():
            if request.get("status") == "pending" and not (request.get("chat") or {}).get("refs"):
                await self._unrelayed(request["id"], f"no chat platform is reachable ({detail})")

    async def _unrelayed(self, rid: str, reason: str) -> None:
        """Settle as no decision: the hook falls back to the agent's own prompt at once."""
        await self._io(self.store.decide, rid, "ask", by="tether-hooks", via="listener",
                       reason=reason, status="expired")

    # -- the hook's messages ------------------------------------------------------------

    def status(self) -> dict:
        return {"ok": True, "pid": os.getpid(), "usable": self.usable(), "bridges": self.states}

    async def on_request(self, request_id: str) -> dict:
        """The doorbell: a new request is pending in the store."""
        log.info("request %s: the hook is waiting", request_id)
        self._wake.set()
        return self.status()

    async def on_notice(self, message: dict) -> dict:
        """A notice from a hook (``waiting``, ``finished``); ``wait`` > 0: await a reply."""
        sid = str(message.get("session_id") or "")
        session = self.store.read()["sessions"].get(sid) or {
            "id": sid, "agent": message.get("agent"), "cwd": message.get("cwd")}
        who = chat.agent_display(session)
        folder = os.path.basename(str(session.get("cwd") or "").rstrip("/"))
        wait = float(message.get("wait") or 0)
        if message.get("kind") == "finished":
            last = str(message.get("text") or "").strip()
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

    def _error(self, key: str, text: str) -> None:
        """Log and post an error, at most once a minute per ``key``."""
        if not self.errors.allow(key):
            return
        log.error("%s", text)
        self._spawn(self._post_notice(None, Notice("error", f"⚠️ {text}")))

    # -- the store: post new requests, show outcomes ------------------------------------

    async def _watch_store(self) -> None:
        path = self.store.path
        seen: object = ()
        last_health = 0.0
        while not self._closing:
            sig = _signature(path)
            if sig != seen or self._wake.is_set():
                self._wake.clear()
                seen = sig
                try:
                    await self.sync()
                except TetherError as exc:
                    self._error("store", str(exc))
            if time.monotonic() - last_health > HEALTH_EVERY:
                last_health = time.monotonic()
                self._refresh_health()
            try:
                await asyncio.wait_for(self._wake.wait(), STORE_POLL)
            except TimeoutError:
                pass

    async def sync(self) -> None:
        """Post pending requests not posted yet; show outcomes not shown yet."""
        now = time.time()
        data = self.store.read()
        ready = bool(self._ready())
        for rid, request in data["requests"].items():
            info = request.get("chat") or {}
            if rid in self._posting or rid in self._showing:
                continue
            if request.get("status") == "pending":
                if info.get("refs") or not ready or float(request.get("expires_at", 0)) <= now:
                    continue
                self._posting.add(rid)
                self._spawn(self._post(request, data["sessions"].get(request.get("session_id"))))
            elif (info.get("refs") and not info.get("shown")
                  and all(ref.get("bridge") in self._started for ref in info["refs"])):
                self._showing.add(rid)
                self._spawn(self._show(request))
        for key, rid in list(self._reasons.items()):
            if (data["requests"].get(rid) or {}).get("status") != "pending":
                del self._reasons[key]

    async def _post(self, request: dict, session: dict | None) -> None:
        rid = request["id"]
        try:
            nonce = chat.new_nonce()
            await self._io(self.store.set_chat, rid, nonce=nonce, refs=[], shown=False)
            shown = dict(request, session=session)
            refs, problems = [], []
            for bridge in self._ready():
                buttons = chat.buttons_for(request, nonce, str(self.cfg["default_timer"]),
                                           full=hasattr(bridge, "show_full"))
                try:
                    ref = await bridge.post_request(shown, buttons)
                except Exception as exc:
                    log.error("%s: posting request %s failed: %s", bridge.name, rid, exc)
                    problems.append(f"{bridge.name}: {exc}")
                    continue
                refs.append(ref.to_dict())
            if refs:
                await self._io(self.store.set_chat, rid, refs=refs)
                log.info("posted request %s (%s) to %s", rid, request.get("tool_name"),
                         ", ".join(r["bridge"] for r in refs))
            elif not self.local:  # nowhere to answer it: the agent asks in its own prompt
                await self._unrelayed(rid, "could not post the request (" + "; ".join(
                    problems or ["no chat platform is connected"]) + ")")
        finally:
            self._posting.discard(rid)
            self._wake.set()  # settled meanwhile? the next sync shows it

    async def _show(self, request: dict, timer: dict | None = None) -> None:
        rid = request["id"]
        refs = (request.get("chat") or {}).get("refs") or ()
        try:
            if not refs:
                return  # still being posted: the post wakes sync, which shows it then
            text = chat.outcome_text(request, timer, time.time())
            for ref in refs:
                bridge = self.bridges.get(ref.get("bridge"))
                if bridge is None:
                    continue
                try:
                    await bridge.show_outcome(MessageRef.from_dict(ref), request, text)
                except Exception as exc:
                    self._error(f"edit:{bridge.name}",
                                f"{bridge.name}: showing an outcome failed: {exc}")
            await self._io(self.store.set_chat, rid, shown=True)
        finally:
            self._showing.discard(rid)

    # -- auto-approvals (read from the audit log: the timer path never talks to us) ------

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

    # -- what users do ------------------------------------------------------------------

    def authorized(self, event: Incoming) -> bool:
        return str(event.user_id) in self.allowed.get(event.bridge, set())

    async def on_event(self, event: Incoming) -> None:
        """Every press, text and command of every bridge arrives here."""
        from tether_hooks.listener import commands

        try:
            if not self.authorized(event):
                log.warning("not authorized: %s %r from user %s (%s) on %s", event.kind,
                            event.data[:40], event.user_id, event.user_name, event.bridge)
                text = "⛔ Not authorized."
                if event.kind != "press":
                    text += f" Your user id is {event.user_id}."
                await self.tell(event, text)
                return
            if event.kind == "press":
                await self._on_press(event)
            elif event.kind in ("text", "command") and await self._fresh(event):
                if event.kind == "text":
                    await self._on_text(event)
                else:
                    await commands.run(self, event)
        except Exception as exc:
            log.exception("handling a %s from %s failed", event.kind, event.bridge)
            try:
                await self.tell(event, f"⚠️ That failed: {exc}")
            except Exception:
                pass

    async def _fresh(self, event: Incoming) -> bool:
        """Record the update as handled; False for a replay (already handled)."""
        if event.update_id is None:
            return True
        fresh = await self._io(self.store.mark_processed, event.bridge, int(event.update_id))
        if not fresh:
            log.info("dropping replayed update %s from %s", event.update_id, event.bridge)
        return bool(fresh)

    def _seen(self, data: dict, event: Incoming) -> bool:
        done = ((data.get("listener") or {}).get("processed") or {}).get(event.bridge) or ()
        return event.update_id is not None and event.update_id in done

    async def tell(self, event: Incoming, text: str) -> None:
        """Answer a press privately, reply to a text or command."""
        bridge = self.bridges[event.bridge]
        if event.kind == "press":
            await bridge.answer(event, text)
        else:
            await bridge.reply(event, text)

    async def _on_press(self, event: Incoming) -> None:
        verb, nonce = chat.split_data(event.data)
        data = self.store.read()
        request = None
        if nonce:
            request = next((r for r in data["requests"].values()
                            if (r.get("chat") or {}).get("nonce") == nonce), None)
        if request is None or self._seen(data, event):
            await self.tell(event, "⌛ Expired" if request is None else _already(request))
            return
        try:
            await self._press(event, verb, request)
        finally:
            if event.update_id is not None:
                self._spawn(self._io(self.store.mark_processed, event.bridge,
                                     int(event.update_id)))

    async def _press(self, event: Incoming, verb: str, request: dict) -> None:
        if request.get("status") != "pending":
            await self.tell(event, _already(request))
            self._wake.set()
            return
        if float(request.get("expires_at", 0)) <= time.time():
            await self.tell(event, "⌛ Expired")
            return
        rid, tool = request["id"], request.get("tool_name")
        bridge = self.bridges[event.bridge]
        if verb == "f" and hasattr(bridge, "show_full"):
            await bridge.answer(event, "Full input below")
            await bridge.show_full(event, request)
        elif verb == "r":
            self._reasons[(event.bridge, str(event.user_id))] = rid
            await bridge.answer(event, "Write the reason")
            await bridge.reply(event, f"💬 {event.user_name}, your next message is the reason "
                                      f"for denying {tool} ({rid}).")
        elif verb == "k":
            await self.decide(event, request, "deny",
                              reason="The user wants you to keep planning.")
        elif verb.startswith("q") and verb[1:].isdigit():
            asked = chat.question(request)
            index = int(verb[1:])
            if asked is None or index >= len(asked["labels"]):
                await self.tell(event, "⌛ Expired")
                return
            await self.answer_question(event, request, asked, asked["labels"][index])
        elif verb in ("a", "d"):
            await self.decide(event, request, "allow" if verb == "a" else "deny")
        elif verb in ("t", "s", "p"):
            scope = {"t": "tool", "s": "session", "p": "dir"}[verb]
            await self.decide(event, request, "allow", scope=scope, tool=tool)
        else:
            await self.tell(event, "⌛ Expired")

    async def answer_question(self, event: Incoming, request: dict, asked: dict, label: str
                              ) -> None:
        answers = {asked["question"]: label}
        updated = dict(request.get("tool_input") or {}, answers=answers)
        await self.decide(event, request, "allow", updated_input=updated, answer=label)

    async def decide(
        self,
        event: Incoming,
        request: dict,
        action: str,
        *,
        reason: str | None = None,
        scope: str | None = None,
        tool: str | None = None,
        duration: int | None = None,
        updated_input: dict | None = None,
        answer: str | None = None,
        interrupt: bool = False,
    ) -> bool:
        """Settle ``request`` once for the user of ``event``; show the outcome everywhere."""
        rid = request["id"]
        by = event.user_name or f"user {event.user_id}"
        extra: dict = {}
        if updated_input is not None:
            extra["updated_input"] = updated_input
        if answer:
            extra["answer"] = answer
        if interrupt:
            extra["interrupt"] = True
        self._showing.add(rid)
        try:
            first, settled = await self._io(self.store.decide, rid, action, by=by,
                                            via=event.bridge, reason=reason, extra=extra or None)
            if not first:
                await self.tell(event, _already(settled))
                self._showing.discard(rid)
                self._wake.set()
                return False
            log.info("request %s %s by %s via %s", rid, settled["status"], by, event.bridge)
            timer = None
            if scope:
                timer = await self._add_timer(event, settled, scope, tool, duration, by)
            if event.kind == "press":
                await self.tell(event, "Allowed" if action == "allow" else "Denied")
            else:
                text = chat.outcome_text(settled, timer, time.time())
                await self.tell(event, f"{text} ({rid}: {settled.get('tool_name')})")
        except BaseException:
            self._showing.discard(rid)
            raise
        await self._show(settled, timer)
        return True

    async def _add_timer(self, event: Incoming, request: dict, scope: str, tool: str | None,
                         duration: int | None, by: str) -> dict | None:
        length = f"{duration}s" if duration else str(self.cfg["default_timer"])
        sid = request.get("session_id") or None
        kwargs: dict = {"created_by": by, "store": self.store}
        if scope == "tool":
            kwargs.update(session_id=sid, tool=tool or request.get("tool_name"))
        elif scope == "session":
            kwargs.update(session_id=sid)
        else:
            kwargs.update(path=request.get("cwd"))
        try:
            timer, _ = await self._io(timers.add, scope, length, **kwargs)
        except TetherError as exc:
            await self.bridges[event.bridge].reply(event, f"Allowed, but no timer was set: {exc}")
            return None
        return timer  # type: ignore[return-value]

    # -- texts ----------------------------------------------------------------------------

    def scope(self, data: dict, event: Incoming) -> tuple[dict | None, set[str] | None]:
        """The request replied to, or the sessions the event's thread/reply belongs to."""
        reply = event.reply_to
        if reply is not None:
            key = (reply.bridge, str(reply.chat_id), str(reply.message_id))
            for request in data["requests"].values():
                for ref in (request.get("chat") or {}).get("refs") or ():
                    if (ref.get("bridge"), str(ref.get("chat_id")), str(ref.get("message_id"))
                            ) == key:
                        return request, None
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
        data = self.store.read()
        rid = self._reasons.pop((event.bridge, str(event.user_id)), None)
        if rid is not None:
            request = data["requests"].get(rid)
            if request is None or request.get("status") != "pending":
                await self.tell(event, _already(request) if request else "⌛ Expired")
            else:
                await self.decide(event, request, "deny", reason=text)
            return
        replied, sids = self.scope(data, event)
        now = time.time()
        pending = [r for r in data["requests"].values() if r.get("status") == "pending"
                   and float(r.get("expires_at", 0)) > now
                   and (sids is None or r.get("session_id") in sids)]
        candidates = [replied] if replied is not None else pending
        if len(candidates) == 1 and (asked := chat.question(candidates[0])):
            label = _option(text, asked["labels"])
            if label is not None:
                await self.answer_question(event, candidates[0], asked, label)
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
        elif not candidates:
            if not await self._continue(event, text, sids):
                await self.tell(event, "Nothing is waiting for a decision.")
            return
        else:
            lines = [f"{command.action} {r['id']}: {r.get('tool_name')} {r.get('summary', '')}"
                     for r in sorted(candidates, key=lambda r: r.get("created_at", 0))]
            await self.tell(event, "Several requests are waiting. Reply to one, or add its "
                                   "id:\n" + "\n".join(lines))
            return
        if target.get("status") != "pending":
            await self.tell(event, _already(target))
            return
        if command.action == "deny":
            await self.decide(event, target, "deny", reason=command.reason)
            return
        await self.decide(event, target, "allow", scope=command.scope, tool=command.tool,
                          duration=command.duration)

    async def _continue(self, event: Incoming, text: str, sids: set[str] | None) -> bool:
        """Hand ``text`` to a Stop hook waiting in this scope; False if none waits."""
        waiting = [sid for sid in self._waits if sids is None or sid in sids]
        if len(waiting) != 1 or self._waits[waiting[0]].done():
            return False
        self._waits[waiting[0]].set_result((text, event.user_name))
        await self.tell(event, "➡️ Sent; the agent goes on with it.")
        return True


def _option(text: str, labels: list[str]) -> str | None:
    cleaned = text.strip().rstrip(".")
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(labels):
        return labels[int(cleaned) - 1]
    for label in labels:
        if label.casefold() == cleaned.casefold():
            return label
    return None

"""Dispatch: owns the bridges and makes every decision.

Bridges only translate; here live the allowlist (checked on every press, text and
command), decide-once (``Store.decide``), the shared text grammar, timers and nonces. The
store is the record: a request is posted when it appears pending in ``state.json`` (the
hook's doorbell only wakes us up), and its outcome is shown on every bridge once it is
settled there, whoever settled it (a button, a text, the CLI, a timer, a timeout, the
terminal). Nonces and message refs are stored on the request, the highest handled update
id per bridge beside the store (``offsets``), so a listener restart neither loses a
request nor re-applies a press or a text.

The parts, mixed into ``Dispatcher``: ``bridges`` (starting them, health, none left),
``hooknotices`` (waiting/finished, auto-approval summaries), ``replies`` (presses and
texts), ``questions`` (AskUserQuestion answers). Unauthorized attempts are logged and
written to the audit log (``event: unauthorized``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial

from tether_hooks import audit, config, paths, state, timers
from tether_hooks.errors import TetherError
from tether_hooks.listener import access, chat, commands, logs
from tether_hooks.listener.bridges import BridgeStates
from tether_hooks.listener.commands import COMMANDS
from tether_hooks.listener.hooknotices import HookNotices
from tether_hooks.listener.notices import AuditTail, Batcher, Debouncer
from tether_hooks.listener.offsets import Offsets
from tether_hooks.listener.questions import Questions, ref_view
from tether_hooks.listener.replies import Replies, already
from tether_hooks.listener.supervise import Tasks
from tether_hooks.platforms.base import Incoming, MessageRef, Notice
from tether_hooks.store import Store
from tether_hooks.wording import outcome_text

__all__ = ["COMMANDS", "Dispatcher"]

log = logging.getLogger("tether_hooks.listener")

STORE_POLL = 0.1
DOORBELL_WAIT = 1.5
STORE_RETRY = 1.0
HEALTH_EVERY = 1.0
CLOSE_TIMEOUT = 5.0

class Dispatcher(BridgeStates, HookNotices, Replies, Questions):
    """Fans requests out to bridges and turns what users do into decisions."""

    def __init__(
        self,
        bridges: list,
        cfg: dict,
        store: Store | None = None,
        *,
        health_path: str | None = None,
        batch_quiet: float = 1.5,
        offsets: Offsets | None = None,
    ) -> None:
        self.bridges = {b.name: b for b in bridges}
        self.cfg = cfg
        self.store = store or Store()
        self.offsets = offsets or Offsets()
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
        self._restarting: set[str] = set()  # bridges whose poller is being restarted
        self._closing = False
        self.tasks = Tasks(self._write_health, logs.secrets(cfg))

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every bridge (in the background) and the store and audit watchers."""
        self._write_health()
        for name, bridge in self.bridges.items():
            self._spawn(self._run_bridge(name, bridge))
        self.supervise("store watcher", self._watch_store)
        self.supervise("audit tail", AuditTail(paths.audit_file(), self._on_audit).run)

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """A long-lived task, restarted with backoff when it fails (``supervise``)."""
        return self._spawn(self.tasks.supervise(name, factory, lambda: self._closing))

    async def close(self) -> None:
        self._closing = True
        await self.batcher.flush_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for bridge in self.bridges.values():
            try:  # an unreachable platform must not hold up a SIGTERM
                await asyncio.wait_for(bridge.close(), CLOSE_TIMEOUT)
            except TimeoutError:
                log.warning("%s did not close within %g s", bridge.name, CLOSE_TIMEOUT)
            except Exception:
                log.exception("closing %s failed", bridge.name)

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

    # -- the hook's messages ------------------------------------------------------------

    def status(self) -> dict:
        return {"ok": True, "pid": os.getpid(), "usable": self.usable(), "bridges": self.states,
                "tasks": self.tasks.states}

    async def on_request(self, request_id: str) -> dict:
        """The doorbell: a new request is pending in the store. A bridge still starting gets
        ``DOORBELL_WAIT`` s to connect, so a hook hears at once that none can post."""
        log.info("request %s: the hook is waiting", request_id)
        self._wake.set()
        try:
            await asyncio.wait_for(self._until_started(), DOORBELL_WAIT)
        except TimeoutError:
            pass  # still connecting: if it fails later, the request is settled then
        return self.status()

    def _error(self, key: str, text: str) -> None:
        """Log and post an error, at most once a minute per ``key``."""
        if not self.errors.allow(key):
            return
        log.error("%s", text)
        self._spawn(self._post_notice(None, Notice("error", f"⚠️ {text}")))

    # -- the store: post new requests, show outcomes ------------------------------------

    async def _watch_store(self) -> None:
        """Post and show what the store holds; an unreadable store is reported, retried."""
        path = self.store.path
        seen: object = ()
        last_health = 0.0
        while not self._closing:
            sig = state.signature(path)
            if sig != seen or self._wake.is_set():
                self._wake.clear()
                seen = sig
                try:
                    await self.sync()
                except Exception as exc:  # StoreError, RecursionError, ValueError, ...
                    problem = f"cannot read the store: {type(exc).__name__}: {exc}"
                    if not isinstance(exc, TetherError) and self.errors.allow("store trace"):
                        log.error("store watcher: %s", problem, exc_info=exc)
                    self._error("store", str(exc) if isinstance(exc, TetherError) else problem)
                    self.tasks.report("store watcher", "error", f"{problem}; retrying")
                    seen = ()  # read it again (changed or not) after a pause
                    await asyncio.sleep(STORE_RETRY)
                else:
                    self.tasks.report("store watcher", "ok")
            if time.monotonic() - last_health > HEALTH_EVERY:
                last_health = time.monotonic()
                self._refresh_health()
                self._check_pollers()
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
            refs, problems = [], []
            for bridge in self._ready():
                for view, buttons, index in chat.views(request, nonce,
                                                       str(self.cfg["default_timer"]),
                                                       full=bridge.capabilities.full_input):
                    try:
                        ref = await bridge.post_request(dict(view, session=session), buttons)
                    except Exception as exc:
                        log.error("%s: posting request %s failed: %s", bridge.name, rid, exc)
                        problems.append(f"{bridge.name}: {exc}")
                        break
                    refs.append(dict(ref.to_dict(), **({} if index is None
                                                       else {"question": index})))
            if refs:  # posted_at: texts sent before it cannot mean it (``replies``)
                await self._io(self.store.set_chat, rid, refs=refs, posted_at=time.time())
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
            text = outcome_text(request, timer, time.time())
            for ref in refs:
                bridge = self.bridges.get(ref.get("bridge"))
                if bridge is None:
                    continue
                view, line = ref_view(request, ref, text)
                try:
                    await bridge.show_outcome(MessageRef.from_dict(ref), view, line)
                except Exception as exc:
                    self._error(f"edit:{bridge.name}",
                                f"{bridge.name}: showing an outcome failed: {exc}")
            await self._io(self.store.set_chat, rid, shown=True)
        finally:
            self._showing.discard(rid)

    # -- what users do ------------------------------------------------------------------

    def _chat_of(self, bridge: str) -> str | None:
        known = self.bridges.get(bridge)
        return access.chat_of(self.cfg, bridge, known.resolved_chat_id if known else None)

    def in_chat(self, event: Incoming) -> bool:
        return access.in_chat(self._chat_of(event.bridge), event)

    def authorized(self, event: Incoming) -> bool:
        """An allowed user, in the configured chat: nothing is answered anywhere else."""
        return (str(event.user_id) in self.allowed.get(event.bridge, set())
                and self.in_chat(event))

    async def on_event(self, event: Incoming) -> None:
        """Every press, text and command of every bridge arrives here. An update is marked
        applied (``offsets.done``) only once it was: a listener killed meanwhile applies it
        again after its restart, and that changes nothing (``event_key``)."""
        bridge = self.bridges.get(event.bridge)
        by_order = bridge is None or bridge.replays_by_order
        key = self.event_key(event)
        if by_order and event.update_id is not None:
            fresh = self.offsets.fresh(event.bridge, int(event.update_id))
        else:
            fresh = key is None or self.offsets.fresh_key(event.bridge, key)
        if not fresh:
            log.info("dropping replayed update %s from %s", key, event.bridge)
            return
        try:
            await self._apply(event)
        finally:
            try:
                if by_order and event.update_id is not None:
                    await self._io(self.offsets.done, event.bridge, int(event.update_id))
                elif key is not None:
                    await self._io(self.offsets.done_key, event.bridge, key)
            except OSError as exc:
                log.error("cannot record update %s as applied: %s", key, exc)

    def event_key(self, event: Incoming) -> str | None:
        """What a decision, timer or toggle made by ``event`` is keyed on (its bridge's
        ``event_key``), so applying the same event again never does anything twice."""
        bridge = self.bridges.get(event.bridge)
        if bridge is None or (event.update_id is None and not event.event_id):
            return None
        return bridge.event_key(event)

    async def _apply(self, event: Incoming) -> None:
        try:
            if not self.authorized(event):
                log.warning("not authorized: %s %r from user %s (%s) in chat %s on %s",
                            event.kind, event.data[:40], event.user_id, event.user_name,
                            event.chat_id, event.bridge)
                entry = access.unauthorized(event, self._chat_of(event.bridge))
                await self._io(audit.append, entry)
                if not self.in_chat(event):
                    return  # another chat: not a word there (nor about what waits here)
                text = "⛔ Not authorized."
                if event.kind != "press":
                    text += f" Your user id is {event.user_id}."
                await self.tell(event, text)
                return
            if event.kind == "press":
                await self._on_press(event)
            elif event.kind == "text":
                await self._on_text(event)
            elif event.kind == "command":
                await commands.run(self, event)
        except Exception as exc:
            log.exception("handling a %s from %s failed", event.kind, event.bridge)
            try:
                await self.tell(event, f"⚠️ That failed: {exc}")
            except Exception:
                pass

    async def tell(self, event: Incoming, text: str) -> None:
        """Answer a press privately, reply to a text or command."""
        bridge = self.bridges[event.bridge]
        if event.kind == "press":
            await bridge.answer(event, text)
        else:
            await bridge.reply(event, text)

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
        updated_permissions: list | None = None,
        answer: str | None = None,
        interrupt: bool = False,
    ) -> bool:
        """Settle ``request`` once for the user of ``event``; show the outcome everywhere."""
        rid = request["id"]
        by = event.user_name or f"user {event.user_id}"
        extra: dict = {}
        if updated_input is not None:
            extra["updated_input"] = updated_input
        if updated_permissions:
            extra["updated_permissions"] = updated_permissions
        if answer:
            extra["answer"] = answer
        if interrupt:
            extra["interrupt"] = True
        key = self.event_key(event)
        if key:
            extra["event"] = key
        self._showing.add(rid)
        try:
            first, settled = await self._io(self.store.decide, rid, action, by=by,
                                            via=event.bridge, reason=reason, extra=extra or None)
            # the same update applied again (a restart): finish what it began, once
            first = first or bool(key and (settled.get("decision") or {}).get("event") == key)
            if not first:
                await self.tell(event, already(settled))
                self._showing.discard(rid)
                self._wake.set()
                return False
            log.info("request %s %s by %s via %s", rid, settled["status"], by, event.bridge)
            timer = None
            if scope:
                timer = await self._add_timer(event, settled, scope, tool, duration, by)
            if event.kind == "press":
                await self.tell(event, access.pressed(settled, action))
            else:
                text = outcome_text(settled, timer, time.time())
                await self.tell(event, f"{text} ({rid}: {settled.get('tool_name')})")
        except BaseException:
            self._showing.discard(rid)
            raise
        await self._show(settled, timer)
        return True

    async def _add_timer(self, event: Incoming, request: dict, scope: str, tool: str | None,
                         duration: int | None, by: str) -> dict | None:
        """A timer for calls like ``request`` (``timers.add_like``); None if it failed."""
        length = f"{duration}s" if duration else str(self.cfg["default_timer"])
        try:
            timer, _ = await self._io(timers.add_like, request, scope, length, created_by=by,
                                      tool=tool, store=self.store, key=self.event_key(event))
        except TetherError as exc:
            await self.bridges[event.bridge].reply(event, f"No timer was set: {exc}")
            return None
        return timer  # type: ignore[return-value]

"""Dispatch: wires the listener's parts and routes every event to one of them.

The parts, each owning its state: ``bridges`` (the set of bridges, their health, who may
act where), ``outbox`` (posts requests, shows outcomes, follows the store), ``decider``
(settles a request once and announces it), ``threads`` (which session a message belongs
to), ``waits`` (Stop hooks waiting for a reply), ``notices`` (hook and auto-approval
notices), ``questions``, ``presses`` and ``replies`` (what users do) and chat commands
(``commands``, with a ``CommandContext``). The store (``state.json``) is the record of
requests and decisions; the chat book (``chat.json``) is the listener's own bookkeeping.
Each event is applied once: the highest applied ordering id (or the recent event keys) per
bridge is kept beside the store (``offsets``), so a listener restart neither loses a
request nor re-applies a press or a text. Unauthorized attempts are logged and written to
the audit log (``event: unauthorized``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from tether_hooks import audit, bounds, config, paths
from tether_hooks.errors import TetherError
from tether_hooks.ledger import Ledger
from tether_hooks.listener import access, commands, logs, pairing
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.commands import COMMANDS, CommandContext
from tether_hooks.listener.decider import Decider
from tether_hooks.listener.hooknotices import HookNotices
from tether_hooks.listener.notices import AuditTail
from tether_hooks.listener.offsets import Offsets
from tether_hooks.listener.outbox import Outbox
from tether_hooks.listener.presses import Presses
from tether_hooks.listener.questions import Questions
from tether_hooks.listener.replies import Replies
from tether_hooks.listener.runtime import Runtime
from tether_hooks.listener.stopwaits import StopWaits
from tether_hooks.listener.threads import Threads
from tether_hooks.models import Config
from tether_hooks.platforms.base import BridgeBase, Incoming
from tether_hooks.store import Store

__all__ = ["COMMANDS", "Dispatcher"]

log = logging.getLogger("tether_hooks.listener")

DOORBELL_WAIT = 1.5
STRANGER_QUIET = 600.0  # a stranger's messages get one "Not authorized" per 10 minutes


class Dispatcher:
    """Fans requests out to bridges and turns what users do into decisions."""

    def __init__(
        self,
        bridges: list[BridgeBase],
        cfg: Config,
        store: Ledger | None = None,
        *,
        health_path: str | None = None,
        batch_quiet: float = 1.5,
        offsets: Offsets | None = None,
        book: ChatBook | None = None,
        follow_audit: bool = True,
    ) -> None:
        self.cfg: Mapping[str, Any] = cfg
        self.store: Ledger = store or Store()
        self.book = book or ChatBook(state_path=self.store.path)
        self.offsets = offsets or Offsets()
        timer = str(cfg["default_timer"])
        # local approvals: the CLI may still answer, so an unrelayed request keeps waiting
        local = bool(config.apply_env(cfg).get("local_approvals"))
        self.runtime = Runtime(lambda: self.bridges.write_health(), logs.secrets(cfg))
        self.bridges = Bridges(cfg, self.runtime, on_event=self.on_event,
                               on_ready=lambda: self.outbox.wake(),
                               on_down=lambda: self.outbox.no_bridge_left(),
                               commands=COMMANDS, health_path=health_path)
        self.outbox = Outbox(self.store, self.book, self.bridges, self.runtime,
                             default_timer=timer, local=local)
        self.decider = Decider(self.store, self.bridges, self.outbox, self.runtime,
                               default_timer=timer)
        self.threads = Threads(self.book, self.runtime)
        self.waits = StopWaits()
        self.notices = HookNotices(self.store, self.bridges, self.threads, self.waits,
                                   self.runtime, batch_quiet=batch_quiet)
        self.questions = Questions(self.store, self.book, self.bridges, self.decider,
                                   self.runtime)
        self.presses = Presses(self.store, self.book, self.bridges, self.outbox, self.decider,
                               self.questions)
        self.replies = Replies(self.store, self.book, self.bridges, self.outbox, self.decider,
                               self.questions, self.presses, self.threads, self.waits)
        self.commands = CommandContext(self.store, self.bridges, self.decider, self.threads,
                                       self.runtime)
        self.pairings = pairing.Pairings(self.bridges, self.runtime)
        self.outbox.on_synced = self.presses.forget_settled
        # auto-approvals: from this machine's audit log, or (a fleet's leader) from notes
        self.follow_audit = follow_audit
        self._strangers_told: dict[tuple[str, str], float] = {}  # (bridge, user) -> when
        for bridge in bridges:
            self.bridges.add(bridge, start=False)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every bridge (in the background) and the store and audit watchers."""
        self.bridges.write_health()
        self.bridges.start_all()
        self.runtime.supervise("store watcher", self.outbox.watch)
        if self.follow_audit:
            self.runtime.supervise("audit tail", AuditTail(paths.audit_file(),
                                                           self.notices.on_audit).run)

    async def close(self) -> None:
        self.runtime.closing = True
        await self.notices.batcher.flush_all()
        await self.runtime.cancel_all()
        await self.bridges.close()

    def add_bridge(self, bridge: BridgeBase) -> None:
        """A bridge loaded after ``start`` (the daemon binds its socket before the SDK import)."""
        self.bridges.add(bridge)

    # -- the hook's messages (``server``) -----------------------------------------------

    def status(self) -> dict[str, Any]:
        return {"ok": True, "pid": os.getpid(), "usable": self.bridges.usable(),
                "bridges": self.bridges.states, "tasks": self.runtime.tasks.states}

    async def on_request(self, request_id: str) -> dict[str, Any]:
        """The doorbell: a new request is pending in the store. A bridge still starting gets
        ``DOORBELL_WAIT`` s to connect, so a hook hears at once that none can post."""
        log.info("request %s: the hook is waiting", request_id)
        self.outbox.wake()
        await self.bridges.settled(DOORBELL_WAIT)  # if it fails later, settled then
        return self.status()

    async def on_notice(self, message: dict[str, Any]) -> dict[str, Any]:
        return await self.notices.on_notice(message)

    async def sync(self) -> None:
        await self.outbox.sync()

    # -- what users do ------------------------------------------------------------------

    async def on_event(self, event: Incoming) -> None:
        """Every press, text and command of every bridge arrives here. An event is marked
        applied (``offsets``) only once it was: a listener killed meanwhile applies it
        again after its restart, and that changes nothing (``event_key``)."""
        bridge = self.bridges.get(event.bridge)
        by_order = bridge is None or bridge.replays_by_order
        key = self.bridges.event_key(event)
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
                    await self.runtime.io(self.offsets.done, event.bridge, int(event.update_id))
                elif key is not None:
                    await self.runtime.io(self.offsets.done_key, event.bridge, key)
            except Exception as exc:  # OSError, the shared store unreachable, ...
                log.error("cannot record update %s as applied: %s: %s", key,
                          type(exc).__name__, exc)

    async def _apply(self, event: Incoming) -> None:
        try:
            if pairing.is_pairing(event):  # the one thing a stranger may do
                await self.pairings.on_pair(event)
            elif not self.bridges.authorized(event):
                await self._refuse(event)
            elif event.kind == "press":
                await self.presses.on_press(event)
            elif event.kind == "text":
                await self.replies.on_text(event)
            elif event.kind == "command":
                await commands.run(self.commands, event)
        except Exception as exc:
            if isinstance(exc, TetherError):  # said plainly (the shared store unreachable)
                log.error("handling a %s from %s failed: %s", event.kind, event.bridge, exc)
            else:
                log.exception("handling a %s from %s failed", event.kind, event.bridge)
            try:
                await self.bridges.tell(event, f"⚠️ That failed: {exc}")
            except Exception:
                pass

    async def _refuse(self, event: Incoming) -> None:
        log.warning("not authorized: %s %r from user %s (%s) in chat %s on %s",
                    event.kind, bounds.keep(event.data, 40), event.user_id, event.user_name,
                    event.chat_id, event.bridge)
        entry = access.unauthorized(event, self.bridges.chat_of(event.bridge))
        await self.runtime.io(audit.append, entry)
        if not self.bridges.in_chat(event):
            return  # another chat: not a word there (nor about what waits here)
        # told in the background: a stranger's answer waiting out a rate limit must not
        # hold up the allowed users' events behind it
        if event.kind == "press":  # private (a toast, an ephemeral): every press is told
            self.runtime.spawn(self.bridges.tell(
                event, f"⛔ Not authorized. Your user id is {event.user_id}."))
            return
        # A message in the chat, once per stranger in a while: a group member who writes
        # on and on must not make the bot flood the chat (and hit the platform's limits)
        who, now = (event.bridge, str(event.user_id)), time.monotonic()
        if now - self._strangers_told.get(who, -STRANGER_QUIET) < STRANGER_QUIET:
            return
        self._strangers_told[who] = now
        self.runtime.spawn(self.bridges.tell(
            event, f"⛔ Not authorized. Your user id is {event.user_id}."))



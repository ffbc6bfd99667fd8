"""The outbox: what the store holds, brought to the chat. A request is posted when it
appears pending in ``state.json`` (the hook's doorbell only wakes us up), and its outcome is
shown on every bridge once it is settled there, whoever settled it (a button, a text, the
CLI, a timer, a timeout, the terminal). Nonces and message refs go to the chat book.
When no bridge can post, what waits for one is settled as no decision at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tether_hooks.errors import TetherError
from tether_hooks.ledger import Ledger
from tether_hooks.listener import chat
from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import ChatRef, Request, Session, Timer
from tether_hooks.platforms.base import BridgeBase, DeliveryUnknown, MessageRef
from tether_hooks.wording import outcome_text

__all__ = ["Outbox"]

log = logging.getLogger("tether_hooks.listener")

STORE_POLL = 0.1
STORE_RETRY = 1.0
HEALTH_EVERY = 1.0
# Every platform refusing us this long (a revoked token, not a restarting Bot API server):
# what is posted falls back to the agent's prompt too. The Slack bridge rechecks every 30 s.
REFUSED_GRACE = 30.0


class Outbox:
    """Posts pending requests and shows outcomes; owns which are being posted or shown."""

    def __init__(self, store: Ledger, book: ChatBook, bridges: Bridges, runtime: Runtime, *,
                 default_timer: str, local: bool) -> None:
        self.store = store
        self.book = book
        self.bridges = bridges
        self.runtime = runtime
        self.default_timer = default_timer
        self.local = local  # the CLI may still answer: an unrelayed request keeps waiting
        self.woken = asyncio.Event()
        self.posting: set[str] = set()  # request ids being posted
        self.offered: dict[str, set[str]] = {}  # request id -> platforms it went to (tried)
        self.showing: set[str] = set()  # request ids being decided or shown here
        # told the requests after each sync (what waits on a request forgets settled ones)
        self.on_synced: Callable[[Mapping[str, Request]], None] = lambda requests: None

    def wake(self) -> None:
        self.woken.set()

    async def watch(self) -> None:
        """Post and show what the store holds; an unreadable store is reported, retried."""
        seen: object = ()
        last_health = 0.0
        while not self.runtime.closing:
            sig = self.store.signature()
            if sig != seen or self.woken.is_set():
                self.woken.clear()
                seen = sig
                try:
                    await self.sync()
                except Exception as exc:  # StoreError, RecursionError, ValueError, ...
                    problem = f"cannot read the store: {type(exc).__name__}: {exc}"
                    if not isinstance(exc, TetherError) and self.bridges.errors.allow(
                            "store trace"):
                        log.error("store watcher: %s", problem, exc_info=exc)
                    self.bridges.error("store", str(exc) if isinstance(exc, TetherError)
                                       else problem)
                    self.runtime.tasks.report("store watcher", "error", f"{problem}; retrying")
                    seen = ()  # read it again (changed or not) after a pause
                    await asyncio.sleep(STORE_RETRY)
                else:
                    self.runtime.tasks.report("store watcher", "ok")
            if time.monotonic() - last_health > HEALTH_EVERY:
                last_health = time.monotonic()
                self.bridges.refresh_health()
                self.bridges.check_pollers()
            try:
                await asyncio.wait_for(self.woken.wait(), STORE_POLL)
            except TimeoutError:
                pass

    async def sync(self) -> None:
        """Post pending requests not posted yet; show outcomes not shown yet."""
        now = time.time()
        data = self.store.read()
        ready = self.bridges.ready()
        for rid, request in data["requests"].items():
            if rid in self.posting or rid in self.showing:
                continue
            info = self.book.request(rid)  # (a nonce staged by a post that failed: no refs)
            if request.get("status") == "pending":
                # every ready platform gets it once, also one that connected later
                done = {ref.get("bridge") for ref in info.get("refs") or ()}
                done |= {*(info.get("unknown") or ()), *self.offered.get(rid, ())}
                missing = [b for b in ready if b.name not in done]
                if not missing or float(request.get("expires_at", 0)) <= now:
                    continue
                self.posting.add(rid)
                self.runtime.spawn(self._post(request,
                                              data["sessions"].get(request.get("session_id")),
                                              missing, bool(done)))
            elif (info.get("refs") and info.get("shown") not in (True, chat.outcome_key(request))
                  and all(self.bridges.started(ref.get("bridge")) for ref in info["refs"])):
                self.showing.add(rid)
                self.runtime.spawn(self.show(request))
        self.on_synced(data["requests"])
        self.offered = {rid: names for rid, names in self.offered.items()
                        if rid in data["requests"]}
        if not self.posting:
            await self.runtime.io(self.book.prune, set(data["requests"]), set(data["sessions"]))

    async def _post(self, request: Request, session: Session | None,
                    bridges: list[BridgeBase], late: bool = False) -> None:
        """Post ``request`` on each of ``bridges`` at once (``late``: it is already out on
        another platform, or was tried there)."""
        rid = request["id"]
        try:
            self.offered.setdefault(rid, set()).update(b.name for b in bridges)
            nonce = self.book.request(rid).get("nonce") or chat.new_nonce()
            await self.runtime.io(self.book.stage, rid, nonce)
            shown: dict[str, Any] | None = None
            if session is not None:  # where its messages went before (a forum topic)
                shown = dict(session, chat=self.book.session_chat(session.get("id")))
            outcomes = await asyncio.gather(*(
                self._post_to(bridge, request, nonce, shown) for bridge in bridges))
            posted = [name for name, result, _ in outcomes if result == "posted"]
            unknown = [name for name, result, _ in outcomes if result == "unknown"]
            problems = [detail for _, result, detail in outcomes if result == "failed"]
            if unknown:  # never sent twice: a press on that copy resolves by its nonce
                before = self.book.request(rid).get("unknown") or []
                await self.runtime.io(self.book.update, rid, unknown=[*before, *unknown])
                self.bridges.error(f"unknown:{rid}", (
                    f"request {rid} ({request.get('tool_name')}) may not have arrived: "
                    f"{', '.join(unknown)} did not confirm it. If it is not above, answer "
                    f"with `allow {rid}` or `deny {rid}` (/pending lists what waits)."))
            if posted:
                log.info("posted request %s (%s) to %s", rid, request.get("tool_name"),
                         ", ".join(posted))
            elif not self.local and not unknown and not late:  # nowhere: the agent's prompt
                await self.unrelayed(rid, "could not post the request (" + "; ".join(
                    problems or ["no chat platform is connected"]) + ")")
        finally:
            self.posting.discard(rid)
            self.wake()  # settled meanwhile? the next sync shows it

    async def _post_to(self, bridge: BridgeBase, request: Request, nonce: str,
                       shown: dict[str, Any] | None) -> tuple[str, str, str]:
        """Post ``request`` on one platform and record its copies at once (a press or a
        text there then finds them, whatever the other platforms are doing):
        ``(bridge, "posted" | "unknown" | "failed", detail)``."""
        rid = request["id"]
        refs: list[ChatRef] = []
        result, detail = "posted", ""
        for view, buttons, index in chat.views(request, nonce, self.default_timer,
                                               full=bridge.capabilities.full_input):
            try:
                ref = await bridge.post_request(dict(view, session=shown), buttons)
            except DeliveryUnknown as exc:
                log.error("%s: request %s may have been posted: %s", bridge.name, rid, exc)
                result = "unknown"
                break
            except Exception as exc:
                log.error("%s: posting request %s failed: %s", bridge.name, rid, exc)
                result, detail = "failed", f"{bridge.name}: {exc}"
                break
            refs.append(ref.to_dict(index))
        if refs:  # posted_at: texts sent before it cannot mean it (``replies``)
            await self.runtime.io(self.book.add_refs, rid, refs,
                                  session_id=request.get("session_id"))
            self.wake()  # decided meanwhile? the next sync shows it on these copies too
        return bridge.name, result if refs or result != "posted" else "failed", detail

    async def show(self, request: Request, timer: Timer | None = None,
                   first: str | None = None) -> None:
        """Show ``request``'s outcome on every message it was posted as (claimed first).
        The copies on ``first`` (the platform it was decided on) are edited before this
        returns; the others' edits go on in the background, each platform on its own, so
        one that is slow (a 429's wait) holds up neither the decision nor the others."""
        rid = request["id"]
        refs = self.book.refs(rid)
        if not refs:  # still being posted: the post wakes sync, which shows it then
            self.showing.discard(rid)
            return
        text = outcome_text(request, timer, time.time(), self._where(request, refs))
        names = list(dict.fromkeys(str(ref.get("bridge")) for ref in refs))
        edits = {name: self._edit(name, [r for r in refs if r.get("bridge") == name],
                                  request, text) for name in names}
        mine = edits.pop(first, None) if first is not None else None
        try:
            if mine is not None:
                await mine
        finally:
            self.runtime.spawn(self._finish(rid, list(edits.values()), chat.outcome_key(request)))

    async def _edit(self, name: str, refs: list[ChatRef], request: Request, text: str
                    ) -> None:
        bridge = self.bridges.get(name)
        if bridge is None:
            return
        for ref in refs:
            view, line = chat.ref_view(request, ref, text)
            try:
                await bridge.show_outcome(MessageRef.from_dict(ref), dict(view), line)
            except Exception as exc:
                self.bridges.error(f"edit:{bridge.name}",
                                   f"{bridge.name}: showing an outcome failed: {exc}")

    async def _finish(self, rid: str, edits: list[Awaitable[None]], key: str) -> None:
        """The other platforms' edits, then the outcome counts as shown (``key``: which one;
        a fleet's record may still change from the leader's decision to what the machine
        that asked applied, e.g. answered in its terminal first: then it is shown again)."""
        try:
            await asyncio.gather(*edits)
            await self.runtime.io(self.book.update, rid, shown=key)
        finally:
            self.showing.discard(rid)

    def _where(self, request: Request, refs: list[ChatRef]) -> str | None:
        """The platform a request posted on several was decided on (its ``title``)."""
        decision = request.get("decision")
        via = decision.get("via") if decision else None
        bridge = self.bridges.get(via) if isinstance(via, str) else None
        if bridge is None or len({ref.get("bridge") for ref in refs}) < 2:
            return None
        return bridge.title or bridge.name

    async def posts_recorded(self, budget: float = 2.0) -> None:
        """A quick reply can arrive before the message it answers is recorded with its
        request: let posts in flight finish (bounded) so the reply finds its request."""
        deadline = time.monotonic() + budget
        while self.posting and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def no_bridge_left(self) -> None:
        """No platform can post: settle what waits for one, so no hook waits for nothing.
        What is posted may still be answered once a platform is back (its presses wait
        there), unless every platform refuses us (a revoked token) for ``REFUSED_GRACE`` s:
        then no answer can come until the user mends it, and those fall back too."""
        if self.bridges.usable() or self.local:
            return
        for request in self.store.read()["requests"].values():
            if request.get("status") == "pending" and not self.book.refs(request["id"]):
                await self.unrelayed(request["id"],
                                     f"no chat platform is reachable ({self._down()})")
        if self.bridges.refused_since is not None:
            self.runtime.spawn(self._refused_posted())  # (its caller may retry meanwhile)

    async def _refused_posted(self) -> None:
        """What is posted falls back once every platform refused us ``REFUSED_GRACE`` s."""
        await asyncio.sleep(REFUSED_GRACE)
        if self.bridges.refused_for() < REFUSED_GRACE or self.local:
            return  # mended meanwhile (or refused anew: that wait says when)
        for request in self.store.read()["requests"].values():
            if request.get("status") == "pending":
                await self.unrelayed(request["id"],
                                     f"no chat platform can take an answer ({self._down()})")

    def _down(self) -> str:
        return "; ".join(f"{n}: {s['detail']}" for n, s in self.bridges.states.items())

    async def unrelayed(self, rid: str, reason: str) -> None:
        """Settle as no decision: the hook falls back to the agent's own prompt at once."""
        first, _ = await self.runtime.io(self.store.decide, rid, "ask", by="tether-hooks",
                                         via="listener", reason=reason, status="expired")
        if first:
            self.runtime.decided(rid)

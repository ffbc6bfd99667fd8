"""An in-process bridge for tests (httpx's MockTransport idea): posts nowhere, records all.

Dispatch tests construct it directly, inject what a user does with ``press``, ``send`` and
``command``, and inspect ``posts``, ``outcomes``, ``notices``, ``answers`` and ``replies``.
Configured as ``[memory]`` in ``config.toml`` it also runs inside a real listener; with
``record = "<path>"`` every call is appended there as one JSON line, for tests that watch
a listener process. ``fail = "start"`` makes ``start`` fail (a bridge that cannot connect).
``UnorderedMemoryBridge`` delivers events without ordering ids (``replays_by_order`` False):
replays are recognised by ``event_key``, as on platforms whose event ids do not grow.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from tether_hooks.platforms.base import (
    BridgeAuthError,
    BridgeBase,
    BridgeHealth,
    Button,
    Capabilities,
    Incoming,
    MessageRef,
    Notice,
    OnEvent,
)

__all__ = ["MemoryBridge", "UnorderedMemoryBridge"]


class MemoryBridge(BridgeBase):
    """A bridge whose chat is a few Python lists."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        full_input=True, button_updates=True, commands=True)
    secret_patterns: ClassVar[tuple[str, ...]] = (r"\bmemtok-[A-Za-z0-9]{8,}\b",)

    def __init__(self, section: Mapping[str, Any] | None = None, *, name: str | None = None,
                 threads: Mapping[str, str] | None = None,
                 on_thread: Callable[[str, str], None] | None = None) -> None:
        section = section or {}
        if name:
            self.name = name  # type: ignore[misc] # per instance, for several fake platforms
        self.chat_id = str(section.get("chat_id", "100"))
        self.clock = time.time  # the platform's clock (a test may set it off the local one)
        self.forum = bool(section.get("forum", False))
        self.record = section.get("record")
        self.fail = section.get("fail")
        self.on_event: OnEvent | None = None
        self.started = asyncio.Event()
        self.closed = False
        self.posts: list[dict] = []  # {"ref", "request", "buttons"}
        self.outcomes: list[dict] = []  # {"ref", "request_id", "outcome"}
        self.notices: list[dict] = []  # {"ref", "session_id", "notice"}
        self.answers: list[tuple[Incoming, str]] = []
        self.replies: list[dict] = []  # {"event", "text", "buttons"}
        self.full: list[dict] = []
        self.button_updates: list[dict] = []  # {"ref", "buttons"}
        self.commands: list[tuple[str, str]] | None = None
        self.state: BridgeHealth = {"state": "starting", "detail": ""}
        self.changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._updates = itertools.count(int(section.get("first_update_id", 1)))
        self._topics: dict[str, str] = dict(threads or {})
        self.on_thread = on_thread

    # -- the Bridge interface ---------------------------------------------------------

    async def start(self, on_event: OnEvent) -> None:
        if self.fail == "start":
            self.state = {"state": "auth", "detail": "memory: told to fail (fail = \"start\")"}
            raise BridgeAuthError(self.state["detail"])
        self.on_event = on_event
        self.state = {"state": "ok", "detail": ""}
        self.started.set()
        await self._note("start")

    def _thread(self, session_id: str | None) -> str | None:
        if not self.forum or not session_id:
            return None
        if session_id not in self._topics:
            self._topics[session_id] = str(1000 + len(self._topics))
            if self.on_thread is not None:
                self.on_thread(session_id, self._topics[session_id])
        return self._topics[session_id]

    def _ref(self, thread_id: str | None) -> MessageRef:
        return MessageRef(self.name, self.chat_id, str(next(self._ids)), thread_id, self.clock())

    async def post_request(self, request: dict, buttons: list[list[Button]]) -> MessageRef:
        ref = self._ref(self._thread(request.get("session_id")))
        self.posts.append({"ref": ref, "request": request, "buttons": buttons})
        await self._note("post_request", ref=ref.to_dict(), request_id=request.get("id"),
                         buttons=[[b.label for b in row] for row in buttons])
        return ref

    async def show_outcome(self, ref: MessageRef, request: dict, outcome: str) -> None:
        self.outcomes.append({"ref": ref, "request_id": request.get("id"), "outcome": outcome})
        await self._note("show_outcome", ref=ref.to_dict(), request_id=request.get("id"),
                         outcome=outcome)

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        self.button_updates.append({"ref": ref, "buttons": buttons})
        await self._note("update_buttons", ref=ref.to_dict(),
                         buttons=[[b.label for b in row] for row in buttons])

    async def post_notice(self, session: dict | None, notice: Notice) -> MessageRef | None:
        sid = (session or {}).get("id") or notice.session_id
        ref = self._ref(self._thread(sid))
        self.notices.append({"ref": ref, "session_id": sid, "notice": notice})
        await self._note("post_notice", ref=ref.to_dict(), kind=notice.kind, text=notice.text,
                         items=notice.items, session_id=sid)
        return ref

    async def answer(self, event: Incoming, text: str) -> None:
        self.answers.append((event, text))
        await self._note("answer", text=text)

    async def reply(
        self, event: Incoming, text: str, buttons: list[list[Button]] | None = None
    ) -> MessageRef:
        ref = self._ref(event.thread_id)
        self.replies.append({"event": event, "text": text, "buttons": buttons, "ref": ref})
        await self._note("reply", text=text)
        return ref

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        self.commands = list(commands)
        await self._note("set_commands", commands=[c[0] for c in commands])

    async def show_full(self, event: Incoming, request: dict) -> list[MessageRef]:
        self.full.append({"event": event, "request_id": request.get("id")})
        await self._note("show_full", request_id=request.get("id"))
        return [self._ref(event.thread_id)]

    def health(self) -> BridgeHealth:
        return BridgeHealth(self.state)

    async def close(self) -> None:
        self.closed = True
        await self._note("close")

    # -- what a user does (tests) -----------------------------------------------------

    def event(self, kind: str, user_id: object, data: str = "", **fields: object) -> Incoming:
        """An Incoming from ``user_id`` in this chat, with a fresh update id."""
        fields.setdefault("user_name", f"@user{user_id}")
        fields.setdefault("chat_id", self.chat_id)
        if self.replays_by_order:
            fields.setdefault("update_id", next(self._updates))
        else:
            fields.setdefault("event_id", f"e{next(self._updates)}")
        fields.setdefault("sent_at", self.clock())
        return Incoming(self.name, kind, str(user_id), data=data, **fields)  # type: ignore[arg-type]

    async def deliver(self, event: Incoming) -> Incoming:
        assert self.on_event is not None, "the bridge was not started"
        await self.on_event(event)
        return event

    async def press(self, post: dict, label: str, user_id: object, **fields: object) -> Incoming:
        """Press the button whose label starts with ``label`` on a posted request."""
        flat = [b for row in post["buttons"] for b in row]
        matches = [b for b in flat if b.label.startswith(label)]
        if not matches:
            raise LookupError(f"no button {label!r} in {[b.label for b in flat]}")
        if self.replays_by_order:
            fields.setdefault("event_id", f"q{len(self.answers)}")
        event = self.event("press", user_id, matches[0].data, **fields)
        return await self.deliver(event)

    async def send(self, text: str, user_id: object, **fields: object) -> Incoming:
        """Write ``text`` (``reply_to=ref`` to reply, ``thread_id=`` in a topic)."""
        return await self.deliver(self.event("text", user_id, text, **fields))

    async def command(self, name: str, user_id: object, args: str = "", **fields: object
                      ) -> Incoming:
        return await self.deliver(self.event("command", user_id, name, args=args, **fields))

    # -- helpers ----------------------------------------------------------------------

    async def _note(self, call: str, **fields: object) -> None:
        if self.record:
            line = json.dumps({"call": call, **fields}, default=str) + "\n"
            fd = os.open(str(self.record), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: object, timeout: float = 5.0) -> object:
        """Until ``predicate()`` is truthy (checked after every call); returns its value."""
        async def until() -> object:
            async with self.changed:
                return await self.changed.wait_for(predicate)  # type: ignore[arg-type]

        return await asyncio.wait_for(until(), timeout)


class UnorderedMemoryBridge(MemoryBridge):
    """A memory bridge whose events carry no growing ordering id, only unique event ids."""

    replays_by_order: ClassVar[bool] = False


_: type[BridgeBase] = MemoryBridge  # conforms to the bridge contract (checked by mypy)

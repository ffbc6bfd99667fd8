"""One table of what a request's buttons do: posting reads it for the buttons a request is
offered (``buttons``), answering reads it for what a press does (``find``). Adding a button
is one row of ``ACTIONS``.

Button data is ``<verb>:<nonce>`` (``data``; read back with ``pressed``): the nonce
(8 hex characters) is kept in the chat book and resolved on our side, so the data is at
most ~16 bytes, whatever the tool name. Question verbs carry where they point
(``o<q>.<n>`` picks option n of question q, ``x<q>.<n>`` toggles it, ``y<q>`` is "Done");
their buttons are made per question (``chat.question_buttons``), from the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tether_hooks import rules
from tether_hooks.errors import TetherError
from tether_hooks.models import Behavior, Request
from tether_hooks.platforms.base import LONG_INPUT, Button, Incoming
from tether_hooks.wording import KEEP_PLANNING, clip, project_name

__all__ = [
    "ACCEPT_EDITS",
    "ACTIONS",
    "DONE",
    "PICK",
    "TOGGLE",
    "Action",
    "Handler",
    "Offer",
    "Point",
    "buttons",
    "data",
    "deny_row",
    "find",
    "pressed",
]

# "Approve + accept edits": Claude leaves plan mode for acceptEdits (observed §7).
ACCEPT_EDITS: list[object] = [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
LABEL_CHARS = 28
PLAN = "ExitPlanMode"


class Handler(Protocol):
    """What a press may do (``listener.presses.Presses``)."""

    async def decide(self, event: Incoming, request: Request, action: Behavior,
                     **how: Any) -> bool: ...

    async def ask_reason(self, event: Incoming, request: Request) -> None: ...

    async def show_full(self, event: Incoming, request: Request) -> None: ...

    async def pick(self, event: Incoming, request: Request, at: Point) -> None: ...

    async def toggle(self, event: Incoming, request: Request, at: Point) -> None: ...

    async def done(self, event: Incoming, request: Request, at: Point) -> None: ...

    async def refuse(self, event: Incoming) -> None: ...


@dataclass(frozen=True)
class Point:
    """Where a question button points: question ``question``, option ``option`` (None on
    "Done")."""

    question: int
    option: int | None = None


PICK, TOGGLE, DONE = "o", "x", "y"  # question verbs: pick one, toggle one, done


def data(verb: str, nonce: str, at: Point | None = None) -> str:
    """A button's data: ``a:1f2e3d4c``, ``o1.2:1f2e3d4c`` (option 2 of question 1)."""
    where = "" if at is None else f"{at.question}" + (
        "" if at.option is None else f".{at.option}")
    return f"{verb}{where}:{nonce}"


def pressed(data: str) -> tuple[str, Point | None, str]:
    """``(verb, point, nonce)`` of a button's data; the point is None when the verb
    carries none or a malformed one."""
    head, _, nonce = data.partition(":")
    verb, rest = head[:1], head[1:]
    if verb not in (PICK, TOGGLE, DONE):
        return head, None, nonce
    question, _, option = rest.partition(".")
    if not question.isdigit() or (option and not option.isdigit()):
        return verb, None, nonce
    return verb, Point(int(question), int(option) if option else None), nonce


@dataclass(frozen=True)
class Offer:
    """What decides a request's buttons: the request, the default timer (``30m``) and
    whether the bridge can show a full input."""

    request: Mapping[str, Any]
    timer: str
    full: bool

    @property
    def plan(self) -> bool:
        return self.request.get("tool_name") == PLAN

    @property
    def tool(self) -> str:
        return str(self.request.get("tool_name") or "")


Apply = Callable[[Handler, Incoming, Request], Awaitable[object]]


@dataclass(frozen=True)
class Action:
    """A button: its verb, label, row (for a plan, for any other tool; None: not there),
    when it is offered, and what a press does."""

    verb: str
    does: str
    label: Callable[[Offer], str]
    rows: tuple[int | None, int | None]
    offered: Callable[[Offer], bool]
    apply: Apply


def _always(offer: Offer) -> bool:
    return True


def _timers_ok(offer: Offer) -> bool:
    return not rules.is_never(offer.tool, offer.request.get("never") or rules.DEFAULT_NEVER)


def _dir_ok(offer: Offer) -> bool:
    """No directory button where ``allow-dir`` would refuse (home, ``/``, a missing dir)."""
    cwd = offer.request.get("cwd")
    try:
        rules.check_dir(cwd if isinstance(cwd, str) else None)
    except TetherError:
        return False
    return _timers_ok(offer)


def _long(offer: Offer) -> bool:
    return offer.full and len(json.dumps(offer.request.get("tool_input"),
                                         ensure_ascii=False)) > LONG_INPUT


def _timed(scope: str) -> Apply:
    def apply(h: Handler, e: Incoming, r: Request) -> Awaitable[object]:
        return h.decide(e, r, "allow", scope=scope, tool=r.get("tool_name"))
    return apply


def _accept_edits(h: Handler, e: Incoming, r: Request) -> Awaitable[object]:
    if r.get("tool_name") != PLAN:
        return h.refuse(e)
    return h.decide(e, r, "allow", updated_permissions=ACCEPT_EDITS)


def _at(method: Callable[[Handler], Callable[[Incoming, Request, Point], Awaitable[None]]],
        *, option: bool) -> Apply:
    """A question verb's press: to ``method`` with where it points; refused when the data
    points nowhere (or names an option where none belongs, or none where one does)."""
    def apply(h: Handler, e: Incoming, r: Request) -> Awaitable[object]:
        _, at, _ = pressed(e.data)
        if at is None or (at.option is not None) != option:
            return h.refuse(e)
        return method(h)(e, r, at)
    return apply


ACTIONS: tuple[Action, ...] = (
    Action("a", "allow (approve a plan)",
           lambda o: "✅ Approve plan" if o.plan else "✅ Allow", (0, 0), _always,
           lambda h, e, r: h.decide(e, r, "allow")),
    Action("e", "approve a plan and accept edits",
           lambda o: "✅ Approve + accept edits", (0, None), _always, _accept_edits),
    Action("d", "deny", lambda o: "❌ Deny", (None, 0), _always,
           lambda h, e, r: h.decide(e, r, "deny")),
    Action("k", "keep planning", lambda o: "📝 Keep planning", (1, None), _always,
           lambda h, e, r: h.decide(e, r, "deny", reason=KEEP_PLANNING)),
    Action("r", "deny with reason (keep planning, with feedback)",
           lambda o: "💬 Keep planning, with feedback" if o.plan else "💬 Deny with reason",
           (1, 0), _always, lambda h, e, r: h.ask_reason(e, r)),
    Action("t", "allow the tool for the default timer",
           lambda o: f"⏱ Allow {clip(o.tool, LABEL_CHARS)} {o.timer}", (None, 1), _timers_ok,
           _timed("tool")),
    Action("s", "allow the whole session for the default timer",
           lambda o: f"⏱ Allow all {o.timer}", (None, 1), _timers_ok, _timed("session")),
    Action("p", "allow the directory for the default timer",
           lambda o: f"📁 Allow {clip(project_name(o.request.get('cwd')), LABEL_CHARS)}/ "
                     f"{o.timer}", (None, 2), _dir_ok, _timed("dir")),
    Action("f", "show the full input", lambda o: "📄 Show full", (2, 3), _long,
           lambda h, e, r: h.show_full(e, r)),
    # question verbs: their buttons are made per question (``chat.question_buttons``)
    Action(PICK, "pick an option of a question", lambda o: "", (None, None), _always,
           _at(lambda h: h.pick, option=True)),
    Action(TOGGLE, "toggle an option of a multi-select question", lambda o: "", (None, None),
           _always, _at(lambda h: h.toggle, option=True)),
    Action(DONE, "done with a multi-select question", lambda o: "", (None, None), _always,
           _at(lambda h: h.done, option=False)),
)


def find(verb: str) -> Action | None:
    """The action a pressed verb means (``pressed(data)[0]``)."""
    return next((a for a in ACTIONS if a.verb == verb), None)


def buttons(offer: Offer, nonce: str) -> list[list[Button]]:
    """The rows of buttons a (non-question) request is posted with."""
    rows: dict[int, list[Button]] = {}
    for action in ACTIONS:
        row = action.rows[0 if offer.plan else 1]
        if row is not None and action.offered(offer):
            rows.setdefault(row, []).append(Button(action.label(offer), data(action.verb, nonce)))
    return [rows[n] for n in sorted(rows)]


def deny_row(nonce: str) -> list[Button]:
    """Deny and Deny with reason, as on any request: under a question's last message."""
    offer = Offer({}, "", full=False)
    return [Button(a.label(offer), data(a.verb, nonce)) for a in ACTIONS if a.verb in "dr"]

"""The bridge interface: what the listener needs from a chat platform, and nothing more.

A bridge only translates. It posts what dispatch gives it and delivers what users do
(``Incoming`` events) to dispatch. Authorization (allowed user ids), decide-once, the
grammar, timers and nonces all live in ``listener.dispatch``, never in a platform module.

Buttons carry opaque ``data`` made by dispatch (a verb and a short nonce, always within
64 bytes); a bridge sends it back untouched in ``Incoming.data`` when a button is pressed.

Construction: the listener calls ``cls(section)`` with the platform's config table as
written in ``config.toml`` (``[telegram]``: ``bot_token``, ``chat_id``, ``allowed_user_ids``,
``api_base``, ``forum``...); the bridge resolves its own secrets (``TELEGRAM_BOT_TOKEN``).
Dispatch reads ``allowed_user_ids`` itself from the same table.

Sessions: the ``request`` given to ``post_request`` carries ``request["session"]``, the
stored session record (``id``, ``agent``, ``cwd``, ...), and ``post_notice`` gets the same
record. Once a message of a session was posted, the session holds
``chat[<bridge name>] = {"chat_id": ..., "thread_id": ...}`` from the returned
``MessageRef``: a forum bridge reuses that topic after a listener restart.

Replays: ``update_id`` must grow with every event of a bridge. Dispatch records the
highest one before handling an event (``<state dir>/listener.offsets.json``) and drops an
event at or below it, so a bridge may redeliver after a restart without harm; a bridge
whose constructor takes ``update_offset`` gets that id + 1 and may skip older updates.

Texts carry ``sent_at`` (the platform's time of the message): a decision that names no
request (no reply, no id) only applies to requests posted before it was sent.

Optional methods (dispatch checks with ``getattr``; see ``OptionalBridge``): ``set_commands``,
``show_full`` and ``health``. When the constructor takes them, the listener also passes
``topics={session_id: thread_id}`` (known forum topics, from the store) and
``on_topic(session_id, thread_id)`` (called when a topic is created; the listener stores it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypedDict

from tether_hooks import redact as _redact
from tether_hooks.errors import TetherError

__all__ = [
    "Bridge",
    "BridgeBase",
    "BridgeContext",
    "BridgeHealth",
    "Capabilities",
    "DeliveryUnknown",
    "Inbox",
    "BridgeAuthError",
    "BridgeError",
    "Button",
    "Incoming",
    "LONG_INPUT",
    "MessageRef",
    "Notice",
    "OptionalBridge",
    "RateLimited",
    "redact",
]

def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (6+ characters) and every likely secret (bot
    tokens included) masked by ``tether_hooks.redact``: for whatever leaves a bridge or the
    listener (logs, health, errors)."""
    return _redact.text(text, known=secrets)


class BridgeError(TetherError):
    """A platform call failed; ``str()`` says what to do. Always raised ``from`` the SDK error."""


class BridgeAuthError(BridgeError):
    """Bad token, bot not in the chat, not allowed to post: actionable for status/doctor."""


class DeliveryUnknown(BridgeError):
    """A post went out but its answer was lost: the platform may have shown it. Not
    repeated by the bridge (that could show two copies); the caller decides."""


class RateLimited(BridgeError):
    """The platform asked us to slow down."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message lives, enough to edit it later. Stored in the state as a dict."""

    bridge: str
    chat_id: str
    message_id: str
    thread_id: str | None = None
    # the platform's own time of the message (its clock); not part of its identity
    sent_at: float | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        return {
            "bridge": self.bridge,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "sent_at": self.sent_at,
        }

    @classmethod
    def from_dict(cls, data: dict) -> MessageRef:
        return cls(
            str(data["bridge"]),
            str(data["chat_id"]),
            str(data["message_id"]),
            data.get("thread_id"),
            data.get("sent_at"),
        )


@dataclass(frozen=True)
class Button:
    """One button: its label as shown, and the opaque data dispatch gets back on a press."""

    label: str
    data: str


@dataclass(frozen=True)
class Incoming:
    """Something a chat user did: pressed a button, wrote text, or sent a command."""

    bridge: str
    kind: str  # "press" | "text" | "command"
    user_id: str
    user_name: str  # "@alice" or a display name, for "Allowed by @alice"
    chat_id: str
    data: str = ""  # press: the button's data; text: the text; command: the command name
    args: str = ""  # command: the text after the command
    thread_id: str | None = None
    reply_to: MessageRef | None = None  # text: the message it replies to, if any
    event_id: str = ""  # platform id of the event (a Telegram callback query id)
    update_id: int | None = None  # platform's ordering id, for replay protection
    sent_at: float | None = None  # text/command: when the user sent it (epoch s), if known


@dataclass
class Notice:
    """A message that is not a request: auto-approvals, waiting, finished, errors."""

    kind: str  # "auto_approved" | "waiting" | "finished" | "error" | "info"
    text: str
    session_id: str | None = None
    agent: str | None = None
    cwd: str | None = None
    items: list[str] = field(default_factory=list)


OnEvent = Callable[[Incoming], Awaitable[None]]


class Bridge(Protocol):
    """One chat platform. Implementations are classes holding their connection."""

    name: ClassVar[str]  # "telegram": also the config section, registry key and pip extra

    async def start(self, on_event: OnEvent) -> None:
        """Connect and begin delivering events to ``on_event``; returns once connected."""

    async def post_request(self, request: dict, buttons: list[list[Button]]) -> MessageRef:
        """Post a permission request (the bridge renders its preview) with rows of buttons.

        ``request`` is the stored request record (``id``, ``agent``, ``session_id``, ``cwd``,
        ``tool_name``, ``tool_input``, ...); in a forum chat it goes to the session's topic.
        """

    async def show_outcome(self, ref: MessageRef, request: dict, outcome: str) -> None:
        """Edit a posted request to show its outcome (``Allowed by @alice``); remove buttons."""

    async def post_notice(self, session: dict | None, notice: Notice) -> MessageRef | None:
        """Post a notice, in the session's topic/thread where the platform has them."""

    async def answer(self, event: Incoming, text: str) -> None:
        """Answer an event privately where possible (a callback answer), else reply."""

    async def reply(
        self, event: Incoming, text: str, buttons: list[list[Button]] | None = None
    ) -> MessageRef:
        """Write a message in the chat (and thread) the event came from."""

    async def close(self) -> None:
        """Stop receiving and release the connection."""


class OptionalBridge(Protocol):
    """Methods a bridge may have; dispatch uses them when present."""

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        """Register the chat commands (name without ``/``, description), e.g. setMyCommands."""

    async def show_full(self, event: Incoming, request: dict) -> list[MessageRef]:
        """Post the whole tool input of ``request`` (split at the platform's limits) in the
        chat/thread of ``event``. Dispatch adds a "Show full" button (verb ``f``) only when
        the serialized ``tool_input`` is over ``LONG_INPUT`` characters and this exists."""

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        """Replace the buttons of a posted message (multi-select toggles ☐/☑ in place).

        Question messages: an AskUserQuestion request is posted once per question; the
        request given to ``post_request`` then has ``tool_input`` reduced to that question and
        ``question_part = (i, n)``, and its stored ref (``request["chat"]["refs"]``) carries
        ``"question": i``."""

    def health(self) -> dict:
        """``{"state": ..., "detail": str, ...}`` (JSON-serializable; extra keys are kept).

        States (``models.HealthState``): ``starting``, ``ok``, ``conflict`` (another poller
        on the token: Telegram 409), ``auth`` (bad token, no access), ``error`` (polling
        fails, being retried). Dispatch copies it to ``<state dir>/listener.health.json`` for
        ``tether-hooks status``; without this method a started bridge counts as ``ok``.
        """


# Serialized tool_input longer than this gets a "Show full" button (when show_full exists).
LONG_INPUT = 1000


class BridgeHealth(TypedDict, total=False):
    """What ``health()`` reports: ``state`` and ``detail`` always; a bridge may add keys."""

    state: str
    detail: str


@dataclass(frozen=True)
class Capabilities:
    """What a bridge offers beyond the required methods (dispatch reads these, never names)."""

    full_input: bool = False  # show_full posts a whole tool input
    button_updates: bool = False  # update_buttons edits buttons in place
    commands: bool = False  # set_commands registers a command menu


class Inbox(Protocol):
    """Where a bridge holds fetched, not yet applied events (``listener.offsets.Offsets``)."""

    def hold(self, bridge: str, updates: list[tuple[int, dict[str, Any]]]) -> None: ...

    def backlog(self, bridge: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class BridgeContext:
    """What the listener gives a bridge it builds (``platforms.make_bridge``)."""

    section: Mapping[str, object]  # the platform's table of config.toml
    offset: int | None = None  # the next update to fetch (highest applied + 1)
    threads: Mapping[str, str] = field(default_factory=dict)  # session id -> thread id
    on_thread: Callable[[str, str], None] | None = None  # a topic/thread was created
    inbox: Inbox | None = None  # fetched updates held until applied (at least once)


class BridgeBase(ABC):
    """Base of every bridge: the required methods are abstract, the optional ones are safe
    no-ops, and ``capabilities`` says which of them really do something."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    secret_patterns: ClassVar[tuple[str, ...]] = ()  # regexes of the platform's secrets
    replays_by_order: ClassVar[bool] = False  # event ids grow: one at/below the last is a replay

    @abstractmethod
    async def start(self, on_event: OnEvent) -> None: ...

    @abstractmethod
    async def post_request(self, request: dict[str, Any],
                           buttons: list[list[Button]]) -> MessageRef: ...

    @abstractmethod
    async def show_outcome(self, ref: MessageRef, request: dict[str, Any],
                           outcome: str) -> None: ...

    @abstractmethod
    async def post_notice(self, session: dict[str, Any] | None,
                          notice: Notice) -> MessageRef | None: ...

    @abstractmethod
    async def answer(self, event: Incoming, text: str) -> None: ...

    @abstractmethod
    async def reply(self, event: Incoming, text: str,
                    buttons: list[list[Button]] | None = None) -> MessageRef: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        """Register the chat commands (``capabilities.commands``); default: nothing."""
        return None

    async def show_full(self, event: Incoming, request: dict[str, Any]) -> list[MessageRef]:
        """Post the whole input (``capabilities.full_input``); default: posts nothing."""
        return []

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]) -> None:
        """Replace a message's buttons (``capabilities.button_updates``); default: nothing."""
        return None

    def health(self) -> BridgeHealth:
        return {"state": "ok", "detail": ""}

    def polling_alive(self) -> bool:
        return True

    def account(self) -> str:
        """A stable identity of the account the bridge runs as (never a secret itself)."""
        return ""

    def event_key(self, event: Incoming) -> str:
        """Unique per delivered event, for the listener's at-least-once bookkeeping."""
        return f"{self.name}:{event.update_id if event.update_id is not None else event.event_id}"

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

Replays: each bridge says how one is recognised (``replays_by_order``). True (Telegram):
``update_id`` grows with every event, and dispatch drops an event at or below the highest
applied one; False: an event whose ``event_key`` is among the recently applied keys is a
replay. Both are kept in ``<state dir>/listener.offsets.json`` (``listener.offsets``), per
``account()``, so a bridge may redeliver after a restart without harm.

Texts carry ``sent_at`` (the platform's time of the message): a decision that names no
request (no reply, no id) only applies to requests posted before it was sent.

Construction: ``platforms.make_bridge(name, BridgeContext(...))`` (one typed factory). The
context holds the config table, the highest applied ordering id (``offset``), the known
threads ``{session_id: thread_id}`` and ``on_thread(session_id, thread_id)`` (called when a
thread/topic is created; the listener records it), the ``inbox`` of fetched updates and,
when several machines share the bot, the ``lease`` that gates every platform wait.

Optional capabilities have safe defaults in ``BridgeBase`` and are announced by the class
(``capabilities``): dispatch reads ``bridge.capabilities.full_input`` and so on, never
``hasattr``. Thread and message ids are opaque strings everywhere outside a bridge.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from tether_hooks import redact as _redact
from tether_hooks.errors import TetherError
from tether_hooks.models import BridgeHealth, ChatRef

__all__ = [
    "Bridge",
    "BridgeAuthError",
    "BridgeBase",
    "BridgeContext",
    "BridgeError",
    "BridgeHealth",
    "Button",
    "Capabilities",
    "DeliveryUnknown",
    "Inbox",
    "Incoming",
    "LONG_INPUT",
    "Lease",
    "POLL_GUARD",
    "MessageRef",
    "Notice",
    "account_digest",
    "RateLimited",
    "redact",
]

def redact(text: str, secrets: Iterable[str] = (), patterns: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (6+ characters) and every likely secret (bot
    tokens included) masked by ``tether_hooks.redact``: for whatever leaves a bridge or the
    listener (logs, health, errors). ``patterns``: a bridge's ``secret_patterns`` (regexes
    of its own token shapes), masked as well."""
    out = _redact.text(text, known=secrets)
    for pattern in patterns:
        out = re.sub(pattern, "«secret: token»", out)
    return out


def account_digest(*identity: str) -> str:
    """A digest of what makes a bridge's account (its tokens as used, wherever they came
    from, and its API base), never showing the secrets: held events and replay records
    belong to an account, so editing anything else (allowed users, timeouts) keeps them."""
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


class BridgeError(TetherError):
    """A platform call failed; ``str()`` says what to do. Always raised ``from`` the SDK error."""


class BridgeAuthError(BridgeError):
    """Bad token, bot not in the chat, not allowed to post: actionable for status/doctor."""


class DeliveryUnknown(BridgeError):
    """A post went out but its answer was lost (timed out, connection dropped after the
    request was sent): the platform may have shown it. The bridge does not repeat it (that
    could show two copies); the caller decides (the outbox re-posts only when no message
    of the request is known)."""


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

    def to_dict(self, question: int | None = None) -> ChatRef:
        """As stored in the chat book; ``question``: which question of an AskUserQuestion
        request this message asks."""
        ref: ChatRef = {
            "bridge": self.bridge,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "sent_at": self.sent_at,
        }
        if question is not None:
            ref["question"] = question
        return ref

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MessageRef:
        thread, sent = data.get("thread_id"), data.get("sent_at")
        return cls(
            str(data["bridge"]),
            str(data["chat_id"]),
            str(data["message_id"]),
            None if thread is None else str(thread),
            float(sent) if isinstance(sent, (int, float)) else None,
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
    # a multi-select question's "Done" press where selection is state the platform shows
    # (Discord's keycap reactions: taking one back sends no event): the data of the
    # options this user has on as they press it; None: the toggles pressed are the truth
    selected: tuple[str, ...] | None = None


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


@dataclass(frozen=True)
class Capabilities:
    """Optional features a bridge class announces; dispatch offers them only when True."""

    full_input: bool = False  # show_full: the "Show full" button on long input
    button_updates: bool = False  # update_buttons: multi-select toggles edited in place
    commands: bool = False  # set_commands: register the chat commands


class Inbox(Protocol):
    """Fetched updates held until applied (``listener.offsets.Offsets``): by ordering id
    (``hold``), or by ``event_key`` where ids do not grow (``hold_keyed``, dropped when
    dispatch marks that key applied); ``backlog`` gives both back, oldest first."""

    def hold(self, bridge: str, updates: list[tuple[int, dict[str, Any]]]) -> None: ...

    def hold_keyed(self, bridge: str, items: list[tuple[str, dict[str, Any]]]) -> None: ...

    def backlog(self, bridge: str) -> list[dict[str, Any]]: ...


POLL_GUARD = 1.5  # seconds a leased platform wait must still have after it ends


class Lease(Protocol):
    """The time a bridge may act on its platform (``shared.leader.Lease``: several
    machines, one bot). A platform wait (Telegram's getUpdates, a Slack ack, a Discord read
    round) starts only if ``allows(its length + POLL_GUARD)``: it is over before another
    machine may start one. ``max_wait`` caps a long poll; ``conflict()``: the platform said
    another program polls it (409)."""

    max_wait: float

    def allows(self, seconds: float) -> bool: ...

    def conflict(self) -> None: ...


@dataclass(frozen=True)
class BridgeContext:
    """What the listener gives a bridge it builds (``platforms.make_bridge``)."""

    section: Mapping[str, object]  # the platform's table of config.toml
    offset: int | None = None  # the highest ordering id applied (``replays_by_order``)
    threads: Mapping[str, str] = field(default_factory=dict)  # session id -> thread id
    on_thread: Callable[[str, str], None] = field(default=lambda sid, thread: None)
    inbox: Inbox | None = None  # holds fetched updates until applied (at least once)
    # the pending requests' messages on this bridge and their buttons (``MessageRef`` as a
    # dict): what a bridge whose buttons live on our side (reactions) watches after a restart
    posted: Callable[[], list[tuple[ChatRef, list[list[Button]]]]] = field(
        default=lambda: [])
    # several machines, one bot: None (alone) waits on the platform freely
    lease: Lease | None = None


class BridgeBase(ABC):
    """One chat platform. Implementations are classes holding their connection.

    Required: the abstract methods. Optional: the methods with defaults below, used by
    dispatch only where ``capabilities`` says so (``health`` and ``polling_alive`` always).
    """

    name: ClassVar[str]  # "telegram": also the config section, registry key and pip extra
    title: ClassVar[str] = ""  # "Telegram": how the chats name it ("Allowed by @al in Slack")
    capabilities: ClassVar[Capabilities] = Capabilities()
    secret_patterns: ClassVar[tuple[str, ...]] = ()  # regexes of this platform's secrets
    # True: ``update_id`` grows; an event at/below the last applied one is a replay.
    # False: a replay is recognised by ``event_key`` among the recently applied keys.
    replays_by_order: ClassVar[bool] = True
    command_prefix: ClassVar[str] = "/"  # how the chat writes a command: /status, !status
    # a configured ``@name`` chat as the id events carry, once the bridge learned it
    resolved_chat_id: str | None = None

    @abstractmethod
    async def start(self, on_event: OnEvent) -> None:
        """Connect and begin delivering events to ``on_event``; returns once connected."""

    @abstractmethod
    async def post_request(self, request: dict[str, Any], buttons: list[list[Button]]
                           ) -> MessageRef:
        """Post a permission request (the bridge renders its preview) with rows of buttons.

        ``request`` is the stored request record (``id``, ``agent``, ``session_id``, ``cwd``,
        ``tool_name``, ``tool_input``, ...); in a forum chat it goes to the session's topic.
        An AskUserQuestion request is posted once per question: ``tool_input`` reduced to
        that question and ``question_part = (i, n)``.
        """

    @abstractmethod
    async def show_outcome(self, ref: MessageRef, request: dict[str, Any], outcome: str
                           ) -> None:
        """Edit a posted request to show its outcome (``Allowed by @alice``); remove buttons."""

    @abstractmethod
    async def post_notice(self, session: dict[str, Any] | None, notice: Notice
                          ) -> MessageRef | None:
        """Post a notice, in the session's topic/thread where the platform has them."""

    @abstractmethod
    async def answer(self, event: Incoming, text: str) -> None:
        """Answer an event privately where possible (a callback answer), else reply."""

    @abstractmethod
    async def reply(
        self, event: Incoming, text: str, buttons: list[list[Button]] | None = None
    ) -> MessageRef:
        """Write a message in the chat (and thread) the event came from."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving and release the connection."""

    # -- identity -------------------------------------------------------------------------

    def account(self) -> str:
        """A stable identity of the bot account (never a secret itself): replay bookkeeping
        is kept per account, as another account numbers its events anew."""
        return self.name

    def event_key(self, event: Incoming) -> str:
        """Unique per delivered event: decisions, timers and toggles are keyed on it, so
        applying the same event again changes nothing."""
        if event.update_id is not None:
            return f"{self.name}:{event.update_id}"
        return f"{self.name}:{event.event_id}"

    # -- optional capabilities (safe defaults) ------------------------------------------

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:  # noqa: B027
        """Register the chat commands (name without ``/``, description): ``commands``."""

    async def show_full(self, event: Incoming, request: dict[str, Any]) -> list[MessageRef]:
        """Post the whole tool input of ``request`` (split at the platform's limits) in the
        chat/thread of ``event``: ``full_input``. Dispatch adds a "Show full" button (verb
        ``f``) when the serialized ``tool_input`` is over ``LONG_INPUT`` characters."""
        return []

    async def update_buttons(self, ref: MessageRef, buttons: list[list[Button]]  # noqa: B027
                             ) -> None:
        """Replace the buttons of a posted message (``button_updates``)."""

    def health(self) -> BridgeHealth:
        """``{"state": ..., "detail": str, ...}`` (JSON-serializable; extra keys are kept),
        copied to ``<state dir>/listener.health.json`` for ``tether-hooks status``. States
        (``models.HealthState``): ``starting``, ``ok``, ``conflict`` (another poller on the
        token: Telegram 409), ``auth`` (bad token, no access), ``error`` (retried)."""
        return {"state": "ok", "detail": ""}

    def polling_alive(self) -> bool:
        """False once the bridge's receiver ended; dispatch then calls ``restart_polling``."""
        return True

    async def restart_polling(self) -> None:  # noqa: B027
        """Start receiving again after ``polling_alive`` turned False."""


Bridge = BridgeBase  # the name the older docs use


# Serialized tool_input longer than this gets a "Show full" button (when show_full exists).
LONG_INPUT = 1000

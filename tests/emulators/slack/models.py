"""The Slack emulator's records: what tests create, inspect and wait for (plain dataclasses)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Ack",
    "ApiCall",
    "Channel",
    "Connection",
    "Envelope",
    "Ephemeral",
    "Fault",
    "Message",
    "ResponsePost",
    "SlackError",
    "Trigger",
    "User",
    "View",
]


class SlackError(Exception):
    """A refusal the way Slack answers it: HTTP ``status`` with ``{"ok":false,"error":..}``."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error, self.status = error, status
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        return {"id": self.id, "username": self.name, "name": self.name, "team_id": team_id}


@dataclass
class Channel:
    """``kind``: ``channel`` (public), ``group`` (private), ``im``. ``members`` None = everyone."""

    id: str
    name: str
    kind: str = "channel"
    bot_member: bool = True
    members: set[str] | None = None
    archived: bool = False
    im_user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def is_private(self) -> bool:
        return self.kind != "channel"

    @property
    def channel_type(self) -> str:
        return self.kind

    def has_member(self, user_id: str) -> bool:
        if self.kind == "im":
            return user_id == self.im_user
        return self.members is None or user_id in self.members

    @property
    def display_name(self) -> str:
        return "directmessage" if self.kind == "im" else self.name


@dataclass
class Message:
    """A message as it is now; ``versions`` holds earlier states (one per chat.update)."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    reply_users: list[str] = field(default_factory=list)
    latest_reply: str | None = None
    edited: dict[str, str] | None = None
    deleted: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def from_bot(self) -> bool:
        return self.bot_id is not None

    @property
    def updates(self) -> int:
        """How many times chat.update (or a response_url replace) changed it."""
        return len(self.versions)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def buttons(self) -> list[dict[str, Any]]:
        """Every button (with its ``block_id`` added), in order, accessories included."""
        found: list[dict[str, Any]] = []
        for block in self.blocks:
            elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
            if isinstance(block.get("accessory"), dict):
                elements.append(block["accessory"])
            found += [
                {**e, "block_id": block.get("block_id")}
                for e in elements
                if isinstance(e, dict) and e.get("type") == "button"
            ]
        return found

    def button(self, action_id: str, block_id: str | None = None) -> dict[str, Any]:
        for b in self.buttons():
            if b.get("action_id") == action_id and block_id in (None, b["block_id"]):
                return b
        raise LookupError(f"no button {action_id!r} on message {self.ts}: {self.buttons()}")


@dataclass
class Ephemeral:
    """Shown to one user only; ``source`` says how (chat.postEphemeral, response_url, ack)."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    message_ts: str
    source: str
    thread_ts: str | None = None


@dataclass
class Trigger:
    id: str
    user: str
    created: float
    channel: str | None = None
    used: bool = False


@dataclass
class View:
    id: str
    view: dict[str, Any]
    user: str
    trigger_id: str
    opened_at: float
    closed: bool = False
    submissions: int = 0

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    error: str | None
    response: dict[str, Any] | None
    at: float


@dataclass
class Envelope:
    """One Socket Mode delivery. ``status``: queued, sent, acked, failed (retries exhausted)."""

    envelope_id: str
    type: str
    payload: Any  # an object, but a forged one (``push_envelope``) may be anything
    accepts_response_payload: bool
    created: float
    retry_attempt: int = 0
    status: str = "queued"
    deliveries: list[tuple[int, int, float]] = field(default_factory=list)  # (attempt, conn, at)
    ack: Ack | None = None

    def frame(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api" or self.retry_attempt:
            body["retry_attempt"] = self.retry_attempt
            body["retry_reason"] = "timeout" if self.retry_attempt else ""
        return body


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    at: float
    connection: int
    known: bool  # an envelope with this id was sent
    attempt: int | None = None  # the retry_attempt last sent when the ack came
    raw: str = ""


@dataclass
class Connection:
    id: int
    ticket: str
    opened_at: float
    closed_at: float | None = None
    hello_sent: bool = False
    notified: str | None = None  # the reason of a disconnect message sent on it
    pings: int = 0
    texts: int = 0
    close_code: int | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass
class ResponsePost:
    """A POST to a response_url; ``kind`` is ``actions`` (buttons) or ``commands``."""

    url: str
    kind: str
    body: dict[str, Any]
    status: int
    error: str | None
    at: float


@dataclass
class Fault:
    method: str
    error: str | None = None
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    after: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None  # answered as it is (not Slack's JSON), with content_type
    content_type: str = "text/html"

"""The Discord emulator's records and errors (plain dataclasses), and snowflake ids."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DISCORD_EPOCH_MS",
    "ApiCall",
    "DiscordError",
    "Fault",
    "Message",
    "Snowflakes",
    "Violation",
    "form_error",
    "snowflake_time",
]

DISCORD_EPOCH_MS = 1420070400000


class DiscordError(Exception):
    """A refusal the way Discord answers it: HTTP ``status`` + ``{"message","code"[,"errors"]}``."""

    def __init__(self, status: int, code: int, message: str,
                 errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def form_error(path: list[str | int], code: str, message: str) -> DiscordError:
    """400 / 50035 "Invalid Form Body" with the error nested under ``path``
    (``["embeds", 0, "title"]`` -> ``{"embeds":{"0":{"title":{"_errors":[..]}}}}``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


class Snowflakes:
    """Real-looking snowflakes: ``(ms - DISCORD_EPOCH) << 22 | increment``, strictly
    increasing (worker and process ids 0). Not thread-safe: call under the world's lock."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        now = int(time.time() * 1000)
        candidate = ((now - DISCORD_EPOCH_MS) << 22) | ((self.last + 1) & 0xFFF)
        self.last = max(candidate, self.last + 1)
        return str(self.last)


def snowflake_time(snowflake: str | int) -> float:
    """Epoch seconds encoded in a snowflake."""
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000


@dataclass
class Message:
    """A stored message. ``reactions``: emoji name (exactly as given) -> user ids in the order
    they reacted. ``data`` holds the API fields not modelled separately."""

    id: str
    channel_id: str
    author_id: str
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    webhook_id: str | None = None
    username: str | None = None  # a webhook message's display name
    reference: str | None = None  # the replied-to message id
    tts: bool = False
    flags: int = 0
    timestamp: float = field(default_factory=time.time)
    edited: float | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # filename -> bytes
    edits: list[dict[str, Any]] = field(default_factory=list)  # PATCH bodies applied
    deleted: bool = False


@dataclass
class ApiCall:
    """One request as the emulator saw it. ``path`` has webhook tokens masked as ``***``;
    ``auth`` is "bot" (the right bot token), "bad" (a wrong one) or "none"; ``status`` 0 =
    connection dropped. ``error`` is the Discord error code, or a note."""

    at: float
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    auth: str
    error: int | str | None = None


@dataclass
class Violation:
    """A real (not injected) 429 the emulator gave: a client ran into a limit."""

    at: float
    method: str
    path: str
    bucket: str
    scope: str  # "user" or "global"
    retry_after: float


@dataclass
class Fault:
    """An injected fault, consumed by the first request whose method and path match."""

    method: str
    pattern: re.Pattern[str]
    kind: str  # "ratelimit", "fail", "delay", "drop"
    status: int = 429
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.2
    global_: bool = False
    via: bool = True
    seconds: float = 0.0
    after: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() in (method.upper(), "*") and bool(self.pattern.search(path))

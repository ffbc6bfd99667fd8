"""Bridge, task and listener health; listener status; notices from hooks."""

from __future__ import annotations

from typing import Literal, Required, TypedDict

__all__ = [
    "BridgeHealth",
    "DOWN_STATES",
    "HealthState",
    "ListenerHealth",
    "ListenerStatus",
    "ListenerStop",
    "NoticeKind",
    "NoticeMessage",
    "TaskHealth",
    "TaskState",
]

# -- bridge and listener health --------------------------------------------------------

HealthState = Literal[
    "starting",  # loading or connecting
    "ok",
    "conflict",  # another poller uses the same token (Telegram 409)
    "auth",  # the token or the chat was rejected
    "error",  # anything else; being retried
]
# States in which a bridge cannot post.
DOWN_STATES: tuple[HealthState, ...] = ("auth", "error")


class BridgeHealth(TypedDict, total=False):
    """A bridge's health: ``{"state": ..., "detail": ...}``.
    Extra keys are the bridge's own (JSON-serializable)."""

    state: Required[HealthState]
    detail: Required[str]
    # Telegram polling
    conflict: bool
    conflicts: int
    last_conflict_at: float | None
    last_poll_at: float | None
    last_error: str | None
    last_error_at: float | None
    failures: int


TaskState = Literal["ok", "error", "restarting"]


class TaskHealth(TypedDict, total=False):
    """A supervised listener task's health (``listener/supervise.py``)."""

    state: Required[TaskState]
    detail: Required[str]
    restarts: int
    at: float  # of the last restart


class ListenerHealth(TypedDict, total=False):
    """``listener.health.json``, for ``tether-hooks status``."""

    pid: int
    started_at: float
    updated_at: float
    bridges: dict[str, BridgeHealth]
    tasks: dict[str, TaskHealth] | None


class ListenerStatus(TypedDict, total=False):
    """``listener.daemon.status()`` (and ``start()``, which adds ``started``)."""

    running: Required[bool]  # its socket answers
    pid: int | None
    socket: str
    log: str
    usable: bool | None  # some bridge can post
    bridges: dict[str, BridgeHealth]
    tasks: dict[str, TaskHealth]
    unresponsive: bool  # a pid, but no answer
    started_at: float | None
    started: bool  # start(): this call started it


class ListenerStop(TypedDict, total=False):
    """``listener.daemon.stop()``; empty before a purge stops it."""

    running: bool
    stopped: bool
    pid: int
    killed: bool  # SIGKILL after SIGTERM went unheard


NoticeKind = Literal["waiting", "finished", "info", "error", "auto_approved"]


class NoticeMessage(TypedDict, total=False):
    """A hook's ``notice`` line to the listener's socket (``listener/server.py``)."""

    op: Required[Literal["notice"]]
    kind: Required[str]
    session_id: str | None
    agent: str | None
    cwd: str | None
    text: str
    wait: float

"""Timer actions shared by the CLI verbs and the chat commands: add, list, revoke."""

from __future__ import annotations

import time

from tether_hooks import config, rules
from tether_hooks.durations import parse_duration
from tether_hooks.errors import UsageError
from tether_hooks.rules import check_dir
from tether_hooks.store import Store

__all__ = [
    "REQUEST_SCOPES",
    "add",
    "add_like",
    "describe_all",
    "live",
    "revoke",
    "seconds",
]


REQUEST_SCOPES = ("tool", "session", "dir")


def seconds(duration: str | None) -> int:
    """``duration`` in seconds, or the configured default; raises UsageError when bad."""
    if duration:
        return parse_duration(duration)
    return int(config.load()["default_timer_seconds"])


def add(
    scope: str,
    duration: str | None,
    *,
    created_by: str,
    session_id: str | None = None,
    tool: str | None = None,
    path: str | None = None,
    prefix: str | None = None,
    broad_ok: bool = False,
    store: Store | None = None,
    key: str | None = None,
) -> tuple[dict, list[dict]]:
    """Add a timer (default duration from config); returns it and the requests it allowed.

    A directory timer on ``/`` or the home directory needs ``broad_ok``: it would cover
    nearly every session. ``key`` (a chat update): a timer with that key is added once."""
    if scope == "dir":
        check_dir(path, broad_ok)
    return (store or Store()).add_timer(
        scope,
        seconds(duration),
        created_by=created_by,
        session_id=session_id,
        tool=tool,
        path=path,
        prefix=prefix,
        key=key,
    )


def add_like(
    request: dict,
    scope: str,
    duration: str | None,
    *,
    created_by: str,
    tool: str | None = None,
    store: Store | None = None,
    key: str | None = None,
) -> tuple[dict, list[dict]]:
    """A timer for calls like ``request``: its tool (or ``tool``) in its session, its whole
    session, or its directory (every session). Shared by ``approve --for`` and chat buttons."""
    if scope not in REQUEST_SCOPES:
        raise UsageError(f"unknown scope {scope!r}: use one of {', '.join(REQUEST_SCOPES)}")
    session = request.get("session_id") or None
    if scope == "tool":
        return add(
            "tool",
            duration,
            created_by=created_by,
            session_id=session,
            tool=tool or request.get("tool_name"),
            store=store,
            key=key,
        )
    if scope == "session":
        return add("session", duration, created_by=created_by, session_id=session, store=store,
                   key=key)
    return add("dir", duration, created_by=created_by, path=request.get("cwd"), store=store,
               key=key)


def live(store: Store | None = None, now: float | None = None) -> list[dict]:
    """Timers not yet expired, soonest to expire first."""
    now = time.time() if now is None else now
    timers = (store or Store()).read()["timers"].values()
    return sorted(
        (t for t in timers if float(t.get("expires_at", 0)) > now),
        key=lambda t: float(t["expires_at"]),
    )


def describe_all(timers: list[dict], now: float | None = None) -> list[str]:
    """One line per timer: ``7f3a  Allow Bash  (12 min left)``."""
    now = time.time() if now is None else now
    return [rules.describe(t, now) for t in timers]


def revoke(timer_id: str | None, store: Store | None = None) -> list[dict]:
    """Revoke one timer by id (or unique prefix), or all with None."""
    return (store or Store()).revoke(timer_id)

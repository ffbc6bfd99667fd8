"""Timer actions shared by the CLI verbs and the chat commands: add, list, revoke."""

from __future__ import annotations

import time

from tether_hooks import config, rules
from tether_hooks.durations import parse_duration
from tether_hooks.store import Store

__all__ = ["add", "describe_all", "live", "revoke"]


def _seconds(duration: str | None) -> int:
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
    store: Store | None = None,
) -> tuple[dict, list[dict]]:
    """Add a timer (default duration from config); returns it and the requests it allowed."""
    return (store or Store()).add_timer(
        scope,
        _seconds(duration),
        created_by=created_by,
        session_id=session_id,
        tool=tool,
        path=path,
        prefix=prefix,
    )


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

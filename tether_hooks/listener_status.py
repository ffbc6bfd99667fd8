"""What the running listener says about itself: whether its socket answers, its pid and each
bridge's health. Read by ``status``, ``doctor``, ``listener status`` and platform setup (a
second poller of a Telegram bot gets 409); imports nothing of the listener package, so any
layer may ask.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from tether_hooks import paths, relay

if TYPE_CHECKING:
    from tether_hooks.models import ListenerHealth, ListenerStatus

__all__ = ["health", "status"]


def health() -> ListenerHealth | None:
    """The health file the running listener keeps (per-bridge state), if any."""
    try:
        with open(paths.listener_health_file(), "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    # The listener wrote it (mode 0600, our state dir): its shape is taken as written.
    return cast("ListenerHealth", data) if isinstance(data, dict) else None


def status() -> ListenerStatus:
    """``running`` (its socket answers), ``pid``, per-bridge state from the health file."""
    pid = relay.listener_pid()
    try:
        answer = relay.call({"op": "ping"}, timeout=2.0)
    except (OSError, ValueError):
        answer = None
    info: ListenerStatus = {
        "running": answer is not None,
        "pid": pid,
        "socket": paths.listener_socket(),
        "log": paths.listener_log_file(),
    }
    if answer is not None:
        info["pid"] = answer.get("pid", pid)
        info["usable"] = answer.get("usable")
        info["bridges"] = answer.get("bridges") or {}
        info["tasks"] = answer.get("tasks") or {}
    elif pid is not None:
        info["unresponsive"] = True
    report = health()
    if report and info["running"]:
        info["started_at"] = report.get("started_at")
        info.setdefault("bridges", report.get("bridges") or {})
    return info

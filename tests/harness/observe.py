"""What a test reads back after a hook or listener process acted: a request's status in
the state store, the one pending request, each bridge's state in the listener's health
file (through the readers the CLI uses)."""

from __future__ import annotations

from typing import Any

from tether_hooks import listener_status
from tether_hooks.store import Store

__all__ = ["bridge_states", "only_pending", "status_of"]


def status_of(rid: str) -> str:
    return str(Store().read()["requests"][rid]["status"])


def only_pending() -> dict[str, Any]:
    """The one pending request (fails the test if there are none or several)."""
    (request,) = [r for r in Store().read()["requests"].values() if r["status"] == "pending"]
    return dict(request)


def bridge_states() -> dict[str, str] | None:
    """Each bridge's state in the running listener's health file (None: not written yet)."""
    health = listener_status.health()
    if health is None:
        return None
    return {name: str(b["state"]) for name, b in health["bridges"].items()}

"""What the listener and the timer and approval actions need of a store: ``Ledger``.

``store.Store`` (this machine's ``state.json``) is one; ``shared.fleet.FleetStore`` (every
machine's records in the shared Redis, served by the elected listener) is the other.
"""

from __future__ import annotations

from typing import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import (
        Behavior,
        DecisionExtra,
        Request,
        RequestStatus,
        Session,
        State,
        Timer,
    )

__all__ = ["Ledger"]


class Ledger(Protocol):
    path: str  # a local file beside which the listener keeps its own files

    def read(self) -> State: ...

    def signature(self) -> object:
        """Changes whenever what ``read`` returns may have changed (cheap to ask)."""
        ...

    def find_request(self, request_id: str) -> Request: ...

    def decide(self, request_id: str, behavior: Behavior, *, by: str, via: str,
               reason: str | None = None, status: RequestStatus | None = None,
               extra: DecisionExtra | None = None) -> tuple[bool, Request]: ...

    def decide_with_timer(
        self, request_id: str, behavior: Behavior, *, by: str, via: str,
        reason: str | None = None, status: RequestStatus | None = None,
        extra: DecisionExtra | None = None, timer: Timer | None = None,
    ) -> tuple[bool, Request, tuple[Timer, list[Request]] | None]: ...

    def add_drafted(self, timer: Timer) -> tuple[Timer, list[Request]]: ...

    def revoke(self, timer_id: str | None) -> list[Timer]: ...

    def set_session(self, session_id: str, **fields: object) -> Session | None: ...

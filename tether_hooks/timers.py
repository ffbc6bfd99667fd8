"""Timer actions shared by the CLI verbs and the chat commands: add, list, revoke."""

from __future__ import annotations

import posixpath
import time
from typing import cast

from tether_hooks import config, rules
from tether_hooks.durations import parse_duration
from tether_hooks.errors import UsageError
from tether_hooks.ledger import Ledger
from tether_hooks.lifecycle import draft_timer
from tether_hooks.rules import check_dir
from tether_hooks.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.models import HookRequest, Request, Timer

__all__ = [
    "REQUEST_SCOPES",
    "add",
    "add_all_machines",
    "add_like",
    "check_like",
    "draft",
    "draft_like",
    "check_scope",
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


def add(scope: str, duration: str | None, *, created_by: str, broad_ok: bool = False,
        store: Ledger | None = None, **fields: str | None) -> tuple[Timer, list[Request]]:
    """Add a timer (``draft``: ``fields`` are its session_id, tool, path, prefix, key);
    returns it and the requests it allowed."""
    timer = draft(scope, duration, created_by=created_by, broad_ok=broad_ok, **fields)
    return (store or Store()).add_drafted(timer)


def add_all_machines(scope: str, duration: str | None, *, created_by: str, fleet: Ledger,
                     broad_ok: bool = False, **fields: str | None
                     ) -> tuple[Timer, list[Request]]:
    """A tool or Bash timer for every machine (``--all-machines``): stored in the fleet
    (``fleet.add_drafted``: ``tmr:all``, origin "fleet") and at once in this machine's store
    under the same id. Returns it and the requests it allowed here."""
    if scope not in ("tool", "bash"):
        raise UsageError("only a tool or Bash timer applies to all machines: sessions and "
                         "directories belong to one machine")
    if fields.get("session_id") is not None:
        raise UsageError("--all-machines covers every session of every machine: drop --session")
    timer, _ = fleet.add_drafted(draft(scope, duration, created_by=created_by,
                                       broad_ok=broad_ok, **fields))
    _, allowed = Store().add_drafted(cast("Timer", dict(timer)))
    return timer, allowed


def draft(
    scope: str,
    duration: str | None,
    *,
    created_by: str,
    session_id: str | None = None,
    tool: str | None = None,
    path: str | None = None,
    prefix: str | None = None,
    broad_ok: bool = False,
    key: str | None = None,
) -> Timer:
    """A timer checked and built, not yet stored (default duration from config).

    Refused: an empty or blank session id (an unset shell variable must not mean "every
    session") and an empty tool name. Needing ``broad_ok`` (``--force``): a directory timer
    on ``/`` or the home directory, and, with no session, a tool pattern or Bash rule that
    matches everything (``*``): they would allow nearly every call of every session.
    ``key`` (a chat update): a timer with that key is added once."""
    check_scope(scope, session_id=session_id, tool=tool, prefix=prefix, broad_ok=broad_ok)
    if scope == "dir":
        check_dir(path, broad_ok)
    if scope == "bash":
        prefix = rules.check_bash_rule(prefix)
    return draft_timer(scope, seconds(duration), time.time(), created_by=created_by,
                       session_id=session_id, tool=tool, path=path, prefix=prefix, key=key)


def check_scope(scope: str, *, session_id: str | None = None, tool: str | None = None,
                prefix: str | None = None, broad_ok: bool = False) -> None:
    """UsageError for a scope broader than anyone would mean, or one that can never match."""
    if session_id is not None and not session_id.strip():
        raise UsageError("the session id is empty (an unset variable?): give one, or leave "
                         "--session out to mean every session")
    if scope == "tool":
        name = (tool or "").strip()
        if not name:
            raise UsageError("the tool name is empty: give one, like Bash, Write or "
                             "mcp__github__*")
        if any(c.isspace() or not c.isprintable() for c in name):
            raise UsageError(f"{name!r} can never match: a tool name has no spaces")
        if not name.strip("*") and not session_id and not broad_ok:
            raise UsageError(f"{name!r} allows every tool in every session (as allow-all with "
                             "no session); give --session ID, or --force if you mean that")
    if scope == "bash" and prefix and prefix.strip():
        rest = prefix.strip().removesuffix(":*").removesuffix("*").strip()
        if not rest and not session_id and not broad_ok:
            raise UsageError(f"{prefix.strip()!r} allows every command in every session; give "
                             "--session ID, or --force if you mean that")


def check_like(request: HookRequest | Request, scope: str) -> None:
    """UsageError when a timer like ``request`` would be broader than meant: a tool or
    session timer for a request that names no session would cover every session."""
    if scope in ("tool", "session") and not str(request.get("session_id") or "").strip():
        raise UsageError(f"request {request.get('id')} names no session: a {scope} timer for "
                         "it would cover every session; approve it alone, or use --scope dir")


def add_like(request: HookRequest | Request, scope: str, duration: str | None, *,
             created_by: str, store: Ledger | None = None, **fields: str | None
             ) -> tuple[Timer, list[Request]]:
    """Add the timer ``draft_like`` builds (``fields``: its tool, key); returns it and the
    requests it allowed."""
    timer = draft_like(request, scope, duration, created_by=created_by, **fields)
    return (store or Store()).add_drafted(timer)


def draft_like(
    request: HookRequest | Request,
    scope: str,
    duration: str | None,
    *,
    created_by: str,
    tool: str | None = None,
    key: str | None = None,
) -> Timer:
    """A timer for calls like ``request``: its tool (or ``tool``) in its session, its whole
    session, or its directory (every session). Shared by ``approve --for`` and chat buttons,
    which store it with the decision in one write (``Store.decide_with_timer``)."""
    if scope not in REQUEST_SCOPES:
        raise UsageError(f"unknown scope {scope!r}: use one of {', '.join(REQUEST_SCOPES)}")
    check_like(request, scope)
    session = request.get("session_id") or None
    machine = cast("Request", request).get("machine")
    if scope == "tool":
        timer = draft("tool", duration, created_by=created_by, session_id=session,
                      tool=tool or request.get("tool_name"), key=key)
    elif scope == "session":
        timer = draft("session", duration, created_by=created_by, session_id=session, key=key)
    elif machine:
        timer = _remote_dir(request.get("cwd"), duration, created_by=created_by, key=key)
    else:
        timer = draft("dir", duration, created_by=created_by, path=request.get("cwd"), key=key)
    if machine:
        timer["machine"] = machine
    return timer


def _remote_dir(path: str | None, duration: str | None, *, created_by: str,
                key: str | None) -> Timer:
    """A dir timer for a request of a machine in the fleet: its path is that machine's, so
    it is checked as text (absolute, not / nor a home directory), never on this disk; the
    machine that applies it checks nothing more."""
    if not path or not path.startswith("/"):
        raise UsageError("a directory timer needs the request's directory")
    path = posixpath.normpath(path)
    parts = [p for p in path.split("/") if p]
    homes = ("home", "Users")
    if (not parts or parts == ["root"] or (parts[0] in homes and len(parts) <= 2)):
        raise UsageError(f"{path} would cover nearly every session; give a project directory")
    now = time.time()
    timer: Timer = {"id": "", "scope": "dir", "session_id": None, "agent": None,
                    "tool": None, "tool_label": None, "path": path, "prefix": None,
                    "created_at": now, "expires_at": now + seconds(duration),
                    "created_by": created_by}
    if key:
        timer["key"] = key
    return timer


def live(store: Ledger | None = None, now: float | None = None) -> list[Timer]:
    """Timers not yet expired, soonest to expire first."""
    now = time.time() if now is None else now
    table: dict[str, Timer] = (store or Store()).read()["timers"]
    timers = table.values()
    return sorted(
        (t for t in timers if float(t.get("expires_at", 0)) > now),
        key=lambda t: float(t["expires_at"]),
    )


def describe_all(timers: list[Timer], now: float | None = None) -> list[str]:
    """One line per timer: ``7f3a  Allow Bash  (12 min left)``, after its machine in a
    fleet's view (``devbox  7f3a  …``; ``all`` for a timer of every machine)."""
    now = time.time() if now is None else now
    return [f"{t['machine']}  {rules.describe(t, now)}" if t.get("machine")
            else rules.describe(t, now) for t in timers]


def revoke(timer_id: str | None, store: Ledger | None = None) -> list[Timer]:
    """Revoke one timer by id (or unique prefix), or all with None."""
    return (store or Store()).revoke(timer_id)

"""Chat commands: /help, /status, /pending, /timers, /revoke, /stop, /usage.

They call the same core functions as the CLI verbs (``timers``, ``approvals``); dispatch
has already checked that the user is allowed and that the update is not a replay. Each
gets a ``CommandContext``: the parts of the listener a command may use.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether_hooks import approvals, timers
from tether_hooks.errors import TetherError
from tether_hooks.listener import chat, usage
from tether_hooks.models import Session
from tether_hooks.platforms.base import Incoming
from tether_hooks.wording import agent_label, project_name, short_id

if TYPE_CHECKING:
    from tether_hooks.ledger import Ledger
    from tether_hooks.listener.bridges import Bridges
    from tether_hooks.listener.decider import Decider
    from tether_hooks.listener.runtime import Runtime
    from tether_hooks.listener.threads import Threads

__all__ = ["COMMANDS", "CommandContext", "run"]


@dataclass(frozen=True)
class CommandContext:
    """What a chat command may use."""

    store: Ledger
    bridges: Bridges
    decider: Decider
    threads: Threads
    runtime: Runtime

    async def tell(self, event: Incoming, text: str) -> None:
        await self.bridges.tell(event, text)

COMMANDS = [
    ("help", "What I can do"),
    ("status", "Sessions, pending requests and timers"),
    ("pending", "Requests waiting for a decision"),
    ("timers", "Live auto-approve timers"),
    ("revoke", "Revoke a timer: revoke <id|all>"),
    ("stop", "Stop the agent at its next tool call"),
    ("usage", "Tokens and cost of the session"),
]

_ACTIVE_SECONDS = 6 * 3600


async def run(ctx: CommandContext, event: Incoming) -> None:
    name = event.data.strip().lstrip("/!").split("@")[0].lower()
    handler = _HANDLERS.get(name)
    if handler is None:
        p = _prefix(ctx, event)
        await ctx.tell(event, f"Unknown command {p}{name}. See {p}help.")
        return
    await handler(ctx, event)


def _prefix(ctx: CommandContext, event: Incoming) -> str:
    bridge = ctx.bridges.get(event.bridge)
    return bridge.command_prefix if bridge is not None else "/"


async def _help(ctx: CommandContext, event: Incoming) -> None:
    p = _prefix(ctx, event)
    lines = [f"{p}{name} - {text}" for name, text in COMMANDS]
    lines += [
        "",
        "Reply to a request: allow, deny, deny: <reason>, allow Bash 2h, allow all, allow dir.",
        "With several pending, add the id: allow 7f3a.",
    ]
    await ctx.tell(event, "\n".join(lines))


def _folder(session: Mapping[str, Any]) -> str:
    folder = project_name(session.get("cwd"))
    return f"{folder} on {session['machine']}" if session.get("machine") else folder


def _active(ctx: CommandContext, now: float) -> list[Session]:
    sessions = ctx.store.read()["sessions"].values()
    return sorted(
        (s for s in sessions if s.get("status") != "ended"
         and float(s.get("last_seen", 0)) > now - _ACTIVE_SECONDS),
        key=lambda s: -float(s.get("last_seen", 0)),
    )


async def _status(ctx: CommandContext, event: Incoming) -> None:
    now = time.time()
    sessions = _active(ctx, now)
    waiting = approvals.pending(ctx.store)
    live = timers.live(ctx.store, now)
    lines = [f"Sessions ({len(sessions)}):"]
    for agent in sorted({str(s.get("agent")) for s in sessions}):  # one block per agent
        mine = [s for s in sessions if str(s.get("agent")) == agent]
        lines.append(f"{agent_label(agent)} ({len(mine)}):")
        for s in mine:
            asking = sum(r.get("session_id") == s["id"] for r in waiting)
            lines.append(f"• {short_id(s['id'])} in {_folder(s)}"
                         + (f", {asking} pending" if asking else ""))
    lines.append(f"Pending: {len(waiting)}")
    lines += [f"• {chat.request_line(r, now)}" for r in waiting]
    lines.append(f"Timers: {len(live)}")
    lines += [f"• {t}" for t in timers.describe_all(live, now)]
    await ctx.tell(event, "\n".join(lines))


async def _pending(ctx: CommandContext, event: Incoming) -> None:
    now = time.time()
    waiting = approvals.pending(ctx.store)
    text = "\n".join(f"• {chat.request_line(r, now)}" for r in waiting)
    await ctx.tell(event, text or "Nothing is waiting for a decision.")


async def _timers(ctx: CommandContext, event: Incoming) -> None:
    live = timers.live(ctx.store)
    text = "\n".join(f"• {t}" for t in timers.describe_all(live))
    await ctx.tell(event, text or "No timers.")


async def _revoke(ctx: CommandContext, event: Incoming) -> None:
    arg = event.args.strip()
    if not arg:
        p = _prefix(ctx, event)
        await ctx.tell(event, f"Which timer? {p}revoke <id> or {p}revoke all (see {p}timers).")
        return
    try:
        removed = await ctx.runtime.io(timers.revoke, None if arg.lower() == "all" else arg,
                                       ctx.store)
    except TetherError as exc:
        await ctx.tell(event, str(exc))
        return
    text = ", ".join(t["id"] for t in removed)
    await ctx.tell(event, f"Revoked {text}." if removed else "No timers.")


def _session_for(ctx: CommandContext, event: Incoming
                 ) -> tuple[Session | None, str]:
    """The session a command means: its topic, a reply, an id prefix, or the only one."""
    data = ctx.store.read()
    replied, sids = ctx.threads.scope(data["requests"], event)
    if replied is not None:
        sids = {replied.get("session_id")}
    arg = event.args.strip().lower()
    if sids is None and arg:
        sids = {sid for sid in data["sessions"] if sid.lower().startswith(arg)}
    if sids is None:
        sids = {s["id"] for s in _active(ctx, time.time())}
    found = [data["sessions"][sid] for sid in sids if sid in data["sessions"]]
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "No such session."
    listing = "\n".join(f"• {short_id(s['id'])} {agent_label(s.get('agent'))} in {_folder(s)}"
                        for s in found)
    return None, f"Which session? Add its id (/{event.data.lstrip('/')} <id>):\n{listing}"


async def _stop(ctx: CommandContext, event: Incoming) -> None:
    session, problem = _session_for(ctx, event)
    if session is None:
        await ctx.tell(event, problem)
        return
    by = event.user_name or f"user {event.user_id}"
    stopped = False
    for request in approvals.pending(ctx.store):
        if request.get("session_id") == session["id"]:
            stopped |= await ctx.decider.decide(event, request, "deny", reason=f"Stopped by {by}",
                                               interrupt=True)
    who = agent_label(session.get("agent"))
    if stopped:  # the waiting hook stops it now: no flag left for a later turn
        await ctx.tell(event, f"🛑 {who} in {_folder(session)} is stopping.")
        return
    await ctx.runtime.io(ctx.store.set_session, session["id"],
                         stop={"by": by, "via": event.bridge, "at": time.time()})
    await ctx.tell(event, f"🛑 {who} in {_folder(session)} stops at its next tool call.")


async def _usage(ctx: CommandContext, event: Incoming) -> None:
    session, problem = _session_for(ctx, event)
    if session is None:
        await ctx.tell(event, problem)
        return
    path = session.get("transcript_path")
    if not path:
        await ctx.tell(event, "This session has no transcript.")
        return
    try:
        totals = await ctx.runtime.io(usage.read_usage, str(path))
    except OSError as exc:
        await ctx.tell(event, f"Cannot read the transcript: {exc.strerror}")
        return
    head = f"Session {short_id(session['id'])} in {_folder(session)}:\n"
    await ctx.tell(event, head + usage.describe(totals))


_HANDLERS: dict[str, Callable[[CommandContext, Incoming], Awaitable[None]]] = {
    "help": _help,
    "start": _help,
    "status": _status,
    "pending": _pending,
    "timers": _timers,
    "revoke": _revoke,
    "stop": _stop,
    "usage": _usage,
}

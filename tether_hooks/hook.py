"""The hook entry point: agent JSON on stdin, the agent's exact output contract on stdout.

``tether-hook <agent>`` handles every event of that agent. The fast path (a timer
decides, or nothing needs asking) imports only the standard library and our stdlib-only
modules; the store (filelock) is imported only when a request must wait for a human.

Safety: on anything unexpected (malformed JSON, missing fields, unreadable state,
a bug) the hook writes one line to stderr and prints no decision, so the agent falls
back to its own prompt. It never allows what it was not told to allow.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tether_hooks import bounds, config, paths, state
from tether_hooks.errors import StoreCorrupt, TetherError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the fast path)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from tether_hooks.agents.protocol import Agent
    from tether_hooks.models import HookConfig, HookRequest, Request, State, StopRequest

    Handler = Callable[[Agent, HookRequest, HookConfig], str]

# Imported when needed, not here: ``rules`` (only when there are timers), ``audit`` (only
# when one allows), the store (only to wait or write). Each module costs the fast path.

__all__ = ["MAX_INPUT_BYTES", "main"]

MAX_INPUT_BYTES = 64 * 1024 * 1024
_STARTED = time.time()  # when the agent started this hook call


def _say(message: str) -> None:
    try:
        sys.stderr.write(bounds.printable(f"tether-hooks: {message}\n"))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nothing more to say


def _load_state() -> State:
    """The state; a corrupt file is moved aside (one warning line) and a fresh one used."""
    try:
        return state.load(paths.state_file())
    except StoreCorrupt:
        from tether_hooks.store import Store

        return Store().read()


def _deny_text(record: Request) -> str:
    decision: Mapping[str, Any] = record.get("decision") or {}
    reason = (decision.get("reason") or "").strip()
    who = decision.get("by") or "the user"
    if decision.get("via") == "timeout":
        return f"Denied: {reason}." if reason else "Denied: no answer in time."
    return (
        f"Denied by {who} via tether-hooks: {reason}"
        if reason
        else (f"Denied by {who} via tether-hooks.")
    )


def _stop_requested(data: State, request: HookRequest) -> StopRequest | None:
    """A ``/stop`` from the chat for this session, consumed (once) if there is one."""
    session = data["sessions"].get(request.get("session_id") or "")
    if not session or not session.get("stop"):
        return None
    from tether_hooks.store import Store

    Store().set_session(session["id"], stop=None)
    return session["stop"]


def _permission(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    event = request["event"]
    now = time.time()
    data = _load_state()
    if data["sessions"] and (stop := _stop_requested(data, request)):
        return agent.deny(event, f"Stopped by {stop.get('by')} via tether-hooks.", True)
    timers = data["timers"]
    timer = None
    if timers:  # no timer: nothing to match, no need to load the rules
        from tether_hooks import rules

        timer = rules.find_timer(timers, request, now, cfg["never_auto_approve"])
    if timer is not None:
        from tether_hooks import audit, rules

        reason = rules.describe(timer, now)
        audit.append(
            {
                "at": now,
                "event": "decision",
                "agent": request["agent"],
                "session_id": request["session_id"],
                "cwd": request["cwd"],
                "tool_name": request["tool_name"],
                "input": audit.summarize_input(request["tool_name"], request["tool_input"]),
                "behavior": "allow",
                "status": "allowed",
                "via": "timer",
                "by": timer.get("created_by"),
                "timer_id": timer.get("id"),
                "reason": reason,
            }
        )
        return agent.allow(event, reason)
    if not cfg["platforms"] and not cfg["local_approvals"]:
        return ""
    from tether_hooks.relay import wait_for_decision

    request["never"] = cfg["never_auto_approve"]
    record = wait_for_decision(
        request,
        float(cfg["approval_timeout"]),
        cfg["on_timeout"],
        remote=bool(cfg["platforms"]),
        local=bool(cfg["local_approvals"]),
    )
    if record is None:
        return ""
    decision: Mapping[str, Any] = record.get("decision") or {}
    status = record.get("status")
    if status == "allowed":
        by = decision.get("by") or "the user"
        updated = decision.get("updated_input")
        if updated is None and request["tool_name"] in agent.ECHO_INPUT_TOOLS:
            updated = request["tool_input"]
        return agent.allow(
            event,
            f"Allowed by {by} via tether-hooks ({decision.get('via')})",
            updated,
            decision.get("updated_permissions"),
        )
    if status == "denied" or (status == "expired" and decision.get("behavior") == "deny"):
        return agent.deny(event, _deny_text(record), bool(decision.get("interrupt")))
    if status == "expired":
        if decision.get("via") in ("listener", "timeout"):
            _say(f"{decision.get('reason')}; {agent.DISPLAY} asks in the terminal")
        return agent.no_decision(event, f"tether-hooks: {decision.get('reason')}")
    return ""


def _notice(request: HookRequest, kind: str, text: object, wait: float = 0
            ) -> dict[str, Any] | None:
    from tether_hooks import relay

    message = {
        "op": "notice",
        "kind": kind,
        "session_id": request.get("session_id"),
        "agent": request.get("agent"),
        "cwd": request.get("cwd"),
        "text": bounds.keep(text, _NOTICE_CHARS) if isinstance(text, str) else "",  # whole words
        "wait": wait,
    }
    # with a wait, the listener answers after the reply (or ``wait``): allow for connecting
    return relay.reach(message, timeout=wait + 20 if wait else relay.CALL_TIMEOUT)


def _notification(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    # permission_prompt: Claude shows its own dialog, which our request message already covers.
    if cfg["platforms"] and request.get("notification_type") != "permission_prompt":
        _notice(request, "waiting", request.get("message"))
    return ""


def _stop(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    if not cfg["platforms"]:
        return ""
    data = _load_state()
    if data["sessions"] and _stop_requested(data, request):
        return ""  # stopping anyway: the /stop is used up
    # stop_hook_active: Claude already goes on because of a Stop hook; never chain waits.
    wait = 0.0 if request.get("stop_hook_active") else float(cfg.get("stop_wait") or 0)
    answer = _notice(request, "finished", request.get("last_assistant_message"), wait)
    reply = (answer or {}).get("reply")
    if isinstance(reply, str) and reply.strip():
        return agent.stop_block(reply.strip())
    return ""


def _session_start(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    from tether_hooks.store import Store

    Store().touch_session(
        _plain(request), status="active", source=request.get("source"), model=request.get("model")
    )
    return ""


def _session_end(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    from tether_hooks.store import Store

    Store().end_session(_plain(request), request.get("reason"))
    return ""


def _turn_complete(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    from tether_hooks.store import Store

    message = request.get("last_assistant_message") or None
    Store().touch_session(
        _plain(request),
        last_event="turn-finished",
        turn_finished_at=time.time(),
        turn_id=request.get("turn_id"),
        last_assistant_message=bounds.keep(message, 2000) if isinstance(message, str) else None,
    )
    if cfg["platforms"]:
        _notice(request, "finished", message)
    return ""


def _plain(request: HookRequest) -> Any:
    """``request`` for the store, whose methods take untyped dicts (until it is typed)."""
    return request


def _ignore(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    return ""


def _same_call(pending: Request, done: HookRequest) -> bool:
    """Was ``done`` (a PostToolUse) the call ``pending`` asked about? Claude may add keys
    (AskUserQuestion's ``answers``), so every key we stored must match, not the whole input."""
    stored, ran = pending.get("tool_input"), done.get("tool_input")
    if not isinstance(stored, dict) or not isinstance(ran, dict):
        return False
    if pending.get("input_truncated"):
        from tether_hooks import audit

        return pending.get("summary") == audit.summarize_input(done["tool_name"], ran)
    return all(ran.get(key) == value for key, value in stored.items())


def _tool_done(agent: Agent, request: HookRequest, cfg: HookConfig) -> str:
    """A tool ran: a request of ours still pending for that call was answered in the
    terminal (Claude does not signal the waiting hook when the user says Yes there).

    PermissionRequest carries no tool_use_id, so the call is matched by session, tool and
    input, and only a request made before the tool started counts (an identical later call
    may be waiting for the phone): the oldest such one."""
    # No margin: our start is at or after the tool's end, so this is at or after its start,
    # and a request made before the tool started always counts.
    started = _STARTED - float(request.get("duration_ms") or 0) / 1000
    requests = _load_state()["requests"].values()
    same = sorted((r for r in requests if r.get("status") == "pending"
                   and r.get("session_id") == request["session_id"]
                   and r.get("tool_name") == request["tool_name"]
                   and float(r.get("created_at", 0)) < started and _same_call(r, request)),
                  key=lambda r: float(r.get("created_at", 0)))
    if same:
        from tether_hooks.store import Store

        Store().decide(same[0]["id"], "allow", by="terminal", via="terminal",
                       reason="answered in the terminal", status="answered_in_terminal")
    return ""


_NOTICE_CHARS = 8000
_HANDLERS: dict[str, Handler] = {
    "PermissionRequest": _permission,
    "PreToolUse": _permission,
    "SessionStart": _session_start,
    "SessionEnd": _session_end,
    "Notification": _notification,
    "Stop": _stop,
    "TurnComplete": _turn_complete,  # Codex's legacy notify program
    "PostToolUse": _tool_done,
    "PostToolUseFailure": _tool_done,
}


def _read_stdin() -> bytes:
    data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise ValueError(f"the hook input is over {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    return data


def _problem(payload: object, request: dict[str, Any]) -> str | None:
    """Why a parsed call is too odd to act on (so no decision is taken), or None."""
    if bounds.depth(payload, bounds.MAX_DEPTH) > bounds.MAX_DEPTH:
        return f"the hook input is nested over {bounds.MAX_DEPTH} levels deep"
    for key, limit in (("session_id", 1024), ("tool_name", 1024), ("cwd", 4096)):
        if len(str(request.get(key) or "")) > limit:
            return f"its {key} is over {limit} characters"
    return None


def _clean(request: dict[str, Any]) -> None:
    """Drop the optional fields of unexpected types (an agent may send anything)."""
    for key in [k for k in request if k not in _CORE]:
        value = request[key]
        if key == "stop_hook_active":
            ok = isinstance(value, bool)
        elif key == "duration_ms":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            try:
                ok = ok and float(value) - float(value) == 0  # finite
            except OverflowError:
                ok = False
        else:
            ok = isinstance(value, str)
        if not ok:
            del request[key]


_CORE = ("agent", "event", "session_id", "cwd", "tool_name", "tool_input", "paths",
         "tool_aliases")


def main(argv: list[str] | None = None) -> int:
    """Run one hook call. Always exits 0: the decision, if any, is in stdout; whatever
    fails, one line on stderr and no decision (never a traceback)."""
    request: dict[str, Any] = {}
    try:
        return _run(sys.argv[1:] if argv is None else argv, request)
    except (Exception, KeyboardInterrupt) as exc:  # a bug must never turn into an allow
        log = _log_exception(request, exc)
        _say(f"unexpected error ({type(exc).__name__}: {exc}); no decision taken, details in {log}")
        return 0


def _run(args: list[str], request: dict[str, Any]) -> int:
    agent_name = args[0] if args else "claude"
    try:
        from tether_hooks import agents

        agent = agents.get(agent_name)
    except ValueError as exc:
        _say(f"{exc}; no decision taken")
        return 0
    try:
        # `tether-hook codex notify <json>`: Codex's notify passes the JSON as the last argument.
        notify = args[1:2] == ["notify"] and len(args) > 2
        payload = json.loads(args[-1] if notify else _read_stdin())
        request.update(agent.parse(payload))
        problem = _problem(payload, request)
        if problem:
            raise ValueError(problem)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, PayloadError: ValueErrors
        detail = "it is nested too deep" if isinstance(exc, RecursionError) else exc
        _say(f"ignoring a hook call: {detail}; {agent.DISPLAY} decides on its own")
        return 0
    _clean(request)
    checked: Any = request  # parsed and cleaned: a HookRequest
    handler = _HANDLERS.get(request["event"], _ignore)
    try:
        output = handler(agent, checked, config.hook_config())
    except TetherError as exc:
        _say(f"{exc}; no decision taken, {agent.DISPLAY} decides on its own")
        return 0
    if output:
        sys.stdout.write(bounds.printable(output) + "\n")
        sys.stdout.flush()
    if "filelock" in sys.modules:
        # The slow path ran. Tearing down an interpreter that imported filelock (and so
        # asyncio) costs ~8 ms more; the agent waits for our exit, so skip it.
        sys.stderr.flush()
        os._exit(0)
    return 0


def _log_exception(request: dict[str, Any], exc: BaseException) -> str:
    from tether_hooks import crashlog

    return crashlog.record(
        "hook-errors.log", f"{request.get('event')} {str(request.get('tool_name', ''))[:200]}", exc
    )

"""Stored state: requests, decisions, timers, sessions, chat refs, audit entries."""

from __future__ import annotations

from typing import Literal, Required, TypedDict

__all__ = [
    "AgentName",
    "AuditDue",
    "AuditEntry",
    "AuditEvent",
    "Behavior",
    "ChatBookDoc",
    "ChatRef",
    "Decision",
    "DecisionExtra",
    "HookRequest",
    "JSON",
    "PlatformName",
    "Question",
    "QuestionOption",
    "Request",
    "RequestChat",
    "RequestStatus",
    "SETTLED_STATUSES",
    "Session",
    "SessionStatus",
    "SessionThread",
    "State",
    "StopRequest",
    "Timer",
    "TimerScope",
    "ToolInput",
    "Via",
    "ViaSource",
]

# A JSON value as loaded by ``json.loads`` (kept as ``object``: narrow with isinstance).
JSON = object
# A tool call's input: a JSON object (a capped one may be ``{"preview": "..."}``).
ToolInput = dict[str, object]

# -- names ------------------------------------------------------------------------------

# The chat platforms (config sections, bridge names); "memory" posts nowhere (tests).
PlatformName = Literal["telegram", "slack", "discord", "memory"]
AgentName = Literal["claude", "codex"]

# -- requests and decisions ---------------------------------------------------------------

RequestStatus = Literal[
    "pending",
    "allowed",  # behavior allow
    "denied",  # behavior deny
    "expired",  # no answer in time, or no platform could post it (the agent asks)
    "answered_in_terminal",  # the user answered the agent's own prompt first
    "cancelled",  # its session ended
    "abandoned",  # its waiting hook died
]
SETTLED_STATUSES: tuple[RequestStatus, ...] = (
    "allowed", "denied", "expired", "answered_in_terminal", "cancelled", "abandoned",
)
Behavior = Literal["allow", "deny", "ask"]
# Where a decision came from, besides a chat platform (whose name is the ``via``).
ViaSource = Literal[
    "cli",  # tether-hooks allow/deny
    "terminal",  # answered in the agent's own prompt
    "timer",  # an auto-approve timer covered it
    "timeout",  # no answer before approval_timeout
    "listener",  # the listener could not post it anywhere
    "stale",  # the waiting hook is gone
    "session-end",  # its session ended
]
Via = Literal[ViaSource, PlatformName]


class DecisionExtra(TypedDict, total=False):
    """What a decider may add to a decision (``store.decide(..., extra=)``)."""

    updated_input: ToolInput  # an answered question, an edited plan
    updated_permissions: list[JSON]  # e.g. a setMode after a plan is approved
    answer: str  # the text a chat reply gave
    interrupt: bool  # deny and stop the agent
    event: str  # the chat update that decided (replay guard)


class Decision(DecisionExtra, total=False):
    """``request["decision"]`` (``lifecycle.settle``)."""

    behavior: Required[Behavior]
    reason: Required[str | None]
    by: Required[str]
    via: Required[Via]
    at: Required[float]
    timer_id: str  # via timer


class ChatRef(TypedDict, total=False):
    """A posted chat message, stored (``platforms.base.MessageRef.to_dict``). Ids are
    opaque strings."""

    bridge: Required[str]
    chat_id: Required[str]
    message_id: Required[str]
    thread_id: str | None
    sent_at: float | None  # the platform's clock
    question: int  # which question of an AskUserQuestion request this message asks


class RequestChat(TypedDict, total=False):
    """``request["chat"]``: the listener's bookkeeping of a request."""

    nonce: str  # in every button's data
    refs: list[ChatRef]
    shown: bool | str  # outcome shown on every copy (str: which, ``chat.outcome_key``)
    posted_at: float
    answers: dict[str, JSON]  # question index (as text) -> the chosen label(s) or text
    picks: dict[str, list[str]]  # multi-select question index -> labels ticked so far
    toggled: list[str]  # the events (``event_key``) whose toggles were applied, newest last
    unknown: list[str]  # bridges that did not confirm the send (never sent again)


class ChatBookDoc(TypedDict):
    """``chat.json``: the listener's own bookkeeping (``listener.book``), one writer."""

    schema: int
    requests: dict[str, RequestChat]
    sessions: dict[str, dict[str, SessionThread]]  # session id -> bridge -> where


class HookRequest(TypedDict, total=False):
    """The agent-neutral request a hook builds from a payload (``agents.*.parse``)."""

    agent: Required[str]
    event: Required[str]  # the payload's hook_event_name (or Codex notify's turn event)
    session_id: Required[str]
    cwd: Required[str]
    permission_mode: str | None
    transcript_path: str | None
    turn_id: str | None  # Codex
    client: str | None  # Codex notify
    tool_name: str
    tool_input: ToolInput
    tool_use_id: str | None
    # the places the call touches, or None when it may touch one we cannot know
    paths: list[str] | None
    tool_aliases: list[str]
    message: str
    title: str
    notification_type: str
    last_assistant_message: str | None
    stop_hook_active: bool
    source: str
    reason: str
    model: str
    prompt: str
    duration_ms: float
    never: list[str]  # never_auto_approve, for a timer added while the hook waits
    pid: int  # the waiting hook


class Request(HookRequest, total=False):
    """A permission request as stored (``state["requests"][id]``)."""

    id: str
    status: RequestStatus
    created_at: float
    expires_at: float
    decision: Decision | None
    summary: str  # one redacted line (audit.summarize_input)
    input_truncated: bool  # tool_input is a capped copy
    input_missing: int  # characters the capped copy lacks
    chat: RequestChat
    machine: str  # [shared]: the machine that asked (in fleet views)
    local_id: str  # [shared]: its id on that machine (``id`` is then ``local_id@machine``)


class QuestionOption(TypedDict, total=False):
    """One option of an AskUserQuestion question."""

    label: str
    description: str


class Question(TypedDict, total=False):
    """One question of an AskUserQuestion ``tool_input["questions"]`` (``questions.py``)."""

    question: Required[str]
    header: str
    options: list[QuestionOption]
    multiSelect: bool


# -- timers ---------------------------------------------------------------------------------

TimerScope = Literal["session", "tool", "dir", "bash"]


class Timer(TypedDict, total=False):
    """An auto-approve rule (``state["timers"][id]``; see ``rules.py``)."""

    id: Required[str]
    scope: Required[TimerScope]
    session_id: str | None
    agent: str | None
    tool: str | None  # casefolded
    tool_label: str | None  # as typed
    path: str | None  # scope dir
    prefix: str | None  # scope bash
    created_at: Required[float]
    expires_at: Required[float]
    created_by: Required[str]
    key: str  # the chat update that asked for it (a replay adds nothing)
    origin: str  # "fleet": a copy of a shared timer for every machine (shared.mirror)
    machine: str  # [shared]: the machine it applies on (in fleet views)


# -- sessions -------------------------------------------------------------------------------

SessionStatus = Literal["active", "ended"]


class SessionThread(TypedDict):
    """Where a session's messages go on one bridge (``session["chat"][bridge]``)."""

    chat_id: str | None
    thread_id: str | None


class StopRequest(TypedDict):
    """``session["stop"]``: a /stop from the chat, consumed by the session's next hook."""

    by: str
    via: str
    at: float


class Session(TypedDict, total=False):
    """An agent session seen by the hooks (``state["sessions"][id]``)."""

    id: Required[str]
    agent: str | None
    status: SessionStatus
    started_at: float
    last_seen: float
    ended_at: float
    end_reason: str
    cwd: str
    transcript_path: str
    source: str
    model: str
    chat: dict[str, SessionThread]  # bridge name -> thread
    stop: StopRequest
    machine: str  # [shared]: the machine it runs on (in fleet views)


class State(TypedDict, total=False):
    """The whole ``state.json`` document (``state.empty``)."""

    schema: Required[int]
    timers: Required[dict[str, Timer]]
    requests: Required[dict[str, Request]]
    rev: int  # counts the store's writes (tests, benchmarks); absent before the first
    sessions: Required[dict[str, Session]]
    listener: JSON  # versions before listener.offsets.json; dropped on the next write
    audit_due: AuditDue  # the audit lines of the last write, written ahead (store.py)


# -- audit log --------------------------------------------------------------------------

AuditEvent = Literal["decision", "store-reset", "unauthorized", "paired", "pair-failed"]


class AuditEntry(TypedDict, total=False):
    """One line of ``audit.jsonl`` (``audit.append``)."""

    at: float
    event: Required[AuditEvent]
    # decision
    request_id: str | None
    agent: str | None
    session_id: str | None
    cwd: str | None
    tool_name: str | None
    input: str | None  # a redacted summary, never the raw input
    behavior: Behavior
    status: RequestStatus | Literal["unauthorized"]
    via: Via
    by: str | None
    reason: str | None
    timer_id: str | None
    write: str  # the state write that recorded it (store.Store.edit)
    late: bool  # appended by the next writer: the one that made it died first
    # store-reset
    path: str
    moved_to: str
    timers_lost: bool
    # unauthorized (someone not allowed pressed or wrote)
    bridge: str
    user_id: str
    user_name: str | None
    chat_id: str
    kind: str
    data: str | None


class AuditDue(TypedDict):
    """The audit lines of the state's last write, kept in it until the next write: the
    next writer appends them if the one that made them died first (``store.Store.edit``)."""

    write: str
    entries: list[AuditEntry]

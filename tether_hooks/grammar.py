"""The approval text grammar, one parser for every chat platform and the CLI.

Compatible with agent-tether (``allow``, ``yes``, ``ok``, ``proceed``; ``deny``, ``no``,
``cancel``; ``deny: reason``; ``allow all``; ``allow dir``; ``allow <Tool>``), plus ``y`` /
``n``, durations (``allow Bash 2h``) and a request-id suffix (``allow 7f3a``, ``deny #7f3a:
reason``, a fleet id ``allow 7f3a@devbox``) for when several requests are pending. Words
match case-insensitively; a reason is kept as typed. Anything else is not an approval:
``parse`` returns None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether_hooks.durations import parse_duration
from tether_hooks.errors import UsageError

__all__ = ["ALLOW_WORDS", "DENY_WORDS", "Command", "parse"]

ALLOW_WORDS = ("allow", "approve", "yes", "y", "ok", "okay", "proceed", "continue", "go", "start")
DENY_WORDS = ("deny", "reject", "no", "n", "cancel", "stop", "abort")
# a request id, or a fleet id (``a1b2@devbox``: the request a1b2 of machine devbox)
_ID = re.compile(r"#?([0-9a-f]{4,8})(?:@([a-z0-9][a-z0-9-]{0,31}))?", re.I)
_DURATION = re.compile(r"(\d+\s*[a-z]*)+", re.I)
_TOOL = re.compile(r"[A-Za-z_][\w.\-]*\*?")
_SCOPE_WORDS = {"all": "session", "session": "session", "everything": "session", "dir": "dir",
                "directory": "dir", "folder": "dir"}


@dataclass(frozen=True)
class Command:
    """A parsed approval: what to do, to which request, and any timer to add."""

    action: str  # "allow" | "deny"
    request_id: str | None = None
    reason: str | None = None
    scope: str | None = None  # None (just this call) | "session" | "dir" | "tool"
    tool: str | None = None  # for scope "tool", as typed
    duration: int | None = None  # seconds; None: the configured default


def _is_id(token: str, ids: set[str] | None) -> str | None:
    match = _ID.fullmatch(token)
    if not match:
        return None
    value = match.group(1).lower()
    full = f"{value}@{match.group(2).lower()}" if match.group(2) else value
    if ids is not None:
        if full in ids:
            return full
        # a bare id names the one fleet id with that local part (``a1b2`` -> ``a1b2@devbox``)
        named = [i for i in ids if not match.group(2) and i.partition("@")[0] == value]
        return named[0] if len(named) == 1 else None
    return full if any(c.isdigit() for c in value) else None


def _duration(token: str) -> int | None:
    if not _DURATION.fullmatch(token) or not any(c.isalpha() for c in token):
        return None
    try:
        return parse_duration(token)
    except UsageError:
        return None


def parse(text: str, pending_ids: set[str] | list[str] | None = None) -> Command | None:
    """The approval ``text`` asks for, or None if it is not one.

    With ``pending_ids`` only those ids are recognised as a request id; without, any
    4-8 hex characters with a digit are.
    """
    ids = {i.lower() for i in pending_ids} if pending_ids is not None else None
    stripped = text.strip()
    match = re.match(r"([A-Za-z]+)\b\s*(.*)\Z", stripped, re.S)
    if not match:
        return None
    verb, rest = match.group(1).lower(), match.group(2)
    if verb in DENY_WORDS:
        return _parse_deny(verb, rest, ids)
    if verb in ALLOW_WORDS:
        return _parse_allow(verb, rest, ids)
    return None


def _parse_deny(verb: str, rest: str, ids: set[str] | None) -> Command | None:
    request_id = None
    first, _, tail = rest.partition(" ")
    head = first.rstrip(":")
    if head and (rid := _is_id(head, ids)):
        request_id = rid
        rest = (":" if first.endswith(":") else "") + tail
    rest = rest.strip()
    if rest.startswith(":"):
        rest = rest[1:].strip()
    elif rest and verb not in ("deny", "reject"):
        return None  # "no way", "stop it": chat, not a decision (as in agent-tether)
    return Command("deny", request_id=request_id, reason=rest or None)


def _parse_allow(verb: str, rest: str, ids: set[str] | None) -> Command | None:
    tokens = rest.split()
    request_id = None
    if tokens and (rid := _is_id(tokens[-1], ids)):
        request_id = rid
        tokens.pop()
    duration = None
    if tokens and (seconds := _duration(tokens[-1])) is not None:
        duration = seconds
        tokens.pop()
    if not tokens:
        if duration is not None:
            return None  # "allow 30m": allow what? Ambiguous, so not an approval.
        return Command("allow", request_id=request_id)
    if len(tokens) != 1 or verb not in ("allow", "approve"):
        return None
    word = tokens[0]
    scope = _SCOPE_WORDS.get(word.lower())
    if scope:
        return Command("allow", request_id=request_id, scope=scope, duration=duration)
    if _TOOL.fullmatch(word):
        return Command("allow", request_id=request_id, scope="tool", tool=word, duration=duration)
    return None

"""Pairing: a chat user proves they sit at this terminal, and becomes an approver.

``tether-hooks pair discord`` (never the chat, never an agent: ``agent_check``) writes a
record to ``<state dir>/pairing.json`` (0600): the platform, a salted digest of a short
single-use code (the code itself is only printed), when it expires (10 minutes), and how
many wrong codes were tried. The listener checks a ``!pair CODE`` line written in the
platform's configured chat against it (``check``, constant time, under a file lock): the
right code pairs its writer once; wrong ones are counted, each user may try once every
``RETRY_AFTER`` s, and ``MAX_WRONG`` wrong codes burn the pairing. A line the listener
could not read (Discord without the Message Content intent) ends it too (``exposed``):
everyone in the channel saw it, and it may have been the code. The command watches
the record and says how it ended.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from filelock import FileLock

from tether_hooks import paths
from tether_hooks.state import write_atomic

__all__ = ["ALPHABET", "CODE_LENGTH", "MAX_WRONG", "RETRY_AFTER", "TTL", "Checked", "cancel",
           "check", "exposed", "failed", "normal", "path", "read", "start"]

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from a terminal, typed
CODE_LENGTH = 8  # 40 bits: with MAX_WRONG tries, guessing succeeds once in 2e11
TTL = 600.0
MAX_WRONG = 5
RETRY_AFTER = 5.0  # seconds a user waits after a wrong code before the next one counts
SKEW = 60.0  # seconds the platform's clock may be behind ours (``exposed``)


def path() -> str:
    return os.path.join(paths.state_dir(), "pairing.json")


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def normal(code: str) -> str:
    """A code as typed (``k7qx-m2pd``, spaces) as it was printed."""
    return "".join(c for c in code.upper() if c.isalnum())


def start(platform: str, now: float | None = None) -> str:
    """A new pairing for ``platform`` (replacing any other); its code, to print."""
    now = time.time() if now is None else now
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    salt = secrets.token_hex(16)
    record = {"platform": platform, "salt": salt, "digest": _digest(salt, code),
              "created_at": now, "expires_at": now + TTL, "wrong": 0, "last_wrong": {},
              "phase": "waiting", "user_id": None, "user_name": None, "pid": os.getpid()}
    with FileLock(path() + ".lock", timeout=10):
        paths.ensure_dir(os.path.dirname(path()))
        write_atomic(path(), json.dumps(record).encode())
    return code


def read() -> dict[str, Any] | None:
    """The pairing record, or None (none, or unreadable)."""
    try:
        with open(path(), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@contextmanager
def _locked(platform: str | None = None, phase: str = "waiting"
            ) -> Iterator[dict[str, Any] | None]:
    """The record under the lock if it is in ``phase`` (and for ``platform``), else None;
    written back (atomically) if the caller changed it."""
    with FileLock(path() + ".lock", timeout=10):
        record = read()
        if record is None or record.get("phase") != phase or (
                platform is not None and record.get("platform") != platform):
            record = None
        before = json.dumps(record, sort_keys=True)
        yield record
        if record is not None and json.dumps(record, sort_keys=True) != before:
            write_atomic(path(), json.dumps(record).encode())


def failed(error: str) -> None:
    """The pairing matched but the user could not be added (config.toml): say why."""
    with _locked(phase="paired") as record:
        if record is not None:
            record.update(phase="failed", error=error[:500])


def cancel() -> None:
    """Forget a pairing still waiting (the command was stopped)."""
    with _locked() as record:
        if record is not None:
            record["phase"] = "cancelled"


def exposed(platform: str, sent: list[float]) -> bool:
    """Lines the listener could not read (Discord hides a message's text from a bot without
    the Message Content intent) were written in the chat at ``sent`` (epoch s, the
    platform's clock). One written while the pairing waited may have been its code, which
    everyone there saw: the pairing ends (``exposed``) before a copy of it can pair. True
    if it did."""
    record = read()  # the common case (no pairing waits) takes no lock
    if record is None or record.get("platform") != platform or record.get(
            "phase") != "waiting":
        return False
    with _locked(platform) as record:
        if record is None or not any(
                at >= float(record.get("created_at", 0)) - SKEW for at in sent):
            return False
        record["phase"] = "exposed"
        return True


@dataclass(frozen=True)
class Checked:
    """What a ``!pair`` line did: ``paired``, ``wrong``, ``burned`` (that was the last
    wrong code), ``slow`` (too soon after a wrong one: not counted), ``none`` (no pairing
    for this platform is waiting, or it expired)."""

    result: str
    tries_left: int = 0


def check(platform: str, code: str, user_id: str, user_name: str,
          now: float | None = None) -> Checked:
    """Check ``code`` from ``user_id`` against the waiting pairing; record the outcome."""
    now = time.time() if now is None else now
    with _locked(platform) as record:
        if record is None:
            return Checked("none")
        if float(record.get("expires_at", 0)) <= now:
            record["phase"] = "expired"
            return Checked("none")
        last = record.setdefault("last_wrong", {})
        if now - float(last.get(user_id, -RETRY_AFTER)) < RETRY_AFTER:
            return Checked("slow", MAX_WRONG - int(record.get("wrong", 0)))
        given = _digest(str(record.get("salt")), normal(code))
        if hmac.compare_digest(given, str(record.get("digest"))):
            record.update(phase="paired", user_id=user_id, user_name=user_name, paired_at=now)
            return Checked("paired")
        record["wrong"] = wrong = int(record.get("wrong", 0)) + 1
        last[user_id] = now
        if wrong >= MAX_WRONG:
            record["phase"] = "burned"
        return Checked("burned" if wrong >= MAX_WRONG else "wrong", MAX_WRONG - wrong)

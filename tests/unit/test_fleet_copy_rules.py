"""A copy of a fleet timer allows only while this machine's listener beats (its Mirror
would remove the copy when the timer is revoked anywhere); this machine's own timers do
not depend on the listener."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tether_hooks import heartbeat, paths, rules


def _timer(origin: str | None) -> dict:
    now = time.time()
    timer = {"id": "f3c9e1", "scope": "tool", "tool": "bash", "created_at": now,
             "expires_at": now + 600, "created_by": "alice"}
    return {**timer, "origin": origin} if origin else timer


REQUEST = {"tool_name": "Bash", "tool_input": {"command": "make check"}, "cwd": "/tmp",
           "session_id": "s"}


@pytest.mark.parametrize("beat_age, copy_allows", [
    (None, False),  # no listener (stopped cleanly: no heartbeat file)
    (60.0, False),  # a listener silent for a minute (killed, frozen)
    (11.0, False),  # just past five beats
    (1.0, True),    # a live listener: its Mirror keeps the copy true
])
def test_a_fleet_copy_allows_only_while_the_listener_beats(
        tether_home: Path, beat_age: float | None, copy_allows: bool) -> None:
    os.makedirs(paths.state_dir(), exist_ok=True)
    if beat_age is not None:
        heartbeat.beat()
        then = time.time() - beat_age
        os.utime(paths.listener_beat_file(), (then, then))
    now = time.time()
    copy = rules.find_timer({"f3c9e1": _timer("fleet")}, REQUEST, now)
    own = rules.find_timer({"a1b2": _timer(None)}, REQUEST, now)
    assert (copy is not None) is copy_allows
    assert own is not None

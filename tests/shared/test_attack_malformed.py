"""Attack (issue 11): malformed records in the shared Redis (another version, a hand edit,
a half-written record) must never be a traceback: the CLI prints a clear line, and the
leader's fleet view (``FleetStore.refresh``, which ``Station._elected`` and
``FleetStore.follow`` call) skips the bad entry and keeps serving the others."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis
from test_fleet_cli import publish, remote_request, run, shared  # noqa: F401

from tether_hooks.errors import TetherError
from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.keys import Keys


def _plant(client: redis.Redis, keys: Keys, bad: str) -> None:
    record: dict[str, Any] = remote_request("a1b2")
    if bad == "expires_at_null":
        record["expires_at"] = None
    if bad == "created_at_text":
        record["created_at"] = "yesterday"
    publish(client, keys, "devbox", "req", [record])
    client.zadd(keys.machines, {"devbox": time.time() * 1000})
    client.hset(keys.machine("devbox"), mapping={
        "beat": "soon" if bad == "beat_text" else str(int(time.time() * 1000)),
        "state": "member", "platforms": "[]", "usable": "false", "version": "1"})
    if bad == "fleet_timer_expiry_text":
        client.hset(keys.fleet_timers, "t1", json.dumps({
            "scope": "tool", "tool": "Read", "expires_at": "soon", "created_at": 1,
            "created_by": "x"}))
    if bad == "order_extra_list":
        client.hset(keys.orders("devbox"), "a1b2", json.dumps({
            "behavior": "allow", "extra": [1, 2], "request_at": record["created_at"]}))


CASES = [
    ("expires_at_null", ["status"]), ("expires_at_null", ["pending"]),
    ("expires_at_null", ["machines"]),
    ("created_at_text", ["status"]), ("created_at_text", ["pending"]),
    ("beat_text", ["machines"]), ("beat_text", ["approve", "a1b2"]),
    ("fleet_timer_expiry_text", ["status"]), ("fleet_timer_expiry_text", ["timers"]),
    ("fleet_timer_expiry_text", ["allow-bash", "git status", "--all-machines", "--for", "5m"]),
    ("order_extra_list", ["status"]), ("order_extra_list", ["pending"]),
    ("order_extra_list", ["timers"]), ("order_extra_list", ["machines"]),
    ("order_extra_list", ["approve", "a1b2"]), ("order_extra_list", ["revoke", "--all"]),
]


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize(("bad", "argv"), CASES, ids=[f"{b}-{a[0]}" for b, a in CASES])
def test_a_malformed_record_is_no_traceback_in_the_cli(
        bad: str, argv: list[str], client: redis.Redis, keys: Keys) -> None:
    _plant(client, keys, bad)
    result = run(*argv)
    # (through ``main`` an exception that is not a TetherError is "unexpected error", exit 3)
    assert result.exception is None or isinstance(result.exception, TetherError | SystemExit), \
        repr(result.exception)


def test_a_malformed_order_does_not_break_the_leaders_fleet_view(
        client: redis.Redis, keys: Keys) -> None:
    publish(client, keys, "laptop", "req", [remote_request("c3d4", machine="laptop")])
    _plant(client, keys, "order_extra_list")
    fleet = FleetStore(keys, client, "/nonexistent")
    fleet.refresh()  # raises TypeError: _elected fails (crash loop), follow() dies
    assert "c3d4@laptop" in fleet.read()["requests"]

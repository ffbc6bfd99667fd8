"""Attack (issue 11): an order must be tied to the request the decider saw. ``FleetStore``
decides from its snapshot, but ``orders.decide`` re-reads ``created_at`` from Redis and
binds the order to whatever request holds that id *now*: if devbox pruned ``a1b2`` and a
new request reused the id since the snapshot, the press meant for the old one allows the
new one."""

from __future__ import annotations

import json

import redis
from test_fleet_cli import publish, remote_request

from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.keys import Keys


def test_a_decision_on_a_stale_snapshot_does_not_allow_a_request_that_reused_the_id(
        client: redis.Redis, keys: Keys) -> None:
    old = remote_request("a1b2", tool_input={"command": "ls"}, summary="ls")
    publish(client, keys, "devbox", "req", [old])
    fleet = FleetStore(keys, client, "/nonexistent")
    fleet.refresh()
    assert fleet.read()["requests"]["a1b2@devbox"]["summary"] == "ls"
    # devbox: the old request pruned, a new one got the same id (not yet refreshed here)
    new = remote_request("a1b2", tool_input={"command": "rm -rf /srv"}, summary="rm -rf /srv",
                         created_at=old["created_at"] + 60)
    publish(client, keys, "devbox", "req", [new])
    fleet.decide_with_timer("a1b2@devbox", "allow", by="@alice", via="telegram")
    order = json.loads(client.hget(keys.orders("devbox"), "a1b2") or "{}")
    assert order.get("request_at") != new["created_at"], \
        "the allow meant for 'ls' was written for 'rm -rf /srv'"

"""The CLI across the fleet, on a real Redis: this machine is ``laptop``; ``devbox``'s records
are written as its station writes them (docs/shared-build.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result
from harness.redis import RedisServer, free_port

from tether_hooks.main import cli
from tether_hooks.shared.keys import Keys
from tether_hooks.store import Store

REQUEST = {"agent": "claude", "event": "PermissionRequest", "session_id": "s-local",
           "cwd": "/home/user/proj", "tool_name": "Bash",
           "tool_input": {"command": "git status"}, "paths": []}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def remote_request(rid: str, **fields: Any) -> dict[str, Any]:
    now = time.time()
    return {"id": rid, "agent": "codex", "event": "PermissionRequest", "session_id": "s-dev",
            "cwd": "/srv/api", "tool_name": "Bash", "tool_input": {"command": "make deploy"},
            "summary": "make deploy", "status": "pending", "decision": None,
            "created_at": now, "expires_at": now + 300, "machine": "devbox", **fields}


def publish(client: redis.Redis, keys: Keys, machine: str, field: str, items: list[Any]) -> None:
    """Station ``machine`` writes ``items`` into its hash ``field`` (req/sess/tmr)."""
    name = {"req": keys.requests, "sess": keys.sessions, "tmr": keys.timers}[field](machine)
    pipe = client.pipeline(transaction=True)
    for item in items:
        pipe.hset(name, item["id"], json.dumps(item))
    pipe.hincrby(keys.rev, machine, 1)
    pipe.execute()


def shared_config(home: Path, url: str, namespace: str) -> None:
    (home / "config.toml").write_text(
        f'[shared]\nredis_url = "{url}"\nmachine = "laptop"\nnamespace = "{namespace}"\n')


@pytest.fixture
def shared(tether_home: Path, redis_server: RedisServer, namespace: str) -> None:
    shared_config(tether_home, redis_server.url, namespace)


@pytest.fixture
def redis_down(tether_home: Path, namespace: str) -> str:
    """[shared] pointing at a port nothing listens on; returns its password."""
    password = "s3cret-pw"
    shared_config(tether_home, f"redis://:{password}@127.0.0.1:{free_port()}/0", namespace)
    return password


def orders(client: redis.Redis, keys: Keys, machine: str) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in client.hgetall(keys.orders(machine)).items()}


@pytest.mark.usefixtures("shared")
def test_approve_of_another_machines_request_writes_one_order(client: redis.Redis,
                                                              keys: Keys) -> None:
    publish(client, keys, "devbox", "req", [remote_request("a1b2")])
    result = run("approve", "a1b2")
    assert result.exit_code == 0, result.output
    assert "Allowed a1b2@devbox (Bash); sent to devbox, not confirmed yet" in result.stdout
    again = run("deny", "a1b2@devbox", "--reason", "no")
    assert again.exit_code == 1 and "already allowed" in again.output
    (order,) = orders(client, keys, "devbox").values()
    assert order["behavior"] == "allow" and order["via"] == "cli"


@pytest.mark.usefixtures("shared")
def test_a_local_request_keeps_the_local_path(client: redis.Redis, keys: Keys) -> None:
    record = Store().add_request(REQUEST, timeout=300)
    publish(client, keys, "devbox", "req", [remote_request("9f9f")])
    result = run("deny", record["id"], "--reason", "not now")
    assert result.exit_code == 0 and f"Denied {record['id']} (Bash)" in result.stdout
    assert Store().read()["requests"][record["id"]]["status"] == "denied"
    assert orders(client, keys, "laptop") == {} and orders(client, keys, "devbox") == {}


@pytest.mark.usefixtures("shared")
def test_an_id_on_two_machines_is_ambiguous(client: redis.Redis, keys: Keys) -> None:
    record = Store().add_request(REQUEST, timeout=300)
    publish(client, keys, "devbox", "req", [remote_request(record["id"])])
    result = run("approve", record["id"])
    assert result.exit_code == 1
    assert f"matches several requests: {record['id']}@devbox, {record['id']}@laptop" \
        in result.output
    assert Store().read()["requests"][record["id"]]["status"] == "pending"
    assert run("approve", f"{record['id']}@laptop").exit_code == 0
    assert Store().read()["requests"][record["id"]]["status"] == "allowed"
    assert orders(client, keys, "devbox") == {}


def test_all_machines_without_shared_is_refused() -> None:
    result = run("allow-tool", "Read", "--all-machines")
    assert result.exit_code == 1 and "--all-machines needs [shared]" in result.output
    assert Store().read()["timers"] == {}


@pytest.mark.usefixtures("shared")
def test_an_all_machines_timer_is_shared_kept_here_and_revoked_everywhere(
        client: redis.Redis, keys: Keys) -> None:
    record = Store().add_request(REQUEST, timeout=300)
    result = run("allow-bash", "git status*", "--all-machines", "--for", "1h", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    tid = shown["timer"]["id"]
    # no listener beats here (none runs in this test): a fleet copy allows nothing then
    # (rules._mirror_alive), so the request waits for the listener's Mirror
    assert len(tid) == 6 and shown["allowed_requests"] == []
    assert Store().read()["requests"][record["id"]]["status"] == "pending"
    stored = json.loads(client.hget(keys.fleet_timers, tid) or "{}")
    assert stored["origin"] == "fleet" and stored["prefix"] == "git status*"
    assert Store().read()["timers"][tid]["origin"] == "fleet"
    listed = run("timers").stdout
    assert f'all  Allow Bash "git status*" (timer {tid},' in listed
    revoked = run("revoke", tid[:5])
    assert revoked.exit_code == 0 and f"Revoked {tid}" in revoked.stdout
    assert client.hlen(keys.fleet_timers) == 0 and Store().read()["timers"] == {}
    refused = run("allow-tool", "Read", "--all-machines", "--session", "s-1")
    assert refused.exit_code == 1 and "drop --session" in refused.output


@pytest.mark.usefixtures("shared")
def test_timers_and_revoke_of_another_machines_timer(client: redis.Redis, keys: Keys) -> None:
    now = time.time()
    publish(client, keys, "devbox", "tmr", [
        {"id": "7f3a", "scope": "tool", "tool": "bash", "tool_label": "Bash",
         "session_id": None, "created_at": now, "expires_at": now + 600,
         "created_by": "ann", "machine": "devbox"}])
    assert run("allow-tool", "Write", "--for", "30m").exit_code == 0
    listed = run("timers").stdout.splitlines()
    assert any(line.startswith("devbox  Allow Bash (timer 7f3a,") for line in listed)
    assert any(line.startswith("laptop  Allow Write (timer ") for line in listed)
    result = run("revoke", "7f3a")
    assert result.exit_code == 0 and "Revoked 7f3a" in result.stdout
    ((_, fields),) = client.xrange(keys.ops("devbox"))
    assert json.loads(fields["op"]) == {"op": "revoke", "timer": "7f3a"}
    assert len(Store().read()["timers"]) == 1  # this machine's own timer stays


@pytest.mark.usefixtures("shared")
def test_status_and_pending_list_every_machine(client: redis.Redis, keys: Keys) -> None:
    record = Store().add_request(REQUEST, timeout=300)
    publish(client, keys, "devbox", "req", [remote_request("c3d4")])
    publish(client, keys, "devbox", "sess", [
        {"id": "s-dev-0123456789", "agent": "codex", "status": "active", "cwd": "/srv/api",
         "last_seen": time.time(), "machine": "devbox"}])
    client.set(keys.leader, "devbox:123:abcd1234")
    text = run("status").stdout
    assert "Shared: this machine is laptop" in text and "leader devbox" in text
    assert "  devbox  s-dev-01  codex  active  /srv/api" in text
    assert "  devbox  c3d4@devbox  codex  Bash: make deploy" in text
    assert f"  laptop  {record['id']}  claude  Bash: git status" in text
    pending = json.loads(run("pending", "--json").stdout)
    assert {(p["id"], p["machine"]) for p in pending} == {(record["id"], "laptop"),
                                                           ("c3d4@devbox", "devbox")}


def test_redis_down_status_says_so_and_a_remote_approve_fails_clearly(
        redis_down: str) -> None:
    record = Store().add_request(REQUEST, timeout=300)
    status = run("status")
    assert status.exit_code == 0, status.output
    assert "shared store unreachable (" in status.output
    assert "showing this machine only" in status.output
    assert record["id"] in status.stdout and "Traceback" not in status.output
    pending = run("pending")
    assert pending.exit_code == 0 and record["id"] in pending.stdout
    assert "shared store unreachable (" in pending.output
    remote = run("approve", "a1b2@devbox")
    assert remote.exit_code == 1 and "is unreachable" in remote.output
    assert "Traceback" not in remote.output and redis_down not in remote.output
    local = run("approve", record["id"])  # this machine's own: as without Redis
    assert local.exit_code == 0 and Store().read()["requests"][record["id"]]["status"] \
        == "allowed"


@pytest.mark.usefixtures("shared")
def test_machines_lists_the_fleet_with_the_leader_and_you(client: redis.Redis,
                                                          keys: Keys) -> None:
    sec, usec = client.time()
    now_ms = sec * 1000 + usec // 1000
    for name, beat, state in (("laptop", now_ms, "member"), ("devbox", now_ms - 500, "leader"),
                              ("ci", now_ms - 60_000, "member")):
        client.zadd(keys.machines, {name: beat})
        client.hset(keys.machine(name), mapping={
            "version": "0.1.0", "pid": "1", "state": state, "beat": str(beat),
            "platforms": json.dumps(["telegram"] if name == "devbox" else []),
            "usable": "[]"})
    client.set(keys.leader, "devbox:42:0badc0de")
    publish(client, keys, "devbox", "req", [remote_request("a1b2")])
    lines = run("machines").stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "LAST-BEAT", "VERSION", "PLATFORMS", "PENDING"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "★ leader" in rows["devbox"] and "telegram" in rows["devbox"]
    assert rows["devbox"].rstrip().endswith("1")
    assert "(you)" in rows["laptop"] and "(stale)" in rows["ci"]
    data = json.loads(run("machines", "--json").stdout)
    assert [(m["name"], m["leader"], m["you"], m["stale"]) for m in data] == [
        ("ci", False, False, True), ("devbox", True, False, False),
        ("laptop", False, True, False)]

"""Attack 2: a poison operation wedges every later one (a revoke never lands), and a
password's unsalted hash reaches the shared store through the request's summary."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from harness.redis import RedisServer

from tether_hooks.shared import orders
from tether_hooks.shared.apply import Applier
from tether_hooks.shared.client import connect, connect_sync
from tether_hooks.shared.forward import Forwarder
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.settings import SharedSettings
from tether_hooks.store import Store
from tether_hooks.timers import draft


def run(coro: Any, timeout: float = 20) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def settings(redis_server: RedisServer, namespace: str) -> SharedSettings:
    return SharedSettings(url=redis_server.url, machine="dev-box", namespace=namespace)


@pytest.mark.parametrize("bad", [
    {"op": "session", "session": "s-1", "fields": {"session_id": "x"}},
    {"op": "session", "session": "s-1", "fields": {"self": 1}},
    {"op": "session", "session": "s-1", "fields": {"status": "ended"}},  # not a remote's
    {"op": "timer", "timer": {"scope": "dir", "path": 5}},
    {"op": "timer", "timer": "not an object"},
    {"op": "revoke", "timer": ["a", "list"]},
    {"op": "made-up"},
])
def test_a_malformed_session_op_does_not_block_a_later_revoke(
        tmp_path: Path, settings: SharedSettings, bad: dict) -> None:
    """A session op whose fields name ``session_id`` (another version, a hand edit) makes
    ``Store.set_session`` raise TypeError: the cursor never passes it, so every later op for
    the machine, a revoke included, is never applied and the timer keeps allowing."""
    keys = Keys(settings.namespace)
    store = Store(path=str(tmp_path / "state.json"))
    timer, _ = store.add_drafted(draft("tool", "1h", created_by="alice", tool="Bash"))
    sync = connect_sync(settings)
    store.add_request({"agent": "claude", "event": "PermissionRequest", "session_id": "s-1",
                       "cwd": "/tmp", "tool_name": "Read", "tool_input": {}}, 60)
    orders.send_op(sync, keys, "dev-box", bad)
    orders.send_op(sync, keys, "dev-box", {"op": "revoke", "timer": timer["id"]})

    async def scenario() -> None:
        c = connect(settings)
        try:
            applier = Applier(c, keys, "dev-box", store, lambda rid: None,
                              cursor_path=str(tmp_path / "shared.json"))
            for _ in range(3):  # as run() does: the error is logged and the scan retried
                with contextlib.suppress(Exception):
                    await applier.scan()
        finally:
            await c.aclose()

    run(scenario())
    assert timer["id"] not in store.read()["timers"], "the revoke was never applied"
    assert store.read()["sessions"]["s-1"].get("status") != "ended"  # only /stop may come


@pytest.mark.parametrize("command", [
    "mysql -pHunter2pass -u root db",
    "curl -u admin:Hunter2pass https://example.test",
    "PGPASSWORD=Hunter2pass psql -h db",
    "export API_TOKEN=Hunter2pass",
])
def test_no_password_hash_in_the_shared_store(tmp_path: Path, settings: SharedSettings,
                                              command: str) -> None:
    """``summary`` keeps audit's hashed markers (unsalted sha256, 12 hex); chat drops them,
    but ``shared_request`` forwards it as is: a weak password can be brute-forced by
    whoever reads the Redis."""
    keys = Keys(settings.namespace)
    store = Store(path=str(tmp_path / "state.json"))
    request = store.add_request(
        {"agent": "claude", "event": "PermissionRequest", "session_id": "s-1", "cwd": "/tmp",
         "tool_name": "Bash", "tool_input": {"command": command}}, 60)

    async def scenario() -> None:
        c = connect(settings)
        try:
            await Forwarder(c, keys, "dev-box", store).sync()
        finally:
            await c.aclose()

    run(scenario())
    stored = connect_sync(settings).hget(keys.requests("dev-box"), request["id"]) or ""
    digest = hashlib.sha256(b"Hunter2pass").hexdigest()[:12]
    assert digest not in stored, json.loads(stored).get("summary")
    assert "Hunter2pass" not in stored

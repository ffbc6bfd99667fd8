"""Fixtures of the shared-store tests: one real Redis server per session, a fresh
namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from emulators.telegram import TelegramEmulator
from harness.fleet import Fleet
from harness.hookproc import HookRunner
from harness.redis import RedisServer

from tether_hooks.shared.keys import Keys


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def namespace() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def fleet(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, namespace: str,
          telegram_emulator: TelegramEmulator, hook: HookRunner) -> Iterator[Fleet]:
    """Machines on this test's namespace and one Telegram bot; their listeners stopped
    after the test, and Redis running again if the test stopped it."""
    made = Fleet(tmp_path_factory.mktemp("fleet"), redis_server, namespace,
                 telegram_emulator, hook)
    try:
        yield made
    finally:
        made.close()
        if redis_server.proc is None:
            redis_server.start()


@pytest.fixture
def keys(namespace: str) -> Keys:
    """This test's key names (its own namespace)."""
    return Keys(namespace)


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    """A client of the test server, as the tests' own window on Redis."""
    return redis_server.client()

"""Fixtures of the shared-store tests: one real Redis server per session, a fresh
namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from harness.redis import RedisServer


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

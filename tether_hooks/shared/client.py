"""Connecting to the shared Redis: one place that turns settings into clients and Redis
errors into ``SharedUnavailable`` with a message a user can act on (no password in it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis
import redis.asyncio

from tether_hooks.errors import TetherError
from tether_hooks.shared.settings import SharedSettings

__all__ = ["SharedUnavailable", "connect", "connect_sync", "unavailable"]

TIMEOUT = 2.0  # connect and socket timeout: an unreachable Redis is never a long stall


class SharedUnavailable(TetherError):
    """The shared Redis cannot be reached or refused us."""


def _options(s: SharedSettings, timeout: float) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
        "health_check_interval": 10,
    }
    if s.tls and s.tls_ca:
        options["ssl_ca_certs"] = s.tls_ca
    return options


def connect(s: SharedSettings, timeout: float = TIMEOUT) -> redis.asyncio.Redis:
    """An asyncio client (decoded strings). Nothing is sent until it is used."""
    return redis.asyncio.Redis.from_url(s.url, **_options(s, timeout))


def connect_sync(s: SharedSettings, timeout: float = TIMEOUT) -> redis.Redis:
    """A blocking client for the CLI."""
    return redis.Redis.from_url(s.url, **_options(s, timeout))


def describe(exc: BaseException, s: SharedSettings) -> str:
    """A Redis error as one line, never with the password."""
    text = f"{type(exc).__name__}: {exc}"
    if s.password:
        text = text.replace(s.password, "***")
    return f"the shared store {s.where()} is unreachable ({text})"


@contextlib.contextmanager
def unavailable(s: SharedSettings) -> Iterator[None]:
    """Redis errors inside become ``SharedUnavailable`` (a clear message, no traceback)."""
    try:
        yield
    except (redis.RedisError, OSError) as exc:
        raise SharedUnavailable(describe(exc, s)) from None

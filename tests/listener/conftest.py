"""Listener tests: no listener process outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _stop_listener(tether_home: Path) -> Iterator[None]:
    yield
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    if relay.listener_pid() is not None:
        daemon.stop(timeout=10)

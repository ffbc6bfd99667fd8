"""The one way tests wait for something another process (or task) does: a bounded poll.

    request = until(lambda: pending_request(), what="the request to be pending")

``until`` calls ``condition`` every ``POLL`` seconds until it returns something truthy, and
returns that; after ``timeout`` seconds it fails the test, naming ``what``. Timeouts are
generous (they only bound a failing test); nothing asserts how long a wait took.
In a coroutine, ``await until_async(...)`` polls in a worker thread so the event loop (and
the dispatcher under test) keeps running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["POLL", "until", "until_async"]

T = TypeVar("T")
POLL = 0.01


def until(condition: Callable[[], T], *, timeout: float = 10.0, what: str = "the condition"
          ) -> T:
    """``condition()`` once it is truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


async def until_async(condition: Callable[[], T], *, timeout: float = 10.0,
                      what: str = "the condition") -> T:
    """``until`` from a coroutine, without blocking the event loop."""
    return await asyncio.to_thread(until, condition, timeout=timeout, what=what)

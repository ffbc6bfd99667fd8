"""The loops that follow Redis: a doorbell (pub/sub) with a poll behind it, and their
errors told once (``Trouble``). Pub/sub is at most once, so every reader also reads every
``interval`` seconds; a lost message costs that long, never a decision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio

__all__ = ["Trouble", "follow_bell", "still_running"]

log = logging.getLogger("tether_hooks.listener")


class Trouble:
    """Logs a failing loop's error once (and its recovery once): no log flood, no secret
    (Redis errors do not carry the password; the message is the exception's own)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failing = False

    def failed(self, exc: BaseException) -> None:
        if not self.failing:
            log.warning("%s failed, retrying: %s: %s", self.what, type(exc).__name__, exc)
        self.failing = True

    def ok(self) -> None:
        if self.failing:
            log.info("%s works again", self.what)
        self.failing = False


def still_running() -> None:
    """Raise CancelledError if this task was cancelled but a library swallowed it (redis-py
    reading a pub/sub message can, on Python 3.11): a loop must stop when told to."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def follow_bell(client: redis.asyncio.Redis, channel: str,
                      step: Callable[[], Awaitable[object]], trouble: Trouble,
                      interval: float, *, pattern: bool = False) -> None:
    """``step()`` at once, on each message of ``channel`` (a glob with ``pattern``) and
    every ``interval`` s, until
    Redis fails: the error goes to ``trouble`` and this returns (the caller waits, calls
    again). Cancelling stops it."""
    pubsub = client.pubsub()
    try:
        await (pubsub.psubscribe(channel) if pattern else pubsub.subscribe(channel))
        while True:
            await step()
            trouble.ok()
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=interval)
            still_running()
    except Exception as exc:
        trouble.failed(exc)
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone already
            await pubsub.aclose()
    still_running()

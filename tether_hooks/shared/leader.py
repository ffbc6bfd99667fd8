"""Electing the one station that holds the chat connections, and fencing what only it writes.

The leader holds ``keys.leader`` = its token, set with ``SET NX PX`` and renewed every
``renew_every`` s by a script that extends it only while it still holds the token. Its
``Lease`` runs on this machine's clock (``lease_clock``: it counts a laptop's sleep), from
the time read *before* each campaign or renewal was sent, so it ends no later than the key
in Redis whatever the clocks say. A platform wait (Telegram getUpdates, a Slack ack, a
Discord read) starts only if the lease ``allows`` its whole length: it is over before
another station can be elected.

Renewals that fail (Redis unreachable, paused) are tried again until fewer than
``STEP_DOWN_LEFT`` s are left, then ``on_deposed``; a renewal answered "not yours" (the key
is gone or another's) deposes at once. Candidates campaign every ``campaign_every`` s and
at once on ``PUBLISH bell:leader free`` (``release``, a clean stop).

``fenced_set`` writes a key only while ``keys.leader`` holds the given token (one script),
else raises ``NotLeader``: a deposed leader's late write never lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio

from tether_hooks.errors import TetherError
from tether_hooks.shared.keys import Keys

__all__ = ["MAX_WAIT", "STEP_DOWN_LEFT", "Elector", "Lease", "NotLeader", "fenced_set",
           "lease_clock"]

log = logging.getLogger("tether_hooks.shared")

MAX_WAIT = 4.0  # the longest platform wait under a lease (Telegram's poll timeout is capped)
STEP_DOWN_LEFT = 2.0  # renewals failing: deposed when this much of the lease is left
JITTER = 0.3  # added to each campaign pause, so candidates do not all ask at once
FREE = "free"  # published on bell:leader by a leader that released the lease

# KEYS[1] leader; ARGV token, ms. Set if free, extended if ours already (a lost reply).
CLAIM = """
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] leader; ARGV token, ms.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] leader, KEYS[2] the bell channel; ARGV token, the message.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] leader, KEYS[2] the key written; ARGV token, value, ms (0: no expiry).
FENCED_SET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""


class NotLeader(TetherError):
    """A fenced write was refused: this station no longer holds the lease."""


def lease_clock() -> float:
    """Seconds on a clock that keeps counting while the machine sleeps."""
    if sys.platform == "linux":
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Lease:
    """The leader's time to act on the platforms (``base.Lease``), until ``until`` on
    ``clock``. ``end`` (deposed, released) makes it allow nothing, for good."""

    max_wait: float = MAX_WAIT

    def __init__(self, token: str, until: float, *,
                 clock: Callable[[], float] = lease_clock) -> None:
        self.token = token
        self.until = until
        self._clock = clock
        self._yielded = False

    def left(self) -> float:
        """Seconds left (negative once over)."""
        return self.until - self._clock()

    def allows(self, seconds: float) -> bool:
        """Can a wait of ``seconds`` start now and end within the lease?"""
        return not self._yielded and self.left() >= seconds

    def conflict(self) -> None:
        """A platform said another program polls it (Telegram's 409): logged, and nothing
        is allowed until the next renewal."""
        log.warning("a platform reports another poller while this station leads the fleet; "
                    "pausing its waits until the lease is renewed")
        self._yielded = True

    def renewed(self, until: float) -> None:
        if math.isfinite(self.until):
            self.until = max(self.until, until)
            self._yielded = False

    def end(self) -> None:
        self.until = -math.inf


def fenced_set(client: redis.Redis, keys: Keys, token: str, key: str, value: str,
               px: int | None = None) -> None:
    """``SET key value [PX px]`` only while ``token`` leads; NotLeader otherwise."""
    script = client.register_script(FENCED_SET)
    if not script(keys=[keys.leader, key], args=[token, value, int(px or 0)]):
        raise NotLeader(f"this station no longer leads the fleet: {key} was not written")


OnElected = Callable[[Lease], Awaitable[None]]
OnDeposed = Callable[[], Awaitable[None]]


class Elector:
    """Campaigns for ``keys.leader`` with ``token``; ``on_elected(lease)`` once it holds
    it, ``on_deposed()`` once it lost it (both awaited in ``run``'s task)."""

    def __init__(self, aclient: redis.asyncio.Redis, keys: Keys, token: str,
                 on_elected: OnElected, on_deposed: OnDeposed, *, lease_ms: int = 8000,
                 renew_every: float = 1.0, campaign_every: float = 1.0) -> None:
        self.client, self.keys, self.token = aclient, keys, token
        self.on_elected, self.on_deposed = on_elected, on_deposed
        self.lease_ms, self.renew_every, self.campaign_every = lease_ms, renew_every, campaign_every
        self.lease: Lease | None = None  # while leading
        self._claim = aclient.register_script(CLAIM)
        self._renew = aclient.register_script(RENEW)
        self._release = aclient.register_script(RELEASE)
        self._free = asyncio.Event()  # a "free" on bell:leader, or release()
        self._key_lock = asyncio.Lock()  # a campaign never lands after release
        self._stopped = False
        self._said: str | None = None

    @property
    def bell(self) -> str:
        return self.keys.bell("leader")

    async def run(self) -> None:
        """Campaign, lead, and campaign again, until ``release``; never raises a Redis error."""
        listener = asyncio.ensure_future(self._listen())
        try:
            while not self._stopped:
                self._free.clear()
                lease = await self._campaign()
                if lease is not None:
                    await self._lead(lease)
                if not self._stopped:
                    await self._pause(self.campaign_every + random.uniform(0, JITTER))
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def release(self) -> None:
        """Stop for good: the lease ends, the key is deleted if still ours and candidates
        are told at once. Call it after this station's bridges are closed."""
        self._stopped = True
        self._free.set()
        if self.lease is not None:
            self.lease.end()
        async with self._key_lock:
            try:
                await self._release(keys=[self.keys.leader, self.bell],
                                    args=[self.token, FREE])
            except (redis.RedisError, OSError) as exc:
                log.warning("cannot release the fleet's lease (it expires by itself): %s",
                            type(exc).__name__)

    # -- the steps ------------------------------------------------------------------------

    async def _campaign(self) -> Lease | None:
        sent = lease_clock()
        try:
            async with self._key_lock:
                if self._stopped:
                    return None
                won = await self._claim(keys=[self.keys.leader],
                                        args=[self.token, self.lease_ms])
        except (redis.RedisError, OSError) as exc:
            self._problem(f"cannot campaign for the fleet's lead: {type(exc).__name__}")
            return None
        self._problem(None)
        return Lease(self.token, sent + self.lease_ms / 1000) if won else None

    async def _lead(self, lease: Lease) -> None:
        self.lease = lease
        log.info("this station leads the fleet")
        try:
            await self.on_elected(lease)
            while not self._stopped:
                await self._pause(min(self.renew_every, lease.left() - STEP_DOWN_LEFT))
                if self._stopped or not await self._renewed(lease):
                    break
        except Exception:
            log.exception("leading the fleet failed; stepping down")
        finally:
            self.lease = None
            if not self._stopped:
                lease.end()
                log.warning("this station no longer leads the fleet")
                try:
                    await self.on_deposed()
                except Exception:
                    log.exception("stepping down failed")

    async def _renewed(self, lease: Lease) -> bool:
        """Renew, retrying errors while more than STEP_DOWN_LEFT s are left."""
        while not self._stopped:
            budget = lease.left() - STEP_DOWN_LEFT
            if budget <= 0:
                log.warning("the fleet's lease could not be renewed in time")
                return False
            sent = lease_clock()
            try:
                held = await asyncio.wait_for(
                    self._renew(keys=[self.keys.leader], args=[self.token, self.lease_ms]),
                    budget)
            except TimeoutError:
                continue  # the budget is spent: the check above says so
            except (redis.RedisError, OSError) as exc:
                self._problem(f"cannot renew the fleet's lease: {type(exc).__name__}")
                await self._pause(min(self.renew_every / 4, lease.left() - STEP_DOWN_LEFT))
                continue
            self._problem(None)
            if not held:
                log.warning("the fleet's lease was lost (another station holds it, or Redis "
                            "lost it)")
                return False
            lease.renewed(sent + self.lease_ms / 1000)
            return True
        return False

    async def _pause(self, seconds: float) -> None:
        """Up to ``seconds``, cut short by ``release`` (or a "free" while campaigning)."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._free.wait(), seconds)

    async def _listen(self) -> None:
        """Set ``_free`` on each "free" on bell:leader; reconnects on errors."""
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.bell)
                    while True:
                        message: Any = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0)
                        if message and message.get("data") == FREE and self.lease is None:
                            self._free.set()
            except (redis.RedisError, OSError):
                await asyncio.sleep(1.0)  # the campaign says what is wrong

    def _problem(self, text: str | None) -> None:
        """Log a problem once (and its end), not at each retry."""
        if text != self._said:
            if text:
                log.warning("%s", text)
            elif self._said:
                log.info("the shared store answers again")
            self._said = text

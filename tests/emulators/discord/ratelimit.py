"""Discord's rate limit buckets, as seen in the ``X-RateLimit-*`` headers.

A bucket is the route (method + path template: message ids, emoji and user ids templated)
with its major parameter (channel id, webhook id + token) kept; ``X-RateLimit-Bucket`` is a
stable hash of it. Each bucket allows ``limit`` requests per fixed ``window`` seconds from its
first request; bot-token calls also share a global ``global_limit`` per second. Refused
requests do not count.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

__all__ = ["Bucket", "Limiter", "Verdict"]


@dataclass
class Bucket:
    start: float = 0.0
    used: int = 0


@dataclass
class Verdict:
    """What to answer: ``retry_after`` set means 429."""

    bucket: str
    limit: int
    remaining: int
    reset: float
    reset_after: float
    retry_after: float | None = None
    scope: str = "user"

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


class Limiter:
    def __init__(self) -> None:
        self.bucket_limit = 50
        self.bucket_window = 1.0
        self.global_limit = 50
        self.buckets: dict[str, Bucket] = {}
        self.global_bucket = Bucket()

    @staticmethod
    def bucket_hash(key: str) -> str:
        return hashlib.sha1(key.encode()).hexdigest()[:32]

    def _roll(self, b: Bucket, now: float, window: float) -> None:
        if now - b.start >= window:
            b.start, b.used = now, 0

    def take(self, key: str, *, bot: bool, now: float | None = None) -> Verdict:
        """Count one request on ``key`` (and the global bucket for bot calls) unless over."""
        now = time.time() if now is None else now
        window, limit = self.bucket_window, self.bucket_limit
        b = self.buckets.setdefault(key, Bucket(now, 0))
        self._roll(b, now, window)
        g = self.global_bucket
        self._roll(g, now, 1.0)
        reset = b.start + window
        verdict = Verdict(self.bucket_hash(key), limit, max(0, limit - b.used - 1), reset,
                          max(0.0, reset - now))
        if bot and g.used >= self.global_limit:
            verdict.retry_after = max(0.001, g.start + 1.0 - now)
            verdict.scope = "global"
            verdict.remaining = max(0, limit - b.used)
            return verdict
        if b.used >= limit:
            verdict.retry_after = max(0.001, reset - now)
            verdict.remaining = 0
            return verdict
        b.used += 1
        if bot:
            g.used += 1
        return verdict

    def peek(self, key: str, now: float | None = None) -> Verdict:
        """Headers for a response that did not count (faults, refusals before counting)."""
        now = time.time() if now is None else now
        b = self.buckets.get(key)
        if b is None or now - b.start >= self.bucket_window:
            return Verdict(self.bucket_hash(key), self.bucket_limit, self.bucket_limit,
                           now + self.bucket_window, self.bucket_window)
        reset = b.start + self.bucket_window
        return Verdict(self.bucket_hash(key), self.bucket_limit,
                       max(0, self.bucket_limit - b.used), reset, max(0.0, reset - now))

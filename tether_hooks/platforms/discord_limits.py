"""Discord's rate limits, honoured before a call is made rather than after a 429.

Every answer carries ``X-RateLimit-Bucket``, ``-Remaining`` and ``-Reset-After``: a route
whose bucket has nothing left waits until it resets. A 429 gives ``retry_after`` (seconds,
a float) and says whether it is ``global`` (every bot call waits) or for the bucket. The
webhook's calls (made by discord-webhook) are noted here too, under their own routes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

__all__ = ["RateLimits", "route_of"]

_IDS = (
    (re.compile(r"/reactions/[^/?]+(/[^/?]+)?"), "/reactions/:emoji"),
    (re.compile(r"/messages/[0-9]+"), "/messages/:id"),
)


def route_of(method: str, path: str) -> str:
    """The route of a call: its method and path with the minor ids templated (a channel or
    webhook id is a major parameter: its own limits)."""
    path = path.split("?", 1)[0]
    for pattern, repl in _IDS:
        path = pattern.sub(repl, path)
    return f"{method.upper()} {path}"


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number == number and 0 <= number < 1e9 else None  # not NaN, sane


class RateLimits:
    """What each bucket has left and when it resets; the global hold."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._bucket_of: dict[str, str] = {}  # route -> bucket id
        self._until: dict[str, float] = {}  # bucket (or route) -> when it has room again
        self._global_until = 0.0
        self.waited = 0.0  # seconds spent waiting (for status and the bench)
        self.limited = 0  # 429s met

    def delay(self, route: str, *, bot: bool = True) -> float:
        """Seconds to wait before calling ``route`` (0: go)."""
        now = self.clock()
        key = self._bucket_of.get(route, route)
        until = self._until.get(key, 0.0)
        if bot:
            until = max(until, self._global_until)
        return max(0.0, until - now)

    def note(self, route: str, status: int, headers: Mapping[str, str],
             body: object = None, *, bot: bool = True) -> float | None:
        """Record an answer's limits; for a 429, the seconds to wait before trying again."""
        now = self.clock()
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        bucket = lower.get("x-ratelimit-bucket")
        if bucket:
            self._bucket_of[route] = bucket
        key = self._bucket_of.get(route, route)
        remaining, reset_after = (_float(lower.get("x-ratelimit-remaining")),
                                  _float(lower.get("x-ratelimit-reset-after")))
        if remaining is not None and remaining < 1 and reset_after is not None:
            self._until[key] = now + reset_after
        elif remaining is not None and remaining >= 1:
            self._until.pop(key, None)
        if status != 429:
            return None
        self.limited += 1
        data = body if isinstance(body, Mapping) else {}
        wait = _float(data.get("retry_after"))
        if wait is None:
            wait = _float(lower.get("retry-after"))
        wait = 1.0 if wait is None else wait
        is_global = data.get("global") is True or lower.get("x-ratelimit-global") == "true"
        if is_global and bot:
            self._global_until = max(self._global_until, now + wait)
        else:
            self._until[key] = max(self._until.get(key, 0.0), now + wait)
        return wait

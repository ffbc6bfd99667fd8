"""Durations as people type them: ``90s``, ``30m``, ``2h``, ``1h30m``, ``1d``."""

from __future__ import annotations

import re

from tether_hooks.errors import UsageError

__all__ = ["MAX_SECONDS", "format_duration", "parse_duration"]

MAX_SECONDS = 7 * 24 * 3600
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Compiled on first use: the hook's fast path imports this module for format_duration.
_PART = (
    r"(\d+)\s*(seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h"
    r"|days|day|d)(?![a-z])"
)


def parse_duration(text: str) -> int:
    """Seconds in ``text``; a bare number means minutes. Raises UsageError."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        seconds = int(cleaned) * 60
    else:
        pos, seconds = 0, 0
        for match in re.finditer(_PART, cleaned, re.I):
            if cleaned[pos : match.start()].strip():
                break
            seconds += int(match.group(1)) * _UNITS[match.group(2)[0]]
            pos = match.end()
        if pos == 0 or cleaned[pos:].strip():
            raise UsageError(
                f"bad duration {text!r}: use a number and a unit, like 90s, 30m, 2h or 1d"
            )
    if seconds <= 0:
        raise UsageError(f"bad duration {text!r}: it must be longer than zero")
    if seconds > MAX_SECONDS:
        raise UsageError(f"bad duration {text!r}: at most 7 days")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form: ``45 s``, ``12 min``, ``2 h 5 min``, ``1 d 3 h``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{(s + 59) // 60} min" if s % 60 else f"{s // 60} min"
    if s < 86400:
        h, m = divmod((s + 59) // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"

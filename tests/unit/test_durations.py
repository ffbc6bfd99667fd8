from __future__ import annotations

import pytest

from tether_hooks.durations import format_duration, parse_duration
from tether_hooks.errors import UsageError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("45", 2700),
     (" 10 MIN ", 600), ("2 hours", 7200), ("1h 5m", 3900)],
)
def test_parse_duration_accepts_what_people_type(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0m", "10x", "5m later", "-5m", "8d", "m"])
def test_parse_duration_rejects_nonsense_with_a_hint(text: str) -> None:
    with pytest.raises(UsageError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (60, "1 min"), (719, "12 min"), (7200, "2 h"), (3900, "1 h 5 min"),
     (90000, "1 d 1 h")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text

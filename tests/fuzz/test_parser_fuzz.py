"""The grammar and duration parsers never raise anything but UsageError, on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tether_hooks import durations, grammar
from tether_hooks.errors import UsageError

WORDS = st.sampled_from(["allow", "deny", "yes", "no", "all", "dir", "Bash", "2h", "30m",
                         "1h30m", "#7f3a", "7f3a", ":", "reason", "\ud800", "99999999999999d",
                         "0s", "mcp__x*", "\n", " ", "*", "allow\u00a0all"])
TEXT = st.one_of(st.text(), st.lists(WORDS, max_size=6).map(" ".join))
FUZZ = settings(max_examples=600, derandomize=True, deadline=None, database=None)
tried = {"grammar": 0, "durations": 0}


@FUZZ
@given(TEXT, st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3)))
def test_grammar_parses_or_declines_any_text(text: str, ids: list[str] | None) -> None:
    tried["grammar"] += 1
    try:
        command = grammar.parse(text, ids)
    except UsageError:
        return
    assert command is None or command.action in ("allow", "deny")


@FUZZ
@given(TEXT)
def test_durations_parse_or_raise_usage_error(text: str) -> None:
    tried["durations"] += 1
    try:
        seconds = durations.parse_duration(text)
    except UsageError:
        return
    assert 0 < seconds <= durations.MAX_SECONDS


def test_each_parser_saw_at_least_500_texts() -> None:
    assert tried["grammar"] >= 500 and tried["durations"] >= 500

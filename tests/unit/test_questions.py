from __future__ import annotations

import json

import pytest
from harness.hookproc import payload

from tether_hooks.errors import UsageError
from tether_hooks.questions import answer_input

ASK = payload("claude/PermissionRequest-AskUserQuestion")["tool_input"]
DB, FEATURES = "Which database should we use?", "Which features do you want?"


def test_answers_in_order_by_number_or_label() -> None:
    out = answer_input(ASK, ["2", "auth, 3"])
    assert out["answers"] == {DB: "SQLite", FEATURES: "Auth, Export"}
    assert out["questions"] == ASK["questions"]


def test_answers_by_question_text_and_free_text() -> None:
    out = answer_input(ASK, [f"{FEATURES}=Search", f"{DB.upper()}=DuckDB please"])
    assert out["answers"] == {DB: "DuckDB please", FEATURES: "Search"}


@pytest.mark.parametrize("given", [[], ["1"], ["1", "2", "3"]])
def test_every_question_needs_one_answer(given: list[str]) -> None:
    with pytest.raises(UsageError, match="1=Postgres, 2=SQLite"):
        answer_input(ASK, given)


def test_no_questions() -> None:
    with pytest.raises(UsageError, match="no questions"):
        answer_input({"questions": "nope"}, ["1"])
    json.dumps(answer_input(ASK, ["1", "1"]))

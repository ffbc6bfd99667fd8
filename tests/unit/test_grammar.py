from __future__ import annotations

import pytest

from tether_hooks.grammar import Command, parse


@pytest.mark.parametrize("text", ["allow", "Allow", "yes", "Y", "ok", "okay", "proceed",
                                  "approve", "continue", " go "])
def test_allow_words(text: str) -> None:
    assert parse(text) == Command("allow")


@pytest.mark.parametrize("text", ["deny", "NO", "n", "cancel", "reject", "stop", "abort"])
def test_deny_words(text: str) -> None:
    assert parse(text) == Command("deny")


def test_deny_reason_is_kept_as_typed() -> None:
    assert parse("deny: Use the STAGING db <b>&</b>") == Command(
        "deny", reason="Use the STAGING db <b>&</b>")
    assert parse("Deny Not on main") == Command("deny", reason="Not on main")
    assert parse("no: too risky") == Command("deny", reason="too risky")
    assert parse("deny:") == Command("deny")


def test_chatty_no_is_not_a_decision_as_in_agent_tether() -> None:
    assert parse("no way") is None
    assert parse("stop it") is None
    assert parse("yes please") is None


def test_scopes_and_durations() -> None:
    assert parse("allow all") == Command("allow", scope="session")
    assert parse("allow dir") == Command("allow", scope="dir")
    assert parse("allow Bash 2h") == Command("allow", scope="tool", tool="Bash", duration=7200)
    assert parse("ALLOW bash") == Command("allow", scope="tool", tool="bash")
    assert parse("allow all 90s") == Command("allow", scope="session", duration=90)
    assert parse("allow mcp__github__create_issue") == Command(
        "allow", scope="tool", tool="mcp__github__create_issue")


def test_request_id_suffix() -> None:
    assert parse("allow 7f3a") == Command("allow", request_id="7f3a")
    assert parse("deny 7F3A: not now") == Command("deny", request_id="7f3a", reason="not now")
    assert parse("deny #7f3a") == Command("deny", request_id="7f3a")
    assert parse("allow Bash 30m 7f3a") == Command(
        "allow", request_id="7f3a", scope="tool", tool="Bash", duration=1800)


def test_known_ids_disambiguate_words_that_look_like_hex() -> None:
    # "dead" has no digit: never an id unless a pending request is called that.
    assert parse("deny dead") == Command("deny", reason="dead")
    assert parse("allow 1234", pending_ids={"abcd"}) is None
    assert parse("allow abcd", pending_ids={"abcd"}) == Command("allow", request_id="abcd")


@pytest.mark.parametrize("text", ["", "hello", "allow 30m", "allow two words", "please allow",
                                  "123", "allow <script>"])
def test_not_an_approval(text: str) -> None:
    assert parse(text) is None

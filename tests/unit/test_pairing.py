"""Pairing codes: what a terminal prints, what a chat line may do with it."""

from __future__ import annotations

import inspect
import os
import stat

import pytest

from tether_hooks import pairing

NOW = 1_790_000_000.0


def test_a_code_is_eight_unambiguous_characters_and_fresh_each_time() -> None:
    codes = {pairing.start("discord", now=NOW) for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == pairing.CODE_LENGTH == 8
        assert set(code) <= set(pairing.ALPHABET)
    assert not set("01IO") & set(pairing.ALPHABET)


def test_the_right_code_pairs_once_and_the_record_is_private() -> None:
    code = pairing.start("discord", now=NOW)
    assert stat.S_IMODE(os.stat(pairing.path()).st_mode) == 0o600
    record = pairing.read()
    assert record is not None and code not in str(record)  # only a salted digest is kept
    assert pairing.check("discord", code, "300000000000000001", "@alice", now=NOW + 1
                         ).result == "paired"
    assert pairing.read()["user_id"] == "300000000000000001"  # type: ignore[index]
    assert pairing.check("discord", code, "300000000000000002", "@bob", now=NOW + 2
                         ).result == "none"


@pytest.mark.parametrize("typed", ["{}", "{} ", "{lower}", "{dash}", " {lower_dash} "])
def test_a_code_typed_with_dashes_spaces_or_lowercase_is_taken(typed: str) -> None:
    code = pairing.start("discord", now=NOW)
    given = typed.format(code, lower=code.lower(), dash=f"{code[:4]}-{code[4:]}",
                         lower_dash=f"{code[:4].lower()} - {code[4:].lower()}")
    assert pairing.check("discord", given, "1", "@a", now=NOW + 1).result == "paired"


def test_another_platforms_pairing_is_none() -> None:
    code = pairing.start("slack", now=NOW)
    assert pairing.check("discord", code, "1", "@a", now=NOW + 1).result == "none"


def test_wrong_codes_are_counted_and_the_fifth_burns_it() -> None:
    code = pairing.start("discord", now=NOW)
    results = [pairing.check("discord", "AAAAAAAA", str(user), f"@{user}", now=NOW + 1)
               for user in range(pairing.MAX_WRONG)]
    assert [r.result for r in results] == ["wrong"] * 4 + ["burned"]
    assert [r.tries_left for r in results] == [4, 3, 2, 1, 0]
    assert pairing.check("discord", code, "9", "@n", now=NOW + 60).result == "none"
    assert pairing.read()["phase"] == "burned"  # type: ignore[index]


def test_a_user_waits_retry_after_between_wrong_codes() -> None:
    code = pairing.start("discord", now=NOW)
    assert pairing.check("discord", "AAAAAAAA", "1", "@a", now=NOW).result == "wrong"
    slow = pairing.check("discord", code, "1", "@a", now=NOW + pairing.RETRY_AFTER - 0.1)
    assert slow.result == "slow" and slow.tries_left == 4  # not counted, not checked
    assert pairing.check("discord", "AAAAAAAA", "2", "@b", now=NOW + 0.1).result == "wrong"
    assert pairing.check("discord", code, "1", "@a", now=NOW + pairing.RETRY_AFTER
                         ).result == "paired"


def test_a_code_expires_after_its_ttl() -> None:
    code = pairing.start("discord", now=NOW)
    assert pairing.check("discord", code, "1", "@a", now=NOW + pairing.TTL).result == "none"
    assert pairing.read()["phase"] == "expired"  # type: ignore[index]


def test_cancel_and_failed_record_how_it_ended() -> None:
    pairing.start("discord", now=NOW)
    pairing.cancel()
    assert pairing.read()["phase"] == "cancelled"  # type: ignore[index]
    code = pairing.start("discord", now=NOW)
    pairing.check("discord", code, "1", "@a", now=NOW)
    pairing.failed("config.toml is read-only")
    record = pairing.read()
    assert record is not None and record["phase"] == "failed"
    assert record["error"] == "config.toml is read-only"


def test_the_code_is_compared_in_constant_time() -> None:
    assert "hmac.compare_digest(" in inspect.getsource(pairing.check)


def test_a_hidden_line_written_while_the_pairing_waits_ends_it_before_a_copy_pairs() -> None:
    code = pairing.start("discord", now=NOW)
    assert not pairing.exposed("telegram", [NOW + 1])  # another platform's lines
    assert not pairing.exposed("discord", [NOW - pairing.SKEW - 1])  # before it started
    assert pairing.read()["phase"] == "waiting"  # type: ignore[index]
    assert pairing.exposed("discord", [NOW - 5, NOW + 3])  # Discord's clock a little behind
    assert pairing.read()["phase"] == "exposed"  # type: ignore[index]
    assert pairing.check("discord", code, "300000000000000666", "@mallory", now=NOW + 4
                         ).result == "none"
    assert not pairing.exposed("discord", [NOW + 5])  # ended already: nothing to do

"""Update offsets: applied ids and held updates, persisted, forgotten when they cannot matter."""

from __future__ import annotations

import json
from pathlib import Path

from tether_hooks import paths
from tether_hooks.listener import offsets as offsets_module
from tether_hooks.listener.offsets import MAX_TRIES, Offsets


def test_applied_ids_persist_and_replays_are_not_fresh(tether_home: Path) -> None:
    first = Offsets()
    first.bind("telegram", "bot-a")
    assert first.fresh("telegram", 100)
    first.done("telegram", 100)
    first.done("telegram", 101)
    assert not first.fresh("telegram", 101) and not first.fresh("telegram", 99)
    again = Offsets()  # a restart
    again.bind("telegram", "bot-a")
    assert again.get("telegram") == 101
    assert not again.fresh("telegram", 100) and again.fresh("telegram", 102)
    assert again.get("memory") is None and again.fresh("memory", 1)


def test_held_updates_come_back_after_a_restart_until_applied(tether_home: Path) -> None:
    first = Offsets()
    first.bind("telegram", "bot-a")
    first.done("telegram", 9)
    first.hold("telegram", [(9, {"update_id": 9}), (10, {"update_id": 10}),
                            (11, {"update_id": 11})])
    first.done("telegram", 10)  # applied; 11 was not when the listener died
    again = Offsets()
    again.bind("telegram", "bot-a")
    assert again.held("telegram") == [11]
    assert again.backlog("telegram") == [{"update_id": 11}]
    again.hold("telegram", [(11, {"update_id": 11})])  # delivered again: held once
    assert again.held("telegram") == [11]
    again.done("telegram", 11)
    assert Offsets().held("telegram") == []


def test_an_update_that_keeps_crashing_the_listener_is_dropped(tether_home: Path) -> None:
    first = Offsets()
    first.bind("telegram", "bot-a")
    first.hold("telegram", [(5, {"update_id": 5})])
    for _ in range(MAX_TRIES):
        restarted = Offsets()
        restarted.bind("telegram", "bot-a")
        assert restarted.backlog("telegram") == [{"update_id": 5}]
    last = Offsets()
    last.bind("telegram", "bot-a")
    assert last.backlog("telegram") == [] and last.held("telegram") == []


def test_another_account_or_an_old_offset_is_forgotten(tether_home: Path, monkeypatch) -> None:  # noqa: ANN001
    first = Offsets()
    first.bind("telegram", "bot-a")
    first.done("telegram", 5000)
    other = Offsets()
    other.bind("telegram", "bot-b")  # a new bot token numbers its updates anew
    assert other.get("telegram") is None and other.fresh("telegram", 10)
    stale = Offsets()
    stale.bind("telegram", "bot-a")
    now = json.loads(Path(paths.listener_offsets_file()).read_text())["telegram"]["at"]
    monkeypatch.setattr(offsets_module.time, "time", lambda: now + offsets_module.KEEP + 1)
    assert stale.get("telegram") is None  # Telegram keeps no update that long
    assert stale.fresh("telegram", 3)  # (after a week idle, ids restart at random)


def test_keyed_replays_for_events_without_growing_ids(tether_home: Path) -> None:
    """``replays_by_order`` False: an event is a replay when its key was applied lately."""
    first = Offsets()
    first.bind("memory", "acct")
    assert first.fresh_key("memory", "memory:e7")
    first.done_key("memory", "memory:e7")
    assert not first.fresh_key("memory", "memory:e7")
    again = Offsets()  # a restart
    again.bind("memory", "acct")
    assert not again.fresh_key("memory", "memory:e7") and again.fresh_key("memory", "memory:e1")
    for n in range(offsets_module.KEYS):  # bounded: the oldest key is forgotten
        again.done_key("memory", f"k{n}")
    assert again.fresh_key("memory", "memory:e7") and not again.fresh_key("memory", "k5")


def test_events_held_by_key_come_back_in_arrival_order_until_applied(tether_home: Path) -> None:
    """Slack: envelopes are held by event key before they are acknowledged; a restart gets
    them back in the order they arrived; an applied key is dropped and never held again."""
    first = Offsets()
    first.bind("slack", "acct")
    first.hold_keyed("slack", [("slack:msg:C1:3.0", {"n": 3}), ("slack:msg:C1:1.0", {"n": 1})])
    first.hold_keyed("slack", [("slack:press:x", {"n": 2}), ("slack:msg:C1:3.0", {"n": 3})])
    first.done_key("slack", "slack:msg:C1:1.0")  # applied before the listener died
    again = Offsets()
    again.bind("slack", "acct")
    assert again.held_keys("slack") == ["slack:msg:C1:3.0", "slack:press:x"]
    assert again.backlog("slack") == [{"n": 3}, {"n": 2}]  # as they arrived, not by key
    again.hold_keyed("slack", [("slack:msg:C1:1.0", {"n": 1})])  # Slack re-delivers it
    assert again.held_keys("slack") == ["slack:msg:C1:3.0", "slack:press:x"]
    again.done_key("slack", "slack:msg:C1:3.0")
    again.done_key("slack", "slack:press:x")
    last = Offsets()
    last.bind("slack", "acct")
    assert last.held_keys("slack") == [] and last.backlog("slack") == []
    assert last.get("slack") is None  # no ordering id was ever applied


def test_an_event_held_by_key_that_keeps_crashing_is_dropped(tether_home: Path) -> None:
    first = Offsets()
    first.bind("slack", "acct")
    first.hold_keyed("slack", [("slack:cmd:1", {"n": 1})])
    for _ in range(MAX_TRIES):
        restarted = Offsets()
        restarted.bind("slack", "acct")
        assert restarted.backlog("slack") == [{"n": 1}]
    last = Offsets()
    last.bind("slack", "acct")
    assert last.backlog("slack") == [] and last.held_keys("slack") == []
    other = Offsets()
    other.hold_keyed("slack", [("slack:cmd:2", {"n": 2})])
    other.bind("slack", "another-account")  # another token: what the old one held is gone
    assert other.held_keys("slack") == []

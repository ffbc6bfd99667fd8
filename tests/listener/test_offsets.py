"""Update offsets: claimed before handling, persisted, forgotten when they cannot matter."""

from __future__ import annotations

import json
from pathlib import Path

from tether_hooks import paths
from tether_hooks.listener import offsets as offsets_module
from tether_hooks.listener.offsets import Offsets


def test_claims_persist_and_replays_are_refused(tether_home: Path) -> None:
    first = Offsets()
    first.bind("telegram", "bot-a")
    assert first.claim("telegram", 100) and first.claim("telegram", 101)
    assert not first.claim("telegram", 101) and not first.claim("telegram", 99)
    first.save()
    again = Offsets()  # a restart
    again.bind("telegram", "bot-a")
    assert again.get("telegram") == 101
    assert not again.claim("telegram", 100) and again.claim("telegram", 102)
    assert again.get("memory") is None and again.claim("memory", 1)


def test_another_account_or_an_old_offset_is_forgotten(tether_home: Path, monkeypatch) -> None:  # noqa: ANN001
    first = Offsets()
    first.bind("telegram", "bot-a")
    first.claim("telegram", 5000)
    first.save()
    other = Offsets()
    other.bind("telegram", "bot-b")  # a new bot token numbers its updates anew
    assert other.get("telegram") is None and other.claim("telegram", 10)
    stale = Offsets()
    stale.bind("telegram", "bot-a")
    now = json.loads(Path(paths.listener_offsets_file()).read_text())["telegram"]["at"]
    monkeypatch.setattr(offsets_module.time, "time", lambda: now + offsets_module.KEEP + 1)
    assert stale.get("telegram") is None  # Telegram keeps no update that long
    assert stale.claim("telegram", 3)  # (after a week idle, ids restart at random)


def test_a_token_from_the_environment_is_part_of_the_account(monkeypatch) -> None:  # noqa: ANN001
    from tether_hooks.listener import daemon

    section = {"chat_id": 1, "allowed_user_ids": [2]}
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "111:aaa")
    first = daemon._account(section)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "222:bbb")
    assert daemon._account(section) != first
    assert "aaa" not in first and "111" not in first

"""The listener's own bookkeeping file (chat.json): one writer, atomic, corrupt moved aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether_hooks import paths
from tether_hooks.listener.book import ChatBook, book_path


def test_it_lives_beside_the_state_and_survives_a_restart(tether_home: Path) -> None:
    book = ChatBook()
    assert book.path == str(Path(paths.state_file()).parent / "chat.json") == book_path()
    book.stage("7f3a", "1f2e3d4c")
    assert ChatBook(writer=False).by_nonce("1f2e3d4c") == "7f3a"  # written before the post
    book.stage("7f3a", "1f2e3d4c")
    assert book.writes == 1  # the same nonce again: nothing to write
    ref = {"bridge": "memory", "chat_id": "100", "message_id": "5", "thread_id": "1001"}
    book.update("7f3a", refs=[ref], posted_at=1.0, session_id="s-1")
    assert book.writes == 2
    again = ChatBook(writer=False)  # a restart, or a reader
    assert again.by_nonce("1f2e3d4c") == "7f3a"
    assert again.by_message("memory", "100", "5") == ("7f3a", ref)
    assert again.threads("memory") == {"s-1": "1001"}
    assert again.sessions_in("memory", "1001") == {"s-1"}


def test_answers_picks_and_replayed_toggles(tether_home: Path) -> None:
    book = ChatBook()
    assert book.answer("r", 0, "SQLite")["answers"] == {"0": "SQLite"}
    labels = ["Auth", "Export", "Search"]
    assert book.toggle("r", 1, "Export", labels, "memory:7") == ["Export"]
    assert book.toggle("r", 1, "Auth", labels, "memory:8") == ["Auth", "Export"]
    assert book.toggle("r", 1, "Auth", labels, "memory:8") == ["Auth", "Export"]  # replayed
    assert ChatBook(writer=False).request("r")["picks"] == {"1": ["Auth", "Export"]}


def test_what_the_store_forgot_is_forgotten(tether_home: Path) -> None:
    book = ChatBook()
    book.update("old", shown=True)
    book.set_thread("gone", "memory", "100", "1002")
    writes = book.writes
    book.prune({"old"}, {"gone"})
    assert book.writes == writes  # nothing to forget: not written
    book.prune(set(), set())
    assert book.request("old") == {} and book.threads("memory") == {}


def test_a_corrupt_file_is_moved_aside_by_the_writer_only(tether_home: Path) -> None:
    path = Path(book_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert ChatBook(writer=False).request("x") == {}
    assert path.read_text() == "{not json"  # a reader never moves it
    with pytest.raises(RuntimeError, match="written by the listener alone"):
        ChatBook(writer=False).update("x", shown=True)
    book = ChatBook()
    (aside,) = path.parent.glob("chat.json.corrupt-*")
    assert aside.read_text() == "{not json" and not path.exists()
    book.update("x", shown=True)
    assert json.loads(path.read_text())["requests"] == {"x": {"shown": True}}

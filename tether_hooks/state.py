"""The on-disk state format: one JSON document, read without a lock, written atomically.

Readers take no lock: every write goes to a temp file in the same directory, is fsynced,
then renamed over the old file, so a reader sees the old document or the new one, never
a torn one. Only ``store.Store`` writes (under its lock); hooks on the fast path only read.

Document (schema 1)::

    {"schema": 1,
     "timers":   {id: Timer},      # auto-approve rules, see rules.py
     "requests": {id: Request},    # pending and recently decided permission requests
     "sessions": {id: Session}}    # agent sessions seen by the hooks
"""

from __future__ import annotations

import errno
import json
import os
import stat

from tether_hooks.errors import StoreCorrupt, StoreError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook fast path)
if TYPE_CHECKING:
    from typing import Any

    from tether_hooks.models import State

__all__ = ["SCHEMA", "STATE_DEPTH", "empty", "load", "signature", "write_atomic"]

SCHEMA = 1


def empty() -> State:
    """A fresh state document."""
    return {"schema": SCHEMA, "timers": {}, "requests": {}, "sessions": {}}


def signature(path: str) -> tuple[int, int, int] | None:
    """What changes whenever the file is replaced (inode, mtime, size); None if missing.
    Watchers (a waiting hook, the listener) re-read the state only when it changes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def load(path: str) -> State:
    """Read the state at ``path``; a missing or empty file is an empty state (``read``)."""
    return read(path)[0]


def read(path: str) -> tuple[State, bytes]:
    """The state at ``path`` and the bytes it was read from (empty when there is no file
    yet, or an empty one: an empty state).

    Raises StoreCorrupt when the file is damaged in any way (unreadable, not a regular
    file, not JSON, nested too deep, records of the wrong type): ``store.Store`` then moves
    it aside. A file from a newer schema is a plain StoreError: it is refused, never moved.
    """
    try:
        # O_NONBLOCK: a FIFO put in its place must not hang every hook.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return empty(), b""
    except OSError as exc:
        if exc.errno in _TRANSIENT:
            raise StoreError(f"cannot read the state file {path}: {exc.strerror}") from exc
        raise StoreCorrupt(path, f"cannot be read: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreCorrupt(path, "it is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    except OSError as exc:
        raise StoreCorrupt(path, f"cannot be read: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if not raw.strip():
        return empty(), b""
    try:
        data: State = json.loads(raw)  # checked below, record by record
    except RecursionError as exc:
        raise StoreCorrupt(path, "it is nested too deep") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise StoreCorrupt(path, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StoreCorrupt(path, "it does not hold a JSON object")
    schema = data.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA:
        raise StoreError(
            f"the state file {path} has schema {schema!r}, this version reads {SCHEMA}: "
            "upgrade tether-hooks"
        )
    if schema != SCHEMA or isinstance(schema, bool):
        raise StoreCorrupt(path, f"schema {schema!r} is not {SCHEMA}")
    if _nested_over(data, STATE_DEPTH):
        raise StoreCorrupt(path, f"it is nested over {STATE_DEPTH} levels deep")
    for key in ("timers", "requests", "sessions"):
        table = data.setdefault(key, {})  # type: ignore[misc]  # (a literal each time)
        problem = _check_records(table, _FIELDS[key])
        if problem:
            raise StoreCorrupt(path, f"{key}: {problem}")
    return data, raw


# Errors that say nothing about the file: try again later, never move it aside.
_TRANSIENT = (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EINTR, errno.EAGAIN)
# The state document holds agent inputs a few levels down, capped (lifecycle.cap_input).
STATE_DEPTH = 48
_NUM = (int, float)
_TEXT = (str, type(None))
_OBJ = (dict, type(None))
# The fields the code reads from each record, with the types it relies on (absent is fine;
# a bool is never a number). Exact types: the document comes from ``json.loads``.
_FIELDS: dict[str, dict[str, frozenset[type]]] = {
    "timers": {"id": frozenset((str,)), "scope": frozenset((str,)),
               "expires_at": frozenset(_NUM), "created_at": frozenset(_NUM),
               **dict.fromkeys(("session_id", "agent", "tool", "tool_label", "path", "prefix",
                                "created_by"), frozenset(_TEXT))},
    "requests": {"id": frozenset((str,)), "status": frozenset((str,)),
                 "created_at": frozenset(_NUM), "expires_at": frozenset(_NUM),
                 "decision": frozenset(_OBJ), "chat": frozenset(_OBJ),
                 **dict.fromkeys(("session_id", "tool_name", "summary", "cwd"),
                                 frozenset(_TEXT))},
    "sessions": {"id": frozenset((str,)), "status": frozenset(_TEXT),
                 "last_seen": frozenset(_NUM), "started_at": frozenset(_NUM),
                 "chat": frozenset(_OBJ), "stop": frozenset(_OBJ), "cwd": frozenset(_TEXT)},
}


def _check_records(records: object, fields: dict[str, frozenset[type]]) -> str | None:
    """What is wrong with a ``{id: record}`` table, or None."""
    if type(records) is not dict:
        return "not an object"
    for key, record in records.items():
        if type(record) is not dict:
            return f"{key!r} is not an object"
        for name, value in record.items():
            types = fields.get(name)
            if types is None:
                continue
            kind = type(value)
            if kind not in types:
                return f"{key!r}.{name} is a {kind.__name__}"
            if kind is float and value - value != 0:  # inf or NaN
                return f"{key!r}.{name} is {value}"  # NaN would make a timer live for ever
        decision = record.get("decision")
        if type(decision) is dict and not isinstance(decision.get("at", 0), _NUM):
            return f"{key!r}.decision.at is not a number"
    return None


def _nested_over(data: State, limit: int) -> bool:
    """Does the decoded document nest objects and lists over ``limit`` levels (``{}`` is
    one)? ``bounds.depth`` for JSON-decoded data (dicts and lists only), at a quarter of
    the cost: every hook reads the whole state."""
    level: list[Any] = [data]  # decoded JSON: dicts and lists
    for _ in range(limit):
        below: list[Any] = []
        add = below.append
        for item in level:
            for value in item.values() if type(item) is dict else item:
                kind = type(value)
                if kind is dict or kind is list:
                    add(value)
        if not below:
            return False
        level = below
    return True


def write_atomic(path: str, payload: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``payload``: temp file, fsync, rename, fsync the directory."""
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)

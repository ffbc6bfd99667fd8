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

import json
import os

from tether_hooks.errors import StoreError

__all__ = ["SCHEMA", "empty", "load", "signature", "write_atomic"]

SCHEMA = 1


def empty() -> dict:
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


def load(path: str) -> dict:
    """Read the state at ``path``; a missing file is an empty state. Raises StoreError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return empty()
    except OSError as exc:
        raise StoreError(f"cannot read the state file {path}: {exc.strerror}") from exc
    if not raw.strip():
        return empty()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StoreError(f"the state file {path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise StoreError(f"the state file {path} does not hold a JSON object")
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA:
        raise StoreError(
            f"the state file {path} has schema {schema!r}, this version reads {SCHEMA}: "
            "upgrade tether-hooks"
        )
    for key in ("timers", "requests", "sessions"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
    return data


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

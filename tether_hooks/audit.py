"""The append-only audit log: one JSON object per line, one line per decision.

Appends use O_APPEND with a single write, so concurrent hooks never interleave lines
and no lock is needed. The file is rotated (one old generation kept) past 10 MiB.
"""

from __future__ import annotations

import json
import os
import re
import time

from tether_hooks import bounds, paths

TYPE_CHECKING = False  # typing itself costs the hook's fast path an import
if TYPE_CHECKING:
    from tether_hooks.models import AuditEntry

__all__ = ["MAX_BYTES", "MORE", "append", "has_write", "read", "summarize_input", "summary_cut"]

MAX_BYTES = 10 * 1024 * 1024
_SUMMARY_CHARS = 200
_WINDOW = 8192  # the text judged by redact before the summary is cut


def summarize_input(tool_name: str, tool_input: object) -> str:
    """A one-line summary of a tool call's input, for the log and lists: every likely
    secret replaced by a hashed marker (``redact``), never the secret."""
    from tether_hooks import redact

    if isinstance(tool_input, dict):
        for key in ("command", "file_path", "notebook_path", "path", "url", "pattern", "query"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                text = value
                break
        else:
            # the structure is masked first (secret-named keys), then its serialisation
            # (whose escapes the text rules read too)
            text = json.dumps(redact.value(tool_input, hashed=True), ensure_ascii=False,
                              sort_keys=True)
    else:
        text = json.dumps(redact.value(tool_input, hashed=True), ensure_ascii=False)

    window = text
    if len(window) > _WINDOW:
        # Redact whole words: the window ends after the word it cuts, unless that word is
        # itself huge (then it is left out whole: a secret cut short has lost its shape).
        gap = re.search(r"\s", text[_WINDOW : _WINDOW + _WINDOW])
        window = text[: _WINDOW + gap.start()] if gap else bounds.keep(text, _WINDOW)
    words = " ".join(redact.text(window, hashed=True).split())
    if len(words) <= _SUMMARY_CHARS and window is text:
        return words
    shown = words[:_SUMMARY_CHARS]
    # The count is of the original text, whose whitespace the summary folds.
    return f"{shown}… {len(text) - _cut_point(text, len(shown)):,}{MORE}"


MORE = " more characters"


def _cut_point(text: str, n: int) -> int:
    """The index in ``text`` where its whitespace-folded form reaches ``n`` characters."""
    count, gap = 0, False
    for i, ch in enumerate(text):
        if ch.isspace():
            gap = count > 0
            continue
        if gap and count + 1 >= n:  # the folded space is the last shown character
            return i
        count += 1 + gap
        gap = False
        if count >= n:
            return i + 1
    return len(text)


def summary_cut(summary: object) -> bool:
    """Whether a summary was cut (it ends with "… N more characters")."""
    if not isinstance(summary, str) or not summary.endswith(MORE):
        return False
    number = summary[: -len(MORE)].rpartition("… ")[2]
    return number.replace(",", "").isdigit()


def append(entry: AuditEntry) -> None:
    """Append one entry (``at`` is added if missing). Never raises on I/O errors."""
    entry.setdefault("at", time.time())
    # a lone surrogate (undecodable input) is written as its JSON escape, never fatal
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode(
        "utf-8", "backslashreplace")
    path = paths.audit_file()
    try:
        paths.ensure_dir(os.path.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            mine = os.fstat(fd)
            # Rotate only while the full file is still the current one: two hooks crossing
            # the limit together must not rotate twice (that would drop the old generation).
            if mine.st_size > MAX_BYTES and os.stat(path).st_ino == mine.st_ino:
                os.replace(path, path + ".1")
        finally:
            os.close(fd)
    except OSError as exc:
        import sys

        print(f"tether-hooks: cannot write the audit log {path}: {exc.strerror}", file=sys.stderr)


_TAIL = 256 * 1024


def has_write(write: str) -> bool:
    """Whether the lines of the state write ``write`` are in the log: they were appended
    last under the store's lock, so they are near the end (of the old generation if the
    log was rotated just after them). An unreadable log counts as having them: the
    caller would append to it in vain."""
    mark = f'"write":"{write}"'.encode()
    path = paths.audit_file()
    for name in (path, path + ".1"):
        try:
            with open(name, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _TAIL))
                if mark in f.read():
                    return True
        except FileNotFoundError:
            continue
        except OSError:
            return True
        if size > _TAIL:  # a full window without them: not rotated away just now
            return False
    return False


def read(limit: int | None = None) -> list[AuditEntry]:
    """The newest ``limit`` entries (all when None), oldest first; bad lines are skipped."""
    path = paths.audit_file()
    lines: list[bytes] = []
    for name in (path + ".1", path):
        try:
            with open(name, "rb") as f:
                lines.extend(f.read().splitlines())
        except FileNotFoundError:
            continue
    entries: list[AuditEntry] = []
    for raw in lines[-limit:] if limit else lines:
        try:
            item: AuditEntry = json.loads(raw)  # an object, checked below; its keys unchecked
        except ValueError:
            continue
        if isinstance(item, dict):
            entries.append(item)
    return entries

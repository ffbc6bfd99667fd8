"""A line-based TOML editor: change a few keys and tables, keep every other byte.

``Doc(text)`` splits a document into logical lines (a table header, one key/value statement
that may span lines, or blank/comment trivia), tracking multi-line strings and brackets so
text inside them is never taken for a header. Each statement is parsed by ``tomllib`` itself.
Edits are recorded and applied bottom-up by ``Doc.text()``; callers check the result with
``tomllib`` (see ``codex_config.edit``).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field

__all__ = ["Doc", "string"]

# -- the line scanner -------------------------------------------------------------------


def _split(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _scan_line(line: str, ml: str | None, depth: int) -> tuple[str | None, int]:
    """Carry the multi-line-string and bracket state of a TOML document over one line."""
    i, n = 0, len(line)
    while i < n:
        if ml is not None:
            end = line.find(ml, i)
            while ml == '"""' and end > 0 and _escaped(line, end):
                end = line.find(ml, end + 1)
            if end < 0:
                return ml, depth
            i = end + 3
            while i < n and line[i] == ml[0] and i < end + 5:
                i += 1
            ml = None
            continue
        ch = line[i]
        if ch == "#":
            break
        if ch in "\"'":
            if line.startswith(ch * 3, i):
                ml, i = ch * 3, i + 3
                continue
            i += 1
            while i < n and line[i] != ch:
                i += 2 if ch == '"' and line[i] == "\\" else 1
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return ml, depth


def _escaped(line: str, at: int) -> bool:
    slashes = 0
    while at - slashes - 1 >= 0 and line[at - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


@dataclass
class _Item:
    """One logical line: a table header, a key/value (maybe spanning lines) or trivia."""

    start: int
    end: int
    kind: str  # "header" | "kv" | "trivia"
    path: tuple[str, ...] = ()  # header: the table's key path
    value: dict = field(default_factory=dict)  # kv: the parsed statement


def _items(lines: list[str]) -> list[_Item]:
    items: list[_Item] = []
    ml, depth, start = None, 0, None
    for index, line in enumerate(lines):
        if start is None:
            start = index
        ml, depth = _scan_line(line, ml, depth)
        if ml is None and depth == 0:
            items.append(_classify(lines, start, index + 1))
            start = None
    if start is not None:
        items.append(_classify(lines, start, len(lines)))
    return items


def _classify(lines: list[str], start: int, end: int) -> _Item:
    text = "".join(lines[start:end])
    head = text.lstrip()
    if not head or head.startswith("#"):
        return _Item(start, end, "trivia")
    parsed = tomllib.loads(text)
    if not head.startswith("["):
        return _Item(start, end, "kv", value=parsed)
    path: list[str] = []
    node: object = parsed
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
        if isinstance(node, list):  # [[array of tables]]: never one of ours
            return _Item(start, end, "header", path=("[[", *path))
    return _Item(start, end, "header", path=tuple(path))


# -- editing ----------------------------------------------------------------------------


def _bare(key: str) -> bool:
    return bool(key) and key.isascii() and key.replace("-", "a").replace("_", "a").isalnum()


def string(value: str) -> str:
    """``value`` as a TOML basic string."""
    return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string


class Doc:
    """Line edits over a parsed document, applied bottom-up in ``text()``."""

    def __init__(self, text: str) -> None:
        self.lines = _split(text)
        self.items = _items(self.lines)
        self.ops: list[tuple[int, int, str]] = []  # (start line, end line, new text)
        self.appended: list[str] = []

    def _table(self, path: tuple[str, ...]) -> tuple[int, int] | None:
        """Item indices of the header of table ``path`` and of the next header."""
        for i, item in enumerate(self.items):
            if item.kind == "header" and item.path == path:
                nxt = next(
                    (j for j in range(i + 1, len(self.items)) if self.items[j].kind == "header"),
                    len(self.items),
                )
                return i, nxt
        return None

    def set_key(self, path: tuple[str, ...], key: str, value: str) -> None:
        """``key = value`` in table ``path``: replaced in place, added, or a new table."""
        line = f"{key} = {string(value)}\n"
        found = self._table(path)
        if found is None:
            header = ".".join(p if _bare(p) else string(p) for p in path)
            self.appended.append(f"[{header}]\n{line}")
            return
        head, nxt = found
        for item in self.items[head + 1 : nxt]:
            if item.kind == "kv" and set(item.value) == {key}:
                self.ops.append((item.start, item.end, line))
                return
        header = self.items[head]
        self.ops.append((header.end, header.end, line))

    def drop_table(self, path: tuple[str, ...]) -> bool:
        """Remove table ``path``'s header and keys (and the blank line we put before it)."""
        found = self._table(path)
        if found is None:
            return False
        head, nxt = found
        header = self.items[head]
        start = header.start
        if head > 0 and self.items[head - 1].kind == "trivia":
            before = self.items[head - 1]
            if before.end == start and not self.lines[start - 1].strip():
                start -= 1
        self.ops.append((start, header.end, ""))
        for item in self.items[head + 1 : nxt]:
            if item.kind == "kv":
                self.ops.append((item.start, item.end, ""))
        return True

    def root_kv(self, key: str) -> _Item | None:
        for item in self.items:
            if item.kind == "header":
                return None
            if item.kind == "kv" and key in item.value:
                return item
        return None

    def set_root(self, key: str, text: str) -> None:
        """Replace the root statement for ``key``, or add it after the last root key."""
        current = self.root_kv(key)
        if current is not None:
            self.ops.append((current.start, current.end, text))
            return
        at = 0
        for item in self.items:
            if item.kind == "header":
                break
            if item.kind == "kv":
                at = item.end
        self.ops.append((at, at, text))

    def drop_root(self, key: str) -> None:
        current = self.root_kv(key)
        if current is not None:
            self.ops.append((current.start, current.end, ""))

    def text(self) -> str:
        lines = list(self.lines)
        # Bottom-up; at one line a replacement goes before an insertion (which lands above it).
        for start, end, new in sorted(self.ops, reverse=True):
            lines[start:end] = [new] if new else []
        text = "".join(lines)
        for table in self.appended:
            if text and not text.endswith("\n"):
                text += "\n"
            text += ("\n" if text else "") + table
        return text

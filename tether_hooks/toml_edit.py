"""Editing a TOML document with tomlkit: set or drop a few keys and tables, keep the rest.

tomlkit keeps every comment (inside the tables we edit too), the key order and the blank
lines. The helpers here only edit tables written with a ``[header]`` of their own: a table
spelled as an inline table or as dotted keys raises ``Unsupported`` (the callers say how to
fix it by hand). Callers check the result with stdlib ``tomllib`` before writing it (see
``config_write.set_table`` and ``codex_config.edit``).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

__all__ = ["Unsupported", "drop_table", "dump", "find_table", "parse", "set_key", "table_for"]

Node = MutableMapping[str, Any]


class Unsupported(ValueError):
    """The document writes the table we would edit in a form we do not edit."""


def parse(text: str) -> TOMLDocument:
    """``text`` as a tomlkit document (a missing final newline added first, so a table we
    append starts on a line of its own). Raises Unsupported if tomlkit cannot read it."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise Unsupported(str(exc)) from exc


def dump(doc: TOMLDocument, original: str) -> str:
    """The document's text. A table removed from the end leaves the blank line that was put
    before it; trailing blank lines the original did not have are dropped."""
    text = doc.as_string()
    if text.endswith("\n\n") and not original.replace("\r\n", "\n").endswith("\n\n"):
        text = text.rstrip("\r\n") + "\n"
    return text


def _container(node: object) -> Node | None:
    """``node`` when it is a table we may look into (a [header] table, a super table made of
    such headers, or a table split over the file); None for anything else."""
    if isinstance(node, OutOfOrderTableProxy | TOMLDocument):
        return node
    if isinstance(node, Table):
        return node
    return None


def _dotted(node: Node) -> bool:
    """A super table holding plain keys: those were written as dotted keys (``a.b = 1``)."""
    return (
        isinstance(node, Table)
        and node.is_super_table()
        and any(not isinstance(v, Table) for v in node.values())
    )


def find_table(doc: TOMLDocument, path: tuple[str, ...]) -> Node | None:
    """Table ``path`` when it has a header of its own; None when it does not exist.

    Raises Unsupported when it (or a table on the way) is an inline table, dotted keys, an
    array of tables or a plain value.
    """
    node: Node = doc
    for depth, key in enumerate(path):
        if key not in node:
            return None
        child = _container(node[key])
        if child is None or _dotted(child):
            raise Unsupported(".".join(path[: depth + 1]))
        node = child
    if isinstance(node, Table) and node.is_super_table():
        raise Unsupported(".".join(path))  # only sub-tables or dotted keys: no header of its own
    return node


def table_for(doc: TOMLDocument, path: tuple[str, ...]) -> Node:
    """Table ``path``, found or added (with a header of its own, after a blank line)."""
    found = find_table(doc, path)
    if found is not None:
        return found
    node: Node = doc
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if key in node:
            child = _container(node[key])
            if child is None or _dotted(child):
                raise Unsupported(".".join(path[: depth + 1]))
            node = child
            continue
        table = tomlkit.table(is_super_table=not last)
        if last and node is doc:
            text = doc.as_string()
            table.trivia.indent = "\n" if text.strip() and not text.endswith("\n\n") else ""
        node[key] = table
        node = node[key]
    return node


def set_key(doc: TOMLDocument, path: tuple[str, ...], key: str, value: object) -> None:
    """``key = value`` in table ``path``: replaced in place, added, or in a new table (that
    one followed by a blank line, as tables are)."""
    new = find_table(doc, path) is None
    table = table_for(doc, path)
    table[key] = value
    if new and isinstance(table, Table):
        table.add(tomlkit.nl())


def drop_table(doc: TOMLDocument, path: tuple[str, ...]) -> bool:
    """Remove table ``path`` (its header, keys and comments); False when it is not there
    or not written with a header of its own (then it is left as it is)."""
    try:
        if find_table(doc, path) is None:
            return False
    except Unsupported:
        return False
    chain: list[Node] = [doc]
    for key in path[:-1]:
        chain.append(chain[-1][key])
    del chain[-1][path[-1]]
    # Super tables left empty go too (they would keep the blank line they were added with).
    for depth in range(len(path) - 2, -1, -1):
        node = chain[depth + 1]
        if len(node) or not (isinstance(node, Table) and node.is_super_table()):
            break
        del chain[depth][path[depth]]
    return True

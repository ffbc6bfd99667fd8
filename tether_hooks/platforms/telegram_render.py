"""Pure rendering of requests, outcomes and notices as Telegram HTML, cut to fit a message.

Everything is built from rows of raw text (escaped once, on output), so the visible length
after entity parsing is known exactly (counted in UTF-16 units, which is never less than what
Telegram counts) and a message can be split between rows without breaking markup: each chunk
closes the ``<pre>`` it is in and the next chunk opens it again.

* :func:`request_message`: the request with a readable preview (``preview``) and
  ``.truncated``; inputs up to ``LONG_INPUT`` characters are always shown whole, so the
  "Show full" button dispatch adds past that size is the only way to more.
  :func:`full_input` renders the whole input as a list of messages (``show_full``).
* Outcome lines and names come from ``tether_hooks.wording`` (neutral, every platform).
* :func:`notice_messages` and :func:`text_messages`: notices and plain text, chunked.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from tether_hooks import redact
from tether_hooks.platforms.base import LONG_INPUT
from tether_hooks.platforms.preview import (
    Doc,
    Row,
    header,
    hidden_by_store,
    input_doc,
    notice_doc,
    u16,
)
from tether_hooks.wording import (  # noqa: F401 - re-exported for the bridge
    KEEP_PLANNING,
    agent_label,
    clip,
    outcome_text,
    project_name,
    short_id,
)

__all__ = [
    "KEEP_PLANNING",
    "LIMIT",
    "PREVIEW_CHARS",
    "Preview",
    "agent_label",
    "clip",
    "escape",
    "full_input",
    "notice_messages",
    "outcome_text",
    "project_name",
    "request_message",
    "short_id",
    "text_messages",
    "visible_length",
]

LIMIT = 4096  # Telegram: characters of a message after entity parsing
PREVIEW_CHARS = 3000  # a request preview stays readable on a phone; the rest is "Show full"
_MARK_ROOM = 120  # room kept for the "✂️ … more characters" marker
_PART_ROOM = 160  # room kept for the "part i/n" header of a full-input chunk

@dataclass(frozen=True)
class Preview:
    """A rendered message and whether anything of the input was left out."""

    text: str
    truncated: bool


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def visible_length(rows: list[Row]) -> int:
    """The length of rendered rows after entity parsing (UTF-16 units)."""
    total = 0
    for i, row in enumerate(rows):
        total += row.size + (_sep(rows[i - 1], row) if i else 0)
    return total


def _sep(prev: Row, row: Row) -> int:
    if prev.block != row.block:
        return 2
    return 0 if row.joined else 1


# -- rows to HTML --------------------------------------------------------------------------


def _row_html(row: Row) -> str:
    out = []
    for raw, tag in row.spans:
        out.append(f"<{tag}>{escape(raw)}</{tag}>" if tag else escape(raw))
    return "".join(out)


def _html(rows: list[Row]) -> str:
    blocks = []
    for _, group in groupby(rows, key=lambda r: r.block):
        items = list(group)
        inner = ""
        for i, row in enumerate(items):
            inner += ("" if i == 0 or row.joined else "\n") + _row_html(row)
        box = items[0].box
        if box == "pre":
            inner = f"<pre>{inner}</pre>"
        elif box:
            inner = f'<pre><code class="language-{box[4:]}">{inner}</code></pre>'
        blocks.append(inner)
    return "\n\n".join(blocks)


def _split_row(row: Row, size: int) -> list[Row]:
    """Cut a row longer than ``size`` into pieces (plain text; inline tags dropped)."""
    if row.size <= size:
        return [row]
    raw = "".join(r for r, _ in row.spans)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for ch in raw:
        width = u16(ch)
        if used + width > size:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += width
    pieces.append("".join(current))
    return [
        Row(((p, None),), row.block, row.box, joined=row.joined if i == 0 else True)
        for i, p in enumerate(pieces)
    ]


def _chunks(rows: list[Row], limit: int) -> list[list[Row]]:
    """Rows grouped into messages of at most ``limit`` visible characters each."""
    chunks: list[list[Row]] = []
    current: list[Row] = []
    used = 0
    for whole in rows:
        for row in _split_row(whole, limit):
            add = row.size + (_sep(current[-1], row) if current else 0)
            if current and used + add > limit:
                chunks.append(current)
                current, used, add = [], 0, row.size
            current.append(row)
            used += add
    if current:
        chunks.append(current)
    # Telegram refuses a message with nothing but whitespace.
    return [c for c in chunks if any(raw.strip() for r in c for raw, _ in r.spans)]


def _fit(
    rows: list[Row], budget: int, extra: int = 0, show_full: bool = False
) -> tuple[list[Row], bool]:
    """The rows that fit in ``budget``, and a marker row saying how much was left out:
    what did not fit plus ``extra``, the characters the store did not keep."""
    total = visible_length(rows)
    if total <= budget and extra <= 0:
        return rows, False
    room = budget - _MARK_ROOM
    kept: list[Row] = []
    used = 0
    for row in rows:
        add = row.size + (_sep(kept[-1], row) if kept else 0)
        if used + add <= room:
            kept.append(row)
            used += add
            continue
        left = room - used - (add - row.size)
        if left > 80:
            kept.extend(_split_row(row, left - 1)[:1])
        break
    missing = max(total - visible_length(kept) + extra, 1)
    if extra > 0:
        mark = f"✂️ … {missing:,} more characters; too large to keep in full"
        if show_full:
            mark += "; Show full sends the part kept"
    else:
        mark = f"✂️ … {missing:,} more characters" + ("; Show full sends the rest" if show_full
                                                       else "")
    block = (kept[-1].block + 1) if kept else 0
    kept.append(Row(((mark, "i"),), block))
    return kept, True


# -- tool inputs -----------------------------------------------------------------------------


# -- public renderers ----------------------------------------------------------------------


def request_message(
    request: dict[str, Any], *, limit: int = LIMIT, footer: str | None = None,
    preview: int = PREVIEW_CHARS,
) -> Preview:
    """The request message (HTML): header and a preview of the input, within ``limit``.

    ``footer`` (plain text, e.g. an outcome line) is added in bold at the end.
    ``truncated`` is True when the preview left something out ("Show full" then helps).
    """
    head = Doc()
    head.para(*header(request))
    header_rows = head.rows
    footer = redact.chat(footer) if footer else footer
    footer_rows = [Row(((line, "b"),), 10**6) for line in footer.split("\n")] if footer else []
    room = limit - visible_length(header_rows) - visible_length(footer_rows) - 4
    doc = input_doc(request, full=False)
    body = [Row(r.spans, r.block + 1, r.box, r.joined) for r in doc.rows]
    # A request with its buttons (no footer yet) has "Show full" past LONG_INPUT.
    extra = hidden_by_store(request)
    fitted, cut = _fit(body, max(min(preview, room), 0), extra + doc.hidden if extra else 0,
                       show_full=footer is None and len(_json(request.get("tool_input")))
                       > LONG_INPUT)
    rows = header_rows + fitted + footer_rows
    if visible_length(rows) > limit:  # a pathological header or footer
        rows = _chunks(rows, limit)[0]
        cut = True
    return Preview(_html(rows), cut or doc.cut)


def full_input(request: dict[str, Any], *, limit: int = LIMIT) -> list[str]:
    """The whole input as messages (HTML), each headed "📄 <tool> · request <id> · part i/n"."""
    doc = input_doc(request, full=True)
    chunks = _chunks(
        [Row(r.spans, r.block + 1, r.box, r.joined) for r in doc.rows], limit - _PART_ROOM
    )
    tool = clip(str(request.get("tool_name") or "?"), 100)
    out = []
    for i, chunk in enumerate(chunks, 1):
        head = Row(
            (
                ("📄 ", None),
                (tool, "b"),
                (" · request ", None),
                (str(request.get("id") or "?"), "code"),
                (f" · part {i}/{len(chunks)}", None),
            ),
            0,
        )
        out.append(_html([head, *chunk]))
    return out


def notice_messages(notice: object, *, limit: int = LIMIT, context: bool = True) -> list[str]:
    """A :class:`~tether_hooks.platforms.base.Notice` as one or more HTML messages
    (``preview.notice_doc``)."""
    doc, _ = notice_doc(notice, context=context)
    return [_html(c) for c in _chunks(doc.rows, limit)]


def text_messages(text: str, *, limit: int = LIMIT) -> list[str]:
    """Plain text, secrets masked, escaped and split on line boundaries into messages."""
    text = redact.chat(text)
    doc = Doc()
    doc.text(text)
    return [_html(c) for c in _chunks(doc.rows, limit)] or [escape(text.strip() or "…")]

"""Pure rendering of requests, outcomes, notices and texts as Slack Block Kit (mrkdwn).

Built from the neutral rows of ``preview`` and escaped once, on output:

* ``&``, ``<`` and ``>`` become entities everywhere, so no text can turn into a mention
  (``<!channel>``), a link or a date.
* Prose (not code) shows ``*``, ``_``, ``~`` and backticks literally through Slack's date
  fallback (``<!date^00000000^{_}|*>``, always shown as plain text; the trick jsx-slack's
  ``<Escape>`` uses): a zero-width space would *enable* formatting, not stop it. A ``_``
  inside a word is left alone (Slack formats only at word edges). A line starting with
  ``>`` gets a soft hyphen first (no quote).
* Code is shown in code blocks (a run of three backticks inside is broken with a
  zero-width space) and inline code (none of it is formatted).

Limits (what the emulator checks as Slack does): section text 3,000 characters *after*
escaping (a code block cut between two sections is closed and opened again), 50 blocks,
button text 75, button value 2,000, action ids unique in the message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from tether_hooks import redact
from tether_hooks.platforms.base import LONG_INPUT, BridgeError, Button
from tether_hooks.platforms.preview import (
    Doc,
    Row,
    Span,
    header,
    hidden_by_store,
    input_doc,
    notice_doc,
)
from tether_hooks.wording import agent_label, clip, project_name, short_id

__all__ = [
    "BUTTON_TEXT",
    "SECTION_LIMIT",
    "Rendered",
    "actions",
    "escape",
    "full_input",
    "literal",
    "notice",
    "request",
    "root",
    "sections",
    "text",
]

SECTION_LIMIT = 3000  # characters of a section's text, as sent
MAX_BLOCKS = 50
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
PREVIEW_CHARS = 2800  # characters of a request's preview (before escaping); "Show full" has all
MESSAGE_SECTIONS = 4  # sections per message of a long text (Slack also caps a message's size)
_MARK_ROOM = 120
_FENCE = "```"
_MARKS = "*_~`"


@dataclass(frozen=True)
class Rendered:
    """A message: its notification text (``text``, plain) and its ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]
    truncated: bool = False


# -- escaping --------------------------------------------------------------------------------


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as entities (all Slack asks; nothing else is decoded)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(text: str) -> str:
    """Prose shown as it is: escaped, formatting marks neutralised (see the module doc)."""
    out = []
    for i, ch in enumerate(text):
        if ch in _MARKS:
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if ch == "`" or not (before.isalnum() and after.isalnum()):
                out.append(f"<!date^00000000^{{_}}|{ch}>")
                continue
        out.append(escape(ch))
    lines = "".join(out).split("\n")
    return "\n".join("\u00ad" + line if line.startswith("&gt;") else line for line in lines)


def _code(text: str) -> str:
    """Inside a code block: escaped, runs of three backticks broken."""
    return re.sub(r"``(?=`)", "``\u200b", escape(text))


def _cost(ch: str, box: bool) -> int:
    """The most characters ``ch`` can take once rendered (to cut long rows)."""
    if box:
        return 2 if ch == "`" else len(escape(ch))
    return len(literal(ch)) + (1 if ch == ">" else 0)


def _span(raw: str, tag: str | None) -> str:
    if not raw:
        return ""
    if tag == "code" and raw.strip() and "`" not in raw and "\n" not in raw:
        return f"`{escape(raw)}`"
    core = raw.strip()
    if tag not in ("b", "i") or not core:
        return literal(raw)
    mark = "*" if tag == "b" else "_"
    lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()):]
    return f"{literal(lead)}{mark}{literal(core)}{mark}{literal(trail)}"


def _row_text(row: Row) -> str:
    if row.box:
        return _code("".join(raw for raw, _ in row.spans))
    return "".join(_span(raw, tag) for raw, tag in row.spans)


# -- rows to sections -----------------------------------------------------------------------


def _split(row: Row, room: int) -> list[Row]:
    """``row`` cut so that each piece renders within ``room`` (inline tags dropped)."""
    if len(_row_text(row)) <= room:
        return [row]
    raw = "".join(r for r, _ in row.spans)
    pieces, current, used = [], "", 0
    for ch in raw:
        width = _cost(ch, row.box is not None)
        if current and used + width > room:
            pieces.append(current)
            current, used = "", 0
        current += ch
        used += width
    pieces.append(current)
    return [Row(((p, None),), row.block, row.box, joined=row.joined if i == 0 else True)
            for i, p in enumerate(pieces)]


def sections(rows: list[Row], limit: int = SECTION_LIMIT) -> list[str]:
    """Rows as mrkdwn texts of at most ``limit`` characters each (blank ones dropped)."""
    chunks: list[list[tuple[Row, str]]] = []
    current: list[tuple[Row, str]] = []
    used = 0
    for whole in rows:
        fence = 2 * (len(_FENCE) + 1) if whole.box else 0
        for row in _split(whole, limit - fence):
            text_ = _row_text(row)
            prev = current[-1][0] if current else None
            if prev is None or prev.block != row.block:
                add = len(text_) + fence + (2 if prev else 0)
            else:
                add = len(text_) + (0 if row.joined else 1)
            if current and used + add > limit:
                chunks.append(current)
                current, used, add = [], 0, len(text_) + fence
            current.append((row, text_))
            used += add
    if current:
        chunks.append(current)
    out = []
    for chunk in chunks:
        parts = []
        for _, group in groupby(chunk, key=lambda item: item[0].block):
            items = list(group)
            inner = "".join(("" if i == 0 or row.joined else "\n") + t
                            for i, (row, t) in enumerate(items))
            parts.append(f"{_FENCE}\n{inner}\n{_FENCE}" if items[0][0].box else inner)
        body = "\n\n".join(parts)
        if any(raw.strip() for row, _ in chunk for raw, _ in row.spans):
            out.append(body)
    return out


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _fit(rows: list[Row], budget: int, extra: int, show_full: bool) -> tuple[list[Row], bool]:
    """The rows that fit ``budget`` characters, and a row saying how much was left out (what
    did not fit plus ``extra``, the characters the store did not keep)."""
    sizes = [sum(len(raw) for raw, _ in r.spans) + 1 for r in rows]
    if sum(sizes) <= budget and extra <= 0:
        return rows, False
    kept: list[Row] = []
    used, room = 0, budget - _MARK_ROOM
    for row, size in zip(rows, sizes, strict=True):
        if used + size > room:
            if room - used > 80:
                kept.extend(_split(Row(row.spans, row.block, row.box), room - used)[:1])
            break
        kept.append(row)
        used += size
    missing = max(sum(sizes) - sum(sum(len(raw) for raw, _ in r.spans) + 1 for r in kept)
                  + extra, 1)
    mark = f"✂️ … {missing:,} more characters"
    if extra > 0:
        mark += "; too large to keep in full" + ("; Show full sends the part kept"
                                                 if show_full else "")
    elif show_full:
        mark += "; Show full sends the rest"
    kept.append(Row(((mark, "i"),), (kept[-1].block + 1) if kept else 0))
    return kept, True


# -- requests ---------------------------------------------------------------------------------


def request(req: dict[str, Any], buttons: list[list[Button]] | None = None,
            footer: str | None = None, preview: int = PREVIEW_CHARS) -> Rendered:
    """The request message: header, a preview of the input, then the outcome ``footer``
    (bold; a settled request has no buttons) or the ``buttons``."""
    head = Doc()
    head.para(*header(req))
    doc = input_doc(req, full=False)
    body = [Row(r.spans, r.block + 1, r.box, r.joined) for r in doc.rows]
    extra = hidden_by_store(req)
    show_full = footer is None and len(json.dumps(req.get("tool_input"), ensure_ascii=False,
                                                  default=str)) > LONG_INPUT
    fitted, cut = _fit(body, preview, extra + doc.hidden if extra else 0, show_full)
    blocks = [_section(t) for t in sections(head.rows)]
    blocks += [_section(t) for t in sections(fitted)]
    if footer:
        lines = Doc()
        bold: list[list[Span]] = [[(line, "b")] for line in redact.chat(footer).split("\n")
                                  if line.strip()]
        lines.para(*bold)
        blocks += [_section(t) for t in sections(lines.rows)][:2]
    rows = actions(buttons or [])
    blocks = blocks[: MAX_BLOCKS - len(rows)] + rows
    summary = "".join(raw for raw, _ in header(req)[0])
    if footer:
        summary += f" — {redact.chat(footer).splitlines()[0] if footer.strip() else ''}"
    return Rendered(escape(clip(summary, 300)), blocks, cut or doc.cut)


def actions(buttons: list[list[Button]]) -> list[dict[str, Any]]:
    """One actions block per row; ``value`` is the button's data, untouched."""
    blocks = []
    for r, row in enumerate(b for b in buttons if b):
        elements = []
        for c, button in enumerate(row[:25]):
            if not 1 <= len(button.data) <= BUTTON_VALUE:
                raise BridgeError(f"button {button.label!r}: its value must be 1-2000 "
                                  "characters")
            element: dict[str, Any] = {
                "type": "button", "action_id": f"tether_{r}_{c}", "value": button.data,
                "text": {"type": "plain_text", "text": clip(button.label, BUTTON_TEXT),
                         "emoji": True}}
            if button.label.startswith(("✅", "✔️")):
                element["style"] = "primary"
            elif button.label.startswith(("❌", "🛑")):
                element["style"] = "danger"
            elements.append(element)
        blocks.append({"type": "actions", "block_id": f"tether_row_{r}", "elements": elements})
    return blocks


def full_input(req: dict[str, Any]) -> list[Rendered]:
    """The whole input as messages, each headed "📄 <tool> · request <id> · part i/n"."""
    doc = input_doc(req, full=True)
    texts = sections([Row(r.spans, r.block + 1, r.box, r.joined) for r in doc.rows],
                     SECTION_LIMIT)
    parts = [texts[i:i + MESSAGE_SECTIONS] for i in range(0, len(texts), MESSAGE_SECTIONS)]
    tool = clip(str(req.get("tool_name") or "?"), 100)
    out = []
    for i, part in enumerate(parts or [[literal("(no input)")]], 1):
        head = f"📄 *{literal(tool)}* · request `{escape(str(req.get('id') or '?'))}` · " \
               f"part {i}/{max(len(parts), 1)}"
        out.append(Rendered(escape(f"{tool} · request {req.get('id')} · part {i}"),
                            [_section(head), *(_section(t) for t in part)]))
    return out


# -- notices, texts, thread roots -----------------------------------------------------------


def _messages(fallback: str, texts: list[str]) -> list[Rendered]:
    groups = [texts[i:i + MAX_BLOCKS - 5] for i in range(0, len(texts), MAX_BLOCKS - 5)]
    return [Rendered(escape(clip(fallback, 300)), [_section(t) for t in group])
            for group in groups or [[literal(fallback or "…")]]]


def notice(item: object, *, context: bool = True) -> list[Rendered]:
    """A :class:`~tether_hooks.platforms.base.Notice` (``preview.notice_doc``)."""
    doc, first = notice_doc(item, context=context)
    return _messages(first, sections(doc.rows))


def text(value: str) -> list[Rendered]:
    """Plain text (secrets masked), shown literally, split into sections and messages."""
    value = redact.chat(value)
    doc = Doc()
    doc.text(value.strip("\n") or "…")
    return _messages(value.split("\n", 1)[0], sections(doc.rows))


def root(agent: object, cwd: object, session_id: str) -> Rendered:
    """A session's thread root: "🧵 Claude Code · 📁 proj · session 0a1b2c3d"."""
    doc = Doc()
    doc.para([("🧵 ", None), (agent_label(agent), "b"), (" · 📁 ", None),
              (clip(project_name(cwd), 100), "b"), (" · session ", None),
              (short_id(session_id), "code")])
    doc.note("Requests, notices and answers of this session are in this thread.")
    fallback = f"{agent_label(agent)} · {project_name(cwd)} · session {short_id(session_id)}"
    return Rendered(escape(clip(fallback, 300)), [_section(t) for t in sections(doc.rows)])

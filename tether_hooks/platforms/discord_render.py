"""Requests, notices and texts as Discord messages (markdown), within Discord's limits.

A request is one webhook message: ``content`` (the notification: who wants what, where,
and how to answer) and one embed (the preview: Bash as a code block, Edit as a diff, Write
as path + size + head). Limits: content 2,000 characters, an embed's description 4,096,
6,000 across the embeds; a long preview is cut on a row, never inside a code fence left
open, and says how much is left out (📄 sends the whole input as a file). Prose is shown
literally (markdown escaped); no message ever pings anyone (``allowed_mentions`` empty).

Answers are reactions: each button dispatch offers that has an emoji here (``EMOJI``) is a
reaction the bridge adds to its message; the others are said as replies to write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tether_hooks import redact
from tether_hooks.platforms.base import LONG_INPUT, Button
from tether_hooks.platforms.preview import (
    Doc,
    Row,
    Span,
    header,
    hidden_by_store,
    input_doc,
    notice_doc,
)
from tether_hooks.wording import clip

__all__ = [
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "EMOJI",
    "TIMER",
    "TIMER_BARE",
    "chunks",
    "escape",
    "full_input",
    "notice",
    "reactions",
    "request",
    "text",
    "unreadable",
]

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
EMBEDS_TOTAL = 6000
PREVIEW_CHARS = 3500  # an embed's preview: room for the header and the outcome besides
TIMER, TIMER_BARE = "\u23f1\ufe0f", "\u23f1"  # what Discord's apps send; the bare form too
# A button's verb -> its reaction (the rest are said as replies: see ``request``).
EMOJI = {"a": "\u2705", "d": "\u274c", "k": "\u274c", "t": TIMER, "p": "\U0001f4c1",
         "e": "\u270f\ufe0f", "f": "\U0001f4c4", "y": "\u2611\ufe0f"}
KEYCAPS = [f"{n}\ufe0f\u20e3" for n in range(1, 10)] + ["\U0001f51f"]
COLORS = {"pending": 0xF0B232, "allow": 0x23A55A, "deny": 0xDA373C, "other": 0x80848E}
_FENCE = "```"
_SPECIAL = re.compile(r"([\\*_~`|<>\[\]#@])")


def escape(value: str) -> str:
    """Prose shown as typed: every markdown mark backslash-escaped; a leading ``-``/``+``/
    ``1.`` cannot start a list."""
    out = _SPECIAL.sub(r"\\\1", value)
    # a list mark is escaped itself: "1\." (a backslash before a digit or a space shows)
    out = re.sub(r"(?m)^(\s*)([-+])(?=\s)", r"\1\\\2", out)
    return re.sub(r"(?m)^(\s*\d+)\.(?=\s)", r"\1\\.", out)


def _code(value: str) -> str:
    """Inside a code block: no two backticks touch, so no run can close it (a zero-width
    space between them); a text cut between two backticks shows two, never three."""
    return re.sub(r"`(?=`)", "`\u200b", value)


def _span(raw: str, tag: str | None) -> str:
    core = raw.strip()
    if not core:
        return escape(raw)
    lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()):]
    if tag == "code" and "`" not in raw and "\n" not in raw:
        return f"{lead}`{core}`{trail}"
    mark = {"b": "**", "i": "*"}.get(tag or "")
    return f"{escape(lead)}{mark}{escape(core)}{mark}{escape(trail)}" if mark else escape(raw)


def _line(row: Row) -> str:
    if row.box:
        return _code("".join(raw for raw, _ in row.spans))
    return "".join(_span(raw, tag) for raw, tag in row.spans)


def _cut(row: Row, room: int) -> list[Row]:
    """``row`` in pieces that each render within ``room``."""
    if len(_line(row)) <= room:
        return [row]
    raw = "".join(r for r, _ in row.spans)
    step = max(room // 2, 1)  # escaping (or the spaces between backticks) at most doubles it
    return [Row(((raw[i:i + step], None),), row.block, row.box, joined=bool(i) or row.joined)
            for i in range(0, len(raw), step)]


def chunks(rows: list[Row], limit: int) -> list[str]:
    """Rows as markdown texts of at most ``limit`` characters each; a code block cut across
    two texts is closed in the first and opened again in the next."""
    out: list[str] = []
    parts: list[str] = []
    used, box, prev = 0, None, None

    def fence(kind: str | None) -> str:
        return _FENCE + (kind.split(":", 1)[1] if kind and ":" in kind else "")

    for whole in rows:
        for row in _cut(whole, limit - 2 * len(_FENCE) - 40):
            line = _line(row)
            sep = "" if prev is None else ("" if row.joined else "\n") if (
                prev.block == row.block) else "\n\n"
            opening = row.box is not None and (box != row.box or prev is None
                                               or prev.block != row.block)
            closing = box is not None and (row.box != box or prev is None
                                           or prev.block != row.block)
            add = (f"\n{_FENCE}" if closing else "") + sep + (
                fence(row.box) + "\n" if opening else "") + line
            reserve = len(_FENCE) + 1 if row.box else 0
            if parts and used + len(add) + reserve > limit:
                if box is not None:
                    parts.append(f"\n{_FENCE}")
                out.append("".join(parts))
                parts, used, prev = [], 0, None
                add = (fence(row.box) + "\n" if row.box else "") + line
            parts.append(add)
            used += len(add)
            box, prev = row.box, row
    if box is not None and parts:
        parts.append(f"\n{_FENCE}")
    if parts:
        out.append("".join(parts))
    return [t for t in out if t.strip()]


def _doc_rows(*lines: list[Span]) -> list[Row]:
    doc = Doc()
    doc.para(*lines)
    return doc.rows


def reactions(buttons: list[list[Button]]) -> list[tuple[str, Button]]:
    """The reaction of each button that has one, in the order shown; a question's options
    are keycaps 1️⃣..🔟."""
    out: list[tuple[str, Button]] = []
    seen: set[str] = set()
    for row in buttons:
        for button in row:
            verb, _, _ = button.data.partition(":")
            emoji = EMOJI.get(verb[:1])
            if verb[:1] in ("o", "x") and "." in verb:
                n = verb.split(".", 1)[1]
                emoji = KEYCAPS[int(n)] if n.isdigit() and int(n) < len(KEYCAPS) else None
            if emoji and emoji not in seen:
                seen.add(emoji)
                out.append((emoji, button))
    return out


def _how(buttons: list[list[Button]]) -> str:
    if not any(buttons):  # posts only: no bot reads a reaction or a reply here
        return "Answer it in the terminal or another chat: nothing is read from this channel"
    taps = [f"{emoji} {escape(_label(button))}" for emoji, button in reactions(buttons)]
    if any(b.data[:1] in ("o", "x") for r in buttons for b in r):  # a question
        return "React " + " · ".join(taps) + " — or reply with a number or your own answer"
    said = ["`deny: reason`"] if any(b.data.startswith("r:") for r in buttons for b in r) else []
    if any(b.data.startswith("s:") for r in buttons for b in r):
        said.append("`allow all 30m`")
    said.append("`allow Bash 2h`" if not said else "`allow <Tool> 2h`")
    return ("React " + " · ".join(taps) + " — or reply " if taps else "Reply ") + \
        ", ".join(said)


def _label(button: Button) -> str:
    label = button.label
    for emoji in (*EMOJI.values(), TIMER_BARE, "⏱", "✔️"):
        if label.startswith(emoji):
            return label[len(emoji):].strip()
    return re.sub(r"^\d+\.\s+", "", label)  # an option's number: its keycap says it


def request(req: Mapping[str, Any], buttons: list[list[Button]] | None = None, *,
            outcome: str | None = None, color: str = "pending") -> dict[str, Any]:
    """The request as a webhook payload (``content``, ``embeds``); with ``outcome`` it is
    the settled message: the outcome instead of how to answer."""
    data = dict(req)
    head = chunks(_doc_rows(*header(data)), 900)[0]
    if outcome is None:
        tail = _how(buttons or [])
    else:
        tail = "**" + escape(clip(redact.chat(outcome).replace("\n", " "), 600)) + "**"
    content = clip(f"{head}\n{tail}", CONTENT_LIMIT)
    doc = input_doc(data, full=False)
    rows = doc.rows
    hidden = hidden_by_store(data)
    texts = chunks(rows, PREVIEW_CHARS) if rows else []
    description = texts[0] if texts else "*(no input)*"
    if len(texts) > 1 or hidden or doc.cut:
        left = sum(len(t) for t in texts[1:]) + hidden
        long = len(json.dumps(data.get("tool_input"), ensure_ascii=False, default=str)
                   ) > LONG_INPUT
        mark = f"✂️ … {left:,} more characters" if left else "✂️ cut for length"
        if long and outcome is None:
            mark += "; react 📄 for the whole input as a file"
        description = f"{description}\n*{escape(mark)}*"
    embed: dict[str, Any] = {"description": description[:DESCRIPTION_LIMIT],
                             "color": COLORS.get(color, COLORS["other"])}
    return {"content": content, "embeds": [embed]}


def full_input(req: Mapping[str, Any]) -> tuple[str, bytes]:
    """The whole input (secrets masked) as a text file: its name and bytes."""
    doc = input_doc(dict(req), full=True)
    lines = ["".join(raw for raw, _ in row.spans) for row in doc.rows]
    name = f"request-{re.sub(r'[^A-Za-z0-9_-]', '', str(req.get('id') or 'input'))}.txt"
    return name, ("\n".join(lines) + "\n").encode()


def notice(item: object, *, context: bool = True) -> list[str]:
    """A :class:`~tether_hooks.platforms.base.Notice` as one or more messages."""
    doc, _ = notice_doc(item, context=context)
    return chunks(doc.rows, CONTENT_LIMIT) or ["…"]


def text(value: str) -> list[str]:
    """Plain text (secrets masked), shown literally, split at Discord's limit."""
    doc = Doc()
    doc.text(redact.chat(value).strip("\n") or "…")
    return chunks(doc.rows, CONTENT_LIMIT)


def unreadable(bot_name: str | None) -> str:
    """What to do when Discord hid a reply's text from the bot."""
    mention = f"@{bot_name}" if bot_name else "@the bot"
    return text(f"I cannot read that reply: Discord hides message text from bots without the "
                f"MESSAGE CONTENT intent. Reply to this message instead, or mention me "
                f"({mention} deny: reason), or turn the intent on (Developer Portal > your "
                "app > Bot > Message Content Intent).")[0]

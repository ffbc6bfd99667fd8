"""The readable preview of a tool input, as rows of raw text: platform-neutral (each bridge
renders the rows in its own markup, e.g. ``telegram_render``).

One builder per kind of input: Bash commands, Edit/MultiEdit diffs, Write heads, Codex
patches, MCP arguments, questions, plans, web fetches; anything else as pretty JSON.
"""

from __future__ import annotations

import difflib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether_hooks import redact
from tether_hooks.platforms.base import LONG_INPUT
from tether_hooks.wording import agent_label, clip, project_name, short_id

__all__ = ["Doc", "Row", "Span", "header", "hidden_by_store", "input_doc", "u16"]

_WRITE_HEAD_LINES = 20

Span = tuple[str, str | None]  # raw text, inline tag (b, i, code) or None


@dataclass(frozen=True)
class Row:
    spans: tuple[Span, ...]
    block: int
    box: str | None = None  # None, or "pre" / "pre:<language>"
    joined: bool = False  # the continuation of a row cut for length: no newline before it

    @property
    def size(self) -> int:
        return sum(u16(raw) for raw, _ in self.spans)



def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2



class Doc:
    """Rows grouped in blocks; blocks are separated by a blank line."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.cut = False
        self.hidden = 0  # characters of the input a builder left out (a Write's tail)
        self._block = -1

    def para(self, *lines: list[Span]) -> None:
        self._block += 1
        for spans in lines:
            self.rows.append(Row(tuple(s for s in spans if s[0]), self._block))

    def text(self, text: str, tag: str | None = None) -> None:
        self._block += 1
        for line in text.split("\n"):
            self.rows.append(Row(((line, tag),), self._block))

    def pre(self, text: str, language: str | None = None) -> None:
        self._block += 1
        box = f"pre:{language}" if language else "pre"
        for line in text.rstrip("\n").split("\n"):
            self.rows.append(Row(((line, None),), self._block, box))

    def note(self, text: str) -> None:
        self.para([(text, "i")])



def _diff(old: str, new: str) -> str:
    if old == new:
        return "(no change)"
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2)
    return "\n".join(list(lines)[2:])


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _s(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else _pretty(value))


def _patch_files(patch: str) -> list[list[Span]]:
    marks = {
        "*** Add File: ": "➕ ",
        "*** Update File: ": "✏️ ",
        "*** Delete File: ": "🗑 ",
        "*** Move to: ": "  → ",
    }
    lines: list[list[Span]] = []
    for line in patch.split("\n"):
        for prefix, icon in marks.items():
            if line.startswith(prefix):
                lines.append([(icon, None), (line[len(prefix) :].strip(), "code")])
    return lines


def _body(doc: Doc, tool: str, data: dict[str, Any], full: bool,
          request: dict[str, Any]) -> None:
    command = data.get("command")
    if isinstance(command, list):
        command = shlex.join(str(c) for c in command)
    if tool.startswith("mcp__"):
        server, _, name = tool[5:].partition("__")
        doc.para([("🔌 MCP ", None), (server, "b"), (" → ", None), (name or "?", "code")])
        if data:
            doc.pre(_pretty(data), "json")
        else:
            doc.note("(no arguments)")
    elif isinstance(command, str) and command.lstrip().startswith("*** Begin Patch"):
        files = _patch_files(command)
        if files:
            doc.para(*files)
        doc.pre(command, "diff")
    elif tool == "Bash" or (
        isinstance(command, str) and set(data) <= {"command", "description", "timeout", "workdir"}
    ):
        if data.get("description"):
            doc.text(_s(data["description"]), "i")
        doc.pre(_s(command), "bash")
    elif tool == "Edit" and "old_string" in data:
        extra = " (every occurrence)" if data.get("replace_all") else ""
        doc.para([("✏️ ", None), (_s(data.get("file_path")), "code"), (extra, None)])
        doc.pre(_diff(_s(data.get("old_string")), _s(data.get("new_string"))), "diff")
    elif tool == "MultiEdit" and isinstance(data.get("edits"), list):
        edits = data["edits"]
        doc.para(
            [("✏️ ", None), (_s(data.get("file_path")), "code"), (f" · {len(edits)} edits", None)]
        )
        parts = []
        for i, edit in enumerate(edits, 1):
            edit = edit if isinstance(edit, dict) else {}
            diff = _diff(_s(edit.get("old_string")), _s(edit.get("new_string")))
            parts.append(f"── edit {i} of {len(edits)} ──\n{diff}")
        doc.pre("\n".join(parts) or "(no edits)", "diff")
    elif tool == "Write" and "content" in data:
        content = _s(data.get("content"))
        lines = content.splitlines()
        size = f" · {len(content.encode()):,} bytes · {len(lines):,} lines"
        if hidden_by_store(request) > 0:  # the kept copy's size is not the file's
            size = f" · {len(content) + hidden_by_store(request):,} characters"
        doc.para([("📝 ", None), (_s(data.get("file_path")), "code"), (size, None)])
        if full or len(lines) <= _WRITE_HEAD_LINES:
            doc.pre(content or "(empty file)")
        else:
            head = "\n".join(lines[:_WRITE_HEAD_LINES])
            doc.pre(head)
            doc.hidden = len(content) - len(head)
            if not hidden_by_store(request):  # else the preview's marker counts it all
                doc.note(f"… {len(lines) - _WRITE_HEAD_LINES:,} more lines")
            doc.cut = True
    elif tool == "AskUserQuestion" and isinstance(data.get("questions"), list):
        _questions(doc, data["questions"])
    elif tool == "ExitPlanMode" and "plan" in data:
        doc.para(
            [("📋 ", None), ("Plan", "b")]
            + (
                [(" · ", None), (_s(data["planFilePath"]), "code")]
                if data.get("planFilePath")
                else []
            )
        )
        doc.text(_s(data.get("plan")))
    elif tool in ("WebFetch", "WebSearch") or "url" in data:
        target = data.get("url") or data.get("query")
        doc.para([("🌐 ", None), (_s(target), "code")])
        rest = {k: v for k, v in data.items() if k not in ("url", "query")}
        if set(rest) == {"prompt"}:
            doc.text(_s(rest["prompt"]), "i")
        elif rest:
            doc.pre(_pretty(rest), "json")
    elif set(data) == {"file_path"} or tool in ("Read", "NotebookRead"):
        doc.para([("📄 ", None), (_s(data.get("file_path") or data.get("notebook_path")), "code")])
        rest = {k: v for k, v in data.items() if k not in ("file_path", "notebook_path")}
        if rest:
            doc.pre(_pretty(rest), "json")
    elif data:
        doc.pre(_pretty(data), "json")
    else:
        doc.note("(no input)")


def _questions(doc: Doc, questions: list[Any]) -> None:
    for i, q in enumerate(questions, 1):
        q = q if isinstance(q, dict) else {"question": _s(q)}
        title: list[Span] = [("❓ ", None)]
        if len(questions) > 1:
            title.append((f"{i}. ", None))
        if q.get("header"):
            title.append((_s(q["header"]), "b"))
        doc.para(title)
        doc.text(_s(q.get("question")))
        options = q.get("options")
        if not isinstance(options, list):
            options = []
        lines: list[list[Span]] = []
        for n, option in enumerate(options, 1):
            option = option if isinstance(option, dict) else {"label": _s(option)}
            line: list[Span] = [(f"{n}. ", None), (_s(option.get("label")), "b")]
            if option.get("description"):
                line.append((f" — {_s(option['description'])}", None))
            lines.append(line)
        if q.get("multiSelect"):
            lines.append([("(choose one or more)", "i")])
        if lines:
            doc.para(*lines)


def input_doc(request: dict[str, Any], *, full: bool) -> Doc:
    doc = Doc()
    tool = str(request.get("tool_name") or "")
    data = request.get("tool_input")
    if not isinstance(data, dict):
        data = {"input": data} if data is not None else {}
    # Dispatch offers "Show full" only past LONG_INPUT: below it, show everything.
    small = len(json.dumps(data, ensure_ascii=False, default=str)) <= LONG_INPUT
    masked = redact.value(data)  # every secret masked before anything is shown
    _body(doc, tool, masked if isinstance(masked, dict) else {}, full or small, request)
    if request.get("input_truncated") and full:  # a preview's marker says it with the count
        doc.note("⚠️ The input was too large to keep in full: this is its start.")
    return doc


def hidden_by_store(request: dict[str, Any]) -> int:
    """The characters of the original input the stored copy lacks (``input_missing``)."""
    value = request.get("input_missing")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


NOTICE_ICONS = {"auto_approved": "🕒", "waiting": "⏳", "finished": "🏁", "error": "⚠️",
                "info": "ℹ️"}


def notice_doc(notice: object, *, context: bool = True) -> tuple[Doc, str]:
    """A :class:`~tether_hooks.platforms.base.Notice` as a document, and its first line
    (with its icon: a notification's plain text). The first line is bold, an icon added
    unless it starts with one; ``context`` adds "📁 project · session" (not needed inside a
    session's thread or topic); ``items`` are listed unless the text lists them already."""
    kind = str(getattr(notice, "kind", "info"))
    text = redact.chat(str(getattr(notice, "text", ""))).strip()
    first, _, rest = text.partition("\n")
    doc = Doc()
    icon = f"{NOTICE_ICONS.get(kind, 'ℹ️')} " if first[:1].isalnum() else ""
    doc.para([(icon, None), (first, "b")])
    where: list[Span] = []
    cwd, sid = getattr(notice, "cwd", None), getattr(notice, "session_id", None)
    if context and cwd:
        where += [("📁 ", None), (project_name(cwd), "b")]
    if context and sid:
        where += [(" · session " if where else "session ", None), (short_id(sid), "code")]
    if where:
        doc.rows.append(Row(tuple(where), 0))
    if rest.strip():
        doc.text(rest.strip("\n"))
    items = [redact.chat(str(i)) for i in getattr(notice, "items", None) or []]
    bullets: list[list[Span]] = [[("• ", None), (i, None)] for i in items if i not in text]
    if bullets:
        doc.para(*bullets)
    return doc, f"{icon}{first}"


def header(request: dict[str, Any]) -> list[list[Span]]:
    """A request's first lines: who wants what (a question, a plan), then where: project,
    session and request id."""
    tool = clip(str(request.get("tool_name") or "?"), 200)
    who = (agent_label(request.get("agent")), "b")
    first: list[Span] = [("⚠️ ", None), who, (" wants to use ", None), (tool, "b")]
    if tool == "AskUserQuestion":
        first = [("❓ ", None), who, (" asks", None)]
        part = request.get("question_part")  # (i, n): one message per question
        if isinstance(part, (list, tuple)) and len(part) == 2 and part[1] > 1:
            first.append((f" (question {part[0]} of {part[1]})", None))
    elif tool == "ExitPlanMode":
        first = [("📋 ", None), who, (" has a plan", None)]
    lines: list[list[Span]] = [
        first,
        [
            *machine_spans(request),
            ("📁 ", None),
            (clip(project_name(request.get("cwd")), 100), "b"),
            (" · session ", None),
            (short_id(request.get("session_id")), "code"),
            (" · request ", None),
            (str(request.get("local_id") or request.get("id") or "?"), "code"),
        ],
    ]
    return lines


def machine_spans(record: Mapping[str, Any]) -> list[Span]:
    """``💻 devbox · `` before a fleet record's place (``[shared]``), else nothing."""
    machine = record.get("machine")
    return [("💻 ", None), (clip(str(machine), 32), "b"), (" · ", None)] if machine else []

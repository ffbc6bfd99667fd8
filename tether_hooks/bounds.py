"""Limits on what an agent's payload may put in the shared state, and safe JSON bytes.

An agent's payload is untrusted data: a tool input nested a thousand levels deep, or one
holding a lone surrogate, must not reach ``state.json`` as-is, or every later reader (the
CLI, the listener, every hook) would fail on it. ``depth`` measures nesting without
recursion; ``bounded`` copies a value within fixed limits and says whether it cut
anything; ``dumps_bytes`` encodes JSON that holds lone surrogates (as ``\\udXXX`` escapes).
Every cut keeps whole words (``cut_at``): a secret the cut would split (``ghp_Zq8L…``) no longer
has its shape, so redaction could not find the part that is kept; it is left out whole.

Stdlib only: the hook's fast path imports this module.
"""

from __future__ import annotations

import json

__all__ = [
    "MAX_DEPTH", "MAX_ITEMS", "MAX_STRING", "bounded", "cut_at", "cut_text", "depth",
    "dumps_bytes", "keep", "printable",
]

# Deeper than this, a hook input is not relayed and no timer judges it (no real tool
# input comes close).
MAX_DEPTH = 64
MAX_ITEMS = 1000  # entries of one list or object kept in a stored copy
MAX_STRING = 4096  # characters of one string kept in a stored copy


def depth(value: object, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0, ``{}`` is 1); the
    walk (level by level, no recursion) stops past ``limit`` and then returns ``limit + 1``."""
    level = [value] if isinstance(value, dict | list | tuple) else []
    deepest = 0
    while level:
        deepest += 1
        if deepest > limit:
            return limit + 1
        below: list[dict[object, object] | list[object] | tuple[object, ...]] = []
        for item in level:
            below += [v for v in (item.values() if isinstance(item, dict) else item)
                      if isinstance(v, dict | list | tuple)]
        level = below
    return deepest


def bounded(
    value: object, max_depth: int = 8, chars: int = MAX_STRING, items: int = MAX_ITEMS
) -> tuple[object, bool]:
    """A copy of ``value`` within the limits, and whether anything was cut: strings past
    ``chars`` end in a note, containers past ``max_depth`` become a note, lists and
    objects keep their first ``items`` entries, keys are strings, other types their text."""
    cut = False

    def copy(item: object, level: int) -> object:
        nonlocal cut
        if item is None or isinstance(item, bool | int | float):
            return item
        if isinstance(item, str):
            if len(item) > chars:
                cut = True
                return cut_text(item, chars)
            return item
        if isinstance(item, dict | list | tuple):
            if level >= max_depth:
                cut = True
                return f"[{type(item).__name__} nested too deep: not kept]"
            entries = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
            if len(entries) > items:
                cut = True
                entries = entries[:items]
            if isinstance(item, dict):
                return {str(copy(k, max_depth)): copy(v, level + 1) for k, v in entries}
            return [copy(v, level + 1) for _, v in entries]
        cut = True
        return copy(f"[{type(item).__name__}]", level)

    result = copy(value, 0)
    return result, cut


def dumps_bytes(value: object, **kwargs: object) -> bytes:
    """``json.dumps(value)`` as UTF-8; a lone surrogate (which UTF-8 cannot hold) is
    written as its JSON escape, so the text reads back as the same string."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)  # type: ignore[arg-type]
    return text.encode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """``text`` with lone surrogates (from undecodable input) written as ``\\udXXX``, so any
    UTF-8 stream (stderr, a log file) takes it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_MARK_HEAD, _MARK_TAIL = "… [", " more characters]"


# What ends a word: a secret never spans one of these (whitespace included).
_WORD_ENDS = frozenset("\"'`<>()[]{},;|&")


def _in_word(ch: str) -> bool:
    return not ch.isspace() and ch not in _WORD_ENDS


def cut_at(text: str, chars: int) -> int:
    """Where to cut ``text`` to keep at most ``chars`` characters and no part of a word: a
    word the cut would split (a token, ``NAME=value``, a URL) is left out whole, however long
    (a secret cut short loses its shape, and no rule could find it in the part kept)."""
    if len(text) <= chars:
        return len(text)
    end = max(chars, 0)
    if end and _in_word(text[end]):
        while end and _in_word(text[end - 1]):
            end -= 1
    return end


def keep(text: str, chars: int) -> str:
    """The start of ``text``, at most ``chars`` characters, ending on a whole word."""
    return text[: cut_at(text, chars)]


def cut_text(text: str, chars: int, sep: str = "\n") -> str:
    """``keep(text, chars)`` and a marker with the true count of what is cut, counting what
    an earlier cut (whose marker ``text`` ends with) had already left out."""
    earlier, body = 0, text
    if text.endswith(_MARK_TAIL):
        at = text.rfind(_MARK_HEAD)
        number = text[at + len(_MARK_HEAD) : -len(_MARK_TAIL)].replace(",", "")
        if at > 0 and number.isdigit():
            earlier, body = int(number), text[: at - 1]
    kept = keep(body, chars)
    hidden = len(body) - len(kept) + earlier
    return f"{kept}{sep}{_MARK_HEAD}{hidden:,}{_MARK_TAIL}"

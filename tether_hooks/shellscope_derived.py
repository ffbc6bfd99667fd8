"""Paths a program derives from its operands, for the directory-timer checker (stdlib only).

``cp a dst`` writes ``dst/a``, ``cp -r src dst`` every file under ``dst/src``, ``cp
--parents s/f dst`` ``dst/s/f``, ``cp -rT src dst`` every file under ``dst``; ``mv`` and
``ln`` name ``dst/a`` the same way; ``diff a DIR`` (or ``--from-file=DIR``) reads ``DIR/a``.
No operand's own real path says where those land: a symbolic link already at a derived path
(dangling or not, or anywhere under a derived folder) sends the write or read elsewhere.

The rules, each over every word the program could receive (``shellscope_words.argv``) and
every string in it that could be a path (an option's glued or ``=`` value included):

- ``diff``: no such string may name a directory;
- ``cp``/``mv`` carry no symbolic link: no source that is one or a folder holding one;
- ``cp``/``mv``/``ln``: for every such string that names a folder (a possible destination)
  and every source, ``DEST/basename(source)`` and each prefix of ``DEST/source`` is no link
  and resolves inside, and no link is found under it; with ``-T`` none under ``DEST``.

Walks are bounded: past the budget nothing is provable, and the command is asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tether_hooks.shellscope_words import MAX_MATCHES, Arg, candidates

__all__ = ["derived_ok", "diff_ok"]

_BUDGET = 4 * MAX_MATCHES


class _Walk:
    """Link searches sharing one budget of entries looked at."""

    def __init__(self) -> None:
        self.budget = _BUDGET

    def spend(self, count: int = 1) -> bool:
        self.budget -= count
        return self.budget >= 0

    def has_link(self, path: str) -> bool:
        """``path`` is a link, or a folder holding one at any depth; True when the walk
        fails or runs out of budget (not provable)."""
        if not self.spend():
            return True
        try:
            if os.path.islink(path.rstrip(os.sep) or path):
                return True
            if not os.path.isdir(path):
                return False
            for root, dirs, files in os.walk(path, onerror=_raise):
                for name in (*dirs, *files):
                    if not self.spend() or os.path.islink(os.path.join(root, name)):
                        return True
        except (OSError, ValueError):
            return True
        return False


def _raise(error: OSError) -> None:
    raise error


def _isdir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return True  # unreadable: count it as a folder (the strict reading)


def diff_ok(args: list[Arg], cwd: str) -> bool:
    """``diff`` compares ``DIR/NAME`` when one side is a folder, reading through any link
    there: no string in any word (``--from-file=DIR``, ``--to-file=DIR`` ...) names one."""
    return not any(_isdir(os.path.join(cwd, path))
                   for arg in args for path in candidates(arg.text))


def _flag(args: list[Arg], short: str, long: str) -> bool:
    """Some word may be the option: ``short`` in a cluster (``-rSHORT``), or ``--LONG`` or
    an abbreviation of it."""
    for arg in args:
        text = arg.text
        if text.startswith("--"):
            name = text[2:].split("=", 1)[0]
            if name and long.startswith(name):
                return True
        elif text.startswith("-") and short in text[1:]:
            return True
    return False


def derived_ok(program: str, args: list[Arg], cwd: str,
               inside: Callable[[str], bool]) -> bool:
    """``cp``/``mv``/``ln`` from ``cwd`` write nowhere a link sends elsewhere: see the
    module's rules. ``inside`` judges a path (absolute) as an operand is judged."""
    walk = _Walk()
    targeted = _flag(args, "t", "target-directory")
    # the last word is the destination unless a -t may name it (or a glob: its matches'
    # order is bash's, not ours, so every match may be a source)
    last_is_dest = bool(args) and args[-1].sure and not args[-1].glob and not targeted
    sources = args[:-1] if last_is_dest else args
    if program in ("cp", "mv"):
        for arg in sources:
            if walk.has_link(os.path.join(cwd, arg.text)):
                return False
    whole = _flag(args, "T", "no-target-directory")
    for dest in dict.fromkeys(p for arg in args for p in candidates(arg.text)):
        folder = os.path.join(cwd, dest)
        if not _isdir(folder):
            continue
        if whole and walk.has_link(folder):
            return False
        for arg in sources:
            if arg.text != dest and not _lands_clear(walk, folder, arg.text, inside):
                return False
    return True


def _lands_clear(walk: _Walk, folder: str, source: str, inside: Callable[[str], bool]) -> bool:
    """``folder/basename(source)`` (and, for ``--parents``, ``folder/source`` and each of
    its prefixes) is no link, holds none, and resolves inside."""
    parts = [p for p in source.split("/") if p]
    if not parts:
        return True
    paths = [os.path.join(folder, parts[-1])]
    paths += [os.path.join(folder, *parts[:i]) for i in range(1, len(parts) + 1)]
    for path in dict.fromkeys(paths):
        if not walk.spend() or not inside(path):
            return False
        try:
            if os.path.islink(path):
                return False
        except (OSError, ValueError):
            return False
    full = os.path.join(folder, *parts)
    return not walk.has_link(paths[0]) and not walk.has_link(full)

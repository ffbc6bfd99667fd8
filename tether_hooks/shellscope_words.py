"""The words of one simple command as the directory-timer checker reads them (stdlib only):
the programs it may cover and their refused options, what bash could make of a glob, and
which strings of a word could be a path.

Every reading here is a superset. A word that starts with ``-`` may be an option, and each
of its tails (``-oPATH``, ``-tDIR``, ``--opt=PATH``) may be a path the program opens; a
word after a plain ``--`` is an operand for every program, whatever it looks like; a glob
may expand to any entry of its folder (``-rf``, ``--``, ``-tDIR`` included).
"""

from __future__ import annotations

import os
from typing import NamedTuple

__all__ = ["PROGRAMS", "Arg", "argv", "candidates", "expand", "forbidden", "ln_symbolic"]

GLOB = frozenset("*?[")
MAX_MATCHES = 2000

# program -> (forbidden short option letters, forbidden long options (abbreviations count)).
_NONE: tuple[str, tuple[str, ...]] = ("", ())
_SUMS = ("c", ("check",))
PROGRAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ls": ("L", ("dereference",)),
    "cat": _NONE, "head": _NONE, "tail": _NONE, "tac": _NONE, "rev": _NONE,
    "wc": ("", ("files0-from",)),
    "grep": ("R", ("dereference-recursive",)),
    "egrep": ("R", ("dereference-recursive",)),
    "fgrep": ("R", ("dereference-recursive",)),
    "diff": ("r", ("recursive",)),  # and no directory in any word: diff reads DIR/NAME
    "cmp": _NONE,
    "sort": ("", ("compress-program", "files0-from")),
    "uniq": _NONE, "cut": _NONE, "tr": _NONE, "nl": _NONE, "paste": _NONE, "comm": _NONE,
    "join": _NONE, "fold": _NONE, "od": _NONE, "seq": _NONE, "sleep": _NONE,
    "stat": _NONE,
    # -m LIST: colon-separated magic files, each read and quoted in warnings; -C writes NAME.mgc
    "file": ("fmC", ("files-from", "magic-file", "compile")),
    "du": ("L", ("dereference", "files0-from")),
    "df": _NONE,
    "mkdir": _NONE, "rmdir": _NONE, "touch": _NONE, "rm": _NONE,
    "cp": ("LSsl", ("dereference", "suffix", "symbolic-link", "link")),  # -l: hard links
    "mv": ("S", ("suffix",)),
    "ln": ("St", ("suffix", "target-directory")),  # link targets: checked from every base
    "chmod": ("L", ("dereference",)),
    "echo": _NONE, "printf": _NONE, "pwd": _NONE, "true": _NONE, "false": _NONE, ":": _NONE,
    "basename": _NONE, "dirname": _NONE, "realpath": _NONE, "readlink": _NONE,
    "test": _NONE, "[": _NONE, "tee": _NONE,
    "md5sum": _SUMS, "sha1sum": _SUMS, "sha224sum": _SUMS, "sha256sum": _SUMS,
    "sha384sum": _SUMS, "sha512sum": _SUMS, "b2sum": _SUMS, "cksum": _SUMS,
    # --info/--gitignore read .info/.gitignore files in every folder walked (links included)
    "tree": ("lR", ("fromfile", "fromtabfile", "info", "infofile", "gitignore", "gitfile")),
    "jq": ("f", ("from-file",)),  # and no import/include/env in any word
    "cd": _NONE, "pushd": _NONE,
}
_JQ_WORDS = ("import", "include", "env")


class Arg(NamedTuple):
    """One word bash could pass: ``text`` (a glob word: one possible match, in no known
    order), ``sure`` when it is an operand for every program (no leading ``-``, or after a
    plain ``--``), ``glob`` when it came from a glob word."""

    text: str
    sure: bool
    glob: bool


def _pattern_ok(part: str) -> bool:
    return not (part.startswith((".", "[")) or "**" in part
                or any(c in part for c in ("[:", "[=", "[.")))


def expand(word: str, cwd: str) -> list[str] | None:
    """Every path bash could make of a glob word, and every folder it passes through: a
    strict superset. A component holding a glob character may match EVERY entry of its
    folder (no pattern matching at all: bash's bracket ranges, case and locale rules are not
    ours to imitate); None: too many entries, or a pattern shape we do not read."""
    parts = word.split("/")
    texts = [""]
    seen: list[str] = [word]
    for index, part in enumerate(parts):
        found: list[str] = []
        for text in texts:
            base = text if index == 0 else text + "/"
            if not (GLOB & set(part)):
                found.append(base + part)
                continue
            if not _pattern_ok(part):
                return None
            folder = os.path.join(cwd, base) if base else cwd
            try:
                names = os.listdir(folder)
            except (OSError, ValueError):
                continue
            for name in names:
                if index == len(parts) - 1 or os.path.isdir(os.path.join(folder, name)):
                    found.append(base + name)
                seen.append(base + name)
            if len(seen) > MAX_MATCHES:
                return None
        texts = found
    return [*seen, *texts]


def candidates(word: str) -> list[str]:
    """Every string in ``word`` that could be taken as a path: the word; after a ``=``, its
    value; in a word starting with ``-``, each tail (``-oPATH``: an option's glued value)."""
    if word.startswith("--"):
        return [word, word.split("=", 1)[1]] if "=" in word else [word]
    if word.startswith("-") and len(word) > 1:
        return [word[i:] for i in range(len(word))]
    return [word, word.split("=", 1)[1]] if "=" in word else [word]


def forbidden(program: str, word: str) -> bool:
    """``word``, read as an option, is one ``program`` may not be given (any word: one
    after ``--`` may still be an option's value, and a glob match may be an option)."""
    short, longs = PROGRAMS[program]
    if program == "jq" and any(bad in word for bad in _JQ_WORDS):
        return True
    if word == "--" or not word.startswith("-") or len(word) < 2:
        return False
    if word.startswith("--"):
        name = word[2:].split("=", 1)[0]
        return any(option.startswith(name) for option in longs)
    return any(letter in short for letter in word[1:])


def argv(words: list[tuple[str, bool]], cwd: str) -> list[Arg] | None:
    """Every word the program could receive from ``cwd``, in order (a glob word: each
    possible match); None for a glob we cannot expand. A plain ``--`` is kept (it may be an
    option's value); the words after it are operands for every program."""
    args: list[Arg] = []
    ended = False
    for text, glob in words:
        found = expand(text, cwd) if glob else [text]
        if found is None:
            return None
        args += [Arg(w, ended or w == "-" or not w.startswith("-"), glob) for w in found]
        ended = ended or (text == "--" and not glob)
    return args


def ln_symbolic(words: list[tuple[str, bool]]) -> bool:
    """``ln`` makes a symbolic link: ``-s``/``--symbolic`` among the options that come
    before every operand, glob and ``--`` (an ``-s`` after ``--`` names a file, and one
    after an operand is a file where options stop at the first operand)."""
    for text, glob in words:
        if glob or text == "--" or text == "-" or not text.startswith("-"):
            return False
        if text == "--symbolic" or (not text.startswith("--") and "s" in text[1:]):
            return True
    return False

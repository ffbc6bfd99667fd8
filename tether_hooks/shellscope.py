"""Does a Bash command provably stay inside a directory? (directory timers; stdlib only)

Loaded only when a directory timer judges a Bash call. Deliberately strict: anything this
checker cannot prove stays asked. The rules, in order:

- printable ASCII only; no expansion or grouping we cannot see through
  (``$ ` \\ { } ( ) ~ ! # ^``), no newline, no quoted operator characters;
- every simple command starts with a program on ``PROGRAMS`` (an allowlist of programs whose
  effect is limited to the files named on their command line), with none of its forbidden
  options; ``NAME=value`` words before a command, path-invoked programs, interpreters, build
  tools, ``git``, ``sed``, ``awk``, ``find`` ... are never covered; the program found on
  ``PATH`` may not come from (or after) a ``PATH`` entry inside the directory;
- every word is a possible path: a glob component may match EVERY entry of its folder (a
  strict superset of bash's matching; no pattern is read, no case folded), and each entry
  listed, each result, each ``=value`` and each tail of a short-option cluster
  (``-t..``, ``-o/etc/x``) is resolved with ``realpath`` from every possible working
  directory (``cd``) and must be inside, and none of ``selfguard.protected_path`` (our
  files, the agents' settings, any ``.claude``/``.codex`` folder, a folder holding ours);
- ``printf`` takes no option (``-v PATH`` assigns a variable); ``ln`` only makes symbolic
  links, never with a ``..`` in an operand; ``cp``/``mv`` never carry a symbolic link (a
  source that is one or a folder holding one); from a folder that holds our files no
  option, glob or walking program is covered;
- ``&`` (background) is asked; a line that chains commands with ``cp``/``mv``/``ln`` may only
  name paths that exist now (a link copied or moved there would otherwise be followed).
"""

from __future__ import annotations

import os

from tether_hooks import selfguard

__all__ = ["PROGRAMS", "command_inside"]

_ALLOWED_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,/:@%+=*?[]'\";&|<>"
)
_OPERATOR_CHARS = frozenset(";&|<>")
_SEPARATORS = frozenset((";", "&&", "||", "|", "|&"))
_REDIRECTS = frozenset((">", ">>", "<", ">&", "<&", "&>", "&>>", ">|", "<>", "<<<"))
_GLOB = frozenset("*?[")
_HARMLESS = ("/dev/null", "/dev/stdout", "/dev/stderr")
_BUILTINS = frozenset(("echo", "printf", "pwd", "true", "false", "test", "[", ":", "cd", "pushd"))
_LINKERS = frozenset(("cp", "mv", "ln"))
# Programs that walk a folder (their working directory when given no operand).
_WALKERS = frozenset(("du", "tree", "grep", "egrep", "fgrep", "ls", "chmod", "rm", "cp", "diff"))
_MAX_MATCHES = 2000
_MAX_CWDS = 8

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
    "diff": ("r", ("recursive",)),  # and no directory operands: diff reads through links there
    "cmp": _NONE,
    "sort": ("", ("compress-program", "files0-from")),
    "uniq": _NONE, "cut": _NONE, "tr": _NONE, "nl": _NONE, "paste": _NONE, "comm": _NONE,
    "join": _NONE, "fold": _NONE, "od": _NONE, "seq": _NONE, "sleep": _NONE,
    "stat": _NONE,
    "file": ("f", ("files-from",)),
    "du": ("L", ("dereference", "files0-from")),
    "df": _NONE,
    "mkdir": _NONE, "rmdir": _NONE, "touch": _NONE, "rm": _NONE,
    "cp": ("LSsl", ("dereference", "suffix", "symbolic-link", "link")),  # -l: hard links
    "mv": ("S", ("suffix",)),
    "ln": ("St", ("suffix", "target-directory")),  # link targets: checked from every base
    "chmod": ("L", ()),
    "echo": _NONE, "printf": _NONE, "pwd": _NONE, "true": _NONE, "false": _NONE, ":": _NONE,
    "basename": _NONE, "dirname": _NONE, "realpath": _NONE, "readlink": _NONE,
    "test": _NONE, "[": _NONE, "tee": _NONE,
    "md5sum": _SUMS, "sha1sum": _SUMS, "sha224sum": _SUMS, "sha256sum": _SUMS,
    "sha384sum": _SUMS, "sha512sum": _SUMS, "b2sum": _SUMS, "cksum": _SUMS,
    "tree": ("lR", ("fromfile",)),
    "jq": ("f", ("from-file",)),  # and no import/include/env in any word
    "cd": _NONE, "pushd": _NONE,
}
_JQ_WORDS = ("import", "include", "env")


def _tokens(command: str) -> list[tuple[str, bool, bool]] | None:
    """(text, is_operator, had_glob) tokens; None for a quoted operator or open quote."""
    tokens: list[tuple[str, bool, bool]] = []
    word: list[str] = []
    in_word = False
    quote = ""
    op: list[str] = []
    glob = False

    def end_word() -> None:
        nonlocal in_word, glob
        if in_word:
            tokens.append(("".join(word), False, glob))
        word.clear()
        in_word, glob = False, False

    for char in command:
        if quote:
            if char == quote:
                quote = ""
            elif char in _OPERATOR_CHARS:
                return None
            else:
                word.append(char)
            continue
        if char in _OPERATOR_CHARS:
            end_word()
            op.append(char)
            continue
        if op:
            tokens.append(("".join(op), True, False))
            op.clear()
        if char == " ":
            end_word()
        elif char in "'\"":
            quote, in_word = char, True
        else:
            word.append(char)
            in_word = True
            glob = glob or char in _GLOB
    if quote:
        return None
    end_word()
    if op:
        tokens.append(("".join(op), True, False))
    return tokens


def _pattern_ok(part: str) -> bool:
    return not (part.startswith((".", "[")) or "**" in part
                or any(c in part for c in ("[:", "[=", "[.")))


def _expand(word: str, cwd: str) -> list[str] | None:
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
            if not (_GLOB & set(part)):
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
            if len(seen) > _MAX_MATCHES:
                return None
        texts = found
    return [*seen, *texts]


def _candidates(word: str) -> list[str]:
    """Every string in ``word`` that could be taken as a path."""
    if word.startswith("--"):
        return [word, word.split("=", 1)[1]] if "=" in word else [word]
    if word.startswith("-") and len(word) > 1:
        return [word[i:] for i in range(len(word))]
    return [word, word.split("=", 1)[1]] if "=" in word else [word]


def _forbidden(program: str, word: str) -> bool:
    short, longs = PROGRAMS[program]
    if program == "jq" and any(bad in word for bad in _JQ_WORDS):
        return True
    if word == "--" or not word.startswith("-") or len(word) < 2:
        return False
    if word.startswith("--"):
        name = word[2:].split("=", 1)[0]
        return any(option.startswith(name) for option in longs)
    return any(letter in short for letter in word[1:])


class _Check:
    def __init__(self, directory: str, cwd: str) -> None:
        self.directory = directory
        self.cwds = [os.path.realpath(cwd)]
        self.must_exist = False

    def inside(self, path: str, bases: list[str] | None = None, exist: bool = True) -> bool:
        if path in _HARMLESS:
            return True
        for base in bases or self.cwds:
            joined = os.path.join(base, path)
            if exist and self.must_exist and not os.path.exists(joined):
                return False
            try:
                real = os.path.realpath(joined)
            except (OSError, ValueError):
                return False
            if real != self.directory and not real.startswith(self.directory + os.sep):
                return False
            if selfguard.protected_path(base, path):
                return False  # our files, agent settings dirs, or a folder holding them
        return True

    def word(self, program: str, raw: str, glob: bool, bases: list[str] | None = None) -> bool:
        if raw.startswith("="):
            return False  # zsh: =cmd expands to a program's path
        for cwd in bases or self.cwds:
            words = _expand(raw, cwd) if glob else [raw]
            if words is None:
                return False
            for word in words:
                if _forbidden(program, word):
                    return False
                for path in _candidates(word):
                    if not self.inside(path, [cwd], not word.startswith("-")):
                        return False
                if program == "diff" and not word.startswith("-") and os.path.isdir(
                        os.path.join(cwd, word)):
                    return False
        return True


def _program_ok(name: str, directory: str) -> bool:
    """``name`` is allowlisted, and PATH cannot hand us a copy from inside the directory."""
    if name not in PROGRAMS:
        return False
    if name in _BUILTINS:
        return True
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            return False
        real = os.path.realpath(entry)
        if real == directory or real.startswith(directory + os.sep):
            return False
        candidate = os.path.join(entry, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return True
    return False


def _commands(tokens: list[tuple[str, bool, bool]]) -> list[list[tuple[str, bool, bool]]] | None:
    """Simple commands (words and redirections); None for an unknown operator or ``&``."""
    commands: list[list[tuple[str, bool, bool]]] = [[]]
    for token in tokens:
        text, is_op, _ = token
        if is_op and text in _SEPARATORS:
            if not commands[-1]:
                return None
            commands.append([])
        elif is_op and text not in _REDIRECTS:
            return None  # & (background), <<, ;; ...
        else:
            commands[-1].append(token)
    if not commands[-1]:
        commands.pop()
    return commands


def _simple(check: _Check, command: list[tuple[str, bool, bool]]) -> bool:
    program = ""
    operands: list[tuple[str, bool]] = []
    redirect = False
    for text, is_op, glob in command:
        if is_op:
            if redirect:
                return False
            redirect = True
            continue
        if redirect:
            redirect = False
            if not check.word(":", text, glob):
                return False
        elif not program:
            odd = "=" in text or (glob and text != "[") or "/" in text
            if odd or not _program_ok(text, check.directory):
                return False  # NAME=value, path-invoked, unknown, or found inside the directory
            program = text
        else:
            operands.append((text, glob))
    if redirect or not program:
        return False
    if program in ("cd", "pushd"):
        return _cd(check, operands)
    if not _options_ok(check, program, operands):
        return False
    bases = None
    if program == "ln":
        bases = list(check.cwds)
        for text, _ in operands:
            if not text.startswith("-"):
                for cwd in check.cwds:
                    real = os.path.realpath(os.path.join(cwd, text))
                    bases += [real, os.path.dirname(real)]
    if not all(check.word(program, text, glob, bases) for text, glob in operands):
        return False
    return program not in ("cp", "mv") or _no_links_moved(check, operands)


def _options_ok(check: _Check, program: str, operands: list[tuple[str, bool]]) -> bool:
    """Shapes no path check sees: ``printf -v NAME`` assigns a shell variable (``PATH``);
    ``ln`` without ``-s`` makes a hard link (an edit through it lands on the original);
    a relative link target with ``..`` points elsewhere once the link is moved; a
    recursive walk or option run from a folder that holds our files reaches them."""
    words = [text for text, _ in operands]
    options = [w for w in words if w.startswith("-") and w != "-"]
    if program == "printf" and options:
        return False
    if program == "ln":
        symbolic = any(w == "--symbolic" or (not w.startswith("--") and "s" in w[1:])
                       for w in options)
        if not symbolic or any(".." in w for w in words if not w.startswith("-")):
            return False
    if any(selfguard.guards(cwd) for cwd in check.cwds):
        return not options and program not in _WALKERS and not any(g for _, g in operands)
    return True


def _no_links_moved(check: _Check, operands: list[tuple[str, bool]]) -> bool:
    """``cp``/``mv`` may not carry a symbolic link (a relative one keeps its text and points
    elsewhere where it lands): no source that is a link or a folder holding one (a bounded
    walk; too big to walk is asked)."""
    names = [text for text, _ in operands if not text.startswith("-")]
    targeted = any(text.startswith("--t") or (text[:1] == "-" and text[1:2] != "-"
                                              and "t" in text) for text, _ in operands)
    sources = names if targeted else names[:-1]
    for cwd in check.cwds:
        for raw in sources:
            words = _expand(raw, cwd) if _GLOB & set(raw) else [raw]
            if words is None:
                return False
            for word in words:
                if _has_link(os.path.join(cwd, word)):
                    return False
    return True


def _raise(error: OSError) -> None:
    raise error


def _has_link(path: str) -> bool:
    budget = _MAX_MATCHES
    try:
        if os.path.islink(path.rstrip(os.sep) or path):
            return True
        if not os.path.isdir(path):
            return False
        for _root, dirs, files in os.walk(path, onerror=_raise):
            for name in (*dirs, *files):
                budget -= 1
                if budget < 0 or os.path.islink(os.path.join(_root, name)):
                    return True
    except (OSError, ValueError):
        return True
    return False


def _cd(check: _Check, operands: list[tuple[str, bool]]) -> bool:
    """``cd ./dir`` (or absolute): no CDPATH lookup, no ``-``, one existing directory inside."""
    if len(operands) != 1 or operands[0][1]:
        return False
    target = operands[0][0]
    if not (target == "." or target.startswith(("./", "../", "/"))):
        return False
    if not check.inside(target):
        return False
    new = [os.path.realpath(os.path.join(cwd, target)) for cwd in check.cwds]
    if not all(os.path.isdir(path) for path in new):
        return False
    check.cwds = list(dict.fromkeys([*check.cwds, *new]))
    return len(check.cwds) <= _MAX_CWDS


def command_inside(command: str, cwd: str, directory: str) -> bool:
    """True only when every simple command in ``command`` provably acts inside ``directory``
    (a real path) when run from ``cwd``."""
    if not command.strip() or len(command) > 10_000 or not set(command) <= _ALLOWED_CHARS:
        return False
    tokens = _tokens(command)
    commands = _commands(tokens) if tokens else None
    if not commands:
        return False
    check = _Check(directory, cwd)
    programs = {c[0][0] for c in commands if c and not c[0][1]}
    check.must_exist = len(commands) > 1 and bool(programs & _LINKERS)
    return all(_simple(check, c) for c in commands)

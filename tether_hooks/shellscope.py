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
- every word is a possible path and a possible option (``shellscope_words``): a glob
  component may match EVERY entry of its folder (a strict superset of bash's matching; no
  pattern is read, no case folded), and each entry listed, each result, each ``=value`` and
  each tail of a short-option cluster (``-t..``, ``-o/etc/x``) is resolved with ``realpath``
  from every possible working directory (``cd``) and must be inside, and none of
  ``selfguard.protected_path`` (our files, the agents' settings, any ``.claude``/``.codex``
  folder, a folder holding ours); a word after a plain ``--`` is an operand (for every
  program: never counted as an option that loosens a rule);
- what a program derives from its words is checked too (``shellscope_derived``): ``diff``
  names no folder in any word (``--from-file=DIR`` reads ``DIR/NAME``); ``cp``/``mv`` never
  carry a symbolic link (a source that is one or a folder holding one); ``cp``/``mv``/``ln``
  never write where a link already sits (``dst/a``, anything under ``dst/src``, under ``dst``
  with ``-T``, each prefix of ``dst/s/f`` with ``--parents``), whatever word names ``dst``;
- ``printf`` takes no option (``-v PATH`` assigns a variable); ``ln`` only makes symbolic
  links (an ``-s`` before every operand and ``--``), never with a ``..`` in a word, and its
  relative target is checked from every place the link may land; from a folder that holds
  our files no option, glob or walking program is covered;
- ``&`` (background) is asked; a line that chains commands with ``cp``/``mv``/``ln`` may only
  name paths that exist now, and option values only in folders that exist now (a link
  copied or moved there would otherwise be followed).
"""

from __future__ import annotations

import os
from functools import partial

from tether_hooks import selfguard
from tether_hooks.shellscope_derived import derived_ok, diff_ok
from tether_hooks.shellscope_words import (
    GLOB,
    PROGRAMS,
    argv,
    candidates,
    forbidden,
    ln_symbolic,
)

__all__ = ["PROGRAMS", "command_inside"]

_ALLOWED_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,/:@%+=*?[]'\";&|<>"
)
_OPERATOR_CHARS = frozenset(";&|<>")
_SEPARATORS = frozenset((";", "&&", "||", "|", "|&"))
_REDIRECTS = frozenset((">", ">>", "<", ">&", "<&", "&>", "&>>", ">|", "<>", "<<<"))
_HARMLESS = ("/dev/null", "/dev/stdout", "/dev/stderr")
_BUILTINS = frozenset(("echo", "printf", "pwd", "true", "false", "test", "[", ":", "cd", "pushd"))
_LINKERS = frozenset(("cp", "mv", "ln"))
# Programs that walk a folder (their working directory when given no operand).
_WALKERS = frozenset(("du", "tree", "grep", "egrep", "fgrep", "ls", "chmod", "rm", "cp", "diff"))
_DERIVING = frozenset(("cp", "mv", "ln", "diff"))
_MAX_CWDS = 8
_MAX_BASES = 64


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
            glob = glob or char in GLOB
    if quote:
        return None
    end_word()
    if op:
        tokens.append(("".join(op), True, False))
    return tokens


class _Check:
    def __init__(self, directory: str, cwd: str) -> None:
        self.directory = directory
        self.cwds = [os.path.realpath(cwd)]
        # the shell's own idea of where it is (``cd`` is logical: ``l/..`` drops ``l`` as
        # text, whatever ``l`` links to), starting from the directory as the agent gave it
        self.logical = [os.path.normpath(os.path.abspath(cwd))]
        self.must_exist = False

    def inside(self, path: str, bases: list[str] | None = None, exist: str = "path") -> bool:
        """``path`` from every base resolves inside and is not ours; in a line that may
        move links, ``exist`` (``path``/``parent``/empty) must exist now."""
        if path in _HARMLESS:
            return True
        for base in bases or self.cwds:
            joined = os.path.join(base, path)
            try:
                if self.must_exist and exist and not os.path.exists(
                        joined if exist == "path" else os.path.dirname(joined)):
                    return False
                real = os.path.realpath(joined)
            except (OSError, ValueError):
                return False
            if real != self.directory and not real.startswith(self.directory + os.sep):
                return False
            if selfguard.protected_path(base, path):
                return False  # our files, agent settings dirs, or a folder holding them
        return True

    def words(self, program: str, operands: list[tuple[str, bool]],
              bases: list[str] | None = None) -> bool:
        """Every word (each glob match), read as an option and as paths, is allowed."""
        if any(raw.startswith("=") for raw, _ in operands):
            return False  # zsh: =cmd expands to a program's path
        for cwd in bases or self.cwds:
            args = argv(operands, cwd)
            if args is None:
                return False
            for text, sure, _ in args:
                if forbidden(program, text):
                    return False
                for path in candidates(text):
                    exist = ("path" if sure and (path == text or text[:1] != "-")
                             else "" if path == text else "parent")  # -oDIR/x: DIR exists
                    if not self.inside(path, [cwd], exist):
                        return False
        return True

    def derived(self, program: str, operands: list[tuple[str, bool]]) -> bool:
        """What ``cp``/``mv``/``ln``/``diff`` derive from their words (``dst/a`` ...)."""
        for cwd in self.cwds:
            args = argv(operands, cwd)
            if args is None:
                return False
            if program == "diff":
                if not diff_ok(args, cwd):
                    return False
            elif not derived_ok(program, args, cwd, partial(self.judge, cwd)):
                return False
        return True

    def judge(self, cwd: str, path: str) -> bool:
        """A path a program derives, judged as an operand from ``cwd`` (need not exist)."""
        return self.inside(path, [cwd], "")


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
            if not check.words(":", [(text, glob)]):
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
    bases = _ln_bases(check, operands) if program == "ln" else None
    if bases == [] or not check.words(program, operands, bases):
        return False
    return program not in _DERIVING or check.derived(program, operands)


def _ln_bases(check: _Check, operands: list[tuple[str, bool]]) -> list[str]:
    """Where a link's relative target is read from: every working directory, and every
    operand's (each glob match's) real path and its folder; [] when too many to check."""
    bases = list(check.cwds)
    for cwd in check.cwds:
        args = argv(operands, cwd)
        if args is None:
            return []
        for text, _, _ in args:
            real = os.path.realpath(os.path.join(cwd, text))
            bases += [real, os.path.dirname(real)]
    bases = list(dict.fromkeys(bases))
    return bases if len(bases) <= _MAX_BASES else []


def _options_ok(check: _Check, program: str, operands: list[tuple[str, bool]]) -> bool:
    """Shapes no path check sees: ``printf -v NAME`` assigns a shell variable (``PATH``);
    ``ln`` without ``-s`` before its operands makes a hard link (an edit through it lands
    on the original; an ``-s`` after ``--`` is a file name); a relative link target with
    ``..`` points elsewhere once the link is moved; a recursive walk or option run from a
    folder that holds our files reaches them."""
    words = [text for text, _ in operands]
    options = [w for w in words if w.startswith("-") and w != "-"]
    if program == "printf" and options:
        return False
    if program == "ln" and (not ln_symbolic(operands) or any(".." in w for w in words)):
        return False
    if any(selfguard.guards(cwd) for cwd in check.cwds):
        return not options and program not in _WALKERS and not any(g for _, g in operands)
    return True


def _cd(check: _Check, operands: list[tuple[str, bool]]) -> bool:
    """``cd ./dir`` (or absolute): no CDPATH lookup, no ``-``, one existing directory inside."""
    if len(operands) != 1 or operands[0][1]:
        return False
    target = operands[0][0]
    if not (target == "." or target.startswith(("./", "../", "/"))):
        return False
    if not check.inside(target):
        return False
    # Both ways the shell may take: ``..`` undone as text (``cd -L``, the default) and, if
    # that fails, through the links (``cd -P``); each must land inside.
    texts = [os.path.normpath(os.path.join(cwd, target)) for cwd in check.logical]
    if not all(check.inside(text, ["/"]) for text in texts):
        return False
    new = [os.path.realpath(os.path.join(cwd, target)) for cwd in check.cwds]
    new += [os.path.realpath(text) for text in texts]
    if not all(os.path.isdir(path) for path in new):
        return False
    check.cwds = list(dict.fromkeys([*check.cwds, *new]))
    check.logical = list(dict.fromkeys([*check.logical, *texts, *new]))
    return len(check.cwds) <= _MAX_CWDS and len(check.logical) <= 2 * _MAX_CWDS


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

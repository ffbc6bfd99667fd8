"""Which auto-approve timer, if any, covers a request. Pure: no I/O but ``realpath``.

A timer is a dict::

    {"id": "7f3a", "scope": "session" | "tool" | "dir" | "bash",
     "session_id": str | None,  # None: every session
     "agent": str | None,       # None: every agent
     "tool": str | None,        # scope tool: casefolded name; a trailing * matches a prefix
     "path": str | None,        # scope dir: real path of the directory
     "prefix": str | None,      # scope bash: the command pattern, "git status*"
     "created_at": float, "expires_at": float, "created_by": str}

A request is the agent-neutral dict built by ``agents.*.parse``: ``agent``, ``session_id``,
``cwd``, ``tool_name``, ``tool_input``, ``paths`` (absolute paths the call touches) and,
optionally, ``tool_aliases`` (names a tool timer also matches: Codex's apply_patch is Edit/Write).
"""

from __future__ import annotations

import os

from tether_hooks import selfguard
from tether_hooks.durations import format_duration
from tether_hooks.errors import UsageError

__all__ = [
    "ALWAYS_ASK",
    "DEFAULT_NEVER",
    "SCOPES",
    "bash_matches",
    "bash_paths",
    "check_dir",
    "describe",
    "find_timer",
    "is_never",
    "label",
    "path_inside",
    "timer_matches",
]

SCOPES = ("session", "tool", "dir", "bash")
DEFAULT_NEVER = ("AskUserQuestion", "ExitPlanMode", "EnterPlanMode")
# Questions and plans need an answer, not a permission: no config can hand them to a timer.
ALWAYS_ASK = ("AskUserQuestion", "ExitPlanMode")
# A command-prefix rule never covers more than one command: text after the prefix
# may not chain, pipe, substitute or redirect (`git status; rm -rf ~`).
_SHELL_META = (";", "&", "|", "`", "$(", ">", "<", "\n", "\r")
_SPECIFICITY = {"bash": 0, "tool": 1, "dir": 2, "session": 3}


def is_never(tool_name: str, never: list[str] | tuple[str, ...]) -> bool:
    """True when ``tool_name`` is on the never-auto-approve list (case-insensitive)."""
    folded = tool_name.casefold()
    return any(folded == name.casefold() for name in never)


def path_inside(path: str, directory: str) -> bool:
    """True when real ``path`` is ``directory`` or below it (``/p`` never matches ``/p2``)."""
    if path == directory:
        return True
    base = directory if directory.endswith(os.sep) else directory + os.sep
    return path.startswith(base)


def check_dir(path: str | None, broad_ok: bool = False) -> str:
    """The real path of a directory a timer may cover; UsageError for a missing one, and for
    the home directory or any directory holding it (``/``, ``/home``) unless ``broad_ok``:
    they would cover nearly everything."""
    if not path:
        raise UsageError("a directory timer needs a directory")
    real = os.path.realpath(os.path.expanduser(path))
    if not os.path.isdir(real):
        raise UsageError(f"{real} is not a directory")
    home = os.path.realpath(os.path.expanduser("~"))
    if not broad_ok and (real == home or path_inside(home, real)):
        raise UsageError(
            f"{real} would cover nearly every session; give a project directory (or --force)"
        )
    return real


def bash_matches(pattern: str, command: str) -> bool:
    """Does a Bash rule (``git status*`` or ``git status:*`` or an exact command) cover it?"""
    pattern = pattern.strip()
    command = command.strip()
    if pattern.endswith(":*"):
        prefix = pattern[:-2].rstrip()
        if command != prefix and not command.startswith(prefix + " "):
            return False
    elif pattern.endswith("*"):
        prefix = pattern[:-1]
        if not command.startswith(prefix):
            return False
    else:
        return " ".join(command.split()) == " ".join(pattern.split())
    rest = command[len(prefix) :]
    return not any(meta in rest for meta in _SHELL_META)


def _tool_matches(rule: str, tool_name: str) -> bool:
    folded = tool_name.casefold()
    if rule.endswith("*"):
        return folded.startswith(rule[:-1])
    return folded == rule


def timer_matches(timer: dict, request: dict, now: float) -> bool:
    """True when ``timer`` is live and covers ``request``."""
    if float(timer.get("expires_at", 0)) <= now:
        return False
    if timer.get("session_id") and timer["session_id"] != request.get("session_id"):
        return False
    if timer.get("agent") and timer["agent"] != request.get("agent"):
        return False
    scope = timer.get("scope")
    tool_name = str(request.get("tool_name") or "")
    if scope == "session":
        return bool(timer.get("session_id"))
    if scope == "tool":
        # tool_aliases: other names the call answers to (Codex's apply_patch: Edit, Write).
        names = (tool_name, *(request.get("tool_aliases") or ()))
        return bool(timer.get("tool")) and any(_tool_matches(str(timer["tool"]), n) for n in names)
    if scope == "bash":
        command = (request.get("tool_input") or {}).get("command")
        return (
            tool_name.casefold() == "bash"
            and isinstance(command, str)
            and bash_matches(str(timer.get("prefix") or ""), command)
        )
    if scope == "dir":
        return _dir_covers(request, str(timer.get("path") or ""))
    return False


def _inside(cwd: str, path: str, directory: str) -> bool:
    return path_inside(os.path.realpath(os.path.join(cwd, os.path.expanduser(path))), directory)


def _dir_covers(request: dict, directory: str) -> bool:
    """Everything in ``directory``: the call runs there and touches nothing visibly outside.

    Files a tool names must be inside. A Bash command must name no path outside (``/etc``,
    ``~``, ``..``) and use no expansion we cannot see through (``$VAR``, backticks). Tools
    that say nothing about where they act (WebFetch, MCP, Agent) are not covered.
    """
    cwd = request.get("cwd")
    if not directory or not isinstance(cwd, str) or not cwd:
        return False
    if not path_inside(os.path.realpath(cwd), directory):
        return False
    paths = list(request.get("paths") or ())
    tool = str(request.get("tool_name") or "").casefold()
    if tool == "bash":
        command = (request.get("tool_input") or {}).get("command")
        named = bash_paths(command) if isinstance(command, str) else None
        if named is None:
            return False
        paths += named
    elif not paths and tool not in _CWD_TOOLS:
        return False
    return all(_inside(cwd, p, directory) for p in paths)


# Tools that act in the working directory when they name no path.
_CWD_TOOLS = ("glob", "grep", "ls")
_HARMLESS = ("/dev/null", "/dev/stdout", "/dev/stderr")
# Under a directory timer a Bash word may only be plain text or a relative path made of these.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,+@%:=-")
_GLOB = frozenset("*?[]")
_OPERATORS = frozenset("();<>|&")
_INTERPRETERS = frozenset(("sh", "bash", "zsh", "dash", "ksh", "fish", "python", "python3",
                           "perl", "ruby", "node", "php", "lua", "pwsh", "osascript"))
_CHANGES_DIR = frozenset(("cd", "pushd", "popd"))
_RUNS_ANYTHING = frozenset(("eval", "exec", "source", ".", "xargs", "sudo", "su", "doas", "env",
                            "command", "builtin", "nohup", "time", "watch", "find"))


def bash_paths(command: str) -> list[str] | None:
    """The paths a Bash command names (to be checked against the directory), or None when it
    may reach outside in a way we cannot check: a ``~`` path, ``..``, an expansion
    (``$``, backticks, braces, ``.?``), a path glued to an option (``-o/etc/x``), or a command
    that runs other commands (``sh -c``, ``eval``, ``xargs``, ``find -exec``, ...).

    Deliberately strict and best-effort: anything unusual is left to a human.
    """
    if any(c in command for c in "$`{}~\\") or "\n" in command:
        return None
    import shlex

    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError:
        return None
    found: list[str] = []
    previous = ""
    for word in words:
        if word and set(word) <= _OPERATORS:
            if previous in _CHANGES_DIR:
                return None  # a bare `cd` goes home
            previous = ""
            continue
        if previous in _CHANGES_DIR and word.startswith(("-", "+")):
            return None  # `cd -` goes back to wherever the shell was
        name = word.rsplit("/", 1)[-1]
        if name in _RUNS_ANYTHING or (word in ("-c", "-e") and previous in _INTERPRETERS):
            return None
        previous_command, previous = previous, name
        if word in _HARMLESS:
            continue
        path = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if "/" not in path and not (_GLOB & set(path)):
            if not set(path) <= _PLAIN | {" "}:
                return None
            if previous_command in _CHANGES_DIR:
                found.append(path)  # `cd src`: src could be a link out of the directory
            continue
        if path.startswith("-") or not set(path) <= _PLAIN | _GLOB | {"/"}:
            return None  # an option with a path glued on, or odd characters
        parts = path.split("/")
        if ".." in parts or any(p.startswith(".") and _GLOB & set(p) for p in parts):
            return None
        found.append(path)
    if previous in _CHANGES_DIR and words and words[-1] == previous:
        return None
    return found


def find_timer(
    timers: dict, request: dict, now: float, never: list[str] | tuple[str, ...] = DEFAULT_NEVER
) -> dict | None:
    """The most specific live timer covering ``request``, or None."""
    names = (str(request.get("tool_name") or ""), *(request.get("tool_aliases") or ()))
    if any(is_never(name, never) or is_never(name, ALWAYS_ASK) for name in names):
        return None
    if timers and selfguard.touches_us(request):  # our own CLI and files: always asked
        return None
    best = None
    for timer in timers.values():
        if isinstance(timer, dict) and timer_matches(timer, request, now):
            rank = _SPECIFICITY.get(str(timer.get("scope")), 9)
            if best is None or rank < _SPECIFICITY.get(str(best.get("scope")), 9):
                best = timer
    return best


def label(timer: dict) -> str:
    """What a timer allows, in words: ``Allow Bash``, ``Allow dir ~/proj``."""
    scope = timer.get("scope")
    if scope == "session":
        text = f"Allow all in session {str(timer.get('session_id'))[:8]}"
    elif scope == "tool":
        text = f"Allow {timer.get('tool_label') or timer.get('tool')}"
    elif scope == "dir":
        home = os.path.expanduser("~")
        path = str(timer.get("path"))
        shown = "~" + path[len(home) :] if home != "/" and path_inside(path, home) else path
        text = f"Allow dir {shown}"
    elif scope == "bash":
        text = f'Allow Bash "{timer.get("prefix")}"'
    else:
        text = f"Allow ({scope})"
    if scope != "session" and timer.get("session_id"):
        text += f" in session {str(timer['session_id'])[:8]}"
    return text


def describe(timer: dict, now: float) -> str:
    """The recorded reason for an auto-approval: ``Allow Bash (timer 7f3a, 12 min left)``."""
    left = format_duration(float(timer.get("expires_at", 0)) - now)
    return f"{label(timer)} (timer {timer.get('id')}, {left} left)"

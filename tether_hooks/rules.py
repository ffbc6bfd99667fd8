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
``cwd``, ``tool_name``, ``tool_input``, ``paths`` (the paths the call names; None when the
plug-in cannot know them all: a directory timer never covers it) and,
optionally, ``tool_aliases`` (names a tool timer also matches: Codex's apply_patch is Edit/Write).
"""

from __future__ import annotations

import os

from tether_hooks import selfguard
from tether_hooks.durations import format_duration
from tether_hooks.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook fast path)
if TYPE_CHECKING:
    from tether_hooks.models import HookRequest, Timer

__all__ = [
    "ALWAYS_ASK",
    "DEFAULT_NEVER",
    "SCOPES",
    "DIR_TOOLS",
    "bash_matches",
    "check_bash_rule",
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
# A Bash rule never covers more than one command: the command may not chain, pipe,
# substitute, expand or redirect anywhere, quoted or not (`git status; rm -rf ~`). No `$` at
# all: `${x:=...}${x@P}`, `$[...]` and `${PWD:...}` run or reshape code inside one "word".
_SHELL_META = (";", "&", "|", "`", "$", ">", "<", "\n", "\r")
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


def _one_command(command: str) -> list[str] | None:
    """The words of ``command`` when it is one simple command of printable ASCII, else None.

    Conservative: an operator or newline character anywhere (quoted too) means "not one
    command", and so does anything shlex cannot split."""
    if not command.strip() or any(not " " <= c <= "~" for c in command):
        return None
    if any(meta in command for meta in _SHELL_META):
        return None
    import shlex

    try:
        return shlex.split(command)
    except ValueError:
        return None


def check_bash_rule(pattern: str | None) -> str:
    """The normalised Bash rule ``pattern``; UsageError for an empty one or one that could
    never match (several commands, an operator, a newline, odd characters)."""
    text = (pattern or "").strip()
    if not text:
        raise UsageError("a Bash rule needs a command, like 'git status*' or 'npm test'")
    body = text[:-2] if text.endswith(":*") else text[:-1] if text.endswith("*") else text
    if body.strip() and _one_command(body) is None:
        raise UsageError(
            f"the Bash rule {text!r} can never match: a rule covers one simple command of "
            "printable characters, without ; & | ` $ > < or a line break"
        )
    return text


def bash_matches(pattern: str, command: str) -> bool:
    """Does a Bash rule cover ``command``? ``git status:*`` (those words, then anything),
    ``git stat*`` (the last word may go on), or an exact command (the same words). Pattern and
    command are split by the same parse, and the command must be one simple command of
    printable ASCII with no ``; & | ` $ > <`` or line break anywhere (quoted too): no
    variable, arithmetic or command expansion is ever covered by a Bash rule."""
    words = _one_command(command)
    text = pattern.strip()
    if words is None or not text:
        return False
    if text.endswith(":*"):
        body, partial = text[:-2], False
    elif text.endswith("*"):
        body = text[:-1]
        partial = bool(body) and not body[-1].isspace()
    else:
        return _one_command(text) == words
    wanted = _one_command(body) if body.strip() else []
    if wanted is None or len(words) < len(wanted):
        return False
    if not partial:
        return words[: len(wanted)] == wanted
    last = len(wanted) - 1
    return words[:last] == wanted[:last] and words[last].startswith(wanted[last])


def _tool_matches(rule: str, tool_name: str) -> bool:
    folded = tool_name.casefold()
    if rule.endswith("*"):
        return folded.startswith(rule[:-1])
    return folded == rule


def timer_matches(timer: Timer, request: HookRequest, now: float) -> bool:
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
    try:
        real = os.path.realpath(os.path.join(cwd, os.path.expanduser(path)))
    except (OSError, ValueError):  # NUL in the text, a loop ...: not provable
        return False
    return path_inside(real, directory)


# Tools that write a file in place: a hard link makes the edit land on another name too.
_EDIT_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit", "apply_patch")


def _path_ok(cwd: str, path: str, directory: str, tool: str) -> bool:
    """``path`` resolves inside ``directory``, is none of our (or the agents') protected
    files or folders, and, for a search tool, is no folder holding them; an existing file
    an editing tool writes has one link only."""
    if not _inside(cwd, path, directory) or selfguard.protected_path(cwd, path):
        return False
    if tool in _EDIT_TOOLS:
        try:
            stat = os.stat(os.path.join(cwd, os.path.expanduser(path)))
        except FileNotFoundError:
            return True
        except (OSError, ValueError):
            return False
        return stat.st_nlink <= 1
    return True


# The only tools a directory timer can cover: built-in tools whose every path-bearing field
# the agent plug-ins know (``paths`` is a list only then). MCP, unknown tools, WebFetch,
# WebSearch, Agent/Task ... are never covered, whatever fields they carry.
DIR_TOOLS = frozenset(("Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep",
                       "LS", "Bash", "apply_patch"))
# Tools that act in the working directory when they name no path.
_CWD_TOOLS = ("Glob", "Grep", "LS")


def _dir_covers(request: HookRequest, directory: str) -> bool:
    """Everything in ``directory``: the call runs there and provably touches nothing outside.

    Every path the tool names (``paths``, from the agent plug-in; None when it cannot know
    them all) must resolve inside; a Bash command must pass ``shellscope.command_inside``."""
    cwd = request.get("cwd")
    tool = str(request.get("tool_name") or "")
    paths = request.get("paths")
    if not directory or not isinstance(cwd, str) or not cwd or tool not in DIR_TOOLS:
        return False
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
        return False
    try:
        real_cwd = os.path.realpath(cwd)
    except (OSError, ValueError):
        return False
    if not path_inside(real_cwd, directory):
        return False
    if tool == "Bash":
        tool_input = request.get("tool_input") or {}
        command = tool_input.get("command")
        if not isinstance(command, str) or tool_input.get("run_in_background"):
            return False
        from tether_hooks.shellscope import command_inside

        if not command_inside(command, cwd, directory):
            return False
    elif not paths and tool not in _CWD_TOOLS:
        return False
    elif tool in _CWD_TOOLS and not paths and selfguard.guards(real_cwd):
        return False  # a search from a folder holding our files reaches them
    return all(_path_ok(cwd, p, directory, tool) for p in paths)


def find_timer(
    timers: dict[str, Timer], request: HookRequest, now: float,
    never: list[str] | tuple[str, ...] = DEFAULT_NEVER,
) -> Timer | None:
    """The most specific live timer covering ``request``, or None."""
    names = (str(request.get("tool_name") or ""), *(request.get("tool_aliases") or ()))
    if any(is_never(name, never) or is_never(name, ALWAYS_ASK) for name in names):
        return None
    if timers and selfguard.touches_us(request):  # our own CLI and files: always asked
        return None
    best = None
    mirrored: bool | None = None  # asked once, only if a fleet timer's copy is here
    for timer in timers.values():
        if isinstance(timer, dict) and timer.get("origin") == "fleet":
            if mirrored is None:
                mirrored = _mirror_alive()
            if not mirrored:
                continue
        if isinstance(timer, dict) and timer_matches(timer, request, now):
            rank = _SPECIFICITY.get(str(timer.get("scope")), 9)
            if best is None or rank < _SPECIFICITY.get(str(best.get("scope")), 9):
                best = timer
    return best


MIRROR_FRESH = 10.0  # five listener beats


def _mirror_alive() -> bool:
    """A copy of a fleet timer (``[shared]``, ``origin == "fleet"``) is true only while this
    machine's listener runs: its Mirror removes the copy when the timer is revoked on any
    machine. With the listener stopped or silent, a revocation could not reach the copy,
    so the copy allows nothing (the call is asked, which starts the listener again)."""
    from tether_hooks.heartbeat import silent_for

    silent = silent_for()
    return silent is not None and silent < MIRROR_FRESH


def label(timer: Timer) -> str:
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


def describe(timer: Timer, now: float) -> str:
    """The recorded reason for an auto-approval: ``Allow Bash (timer 7f3a, 12 min left)``."""
    left = format_duration(float(timer.get("expires_at", 0)) - now)
    return f"{label(timer)} (timer {timer.get('id')}, {left} left)"

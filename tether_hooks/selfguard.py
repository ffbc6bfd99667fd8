"""Calls no timer may allow: those that run tether-hooks itself or touch its files.

An agent working under a timer must not be able to grant itself more through our own CLI
(``tether-hooks allow-tool '*'``), nor read the bot token in ``config.toml``, nor edit the
state store or the agents' settings that hold our hooks. ``touches_us`` finds such calls;
``rules.find_timer`` then covers nothing and the call is asked like any other.

Hook fast path: standard library only, string checks, one ``realpath`` per named file.
Best-effort by nature: it catches the direct ways (the command's name in any quoting, our
directories, our files); a command that builds the name at run time (``base64 -d | sh``)
is not seen here, which is why the CLI also refuses grant verbs run by an agent
(``agent_check``) and why a Bash tool or session timer is documented as "anything".
"""

from __future__ import annotations

import os

from tether_hooks import paths

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook fast path)
if TYPE_CHECKING:
    from tether_hooks.models import HookRequest

__all__ = ["AGENT_DIR_NAMES", "PROTECTED_NAMES", "guards", "protected_path", "touches_us"]

# Words that name us or our files, wherever they appear in a command (lowercase, after
# quotes and backslashes are dropped: `t'ether'-hooks` and `tether\-hooks` count).
PROTECTED_NAMES = (
    "tether",  # tether-hooks, tether-hook, tether_hooks, $TETHER_HOOKS_HOME, tether*
    "config.toml",  # the bot token (also Codex's config.toml, which holds our hooks)
    "state.json",
    "audit.jsonl",
    "listener.sock",
    "config.cache.json",
    ".claude/settings",  # settings.json and settings.local.json hold our Claude hooks
    ".codex/hooks.json",
)
# Agents' files that hold our hooks: their base names, in any directory named like theirs.
_AGENT_FILES = {
    "settings.json": ".claude",
    "settings.local.json": ".claude",
    "hooks.json": ".codex",
    "config.toml": ".codex",
}
# Directories, anywhere, that hold an agent's settings (and so, maybe, our hooks).
AGENT_DIR_NAMES = (".claude", ".codex")
# Tool input keys holding what a call writes, not where: a file's content that mentions
# tether-hooks does not run it (editing this project's own sources stays coverable).
_CONTENT_KEYS = frozenset(("content", "new_string", "old_string", "edits", "new_source",
                           "description", "prompt", "todos", "questions", "plan"))
_PATCH_TOOLS = ("apply_patch",)  # its text is file content; its files are in request paths
_MAX_STRINGS = 200  # strings looked at per call; more means "touches us" (unprovable)
_MAX_DEPTH = 8


def touches_us(request: HookRequest) -> str | None:
    """Why ``request`` touches tether-hooks (so no timer may cover it), or None."""
    tool = str(request.get("tool_name") or "").casefold()
    cwd = request.get("cwd")
    dirs = _protected_dirs()
    if isinstance(cwd, str) and cwd and _inside_any(_real(cwd), dirs):
        return f"it runs in {cwd}, a tether-hooks directory"
    tool_input = request.get("tool_input")
    if isinstance(tool_input, dict):
        texts: list[str] = []
        for key, value in tool_input.items():
            if key in _CONTENT_KEYS or (key == "command" and tool in _PATCH_TOOLS):
                continue
            if not _strings(value, texts, 0):
                return "its input is too large or deep to check"
        needles = _needles()
        for text in texts:
            found = _mentions(text, needles)
            if found:
                return f"it names {found!r}"
    base = cwd if isinstance(cwd, str) and cwd else os.getcwd()
    for path in request.get("paths") or ():
        if isinstance(path, str) and path and _protected_file(base, path, dirs):
            return f"it touches {path}"
    return None


def _strings(value: object, out: list[str], depth: int) -> bool:
    """Collect the strings in ``value``; False when there are too many or too deep."""
    if isinstance(value, str):
        out.append(value)
        return len(out) <= _MAX_STRINGS
    if depth >= _MAX_DEPTH:
        return not isinstance(value, (dict, list, tuple))
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return True
    return all(_strings(item, out, depth + 1) for item in items)


def _mentions(text: str, needles: tuple[str, ...]) -> str | None:
    folded = text.casefold()
    squeezed = folded.translate(_DROP)
    for needle in needles:
        if needle in folded or needle in squeezed:
            return needle
    return None


_DROP = str.maketrans("", "", "'\"\\")


def _protected_file(cwd: str, path: str, dirs: tuple[str, ...]) -> bool:
    try:
        return _protected_place(cwd, path, dirs)
    except (OSError, ValueError):  # text no system call takes: not provably ours or not
        return True


def _protected_place(cwd: str, path: str, dirs: tuple[str, ...]) -> bool:
    real = _real(os.path.join(cwd, os.path.expanduser(path)))
    if _inside_any(real, dirs):
        return True
    for candidate in (real, os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))):
        parent, name = os.path.split(candidate)
        owner = _AGENT_FILES.get(name)
        if owner and (os.path.basename(parent) == owner or parent in _agent_homes()):
            return True
    return False


def protected_path(cwd: str, path: str) -> bool:
    """Is ``path`` (from ``cwd``), resolved or as written, one of our files or inside our
    directories, an agent's settings file, or in or at a ``.claude``/``.codex`` directory
    at any depth, or an ancestor of (or equal to) a protected directory (a recursive or
    glob operand there reaches the bot token)? Unresolvable text counts as protected."""
    try:
        joined = os.path.join(cwd, os.path.expanduser(path))
        real = os.path.realpath(joined)
        lexical = os.path.normpath(joined)
    except (OSError, ValueError):
        return True
    if _protected_file(cwd, path, _protected_dirs()):
        return True
    for form in (real, lexical):
        if any(part in AGENT_DIR_NAMES for part in form.split(os.sep)):
            return True
    return guards(real) or guards(lexical)


def guards(path: str) -> bool:
    """True when real ``path`` is, or holds, one of our directories or an agent's home:
    a search, glob or recursive walk rooted there reaches our files."""
    base = path.rstrip(os.sep) + os.sep
    return any(d == path or d.startswith(base) for d in (*_protected_dirs(), *_agent_homes()))


def _inside_any(path: str, dirs: tuple[str, ...]) -> bool:
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in dirs)


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


_CACHE: dict[str, tuple[str, ...]] = {}


def _protected_dirs() -> tuple[str, ...]:
    """Our config, state, log and data directories (as given and real), computed once.

    Keyed on the variables that move them, so a test (or a long-lived listener) that
    changes them gets fresh answers."""
    key = "dirs\0" + _env_key()
    if key not in _CACHE:
        given = dict.fromkeys(os.path.abspath(d) for d in (
            paths.config_dir(), paths.state_dir(), paths.log_dir(), paths.data_dir()))
        found: list[str] = []
        for directory in given:  # one realpath per distinct directory (config is data...)
            for form in (directory, _real(directory)):
                if form not in found and form != os.sep:
                    found.append(form)
        _CACHE[key] = tuple(found)
    return _CACHE[key]


def _agent_homes() -> tuple[str, ...]:
    key = "agents\0" + _env_key()
    if key not in _CACHE:
        homes = [os.environ.get("CLAUDE_CONFIG_DIR") or "~/.claude",
                 os.environ.get("CODEX_HOME") or "~/.codex"]
        found: list[str] = []
        for home in homes:
            expanded = os.path.abspath(os.path.expanduser(home))
            found += [expanded, _real(expanded)]
        _CACHE[key] = tuple(found)
    return _CACHE[key]


def _needles() -> tuple[str, ...]:
    """``PROTECTED_NAMES`` and every spelling of our directories a command may use."""
    key = "needles\0" + _env_key()
    if key not in _CACHE:
        home = os.path.expanduser("~")
        found = dict.fromkeys(PROTECTED_NAMES)  # ordered, no repeats
        homes = dict.fromkeys(_agent_homes())
        agent_files = [os.path.join(h, n) for h in homes for n in _AGENT_FILES]
        for directory in (*_protected_dirs(), *agent_files):
            forms = [directory]
            if home not in ("", os.sep) and _inside_any(directory, (home,)):
                rest = directory[len(home):]
                forms += ["~" + rest, "$home" + rest, "${home}" + rest]
            for form in forms:
                found[form.casefold()] = None
        _CACHE[key] = tuple(found)
    return _CACHE[key]


def _env_key() -> str:
    return "\0".join(os.environ.get(v, "") for v in (
        "TETHER_HOOKS_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "HOME",
        "CLAUDE_CONFIG_DIR", "CODEX_HOME"))

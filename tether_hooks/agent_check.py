"""Is this process run by a coding agent? Grant and decide verbs refuse when it is.

Two signals, either is enough (best-effort: see docs/claude-hooks-observed.md §agent env):

1. The environment. Claude Code 2.1.328 sets ``CLAUDECODE=1``, ``AI_AGENT``,
   ``CLAUDE_CODE_ENTRYPOINT``, ``CLAUDE_CODE_SESSION_ID`` and ``CLAUDE_PID`` in the
   commands its Bash tool runs (and in hooks); Codex 0.171.0 sets ``CODEX_CI=1``,
   ``CODEX_THREAD_ID``, ``CODEX_SESSION_ID``, ``CODEX_TOOL_CALL_ID`` and ``CODEX_VERSION``
   (sandboxed: also ``CODEX_SANDBOX_NETWORK_DISABLED``).
2. The process ancestry (defence in depth: an agent can ``env -u`` the variables): a
   ``claude`` or ``codex`` process, or node running the claude-code or codex package, above
   us. Read from /proc on Linux, from ``ps`` elsewhere. A process that detached itself
   (double fork, ``setsid``) or runs in a sandbox's PID namespace hides its ancestry.

Standard library only; used by the CLI, never by the hook.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TypeVar

from tether_hooks.errors import AgentRefused

__all__ = ["AGENT_VARIABLES", "ancestor", "human_only", "marker", "refusal"]

# Variables the agents set for the commands they run (observed, see the module docstring).
AGENT_VARIABLES = (
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_PID",
    "AI_AGENT",
    "CODEX_CI",
    "CODEX_THREAD_ID",
    "CODEX_SESSION_ID",
    "CODEX_TOOL_CALL_ID",
    "CODEX_SANDBOX",
    "CODEX_SANDBOX_NETWORK_DISABLED",
)
_AGENT_NAMES = frozenset(("claude", "codex", "claude.exe", "codex.exe"))
_AGENT_PACKAGES = ("@anthropic-ai/claude-code", "@openai/codex")
_MAX_DEPTH = 64

F = TypeVar("F", bound=Callable[..., object])


def marker(environ: dict[str, str] | None = None) -> str | None:
    """The first agent variable set (non-empty) in the environment, as ``NAME=value``."""
    env = os.environ if environ is None else environ
    for name in AGENT_VARIABLES:
        value = env.get(name, "")
        if value.strip():
            return f"{name}={value[:40]}"
    return None


def ancestor(pid: int | None = None) -> str | None:
    """``name (pid N)`` of the first agent process above ``pid`` (default: this one)."""
    table = _processes()
    start = table(os.getpid() if pid is None else pid)
    current = start[0] if start else 0
    seen: set[int] = set()
    for _ in range(_MAX_DEPTH):
        if current <= 0 or current in seen:
            return None
        entry = table(current)
        if entry is None:
            return None
        parent, argv = entry
        if _is_agent(argv):
            return f"{os.path.basename(argv[0])} (pid {current})"
        seen.add(current)
        current = parent
    return None


def refusal() -> str | None:
    """The one-line reason a grant verb refuses here, or None for a human's terminal."""
    found = marker()
    where = f"its environment has {found}" if found else None
    if where is None:
        process = ancestor()
        where = f"it runs under {process}" if process else None
    if where is None:
        return None
    return (f"refusing to grant or decide from inside a coding agent ({where}); "
            "run this command yourself, in a terminal outside the agent")


def human_only(command: F) -> F:
    """Decorate a click callback that grants or decides: it refuses when run by an agent.

    Marks the callback (``human_only``) so a test can list exactly which verbs are guarded."""

    @functools.wraps(command)
    def guarded(*args: object, **kwargs: object) -> object:
        reason = refusal()
        if reason:
            raise AgentRefused(reason)
        return command(*args, **kwargs)

    guarded.human_only = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def _is_agent(argv: list[str]) -> bool:
    if not argv:
        return False
    if os.path.basename(argv[0]) in _AGENT_NAMES:
        return True
    # node (or bun) running the npm package's script: `node .../@openai/codex/bin/codex.js`
    head = " ".join(argv[:3])
    return any(package in head for package in _AGENT_PACKAGES)


def _processes() -> Callable[[int], tuple[int, list[str]] | None]:
    """A lookup pid -> (parent pid, argv), from /proc or, without it, one ``ps`` call."""
    if os.path.isdir("/proc/self"):
        return _proc_entry
    table = _ps_table()
    return table.get


def _proc_entry(pid: int) -> tuple[int, list[str]] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/comm", "rb") as f:
            comm = f.read().decode(errors="replace").strip()
    except OSError:
        return None
    # stat: "pid (comm) state ppid ...": comm may hold spaces and parentheses
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        parent = int(fields[1])
    except (IndexError, ValueError):
        return None
    # A process may rename itself (process.title): its comm is what `ps` shows, so judge both.
    if comm in _AGENT_NAMES or not argv:
        argv = [comm, *argv]
    return parent, argv


def _ps_table() -> dict[int, tuple[int, list[str]]]:
    import subprocess

    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,comm=,args="], capture_output=True,
                             text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    table: dict[int, tuple[int, list[str]]] = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
            comm = parts[2]
            args = parts[3].split() if len(parts) > 3 else []
            table[int(parts[0])] = (int(parts[1]), [comm, *args])
    return table


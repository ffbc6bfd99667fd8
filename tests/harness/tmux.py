"""Drive the real, interactive Claude Code in a terminal: tmux on a private server.

Each :class:`Tmux` is one tmux server (its own socket, ``tmux -L``) running one window, so
tests never see each other's sessions nor a developer's own tmux. Waits poll
``capture-pane`` for a bounded time (an event wait, never a fixed sleep).

    def test_x(claude_tty, fake_anthropic, claude_project):
        fake_anthropic.script(tool_use("Bash", {"command": "touch x", "description": "t"}))
        term = claude_tty.start("go", cwd=claude_project)
        term.wait_for("Do you want to proceed?")
        term.send_keys("Escape")

``claude_tty`` starts ``claude [--permission-mode M] "<prompt>"`` (the prompt is submitted at
start) in the harness's isolated home, with the project trusted, so no first-run screen shows.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from harness.claude import PERMISSION_MODES, ClaudeRunner, trust_project

__all__ = ["ClaudeTty", "Tmux", "claude_tty", "tmux_bin"]

_servers = itertools.count(1)
# What the Claude TUI shows once it is ready for input (the prompt box's footer).
READY_MARKER = "for shortcuts"


class Tmux:
    """One window on a private tmux server; the command runs in ``env`` (plus tmux's own
    ``TMUX``/``TMUX_PANE`` and ``TERM=xterm-256color``)."""

    def __init__(self, tmux: str, *, width: int = 160, height: int = 50) -> None:
        self.tmux = tmux
        self.socket = f"tether-test-{os.getpid()}-{next(_servers)}"
        self.width, self.height = width, height
        self.started = False
        self.env: dict[str, str] | None = None  # every tmux call uses the server's env

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            env=self.env, capture_output=True, text=True, timeout=10, check=check,
        )

    def start(self, command: Sequence[str], *, cwd: Path | str, env: Mapping[str, str]) -> None:
        """Start the server with ``command`` as its only window (``remain-on-exit`` on)."""
        # The server takes its global environment from this first client: exactly ``env``.
        self.env = {**env, "TERM": "xterm-256color"}
        # No user config; focus events on (else Claude shows a tip about them); keep the pane
        # after the command exits, so its last screen can still be read.
        subprocess.run(
            [self.tmux, "-L", self.socket, "-f", "/dev/null",
             "set-option", "-g", "focus-events", "on", ";",
             "set-option", "-g", "remain-on-exit", "on", ";",
             "new-session", "-d", "-x", str(self.width), "-y", str(self.height),
             "-c", str(cwd), shlex.join(command)],
            env=self.env, capture_output=True, text=True, timeout=10, check=True,
        )
        self.started = True

    def capture(self) -> str:
        """The visible screen as plain text (no colours)."""
        return self._run("capture-pane", "-p", "-J").stdout

    @property
    def pane_pid(self) -> int | None:
        out = self._run("display-message", "-p", "#{pane_pid}", check=False).stdout.strip()
        return int(out) if out.isdigit() else None

    @property
    def dead(self) -> bool:
        """True once the command in the pane has exited (or the server is gone)."""
        run = self._run("display-message", "-p", "#{pane_dead}", check=False)
        return run.returncode != 0 or run.stdout.strip() == "1"

    def send_keys(self, *keys: str, literal: bool = False) -> None:
        """``tmux send-keys`` (key names like ``Enter``, ``Escape``, ``Down``; or text)."""
        self._run("send-keys", *(["-l"] if literal else []), *keys)

    def wait_for(
        self,
        expected: str | re.Pattern[str] | Callable[[str], bool],
        timeout: float = 20.0,
        interval: float = 0.05,
    ) -> str:
        """Poll the screen until it matches ``expected``; the screen. Fails with a dump."""
        if isinstance(expected, str):
            matches: Callable[[str], bool] = lambda screen: expected in screen  # noqa: E731
        elif isinstance(expected, re.Pattern):
            matches = lambda screen: expected.search(screen) is not None  # noqa: E731
        else:
            matches = expected
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            if matches(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the terminal did not show {expected!r} within {timeout}s; screen:\n{screen}"
                )
            time.sleep(interval)

    def choose(self, label: str, timeout: float = 20.0) -> None:
        """Pick the numbered option ``label`` of the dialog on screen by typing its number."""
        pattern = re.compile(rf"^\W*(\d+)\. {re.escape(label)}\s*$", re.MULTILINE)
        match = pattern.search(self.wait_for(pattern, timeout))
        assert match is not None
        self.send_keys(match.group(1))

    def wait_gone(self, text: str, timeout: float = 20.0) -> str:
        """Poll until ``text`` is no longer on the screen; the screen."""
        return self.wait_for(lambda screen: text not in screen, timeout)

    def kill(self) -> None:
        if self.started:
            self._run("kill-server", check=False)
            self.started = False


class ClaudeTty:
    """Starts interactive Claude sessions in tmux for one test; kills them at teardown."""

    def __init__(self, runner: ClaudeRunner, tmux: str) -> None:
        self.runner = runner
        self.tmux = tmux
        self.terminals: list[Tmux] = []

    def start(
        self,
        prompt: str | None = None,
        *,
        cwd: Path,
        permission_mode: str | None = "default",
        extra_env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        ready: bool = True,
    ) -> Tmux:
        """Trust ``cwd`` and start ``claude`` in a new terminal, submitting ``prompt`` if any.

        ``ready``: wait until the prompt box is drawn (so keys sent next reach Claude).
        """
        trust_project(self.runner.home, cwd)
        cmd = [str(self.runner.bin)]
        if permission_mode is not None:
            if permission_mode not in PERMISSION_MODES:
                raise ValueError(f"unknown permission mode {permission_mode!r}")
            cmd += ["--permission-mode", permission_mode]
        cmd += list(args)
        if prompt is not None:
            cmd.append(prompt)
        term = Tmux(self.tmux)
        self.terminals.append(term)
        term.start(cmd, cwd=cwd, env=self.runner.env(extra_env))
        if ready:
            term.wait_for(READY_MARKER, timeout=20)
        return term

    def close(self) -> None:
        for term in self.terminals:
            term.kill()


@pytest.fixture(scope="session")
def tmux_bin() -> str:
    """The tmux executable; fails (never skips) when it is missing (tests/run.sh installs it)."""
    path = shutil.which("tmux")
    if path is None:
        pytest.fail("tmux is not installed; run `apt-get install -y tmux`", pytrace=False)
    return path


@pytest.fixture
def claude_tty(claude: ClaudeRunner, tmux_bin: str) -> Iterator[ClaudeTty]:
    """Interactive Claude in tmux, against the test's ``fake_anthropic`` and isolated home."""
    tty = ClaudeTty(claude, tmux_bin)
    try:
        yield tty
    finally:
        tty.close()

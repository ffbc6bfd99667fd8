"""Pytest fixtures that run the real, pinned Claude Code binary fully offline.

Claude talks to :class:`~harness.anthropic_fake.AnthropicFake` on 127.0.0.1 and runs with an
isolated ``HOME`` / ``CLAUDE_CONFIG_DIR`` and a minimal, fully controlled environment.

    def test_x(claude, fake_anthropic, claude_project):
        fake_anthropic.script(tool_use("Bash", {"command": "touch x", "description": "t"}))
        run = claude.run("go", cwd=claude_project, permission_mode="bypassPermissions")
        assert run.ok and (claude_project / "x").exists()

Settings: user settings are ``claude.user_settings`` (``<claude_home>/.claude/settings.json``),
project settings ``<cwd>/.claude/settings.json``; :func:`write_settings` writes either.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.anthropic_fake import AnthropicFake

CLAUDE_VERSION = "2.1.328"
AGENTS_DIR = Path(__file__).resolve().parents[1] / "agents"
CLAUDE_BIN = AGENTS_DIR / "node_modules" / "@anthropic-ai" / "claude-code-linux-x64" / "claude"
FAKE_API_KEY = "sk-ant-api03-tether-hooks-test-key-0000000000"
FORWARDED_PREFIX = "TETHER_HOOKS_"
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto")


@dataclass(frozen=True)
class ClaudeRun:
    """Outcome of one ``claude -p ... --output-format json`` run."""

    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Exit 0 and a non-error result."""
        return self.returncode == 0 and self.result is not None and not self.result.get("is_error")

    @property
    def text(self) -> str | None:
        """The final assistant text (``result.result``)."""
        return None if self.result is None else self.result.get("result")

    @property
    def permission_denials(self) -> list[dict[str, Any]]:
        return [] if self.result is None else list(self.result.get("permission_denials", []))

    def describe(self) -> str:
        """Human-readable dump for assertion messages."""
        return f"rc={self.returncode}\nstdout={self.stdout[-4000:]}\nstderr={self.stderr[-4000:]}"


class ClaudeHandle:
    """A running Claude process (own process group); see :meth:`ClaudeRunner.start`."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path, err: Path) -> None:
        self.proc = proc
        self._out, self._err = out, err
        self._started = time.monotonic()
        self._run: ClaudeRun | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        """Signal Claude itself (not its hooks), as a user's ``kill`` would."""
        if self.running:
            self.proc.send_signal(sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        """SIGKILL Claude and everything it spawned (hooks, shells)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.02
    ) -> None:
        """Poll ``predicate`` until true; fail early if Claude exits or time runs out."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if not self.running:
                raise AssertionError(
                    f"claude exited before the condition was met\n{self.wait(0).describe()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s (claude still running)")
            time.sleep(interval)

    def wait(self, timeout: float = 120.0) -> ClaudeRun:
        """Wait for exit; on timeout kill the process group and raise ``TimeoutError``."""
        if self._run is not None:
            return self._run
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            self.proc.wait(timeout=10)
            raise TimeoutError(
                f"claude did not exit within {timeout}s\n{self._collect().describe()}"
            ) from None
        self._run = self._collect()
        return self._run

    def _collect(self) -> ClaudeRun:
        stdout = self._out.read_text(errors="replace")
        try:
            parsed = json.loads(stdout)
        except ValueError:
            parsed = None
        return ClaudeRun(
            returncode=self.proc.returncode if self.proc.returncode is not None else -1,
            stdout=stdout,
            stderr=self._err.read_text(errors="replace"),
            result=parsed if isinstance(parsed, dict) else None,
            duration=time.monotonic() - self._started,
        )


@dataclass
class ClaudeRunner:
    """Builds a controlled environment and runs Claude against the fake API."""

    bin: Path
    home: Path
    fake: AnthropicFake
    extra_env: dict[str, str] = field(default_factory=dict)
    _handles: list[ClaudeHandle] = field(default_factory=list, repr=False)

    @property
    def config_dir(self) -> Path:
        return self.home / ".claude"

    @property
    def user_settings(self) -> Path:
        return self.config_dir / "settings.json"

    def install_hooks(self) -> None:
        """``tether-hooks install`` into this Claude home, as a user runs it."""
        run = subprocess.run([sys.executable, "-m", "tether_hooks", "install"], env=self.env(),
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr

    def env(self, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Claude's environment: minimal base, fake API, the test's ``TETHER_HOOKS_*``, extras.

        Also the right environment for running ``tether-hooks`` against this Claude home.
        """
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TMPDIR": tempfile.gettempdir(),
            "ANTHROPIC_BASE_URL": self.fake.base_url,
            "ANTHROPIC_API_KEY": FAKE_API_KEY,
            "CLAUDE_CONFIG_DIR": str(self.config_dir),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            # Claude refuses bypassPermissions as root unless it is told it is sandboxed.
            "IS_SANDBOX": "1",
        }
        # The per-test TETHER_HOOKS_HOME (harness.home) and friends must reach our hooks.
        env.update({k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIX)})
        env.update(self.extra_env)
        env.update(extra_env or {})
        return env

    def command(
        self, prompt: str, *, permission_mode: str | None = None, args: Sequence[str] = ()
    ) -> list[str]:
        cmd = [str(self.bin), "-p", prompt, "--output-format", "json"]
        if permission_mode is not None:
            if permission_mode not in PERMISSION_MODES:
                raise ValueError(f"unknown permission mode {permission_mode!r}")
            cmd += ["--permission-mode", permission_mode]
        return [*cmd, *args]

    def start(
        self,
        prompt: str,
        *,
        cwd: Path | str,
        permission_mode: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> ClaudeHandle:
        """Start Claude in the background (stdin closed, output captured to files)."""
        logs = Path(tempfile.mkdtemp(prefix="claude-run-", dir=self.home))
        out, err = logs / "stdout", logs / "stderr"
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(
                self.command(prompt, permission_mode=permission_mode, args=args),
                cwd=cwd,
                env=self.env(extra_env),
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
                start_new_session=True,
            )
        handle = ClaudeHandle(proc, out, err)
        self._handles.append(handle)
        return handle

    def run(
        self,
        prompt: str,
        *,
        cwd: Path | str,
        permission_mode: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
        args: Sequence[str] = (),
    ) -> ClaudeRun:
        """Run Claude to completion."""
        handle = self.start(
            prompt, cwd=cwd, permission_mode=permission_mode, extra_env=extra_env, args=args
        )
        return handle.wait(timeout)

    def close(self) -> None:
        """Kill whatever is still running (Claude and its hooks)."""
        for handle in self._handles:
            if handle.running:
                handle.kill_group()
                handle.proc.wait(timeout=10)


_PLAN_FILE = re.compile(r"(?:create your plan at|plan file already exists at) (/\S+?\.md)")


def plan_file(body: Mapping[str, Any]) -> str:
    """The plan file Claude told the model to write, from a plan-mode request body.

    Use it in a scripted turn: ``fake.script(lambda b: tool_use("Write", {"file_path":
    plan_file(b), "content": "# Plan"}), ...)``; ExitPlanMode then shows that file's text.
    """
    match = _PLAN_FILE.search(json.dumps(body))
    if match is None:
        raise AssertionError("the request does not name a plan file (is Claude in plan mode?)")
    return match.group(1)


def write_settings(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a settings file (creating ``.claude/``). ``path`` may be a project dir or file."""
    if path.suffix != ".json":
        path = path / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def init_claude_home(home: Path) -> Path:
    """Create an isolated HOME that lets Claude start with no first-run screens."""
    config_dir = home / ".claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": CLAUDE_VERSION,
        "numStartups": 1,
        "bypassPermissionsModeAccepted": True,
        "customApiKeyResponses": {"approved": [FAKE_API_KEY[-20:]], "rejected": []},
        "projects": {},
    }
    # With CLAUDE_CONFIG_DIR set Claude reads <config>/.claude.json; ~/.claude.json otherwise.
    for path in (config_dir / ".claude.json", home / ".claude.json"):
        path.write_text(json.dumps(state, indent=2) + "\n")
    return home


def trust_project(home: Path, project: Path) -> None:
    """Mark ``project`` trusted (only matters for interactive sessions; ``-p`` never asks)."""
    for path in (home / ".claude" / ".claude.json", home / ".claude.json"):
        state = json.loads(path.read_text())
        entry = state.setdefault("projects", {}).setdefault(str(project.resolve()), {})
        entry.update({"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True})
        path.write_text(json.dumps(state, indent=2) + "\n")


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The pinned Claude Code binary; fails (never skips) when it is not installed."""
    if not (CLAUDE_BIN.is_file() and os.access(CLAUDE_BIN, os.X_OK)):
        pytest.fail(
            f"Claude Code {CLAUDE_VERSION} not found at {CLAUDE_BIN}; "
            "run `npm install --prefix tests/agents`",
            pytrace=False,
        )
    return CLAUDE_BIN


@pytest.fixture
def fake_anthropic() -> Iterator[AnthropicFake]:
    """A running scripted Anthropic API fake."""
    with AnthropicFake() as fake:
        yield fake


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """Isolated HOME for Claude; CLAUDE_CONFIG_DIR is ``<home>/.claude``."""
    return init_claude_home(tmp_path / "claude-home")


@pytest.fixture
def claude_project(tmp_path: Path) -> Path:
    """An empty project directory to use as Claude's cwd."""
    project = tmp_path / "proj"
    project.mkdir()
    return project


@pytest.fixture
def claude(
    claude_bin: Path, claude_home: Path, fake_anthropic: AnthropicFake
) -> Iterator[ClaudeRunner]:
    """Runner for the real Claude binary against ``fake_anthropic``; kills leftovers."""
    runner = ClaudeRunner(bin=claude_bin, home=claude_home, fake=fake_anthropic)
    try:
        yield runner
    finally:
        runner.close()

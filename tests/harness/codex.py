"""Pytest fixtures running the real Codex CLI (pinned in tests/agents) offline against a fake model.

- ``codex_bin``: the pinned binary (fails, never skips, when ``npm install --prefix tests/agents``
  has not run).
- ``fake_openai``: a running :class:`~harness.openai_fake.FakeOpenAI`.
- ``codex_home``: an isolated ``CODEX_HOME`` (config.toml with the ``fake`` provider) and ``HOME``.
- ``codex``: a :class:`CodexRunner`; ``codex.run(prompt, cwd=...)`` or ``codex.start(...).wait()``.
- ``codex_project``: a fresh git repository to run Codex in.
- ``codex_stub_hooks``: :class:`StubHooks`, hook commands that report each payload to the test
  and answer with whatever the test scripted, or hold until the test releases them.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest

from harness.openai_fake import FakeOpenAI
from tether_hooks.agents.codex_trust import trust_entries

__all__ = ["CodexHome", "CodexProcess", "CodexRun", "CodexRunner", "HookReply", "StubHooks"]

ROOT = Path(__file__).resolve().parents[2]
_VENDOR = {
    "x86_64": ("codex-linux-x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
}
PROVIDER_KEY_VAR = "FAKE_OPENAI_KEY"
MODEL = "gpt-5.5"  # in Codex's bundled catalog, so it gets the full tool set incl. apply_patch


def codex_binary_path() -> Path:
    package, triple = _VENDOR.get(platform.machine(), _VENDOR["x86_64"])
    return (ROOT / "tests/agents/node_modules/@openai" / package / "vendor" / triple
            / "bin" / "codex")


# -- results and processes ------------------------------------------------------------------


@dataclass(frozen=True)
class CodexRun:
    """A finished ``codex exec``."""

    returncode: int
    stdout: str
    stderr: str

    def hook_lines(self) -> list[str]:
        """Codex's ``hook: <Event> <Status>`` lines from stderr, e.g. ``hook: Stop Completed``."""
        return [line.strip() for line in self.stderr.splitlines() if line.startswith("hook: ")]


class CodexProcess:
    """A running ``codex exec``; output goes to files so a blocked test cannot fill a pipe."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 timeout: float, scratch: Path) -> None:
        self.timeout = timeout
        self._out: TextIO = open(scratch / "stdout", "w+", encoding="utf-8")  # noqa: SIM115
        self._err: TextIO = open(scratch / "stderr", "w+", encoding="utf-8")  # noqa: SIM115
        self.popen = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=self._err, start_new_session=True,
        )
        self._streams = ("", "")
        self._result: CodexRun | None = None

    def wait(self, timeout: float | None = None) -> CodexRun:
        """Wait for exit; on timeout kill Codex and its hooks and fail with its stderr."""
        if self._result is None:
            try:
                self.popen.wait(timeout=self.timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"codex exec timed out; stderr:\n{self._collect().stderr}")
            self._result = self._collect()
        return self._result

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)  # the group: Codex plus its hook children
            self.popen.wait(timeout=10)
        self._collect()

    def _collect(self) -> CodexRun:
        if not self._out.closed:
            self._streams = (self._drain(self._out), self._drain(self._err))
        return CodexRun(self.popen.returncode, *self._streams)

    @staticmethod
    def _drain(stream: TextIO) -> str:
        with stream:
            stream.seek(0)
            return stream.read()


# -- CODEX_HOME -----------------------------------------------------------------------------


@dataclass
class CodexHome:
    """An isolated CODEX_HOME; every change re-renders its config.toml."""

    path: Path
    home: Path
    tmp: Path
    base_url: str
    trusted: dict[str, str] = field(default_factory=dict)
    trusted_projects: list[Path] = field(default_factory=list)
    extra_config: list[str] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def hooks_path(self) -> Path:
        return self.path / "hooks.json"

    def write_config(self) -> None:
        lines = [
            f'model = "{MODEL}"',
            'model_provider = "fake"',
            *self.extra_config,
            "",
            "[model_providers.fake]",
            'name = "fake"',
            f'base_url = "{self.base_url}"',
            'wire_api = "responses"',
            f'env_key = "{PROVIDER_KEY_VAR}"',
            "request_max_retries = 0",
            "stream_max_retries = 0",
        ]
        for project in self.trusted_projects:
            lines += ["", f"[projects.{json.dumps(str(project))}]", 'trust_level = "trusted"']
        for key, value in self.trusted.items():
            lines += ["", f"[hooks.state.{json.dumps(key)}]", f"trusted_hash = {json.dumps(value)}"]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def add_config(self, *toml_lines: str) -> None:
        """Top-level config lines, e.g. ``add_config('notify = ["/bin/true"]')``."""
        self.extra_config.extend(toml_lines)
        self.write_config()

    def write_hooks(self, hooks: Mapping[str, Any], *, path: Path | None = None,
                    trust: bool = True) -> Path:
        """Write a hooks.json (default ``$CODEX_HOME/hooks.json``) and, if asked, trust it."""
        target = path or self.hooks_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"hooks": hooks}, indent=2), encoding="utf-8")
        if trust:
            self.trusted.update(trust_entries(str(target), hooks))
            self.write_config()
        return target

    def trust_project(self, project: Path) -> None:
        """``[projects."<project>"] trust_level = "trusted"``: lets ``.codex/`` hooks load."""
        self.trusted_projects.append(project)
        self.write_config()


# -- stub hooks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HookReply:
    """What a stub hook prints and how it exits."""

    stdout: str = ""
    exit_code: int = 0
    stderr: str = ""

    @classmethod
    def json(cls, output: Mapping[str, Any]) -> HookReply:
        return cls(stdout=json.dumps(output))


_STUB = """\
import socket, sys
payload = sys.stdin.read()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\\n" + payload.encode())
s.shutdown(socket.SHUT_WR)
reply = b"".join(iter(lambda: s.recv(65536), b"")).decode()
code, out, err = reply.split("\\0", 2)
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(int(code))
"""


class StubHooks:
    """Hook commands that send each payload to this test over a Unix socket and print a reply.

    ``reply(event, HookReply(...))`` scripts the answer (default: exit 0, no output);
    ``hold(event)`` keeps the next hooks of that event waiting until ``release(event, reply)``.
    """

    def __init__(self, scratch: Path) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="cxhook", dir="/tmp"))  # AF_UNIX path limit
        self.script = scratch / "stub_hook.py"
        self.script.write_text(_STUB, encoding="utf-8")
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(self._dir / "s"))
        self._sock.listen(16)
        self._cond = threading.Condition()
        self._payloads: list[tuple[str, dict[str, Any]]] = []
        self._replies: dict[str, HookReply] = {}
        self._held: dict[str, HookReply | None] = {}
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def command(self, event: str) -> str:
        return shlex.join([sys.executable, str(self.script), str(self._dir / "s"), event])

    def hooks(self, events: Iterable[str], *, matcher: str | None = "*",
              timeout: int = 30) -> dict[str, Any]:
        """A hooks.json ``"hooks"`` object running this stub for each event."""
        return {
            event: [{**({"matcher": matcher} if matcher is not None else {}),
                     "hooks": [{"type": "command", "command": self.command(event),
                                "timeout": timeout}]}]
            for event in events
        }

    def reply(self, event: str, reply: HookReply) -> None:
        with self._cond:
            self._replies[event] = reply

    def hold(self, event: str) -> None:
        with self._cond:
            self._held[event] = None

    def release(self, event: str, reply: HookReply | None = None) -> None:
        with self._cond:
            self._held[event] = reply or self._replies.get(event, HookReply())
            self._cond.notify_all()

    def payloads(self, event: str | None = None) -> list[dict[str, Any]]:
        """Payloads received so far (all events, or one)."""
        with self._cond:
            return [p for e, p in self._payloads if event is None or e == event]

    def events(self) -> list[str]:
        with self._cond:
            return [e for e, _ in self._payloads]

    def wait_for(self, event: str, *, count: int = 1, timeout: float = 30) -> dict[str, Any]:
        """Block until ``count`` payloads of ``event`` arrived and return the last one."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._of(event)) >= count, timeout=timeout):
                raise TimeoutError(f"no {event} hook within {timeout}s; got {self.events()}")
            return self._of(event)[count - 1]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._held = {e: r or HookReply() for e, r in self._held.items()}
            self._cond.notify_all()
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _of(self, event: str) -> list[dict[str, Any]]:
        return [p for e, p in self._payloads if e == event]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b"".join(iter(lambda: conn.recv(65536), b"")).decode()
            event, _, raw = data.partition("\n")
            with self._cond:
                self._payloads.append((event, json.loads(raw)))
                self._cond.notify_all()
                if event in self._held:
                    self._cond.wait_for(lambda: self._held.get(event) is not None or self._closed)
                    reply = self._held.pop(event, None) or HookReply()
                else:
                    reply = self._replies.get(event, HookReply())
            conn.sendall(f"{reply.exit_code}\0{reply.stdout}\0{reply.stderr}".encode())


# -- runner ---------------------------------------------------------------------------------


class CodexRunner:
    """Runs ``codex exec`` in a minimal, controlled environment against ``codex_home``."""

    def __init__(self, binary: Path, home: CodexHome, scratch: Path) -> None:
        self.binary = binary
        self.home = home
        self._scratch = scratch
        self._processes: list[CodexProcess] = []

    def env(self, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """PATH, HOME, LANG, TMPDIR, CODEX_HOME and the provider key: no proxies, no real HOME."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home.home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.home.tmp),
            "CODEX_HOME": str(self.home.path),
            PROVIDER_KEY_VAR: "dummy",
            **(extra_env or {}),
        }

    def argv(self, prompt: str, *, cwd: Path, approve_for_me: bool = False,
             args: Sequence[str] = ()) -> list[str]:
        argv = [str(self.binary), "exec", "--color", "never"]
        if not any((p / ".git").exists() for p in (cwd, *cwd.parents)):
            argv.append("--skip-git-repo-check")
        if approve_for_me:
            argv.append("--approve-for-me")
        return [*argv, *args, "--", prompt]

    def start(self, prompt: str, *, cwd: Path, approve_for_me: bool = False,
              extra_env: Mapping[str, str] | None = None, args: Sequence[str] = (),
              timeout: float = 120) -> CodexProcess:
        """Start ``codex exec`` and return at once; ``.wait()`` collects the result."""
        scratch = Path(tempfile.mkdtemp(prefix="run", dir=self._scratch))
        process = CodexProcess(
            self.argv(prompt, cwd=cwd, approve_for_me=approve_for_me, args=args),
            cwd=cwd, env=self.env(extra_env), timeout=timeout, scratch=scratch,
        )
        self._processes.append(process)
        return process

    def run(self, prompt: str, *, cwd: Path, approve_for_me: bool = False,
            extra_env: Mapping[str, str] | None = None, args: Sequence[str] = (),
            timeout: float = 120) -> CodexRun:
        """Run ``codex exec`` to completion."""
        return self.start(prompt, cwd=cwd, approve_for_me=approve_for_me, extra_env=extra_env,
                          args=args, timeout=timeout).wait()

    def hooks_list(self, cwd: Path, timeout: float = 30) -> list[dict[str, Any]]:
        """The hooks Codex discovers for ``cwd``, from its app-server's ``hooks/list``."""
        requests = [
            {"id": 1, "method": "initialize", "params": {
                "clientInfo": {"name": "tether-tests", "version": "0"},
                "capabilities": {"experimentalApi": True}}},
            {"method": "initialized"},
            {"id": 2, "method": "hooks/list", "params": {"cwds": [str(cwd)]}},
        ]
        with subprocess.Popen(
            [str(self.binary), "app-server"], cwd=cwd, env=self.env(), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,
        ) as server:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write("".join(json.dumps({"jsonrpc": "2.0", **r}) + "\n"
                                       for r in requests))
            server.stdin.flush()
            timer = threading.Timer(timeout, server.kill)
            timer.start()
            try:
                for line in server.stdout:
                    message = json.loads(line)
                    if message.get("id") == 2:
                        return [h for d in message["result"]["data"] for h in d["hooks"]]
            finally:
                timer.cancel()
                server.kill()
        pytest.fail(f"codex app-server gave no hooks/list answer within {timeout}s")

    def close(self) -> None:
        for process in self._processes:
            process.kill()


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    path = codex_binary_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"Codex binary missing at {path}: run `npm install --prefix tests/agents`")
    return path


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def codex_home(tmp_path: Path, fake_openai: FakeOpenAI) -> CodexHome:
    root = tmp_path / "codex"
    home = CodexHome(path=root / "codex_home", home=root / "home", tmp=root / "tmp",
                     base_url=fake_openai.base_url)
    for directory in (home.path, home.home, home.tmp):
        directory.mkdir(parents=True)
    home.write_config()
    return home


@pytest.fixture
def codex_project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


@pytest.fixture
def codex_stub_hooks(tmp_path: Path) -> Iterator[StubHooks]:
    stubs = StubHooks(tmp_path)
    yield stubs
    stubs.close()


@pytest.fixture
def codex(codex_bin: Path, codex_home: CodexHome, tmp_path: Path) -> Iterator[CodexRunner]:
    runner = CodexRunner(codex_bin, codex_home, tmp_path)
    yield runner
    runner.close()

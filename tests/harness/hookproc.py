"""Run the installed hook executable as a process, the way an agent does."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> dict | None:
        """The JSON the hook printed, or None for an empty stdout."""
        return json.loads(self.stdout) if self.stdout.strip() else None


def payload(name: str, **overrides: object) -> dict:
    """A captured real payload from tests/payloads (``claude/PermissionRequest-Bash``)."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text())
    data.update(overrides)
    return data


class HookRunner:
    """Spawns ``tether-hook <agent>`` with a payload on stdin."""

    def __init__(self, shim: str) -> None:
        self.shim = shim

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(extra or {})
        return env

    def start(self, agent: str, data: object, extra_env: dict[str, str] | None = None
              ) -> subprocess.Popen:
        stdin = data if isinstance(data, bytes) else json.dumps(data).encode()
        proc = subprocess.Popen([self.shim, agent], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env(extra_env))
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None  # written and closed: communicate() must not flush it again
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = 30) -> HookRun:
        out, err = proc.communicate(timeout=timeout)
        return HookRun(proc.returncode, out.decode(), err.decode())

    def run(self, agent: str, data: object, extra_env: dict[str, str] | None = None,
            timeout: float = 30) -> HookRun:
        return self.finish(self.start(agent, data, extra_env), timeout)


@pytest.fixture
def hook(tether_home: Path) -> HookRunner:
    """The stable hook executable, written by the installer, ready to run."""
    from tether_hooks import installer

    return HookRunner(installer.write_shim())


def wait_pending(count: int = 1, timeout: float = 30) -> list[dict]:
    """Poll the store (bounded) until ``count`` requests are pending; oldest first."""
    from harness.waiting import until
    from tether_hooks.store import Store

    def waiting() -> list[dict]:
        found = [r for r in Store().read()["requests"].values() if r["status"] == "pending"]
        return sorted(found, key=lambda r: r["created_at"]) if len(found) >= count else []

    return until(waiting, timeout=timeout, what=f"{count} pending request(s)")

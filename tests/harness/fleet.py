"""Several simulated machines on one host, one shared Redis, one Telegram bot.

Each ``Machine`` has its own TETHER_HOOKS_HOME (config, state, socket, logs), its machine
name and its own listener process (``python -m tether_hooks listen``, foreground, owned
by the test so it can be killed with SIGKILL or frozen with SIGSTOP). Hooks run as
processes with that home (``hook``). A machine configured ``chat=False`` has no platform of
its own: it can never lead, its requests are posted by the leader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from emulators.telegram import TelegramEmulator

from harness.hookproc import HookRunner
from harness.redis import RedisServer
from harness.telegram import ALLOWED_USER_ID, TOKEN
from harness.waiting import until

__all__ = ["Fleet", "Machine", "bash", "leader_of"]


def bash(session: str, command: str, cwd: str = "/tmp") -> dict[str, Any]:
    """A Claude PermissionRequest payload for a Bash ``command``."""
    return {"session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": "Bash", "tool_input": {"command": command}}


class Machine:
    def __init__(self, name: str, base: Path, redis: RedisServer, namespace: str,
                 emu: TelegramEmulator | None, hooks: HookRunner, *,
                 chat: bool | str = True) -> None:
        self.name, self.redis, self.namespace, self.emu = name, redis, namespace, emu
        self.home = base / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.hooks = hooks
        self.proc: subprocess.Popen[bytes] | None = None
        self.configure(chat=chat)

    def configure(self, *, chat: bool | str = True, extra: str = "") -> None:
        """``chat``: the Telegram bot (True), none (False), or a platform table's TOML."""
        text = (f"{extra}[shared]\n"
                f'redis_url = "{self.redis.url}"\n'
                f'machine = "{self.name}"\n'
                f'namespace = "{self.namespace}"\n')
        if isinstance(chat, str):
            text += chat
        elif chat:
            assert self.emu is not None, "a Telegram machine needs the Telegram emulator"
            text += ("[telegram]\n"
                     f'bot_token = "{TOKEN}"\n'
                     f"chat_id = {ALLOWED_USER_ID}\n"
                     f"allowed_user_ids = [{ALLOWED_USER_ID}]\n"
                     f'api_base = "{self.emu.base_url}"\n'
                     "poll_timeout = 2\n")
        (self.home / "config.toml").write_text(text)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["TETHER_HOOKS_HOME"] = str(self.home)
        return env

    # -- its listener ---------------------------------------------------------------------

    def start(self) -> None:
        log = open(self.home / "listener.out", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen([sys.executable, "-m", "tether_hooks", "listen"],
                                     env=self.env, stdout=log, stderr=log)
        log.close()
        until(lambda: (self.home / "state" / "listener.sock").exists()
              or self.proc is None or self.proc.poll() is not None,
              timeout=20, what=f"{self.name}'s listener socket")
        assert self.proc.poll() is None, self.log()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def freeze(self) -> None:
        """SIGSTOP: a laptop whose lid closed (its process neither runs nor dies)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Its listener stopped, and any a hook started again meanwhile."""
        self.cli("listener", "stop")
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log(self) -> str:
        parts = []
        for path in (self.home / "listener.out", self.home / "logs" / "listener.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def health(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.home / "state" / "listener.health.json").read_text()))
        except (OSError, ValueError):
            return {}

    def role(self) -> str | None:
        return (self.health().get("shared") or {}).get("role")

    # -- its hooks and its store ----------------------------------------------------------

    def hook(self, payload: dict[str, Any]) -> subprocess.Popen[bytes]:
        return self.hooks.start("claude", payload, extra_env={"TETHER_HOOKS_HOME": str(self.home)})

    def requests(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.home / "state" / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        return dict(data.get("requests") or {})

    def timers(self) -> list[dict[str, Any]]:
        try:
            data = json.loads((self.home / "state" / "state.json").read_text())
        except (OSError, ValueError):
            return []
        return list((data.get("timers") or {}).values())

    def pending(self) -> list[dict[str, Any]]:
        return [r for r in self.requests().values() if r.get("status") == "pending"]

    def cli(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tether_hooks", *argv], env=self.env,
                              capture_output=True, text=True, timeout=timeout)


def leader_of(machines: list[Machine], timeout: float = 20) -> Machine:
    """The machine that holds the lease in Redis and says it leads (waits for it)."""
    def one() -> Machine | None:
        live = [m for m in machines if m.proc is not None]
        if not live:
            return None
        token = live[0].redis.client().get(f"th:{live[0].namespace}:leader") or ""
        found = [m for m in live if token.startswith(f"{m.name}:")
                 and f":{m.proc.pid}:" in token and m.role() == "leader"]  # type: ignore[union-attr]
        return found[0] if found else None

    return until(one, timeout=timeout, what="one leader")


class Fleet:
    """Makes machines on one Redis and one bot; ``close`` stops their listeners."""

    def __init__(self, base: Path, redis: RedisServer, namespace: str,
                 emu: TelegramEmulator | None, hooks: HookRunner) -> None:
        self.base, self.redis, self.namespace, self.emu, self.hooks = (
            base, redis, namespace, emu, hooks)
        self.made: list[Machine] = []

    def machine(self, name: str, *, chat: bool | str = True) -> Machine:
        m = Machine(name, self.base, self.redis, self.namespace, self.emu, self.hooks,
                    chat=chat)
        self.made.append(m)
        return m

    def pair(self) -> tuple[Machine, Machine]:
        """``laptop`` (the bot's, leading) and ``devbox`` (no chat of its own), started."""
        laptop, devbox = self.machine("laptop"), self.machine("devbox", chat=False)
        laptop.start()
        devbox.start()
        assert leader_of([laptop, devbox]) is laptop
        return laptop, devbox

    def close(self) -> None:
        for m in self.made:
            m.stop()

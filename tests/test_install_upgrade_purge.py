"""./install.sh run again over an install upgrades it in place; `uninstall --purge` then
removes everything install.sh and tether-hooks made, and nothing of the user's.

A new user's HOME, no terminal, the real install.sh on a copy of this clone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOREIGN_HOOK = {"type": "command", "command": "/usr/local/bin/my-audit-hook"}


def _clone(to: Path) -> Path:
    shutil.copytree(ROOT, to, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "*.egg-info", "__pycache__", ".ruff_cache", "build"))
    return to


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet, in a container without an init, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class User:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        self.command = home / ".local" / "bin" / "tether-hooks"

    def install_sh(self, clone: Path) -> subprocess.CompletedProcess:
        run = subprocess.run(["bash", str(clone / "install.sh"), "--extras", ""], env=self.env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        return run

    def th(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        run = subprocess.run([str(self.command), *args], env=self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        assert not check or run.returncode == 0, run.stdout + run.stderr
        return run

    def listener_pid(self) -> int | None:
        info = json.loads(self.th("status", "--json").stdout)["listener"]
        return info["pid"] if info["running"] else None


def test_rerunning_install_sh_upgrades_and_purge_removes_exactly_ours(tmp_path: Path) -> None:
    clone = _clone(tmp_path / "clone")
    home = tmp_path / "home"
    claude = home / ".claude" / "settings.json"
    claude.parent.mkdir(parents=True)
    claude.write_text(json.dumps({"model": "opus", "hooks": {"PermissionRequest": [
        {"matcher": "Bash", "hooks": [FOREIGN_HOOK]}]}}))
    codex_config = home / ".codex" / "config.toml"
    codex_config.parent.mkdir()
    codex_config.write_text('model = "gpt-5"\n')
    user = User(home)
    data_dir = home / ".local" / "share" / "tether-hooks"
    config_dir = home / ".config" / "tether-hooks"
    state_dir = home / ".local" / "state" / "tether-hooks"
    pids: list[int] = []
    try:
        first = user.install_sh(clone)
        assert "upgrading" not in first.stdout
        # The user configures it: a platform (so a listener runs), a timer.
        config_dir.mkdir(mode=0o700, parents=True)
        (config_dir / "config.toml").write_text("approval_timeout = 120\n[memory]\n")
        user.th("allow-tool", "Bash", "--for", "2h")
        user.th("listener", "start")
        pids.append(user.listener_pid())
        # An older install lacked an event; the clone gets a new version.
        settings = json.loads(claude.read_text())
        dropped = settings["hooks"].pop("Stop")
        claude.write_text(json.dumps(settings))
        # A `git pull` that changes code but not the version number must still be installed.
        main = clone / "tether_hooks" / "main.py"
        main.write_text(main.read_text().replace("from your phone,", "from your phone (new),"))

        second = user.install_sh(clone)
        assert "upgrading the install in" in second.stdout
        assert "(version 0.1.0); config and state are kept" in second.stdout
        assert "from your phone (new)," in user.th("--help").stdout
        assert json.loads(claude.read_text())["hooks"]["Stop"] == dropped
        assert (config_dir / "config.toml").read_text() == "approval_timeout = 120\n[memory]\n"
        status = json.loads(user.th("status", "--json").stdout)
        assert [t["tool"].lower() for t in status["timers"]] == ["bash"]
        pids.append(user.listener_pid())
        assert pids[1] is not None and pids[1] != pids[0] and not _alive(pids[0])

        # Without a terminal, purge asks for --yes and removes nothing.
        refused = user.th("uninstall", "--purge", check=False)
        assert refused.returncode == 1 and "add --yes" in refused.stderr
        assert data_dir.exists() and _alive(pids[1])

        dry = user.th("uninstall", "--purge", "--dry-run")
        assert f"Would remove {data_dir}" in dry.stdout and data_dir.exists()

        purged = user.th("uninstall", "--purge", "--yes")
        out = purged.stdout
        assert f"Removed our hooks from {claude}" in out
        assert f"Stopped the listener (pid {pids[1]})" in out
        for path in (user.command, config_dir, state_dir, data_dir):
            assert f"Removed {path}" in out
            assert not os.path.lexists(path), path
        assert not _alive(pids[1])
        left = json.loads(claude.read_text())
        assert left == {"model": "opus", "hooks": {"PermissionRequest": [
            {"matcher": "Bash", "hooks": [FOREIGN_HOOK]}]}}
        assert "tether-hook" not in codex_config.read_text()
        assert codex_config.read_text().startswith('model = "gpt-5"\n')
        codex_hooks = home / ".codex" / "hooks.json"
        assert not codex_hooks.exists() or "tether-hook" not in codex_hooks.read_text()
        leftovers = [str(p) for p in home.rglob("*") if "tether" in p.name]
        assert leftovers == []
    finally:
        for pid in pids:
            if pid and _alive(pid):
                os.kill(pid, 9)

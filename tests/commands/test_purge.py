"""uninstall --purge through the CLI: what it removes, what it never touches, when it asks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from tether_hooks import paths
from tether_hooks.main import cli


def run(*args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(cli, list(args), input=stdin)


def installed(tether_home: Path) -> Path:
    """An install as install.sh leaves it under TETHER_HOOKS_HOME, configured and used."""
    assert run("install").exit_code == 0
    (tether_home / "config.toml").write_text('[telegram]\nbot_token = "123:SECRET"\n')
    venv_bin = tether_home / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "tether-hooks").write_text("#!/bin/sh\n")
    assert run("allow-tool", "Bash").exit_code == 0
    return venv_bin / "tether-hooks"


def test_purge_removes_ours_and_keeps_foreign_files(tether_home: Path) -> None:
    target = installed(tether_home)
    link = Path(os.environ["HOME"]) / ".local" / "bin" / "tether-hooks"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    (tether_home / "notes.txt").write_text("mine")
    (tether_home / "bin" / "my-tool").write_text("mine")
    settings = Path(os.environ["HOME"]) / ".claude" / "settings.json"
    result = run("uninstall", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    for path in (link, tether_home / "config.toml", tether_home / "state", tether_home / "venv",
                 Path(paths.hook_shim())):
        assert f"Removed {path}" in result.output
        assert not os.path.lexists(path)
    assert f"Removed our hooks from {settings}" in result.output
    assert "The listener was not running." in result.output
    assert sorted(p.name for p in tether_home.rglob("*")) == ["bin", "my-tool", "notes.txt"]
    assert "hooks" not in json.loads(settings.read_text())


def test_purge_never_removes_a_foreign_command_link(tether_home: Path) -> None:
    installed(tether_home)
    link = Path(os.environ["HOME"]) / ".local" / "bin" / "tether-hooks"
    link.parent.mkdir(parents=True)
    link.write_text("#!/bin/sh\necho someone else's\n")
    result = run("uninstall", "--purge", "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kept"] == [f"{link} (not a link into our venv)"]
    assert link.read_text() == "#!/bin/sh\necho someone else's\n"
    assert str(tether_home / "config.toml") in data["removed"]


def test_purge_without_a_terminal_needs_yes_and_removes_nothing(tether_home: Path) -> None:
    installed(tether_home)
    result = run("uninstall", "--purge")
    assert result.exit_code == 1
    assert "without a terminal to confirm, add --yes" in result.output
    assert (tether_home / "config.toml").exists() and os.path.exists(paths.hook_shim())


def test_dry_run_lists_and_removes_nothing(tether_home: Path) -> None:
    installed(tether_home)
    result = run("uninstall", "--purge", "--dry-run")
    assert result.exit_code == 0
    assert f"Would remove {tether_home / 'config.toml'}" in result.output
    assert "Would remove our hooks from" in result.output
    assert (tether_home / "config.toml").exists() and os.path.exists(paths.hook_shim())


def test_a_broken_settings_file_stops_the_purge_before_anything_goes(tether_home: Path) -> None:
    installed(tether_home)
    settings = Path(os.environ["HOME"]) / ".claude" / "settings.json"
    settings.write_text('{"hooks": ')
    result = run("uninstall", "--purge", "--yes")
    assert result.exit_code == 1 and f"{settings} is not valid JSON" in result.output
    assert (tether_home / "config.toml").exists() and os.path.exists(paths.hook_shim())


def _in_a_terminal(answer: bytes) -> tuple[int, str]:
    """Run purge in a pseudo-terminal, answer its question, return (exit code, screen)."""
    import pty
    import select
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tether_hooks", "uninstall", "--purge"],
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    screen, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, screen.decode(errors="replace")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            screen += chunk
            if not answered and b"Remove all of this? [y/N]" in screen:
                os.write(master, answer)
                answered = True
    finally:
        os.close(master)
    return proc.wait(timeout=60), screen.decode(errors="replace")


def test_in_a_terminal_purge_shows_the_plan_and_asks(tether_home: Path) -> None:
    installed(tether_home)
    code, screen = _in_a_terminal(b"n\n")
    assert code == 130 and "Aborted." in screen
    assert f"Would remove {tether_home / 'config.toml'}" in screen
    assert (tether_home / "config.toml").exists()
    code, screen = _in_a_terminal(b"y\n")
    assert code == 0, screen
    assert f"Removed {tether_home / 'config.toml'}" in screen
    assert not (tether_home / "config.toml").exists()

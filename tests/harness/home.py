"""Every test gets its own TETHER_HOOKS_HOME, and none may touch the real home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether_hooks.agent_check import AGENT_VARIABLES


@pytest.fixture(autouse=True)
def tether_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TETHER_HOOKS_HOME; HOME and XDG dirs point into a scratch dir too."""
    base = tmp_path_factory.mktemp("th")
    home = base / "tether"
    home.mkdir()
    user_home = base / "user"
    user_home.mkdir()
    monkeypatch.setenv("TETHER_HOOKS_HOME", str(home))
    monkeypatch.setenv("HOME", str(user_home))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "CLAUDE_CONFIG_DIR",
                "CODEX_HOME", "TETHER_HOOKS_LOCAL_APPROVALS", "TETHER_HOOKS_APPROVAL_TIMEOUT",
                "TELEGRAM_BOT_TOKEN", *AGENT_VARIABLES):  # a suite run from an agent's shell
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True, scope="session")
def _real_home_untouched() -> object:
    """Fail the run if anything wrote tether-hooks files into the real home."""
    real = Path(os.path.expanduser("~"))
    watched = [real / ".config" / "tether-hooks", real / ".local" / "state" / "tether-hooks"]
    before = {p: p.exists() for p in watched}
    yield
    created = [str(p) for p in watched if p.exists() and not before[p]]
    assert not created, f"tests wrote into the real home: {created}"

from __future__ import annotations

import platformdirs
import pytest

from tether_hooks import paths


def test_tether_hooks_home_holds_everything(tether_home) -> None:
    assert paths.config_file() == str(tether_home / "config.toml")
    assert paths.state_file() == str(tether_home / "state" / "state.json")
    assert paths.log_dir() == str(tether_home / "logs")
    assert paths.hook_shim() == str(tether_home / "bin" / "tether-hook")


@pytest.mark.parametrize("xdg", [False, True])
def test_without_override_the_dirs_are_platformdirs(monkeypatch, tmp_path, xdg: bool) -> None:
    monkeypatch.delenv("TETHER_HOOKS_HOME")
    if xdg:
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            monkeypatch.setenv(var, str(tmp_path / var.lower()))
    assert paths.config_dir() == platformdirs.user_config_dir("tether-hooks", appauthor=False)
    assert paths.state_dir() == platformdirs.user_state_dir("tether-hooks", appauthor=False)
    assert paths.data_dir() == platformdirs.user_data_dir("tether-hooks", appauthor=False)

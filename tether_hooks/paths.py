"""Where tether-hooks keeps its files. Every path comes from here.

``TETHER_HOOKS_HOME``, when set, holds config, state and logs in that one directory
(tests and multiple profiles use it). Otherwise the user config/state/data dirs are
used, as platformdirs defines them. On Linux they are computed here, without importing
platformdirs, because the hook's fast path runs on every tool call.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "APP",
    "audit_file",
    "config_cache_file",
    "config_dir",
    "config_file",
    "data_dir",
    "ensure_dir",
    "home_override",
    "hook_shim",
    "listener_beat_file",
    "listener_health_file",
    "listener_lock_file",
    "listener_log_file",
    "listener_offsets_file",
    "listener_out_file",
    "listener_pid_file",
    "listener_socket",
    "lock_file",
    "log_dir",
    "state_dir",
    "state_file",
]

APP = "tether-hooks"


def home_override() -> str | None:
    """The ``TETHER_HOOKS_HOME`` directory, if set."""
    home = os.environ.get("TETHER_HOOKS_HOME", "").strip()
    return os.path.abspath(os.path.expanduser(home)) if home else None


def _xdg(var: str, default: str) -> str:
    value = os.environ.get(var, "").strip()
    return os.path.join(value if value else os.path.expanduser(default), APP)


def config_dir() -> str:
    """Directory of ``config.toml``."""
    home = home_override()
    if home:
        return home
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", "~/.config")
    import platformdirs

    return platformdirs.user_config_dir(APP, appauthor=False)


def state_dir() -> str:
    """Directory of the state store, audit log and sockets."""
    home = home_override()
    if home:
        return os.path.join(home, "state")
    if sys.platform.startswith("linux"):
        return _xdg("XDG_STATE_HOME", "~/.local/state")
    import platformdirs

    return platformdirs.user_state_dir(APP, appauthor=False)


def data_dir() -> str:
    """Directory of the installed venv and the stable hook executable."""
    home = home_override()
    if home:
        return home
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", "~/.local/share")
    import platformdirs

    return platformdirs.user_data_dir(APP, appauthor=False)


def log_dir() -> str:
    """Directory of the listener's and the CLI's log files."""
    home = home_override()
    if home:
        return os.path.join(home, "logs")
    return os.path.join(state_dir(), "log")


def config_file() -> str:
    return os.path.join(config_dir(), "config.toml")


def state_file() -> str:
    return os.path.join(state_dir(), "state.json")


def lock_file() -> str:
    return os.path.join(state_dir(), "state.lock")


def audit_file() -> str:
    return os.path.join(state_dir(), "audit.jsonl")


def config_cache_file() -> str:
    return os.path.join(state_dir(), "config.cache.json")


# -- the listener (one process per user: see listener/daemon.py) ------------------------


def listener_socket() -> str:
    """The listener's doorbell socket (0600, in the 0700 state directory)."""
    return os.path.join(state_dir(), "listener.sock")


def listener_pid_file() -> str:
    return os.path.join(state_dir(), "listener.pid")


def listener_spawn_lock_file() -> str:
    """Held (flock) by the one hook starting a listener until it answers: no start herd."""
    return os.path.join(state_dir(), "listener.spawn.lock")


def listener_lock_file() -> str:
    """Held (flock) by the running listener for its whole life: one listener at a time."""
    return os.path.join(state_dir(), "listener.lock")


def listener_health_file() -> str:
    """Per-bridge health the running listener keeps for ``tether-hooks status``."""
    return os.path.join(state_dir(), "listener.health.json")


def listener_beat_file() -> str:
    """Touched by the running listener's event loop every few seconds (``heartbeat``)."""
    return os.path.join(state_dir(), "listener.beat")


def listener_offsets_file() -> str:
    """The highest chat update id handled per bridge, so a restart skips what was handled."""
    return os.path.join(state_dir(), "listener.offsets.json")


def listener_log_file() -> str:
    """The listener's log (rotated, secrets redacted)."""
    return os.path.join(log_dir(), "listener.log")


def listener_out_file() -> str:
    """The daemon's stdout/stderr: what it says before its log is set up."""
    return os.path.join(log_dir(), "listener.out")


def hook_shim() -> str:
    """The stable absolute path agents' settings point at; it survives upgrades."""
    return os.path.join(data_dir(), "bin", "tether-hook")


def ensure_dir(path: str) -> str:
    """Create ``path`` and any missing parents, each 0700, and return it."""
    if not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent and parent != path:
            ensure_dir(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    return path

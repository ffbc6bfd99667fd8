"""Exceptions. ``str(error)`` is always the message the user sees.

TetherError            base; the CLI exits 1 with its message
├─ ConfigError         bad or missing config key; names the file and the key
├─ SettingsError       an agent settings file does not parse; left untouched
├─ StoreError          state unreadable or from a newer schema; hooks take the safe path
│  └─ StoreCorrupt     the state file is damaged: moved aside, a fresh state is used
├─ UsageError          a bad argument value (duration, id, scope)
├─ NotFound            no such timer, request or session
└─ AgentRefused        a grant/decide verb run by a coding agent
"""

from __future__ import annotations

__all__ = [
    "AgentRefused", "ConfigError", "NotFound", "SettingsError", "StoreCorrupt", "StoreError",
    "TetherError", "UsageError",
]


class TetherError(Exception):
    """Base of every error tether-hooks reports to a user."""


class ConfigError(TetherError):
    """The config file is invalid."""


class SettingsError(TetherError):
    """An agent's settings file cannot be read or merged."""


class StoreError(TetherError):
    """The state store cannot be read or written."""


class UsageError(TetherError):
    """An argument has a bad value."""


class NotFound(TetherError):
    """A timer, request or session does not exist."""


class AgentRefused(TetherError):
    """A grant or decide verb was run by a coding agent (see agent_check)."""


class StoreCorrupt(StoreError):
    """The state file is damaged (not JSON, too deep, wrong types, not a file): it is moved
    aside and a fresh state is used (``store.Store``); ``path`` names it, ``detail`` says why."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"the state file {path} is corrupt ({detail})")
        self.path = path
        self.detail = detail

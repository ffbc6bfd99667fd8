"""The settings in effect and where each came from: config.toml, the environment or a default.

``status`` and ``doctor`` show them, so an environment override (``TETHER_HOOKS_LOCAL_APPROVALS``,
``TETHER_HOOKS_APPROVAL_TIMEOUT``, ``TELEGRAM_BOT_TOKEN``) is never hidden behind the file's
value. The environment read here is this shell's; hooks read the agent's.
"""

from __future__ import annotations

import os
from typing import Literal, NotRequired, TypedDict

from tether_hooks import config, paths
from tether_hooks.models import Config

__all__ = ["ENV", "Setting", "describe", "settings"]

ENV: dict[Literal["local_approvals", "approval_timeout"], str] = {
    "local_approvals": "TETHER_HOOKS_LOCAL_APPROVALS",
    "approval_timeout": "TETHER_HOOKS_APPROVAL_TIMEOUT",
}

class Setting(TypedDict):
    """One setting in effect and where it came from."""

    name: str
    value: object
    source: str  # "env NAME=value", "config.toml", "default" (the token: also "nowhere")
    config_value: object  # what config.toml (or the default) says
    config_source: NotRequired[str]  # "config.toml" or "default"


def _in_file(path: str) -> dict[str, object]:
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, ValueError):
        return {}


def settings(cfg: Config) -> list[Setting]:
    """The overridable settings of ``cfg`` (a loaded config) with their effective value and
    source: ``"env NAME=value"``, ``"config.toml"`` or ``"default"``. Raises ConfigError
    when an environment value is invalid."""
    effective = config.apply_env(cfg)
    raw = _in_file(paths.config_file())
    out: list[Setting] = []
    for key, var in ENV.items():
        env = os.environ.get(var, "").strip()
        source = f"env {var}={env}" if env else ("config.toml" if key in raw else "default")
        out.append({"name": key, "value": effective[key], "source": source,
                    "config_value": cfg[key],
                    "config_source": "config.toml" if key in raw else "default"})
    telegram = cfg.get("telegram")
    if isinstance(telegram, dict):
        if telegram.get("bot_token"):
            source, value = "config.toml", "set"
        elif os.environ.get("TELEGRAM_BOT_TOKEN", "").strip():
            source, value = "env TELEGRAM_BOT_TOKEN", "set"
        else:
            source, value = "nowhere", "missing"
        out.append({"name": "telegram_token", "value": value, "source": source,
                    "config_value": "set" if telegram.get("bot_token") else None})
    return out


def _value(s: Setting) -> str:
    value = s["value"]
    if isinstance(value, bool):
        return "on" if value else "off"
    if s["name"] == "approval_timeout":
        return f"{value:g} s"
    return str(value)


def describe(items: list[Setting]) -> str:
    """``local approvals: on (env TETHER_HOOKS_LOCAL_APPROVALS=1; config.toml: off)``; ..."""
    parts = []
    for s in items:
        text = f"{s['name'].replace('_', ' ')}: {_value(s)} ({s['source']}"
        if s["source"].startswith("env ") and s["name"] in ENV and s["value"] != s["config_value"]:
            text += f"; {s['config_source']}: {_value({**s, 'value': s['config_value']})}"
        parts.append(text + ")")
    return "; ".join(parts)

"""``config.toml``: loading, defaults, validation, and the hook's cached copy.

The hook runs on every tool call and must not pay for ``tomllib``: it reads
``config.cache.json`` instead, a JSON copy of the settings it needs (no secrets),
rebuilt whenever ``config.toml``'s mtime or size changes.
"""

from __future__ import annotations

import json
import os

from tether_hooks import paths
from tether_hooks.errors import ConfigError

TYPE_CHECKING = False  # typing itself costs the hook's fast path an import
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypeVar

    from tether_hooks.models import Config, HookConfig, Settings

    _Settings = TypeVar("_Settings", bound=Settings)

__all__ = ["DEFAULTS", "PLATFORMS", "hook_config", "load", "remote_platforms", "validate"]

PLATFORMS = ("telegram", "slack", "discord")
# [memory]: a bridge that posts nowhere (platforms/memory.py), to run the listener in tests.
DEV_PLATFORMS = ("memory",)
DEFAULTS: dict[str, object] = {
    "approval_timeout": 300,
    "on_timeout": "ask",
    "local_approvals": False,
    "default_timer": "30m",
    "never_auto_approve": ["AskUserQuestion", "ExitPlanMode", "EnterPlanMode"],
    "stop_wait": 0,
    "redact_patterns": [],
}
_ON_TIMEOUT = ("ask", "deny")


def _source(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def load(path: str | None = None) -> Config:
    """Parse and validate ``config.toml`` (defaults filled in). Raises ConfigError."""
    path = path or paths.config_file()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raw = b""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return validate(data, path)


MAX_SECONDS = 7 * 24 * 3600  # as ``durations.MAX_SECONDS``: no wait or timer is longer


def number_in(value: object, low: float, high: float) -> float | None:
    """``value`` when it is a finite number (not a bool) from ``low`` to ``high``, else None:
    TOML's ``nan`` and ``inf`` (and 1e999) are numbers no timeout can be."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or not low <= value <= high:  # NaN compares unequal to itself
        return None
    return float(value)


def numbers_in(section: Mapping[str, object],
               spec: tuple[tuple[str, float, float, float], ...],
               bad: Callable[[str, str], Exception]) -> dict[str, float]:
    """A platform table's numbers, ``(key, default, low, high)`` each, checked by
    ``number_in``; ``bad(key, want)`` is raised for the first one out of range."""
    out = {}
    for key, default, low, high in spec:
        value = number_in(section.get(key, default), low, high)
        if value is None:
            raise bad(key, f"give a number from {low:g} to {high:g}")
        out[key] = value
    return out


def validate(data: Mapping[str, object], path: str = "config.toml") -> Config:
    """Defaults filled in, types checked; ConfigError names the file and the key."""
    from typing import cast

    from tether_hooks.durations import parse_duration
    from tether_hooks.errors import UsageError

    cfg: dict[str, object] = {**DEFAULTS, **data}

    def bad(key: str, want: str) -> ConfigError:
        return ConfigError(f"{path}: {key} = {cfg[key]!r} is invalid: {want}")

    for key in ("approval_timeout", "stop_wait"):
        if number_in(cfg[key], 0, MAX_SECONDS) is None:
            raise bad(key, f"give a number of seconds from 0 to {MAX_SECONDS} (7 days)")
    if cfg["on_timeout"] not in _ON_TIMEOUT:
        raise bad("on_timeout", 'use "ask" or "deny"')
    if not isinstance(cfg["local_approvals"], bool):
        raise bad("local_approvals", "use true or false")
    never = cfg["never_auto_approve"]
    if not isinstance(never, list) or not all(isinstance(n, str) for n in never):
        raise bad("never_auto_approve", "give a list of tool names")
    try:
        cfg["default_timer_seconds"] = parse_duration(str(cfg["default_timer"]))
    except UsageError as exc:
        raise bad("default_timer", str(exc)) from exc
    from tether_hooks.redact_rules import check_patterns

    try:
        check_patterns(cfg["redact_patterns"])
    except ValueError as exc:
        raise bad("redact_patterns", str(exc)) from None
    for name in PLATFORMS + DEV_PLATFORMS:
        if name in cfg and not isinstance(cfg[name], dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
    if "shared" in cfg:
        from tether_hooks.shared.settings import check as check_shared

        check_shared(cfg["shared"], path)
    if "notify" in cfg:
        notify = cfg["notify"]
        known = PLATFORMS + DEV_PLATFORMS
        if not isinstance(notify, list) or not notify or not all(
                isinstance(n, str) and n in known for n in notify):
            raise bad("notify", f"give a list of platforms among {', '.join(PLATFORMS)} "
                                "(leave it out to use every configured platform)")
        missing = [n for n in notify if not isinstance(cfg.get(n), dict)]
        if missing:
            raise bad("notify", f"there is no [{missing[0]}] table: set it up first "
                                f"(tether-hooks setup {missing[0]})")
    return cast("Config", cfg)  # every key of Config checked above


def remote_platforms(cfg: Mapping[str, object]) -> list[str]:
    """The chat platforms configured and enabled in ``cfg`` (only those ``notify`` names,
    when it is set): every request goes to each of them."""
    chosen = cfg.get("notify")
    return [
        name
        for name in PLATFORMS + DEV_PLATFORMS
        if isinstance(section := cfg.get(name), dict) and section.get("enabled", True) is not False
        and (not isinstance(chosen, list) or name in chosen)
    ]


def _hook_view(cfg: Config) -> HookConfig:
    return {
        "approval_timeout": cfg["approval_timeout"],
        "on_timeout": cfg["on_timeout"],
        "local_approvals": cfg["local_approvals"],
        "default_timer": cfg["default_timer"],
        "never_auto_approve": cfg["never_auto_approve"],
        "stop_wait": cfg["stop_wait"],
        "redact_patterns": cfg["redact_patterns"],
        "default_timer_seconds": cfg["default_timer_seconds"],
        # where requests go: this machine's platforms, or (with [shared]) the fleet's
        "platforms": remote_platforms(cfg) or (["shared"] if "shared" in cfg else []),
    }


def hook_config() -> HookConfig:
    """The settings a hook needs, from the cache when fresh; env overrides applied."""
    path = paths.config_file()
    source = _source(path)
    cache_path = paths.config_cache_file()
    view: HookConfig | None = None
    try:
        with open(cache_path, "rb") as f:
            cached = json.loads(f.read())
        if cached.get("source") == source and cached.get("path") == path:
            view = cached["config"]
    except (OSError, ValueError, KeyError, AttributeError):
        view = None
    if view is None:
        view = _hook_view(load(path))
        try:
            from tether_hooks.state import write_atomic

            paths.ensure_dir(os.path.dirname(cache_path))
            blob = {"path": path, "source": source, "config": view}
            write_atomic(cache_path, json.dumps(blob).encode())
        except OSError:
            pass
    return apply_env(view)


def apply_env(view: _Settings) -> _Settings:
    """Environment overrides: TETHER_HOOKS_LOCAL_APPROVALS, TETHER_HOOKS_APPROVAL_TIMEOUT."""
    view = view.copy()
    local = os.environ.get("TETHER_HOOKS_LOCAL_APPROVALS", "").strip().lower()
    if local:
        view["local_approvals"] = local in ("1", "true", "yes", "on")
    timeout = os.environ.get("TETHER_HOOKS_APPROVAL_TIMEOUT", "").strip()
    if timeout:
        try:
            seconds = number_in(float(timeout), 0, MAX_SECONDS)
        except ValueError:
            seconds = None
        if seconds is None:
            raise ConfigError(f"TETHER_HOOKS_APPROVAL_TIMEOUT={timeout!r} is not a number of "
                              f"seconds from 0 to {MAX_SECONDS}")
        view["approval_timeout"] = seconds
    return view

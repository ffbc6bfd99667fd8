"""Health checks behind ``tether-hooks doctor``: each says what is wrong and the command
that fixes it (``fix``), not a generic "install again"."""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable

from tether_hooks import __version__, agents, config, effective, listener_status, paths, state
from tether_hooks.check import Check
from tether_hooks.errors import ConfigError, TetherError

__all__ = ["CHECKS", "Check", "run_checks"]


def _q(path: str) -> str:
    return shlex.quote(path)


def _aside(path: str, tag: str) -> str:
    """``mv PATH PATH.<tag>-<time>``: a name that never overwrites an earlier copy."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"mv {_q(path)} {_q(f'{path}.{tag}-{stamp}')}"


def _toml_error(path: str) -> Check | None:
    """A config.toml that does not parse: where, and how to get going again."""
    import tomllib

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Check("config", "fail", f"cannot read {path}: {exc.strerror}",
                     f"make it readable: chmod 600 {_q(path)}")
    aside = (f"or move it aside to run on the defaults (no chat platform until you run "
             f"`tether-hooks setup telegram` again): {_aside(path, 'bad')}")
    try:
        tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Check("config", "fail", f"{path} is not UTF-8 text (byte {exc.start})",
                     f"save it as UTF-8, {aside}")
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+), column (\d+)", str(exc))
        at = f"line {where[1]}, column {where[2]}" if where else "the place named"
        return Check("config", "fail", f"{path} is not valid TOML: {exc}",
                     f"correct {at} of {path}, {aside}")
    return None


def _config() -> list[Check]:
    path = paths.config_file()
    broken = _toml_error(path)
    if broken:
        return [broken]
    try:
        cfg = config.load()
    except ConfigError as exc:
        return [Check("config", "fail", str(exc),
                      f"edit that key in {path} (or delete its line to use the default); "
                      "hooks take no decision until then")]
    where = path if os.path.exists(path) else "defaults (no config.toml)"
    remote = ", ".join(config.remote_platforms(cfg)) or "no chat platform"
    checks = [Check("config", "ok", f"{where}: {remote}, on_timeout {cfg['on_timeout']}")]
    try:
        items = effective.settings(cfg)
    except ConfigError as exc:
        var = effective.ENV["approval_timeout"]
        return checks + [Check("settings", "fail", str(exc),
                               f"unset {var}, or set it to a number of seconds")]
    checks.append(Check("settings", "ok", effective.describe(items)))
    from tether_hooks import platforms

    for name in config.remote_platforms(cfg):
        hint = platforms.SETTINGS.get(name, ("", ""))[1]
        try:
            platforms.check_settings(name, cfg.get(name), path)
        except ConfigError as exc:
            checks.append(Check(f"{name} config", "fail", str(exc), hint))
    return checks


def _state() -> list[Check]:
    path = paths.state_file()
    checks = []
    try:
        data = state.load(path)
    except TetherError as exc:
        text = str(exc)
        if "schema" in text:
            fix = ("upgrade tether-hooks: run ./install.sh from an up-to-date clone "
                   "(it keeps config and state)")
        elif "cannot read" in text:
            fix = f"make it readable: chmod 600 {_q(path)}"
        else:
            fix = (f"move it aside to start afresh (its timers and pending requests are lost; "
                   f"hooks ask until then): {_aside(path, 'corrupt')}")
        checks.append(Check("state", "fail", text, fix))
    else:
        checks.append(Check("state", "ok", f"{path}: {len(data['timers'])} timer(s), "
                            f"{len(data['requests'])} request(s), "
                            f"{len(data['sessions'])} session(s)"))
    moved = sorted(glob.glob(glob.escape(path) + ".corrupt-*"))
    if moved:
        checks.append(Check(
            "state (moved aside)", "warn",
            f"{len(moved)} unreadable state file(s) were moved aside: {', '.join(moved)}; "
            "the timers and pending requests in them were dropped",
            "check `tether-hooks status` (what is in effect now), then remove them: rm "
            + " ".join(_q(m) for m in moved)))
    return checks


def _interpreter(shim: str) -> str:
    try:
        with open(shim, encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        return ""
    return first[2:].split()[0] if first.startswith("#!") and first[2:].split() else ""


def _shim() -> list[Check]:
    shim = paths.hook_shim()
    reinstall = "run `tether-hooks install` (it rewrites the hook executable for this Python)"
    if not os.path.exists(shim):
        return [Check("hook", "fail", f"the hook executable {shim} is missing",
                      f"run `tether-hooks install` (it writes {shim})")]
    python = _interpreter(shim)
    if python and not os.path.exists(python):
        return [Check("hook", "fail", f"{shim} runs {python}, which is gone",
                      f"{reinstall}; if this command does not run either, run ./install.sh "
                      "again from your tether-hooks clone")]
    probe = json.dumps({"session_id": "doctor", "cwd": os.getcwd(),
                        "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {}})
    try:
        run = subprocess.run([shim, "claude"], input=probe, capture_output=True, text=True,
                             timeout=30)
    except OSError as exc:
        return [Check("hook", "fail", f"{shim} does not run: {exc}",
                      f"make it executable (chmod 755 {_q(shim)}), or {reinstall}")]
    except subprocess.TimeoutExpired:
        return [Check("hook", "fail", f"{shim} did not answer a probe in 30 s",
                      "see the crash log under " + paths.log_dir())]
    if run.returncode != 0 or run.stdout or run.stderr:
        return [Check("hook", "fail", f"{shim} answered a probe with exit {run.returncode}: "
                      f"{(run.stderr or run.stdout).strip()[:300]}", reinstall)]
    return [Check("hook", "ok", f"{shim} runs (python {sys.version.split()[0]})")]


def _agent_checks(name: str) -> Callable[[], list[Check]]:
    """The agent's own checks (its settings files, Codex's trust), run from the cwd."""

    def check() -> list[Check]:
        return agents.get(name).doctor_checks(os.getcwd())

    check.__name__ = f"_{name}"
    return check


def _bridge_fix(name: str, state_: str, detail: str) -> str:
    """The platform-specific fix for a bridge that cannot post."""
    low = detail.lower()
    restart = "then `tether-hooks listener stop && tether-hooks listener start`"
    if name == "telegram":
        if "token" in low and ("reject" in low or "unauthorized" in low or state_ == "auth"):
            return ("check the token with `tether-hooks setup telegram --token TOKEN --test` "
                    f"(a new one from @BotFather if it was revoked), {restart}")
        if "chat not found" in low or "may not" in low or "rights" in low:
            return ("add the bot to the chat (an admin, with Manage Topics in forum mode), check "
                    f"chat_id with `tether-hooks setup telegram --discover`, {restart}")
        if "another program" in low or "conflict" in low:
            return ("stop the other program polling this bot (another listener, the Telegram "
                    "plugin), or give tether-hooks its own bot")
        if "reach" in low or "network" in low or "did not answer" in low:
            return ("check the network and api_base in config.toml; the listener keeps retrying "
                    "(`tether-hooks listener logs`)")
    if name == "slack":
        if "token" in low and ("reject" in low or state_ == "auth"):
            return ("check both tokens with `tether-hooks setup slack --bot-token xoxb-... "
                    f"--app-token xapp-... --test`, {restart}")
        if "/invite" in low or "channel" in low or "scope" in low:
            return ("do what the detail says (invite the bot, add the scope and reinstall the "
                    "app, or fix channel_id); the listener checks again every 30 s")
        if "reach" in low or "disconnected" in low or "did not answer" in low:
            return ("check the network, api_base and proxy in config.toml; the listener keeps "
                    "reconnecting (`tether-hooks listener logs`)")
    if name == "discord":
        if "posts only" in low:
            return ("add a bot to answer from Discord: `tether-hooks setup discord --bot-token "
                    "... --channel ID`, then `tether-hooks pair discord`")
        if state_ == "auth" or "cannot" in low:
            return ("do what the detail says (a new webhook or bot token, the bot's channel "
                    "permissions); the listener checks again every 30 s")
    return f"see `tether-hooks listener logs`, {restart}"


def _listener() -> list[Check]:
    try:
        cfg = config.load()
    except TetherError:
        return []
    platforms = config.remote_platforms(cfg)
    if not platforms and "shared" not in cfg:
        return [Check("listener", "ok", "no chat platform configured: nothing to listen to")]
    info = listener_status.status()
    if not info["running"]:
        return [Check("listener", "warn", "not running (a hook starts it when needed)",
                      "tether-hooks listener start (its log: `tether-hooks listener logs`)")]
    checks = [Check("listener", "ok", f"running, pid {info.get('pid')}")]
    for name, health in (info.get("bridges") or {}).items():
        state_ = str(health.get("state", "?"))
        detail = str(health.get("detail") or state_)
        if state_ in ("ok", "starting"):
            checks.append(Check(name, "ok", detail))
        else:
            checks.append(Check(name, "fail", f"{state_}: {detail}",
                                _bridge_fix(name, state_, detail)))
    return checks


def _shared() -> list[Check]:
    """With ``[shared]``: the shared Redis (``shared.doctor``), if redis-py is installed."""
    try:
        cfg = config.load()
    except TetherError:
        return []  # the config check says why
    from tether_hooks.shared import settings

    shared = settings.load(cfg)
    if shared is None:
        return []
    try:
        from tether_hooks.shared import doctor as shared_doctor
    except ImportError:
        return [Check("shared", "fail",
                      "[shared] is in config.toml but the Redis client (redis-py) is not "
                      "installed: this machine's listener cannot reach the fleet",
                      "install the extra: ./install.sh --extras all from your tether-hooks "
                      "clone (or pip install 'tether-hooks[shared]' into its Python)")]

    def local_pid() -> int | None:
        info = listener_status.status()
        return info.get("pid") if info["running"] else None

    return shared_doctor.checks(shared, local_pid)


CHECKS: list[Callable[[], list[Check]]] = [
    _config, _state, _shim, *map(_agent_checks, agents.AGENTS), _listener, _shared,
]


def run_checks() -> list[Check]:
    """Every check, in order; a check that crashes is reported, not raised."""
    results = [Check("version", "ok", f"tether-hooks {__version__}, python "
                     f"{sys.version.split()[0]} at {sys.executable}")]
    for check in CHECKS:
        try:
            results.extend(check())
        except Exception as exc:  # a broken check must not hide the others
            results.append(Check(check.__name__.strip("_"), "fail",
                                 f"the check crashed: {type(exc).__name__}: {exc}",
                                 "report it, with `tether-hooks doctor --json`"))
    return results

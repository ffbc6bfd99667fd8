"""Health checks behind ``tether-hooks doctor``: each says what is wrong and what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from tether_hooks import __version__, agents, config, installer, paths, state
from tether_hooks.errors import TetherError

__all__ = ["CHECKS", "Check", "run_checks"]


@dataclass
class Check:
    """One finding: ``ok``, ``warn`` or ``fail``, with a hint when it is not ok."""

    name: str
    status: str
    detail: str
    hint: str = ""


def _config() -> list[Check]:
    try:
        cfg = config.load()
    except TetherError as exc:
        return [Check("config", "fail", str(exc),
                      "fix the file; hooks take no decision until then")]
    where = paths.config_file() if os.path.exists(paths.config_file()) else "defaults"
    remote = ", ".join(config.remote_platforms(cfg)) or "no chat platform"
    return [Check("config", "ok", f"{where}: {remote}, approval_timeout {cfg['approval_timeout']}"
                  f" s, on_timeout {cfg['on_timeout']}")]


def _state() -> list[Check]:
    try:
        data = state.load(paths.state_file())
    except TetherError as exc:
        return [Check("state", "fail", str(exc), "move the file away to start afresh")]
    return [Check("state", "ok", f"{paths.state_file()}: {len(data['timers'])} timer(s), "
                  f"{len(data['requests'])} request(s), {len(data['sessions'])} session(s)")]


def _shim() -> list[Check]:
    shim = paths.hook_shim()
    if not os.path.exists(shim):
        return [Check("hook", "fail", f"{shim} is missing", "run `tether-hooks install`")]
    probe = json.dumps({"session_id": "doctor", "cwd": os.getcwd(),
                        "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {}})
    try:
        run = subprocess.run([shim, "claude"], input=probe, capture_output=True, text=True,
                             timeout=30)
    except OSError as exc:
        return [Check("hook", "fail", f"{shim} does not run: {exc}",
                      "run `tether-hooks install` again (its interpreter may be gone)")]
    if run.returncode != 0 or run.stdout or run.stderr:
        return [Check("hook", "fail", f"{shim} answered a probe with exit {run.returncode}: "
                      f"{(run.stderr or run.stdout).strip()[:300]}",
                      "run `tether-hooks install` again")]
    return [Check("hook", "ok", f"{shim} runs (python {sys.version.split()[0]})")]


def _agent_settings() -> list[Check]:
    found = []
    cfg_timeout = 0.0
    try:
        cfg_timeout = float(config.load()["approval_timeout"])
    except TetherError:
        pass
    claude = agents.get("claude")
    for scope in claude.SCOPES:
        path = claude.settings_path(scope, os.getcwd())
        try:
            settings, _ = installer.read_settings(path)
        except TetherError as exc:
            found.append(Check(f"claude {scope}", "fail", str(exc)))
            continue
        ours = [(event, h) for event, groups in (settings.get("hooks") or {}).items()
                if isinstance(groups, list) for g in groups if isinstance(g, dict)
                for h in g.get("hooks") or [] if installer.is_ours(h)]
        if not ours:
            continue
        gates = [(e, h) for e, h in ours if e in ("PermissionRequest", "PreToolUse")]
        detail = f"{path}: {', '.join(sorted({e for e, _ in ours}))}"
        short = [e for e, h in gates if float(h.get("timeout", 600)) <= cfg_timeout]
        if short:
            found.append(Check(f"claude {scope}", "warn", detail + f"; the {short[0]} hook's "
                               "timeout is not above approval_timeout",
                               "run `tether-hooks install` again to raise it"))
        else:
            found.append(Check(f"claude {scope}", "ok", detail))
    if not found:
        found.append(Check("claude", "warn", "no Claude Code settings file has our hooks",
                           "run `tether-hooks install`"))
    return found


def _codex() -> list[Check]:
    from tether_hooks.codex_config import trust_report

    report = trust_report(os.getcwd())
    if not report:
        return []
    bad = [r for r in report if r["status"] != "trusted"]
    if not bad:
        return [Check("codex", "ok", f"{len(report)} hook(s) installed and trusted")]
    first = bad[0]
    what = first.get("error") or f"{first['event']} in {first['path']} is {first['status']}"
    return [Check("codex", "fail", f"{len(bad)} of {len(report)} hook(s) will not run: {what}",
                  "run `tether-hooks install --agent codex` again, or trust them in Codex's "
                  "/hooks")]


def _listener() -> list[Check]:
    try:
        platforms = config.remote_platforms(config.load())
    except TetherError:
        return []
    if not platforms:
        return [Check("listener", "ok", "no chat platform configured: nothing to listen to")]
    from tether_hooks.listener import daemon

    info = daemon.status()
    if not info["running"]:
        return [Check("listener", "warn", "not running (a hook starts it when needed)",
                      "`tether-hooks listener start`; its log: `tether-hooks listener logs`")]
    checks = [Check("listener", "ok", f"running, pid {info.get('pid')}")]
    for name, health in (info.get("bridges") or {}).items():
        state_ = health.get("state", "?")
        detail = health.get("detail") or state_
        checks.append(Check(name, "ok" if state_ == "ok" else "fail", str(detail),
                            "" if state_ == "ok" else "see `tether-hooks listener logs`"))
    return checks


CHECKS: list[Callable[[], list[Check]]] = [
    _config, _state, _shim, _agent_settings, _codex, _listener,
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
                                 f"the check crashed: {type(exc).__name__}: {exc}"))
    return results

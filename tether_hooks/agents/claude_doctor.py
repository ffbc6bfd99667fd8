"""What ``tether-hooks doctor`` checks for Claude Code: our hooks in its settings files, and
that their timeouts outlast ``approval_timeout``."""

from __future__ import annotations

from tether_hooks import config, installer
from tether_hooks.check import Check
from tether_hooks.errors import TetherError

__all__ = ["doctor_checks"]


def doctor_checks(files: dict[str, str]) -> list[Check]:
    """One check per settings file (scope -> path) that has our hooks (or a warning when
    none has)."""
    found = []
    cfg_timeout = 0.0
    try:
        cfg_timeout = float(config.load()["approval_timeout"])
    except TetherError:
        pass
    for scope, path in files.items():
        try:
            settings, _ = installer.read_settings(path)
        except TetherError as exc:
            found.append(Check(f"claude {scope}", "fail", str(exc),
                               f"fix the JSON in {path} (tether-hooks leaves it untouched until "
                               "then), then run `tether-hooks install`"))
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
                           "run `tether-hooks install` (add --agent codex for Codex)"))
    return found

"""How ``tether-hooks doctor`` and ``status`` describe Codex: our installed hooks and whether
Codex trusts them (an untrusted hook is skipped silently)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tether_hooks.agents.codex_config import trust_report
from tether_hooks.check import Check

__all__ = ["describe_hooks", "doctor_checks"]


def doctor_checks(cwd: str) -> list[Check]:
    """Nothing when no Codex hook of ours is installed; else whether all of them will run."""
    report = trust_report(cwd)
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


def describe_hooks(report: Sequence[Mapping[str, object]]) -> str:
    """The status line for a trust report: counts per status, and how to fix the rest."""
    if not report:
        return "not installed"
    counts: dict[str, int] = {}
    for entry in report:
        status = str(entry["status"])
        counts[status] = counts.get(status, 0) + 1
    text = ", ".join(f"{n} {s}" for s, n in counts.items())
    text += "".join(f"; {r['error']}" for r in report if r.get("error"))
    if counts.get("trusted", 0) < len(report):
        text += (
            " (Codex skips these silently: run `tether-hooks install --agent codex` again;"
            " for a project's hooks add --scope project --trust-project)"
        )
    return text

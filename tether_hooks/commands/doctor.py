"""The doctor verb: check the installation and say what to fix."""

from __future__ import annotations

import dataclasses

import click

from tether_hooks import output
from tether_hooks.doctor import run_checks

__all__ = ["COMMANDS"]

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command("doctor")
@output.json_option
def doctor(as_json: bool) -> None:
    """Check config, state, the hook executable, agent settings and the listener, and say
    how to fix each problem.

    \b
    Exit status: 1 if any check fails, 0 otherwise (warnings alone exit 0).
    --json prints a list of checks: {name, status (ok/warn/fail), detail, fix}.
    """
    results = run_checks()

    def text() -> str:
        lines = []
        for r in results:
            lines.append(f"[{_MARK[r.status]}] {r.name}: {r.detail}")
            if r.fix:
                lines.append(f"       fix: {r.fix}")
        failed = sum(r.status == "fail" for r in results)
        warned = sum(r.status == "warn" for r in results)
        if failed or warned:
            lines.append(f"{failed} failure(s), {warned} warning(s).")
        return "\n".join(lines)

    output.emit([dataclasses.asdict(r) for r in results], as_json, text)
    if any(r.status == "fail" for r in results):
        raise click.exceptions.Exit(1)


COMMANDS = [doctor]

"""Every verb explains itself."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from tether_hooks.main import cli


def _verbs(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _verbs(command, (*prefix, name))
    return found


@pytest.mark.parametrize("verb", _verbs(cli), ids=" ".join)
def test_every_verb_has_help(verb: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*verb, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {' '.join(verb)}" in result.output
    summary = result.output.split("\n\n")[1].strip()
    assert summary and not summary.startswith("Options")


def test_the_verbs_users_are_told_about_exist() -> None:
    verbs = {" ".join(v) for v in _verbs(cli)}
    assert {"install", "uninstall", "allow-dir", "allow-tool", "allow-all", "allow-bash",
            "timers", "revoke", "pending", "approve", "deny", "status", "log", "doctor",
            "listen", "listener start", "listener stop", "listener status", "listener logs",
            "setup telegram", "setup slack", "machines"} <= verbs

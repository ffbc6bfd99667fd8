"""The ``tether-hooks`` command line: a click group, one module per verb family."""

from __future__ import annotations

import click

from tether_hooks import __version__
from tether_hooks.commands import (
    approvals,
    doctor,
    install,
    listener,
    machines,
    pair,
    setup,
    status,
    timers,
)
from tether_hooks.error_handler import error_handler
from tether_hooks.errors import TetherError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Reports a TetherError as one line and exit code 1 (under CliRunner too)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TetherError as exc:
            raise Failure(str(exc)) from exc


class Failure(click.ClickException):
    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"tether-hooks: error: {self.message}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tether-hooks")
def cli() -> None:
    """Approve Claude Code and Codex tool calls from your phone, or from another terminal."""


for module in (install, timers, approvals, status, machines, setup, pair, listener, doctor):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> int:
    """Console entry point."""
    import sys

    for stream in (sys.stdout, sys.stderr):  # a session id or path from undecodable bytes
        if hasattr(stream, "reconfigure"):  # is shown escaped, never a crash
            stream.reconfigure(errors="backslashreplace")
    with error_handler() as result:
        # Without standalone mode click returns an Exit's code (doctor's 1) instead of
        # raising it: keep it, or a failing check would exit 0.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool):
            result.code = code
    return result.code

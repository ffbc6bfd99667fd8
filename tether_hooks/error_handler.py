"""Turn errors into one line on stderr and an exit code; the CLI never shows a traceback.

Exit codes: 0 ok, 1 TetherError (the message says what to do), 2 usage (click's own),
3 unexpected (the traceback goes to the log file named in the message), 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from tether_hooks import __version__, crashlog, redact
from tether_hooks.errors import TetherError

__all__ = ["Result", "error_handler"]


@dataclass
class Result:
    code: int = 0


def _log(exc: BaseException) -> str:
    return crashlog.record(
        "cli-errors.log",
        f"tether-hooks {__version__} python {sys.version.split()[0]} {sys.platform}\n"
        f"argv: {_redacted(sys.argv)}",
        exc,
    )


def _redacted(argv: list[str]) -> list[str]:
    """``argv`` with the values of secret options and every likely secret masked."""
    return redact.argv(argv)


@contextmanager
def error_handler() -> Iterator[Result]:
    """Run the CLI body; map exceptions to messages and ``result.code``."""
    result = Result()
    try:
        yield result
    except click.exceptions.Exit as exc:
        result.code = exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        result.code = 130
    except click.ClickException as exc:
        exc.show()
        result.code = exc.exit_code
    except TetherError as exc:
        click.echo(f"tether-hooks: error: {exc}", err=True)
        result.code = 1
    except KeyboardInterrupt:
        click.echo("Interrupted (^C)", err=True)
        result.code = 130
    except Exception as exc:
        log = _log(exc)
        click.echo(
            f"tether-hooks: unexpected error: {type(exc).__name__}: {exc}\nDetails are in {log}",
            err=True,
        )
        result.code = 3

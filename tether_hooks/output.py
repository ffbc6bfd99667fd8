"""The only place CLI verbs print: text for people, ``--json`` for programs."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

__all__ = ["ago", "emit", "json_option", "until"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def emit(data: object, as_json: bool, text: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the text ``text()`` builds."""
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        rendered = text()
        if rendered:
            click.echo(rendered)


def ago(seconds: float) -> str:
    from tether_hooks.durations import format_duration

    return f"{format_duration(seconds)} ago"


def until(seconds: float) -> str:
    from tether_hooks.durations import format_duration

    return f"in {format_duration(seconds)}"

"""Listener verbs: listen (foreground), listener start|stop|status|logs (the daemon)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import click

from tether_hooks import output, paths
from tether_hooks.listener import daemon

if TYPE_CHECKING:
    from tether_hooks.models import ListenerStatus

__all__ = ["COMMANDS", "describe_status"]


@click.command("listen")
@click.option("--daemon", "as_daemon", is_flag=True, hidden=True,
              help="Log to the log file only (how `listener start` runs it).")
def listen(as_daemon: bool) -> None:
    """Run the listener in the foreground (Ctrl-C stops it)."""
    daemon.serve(foreground=not as_daemon)


@click.group("listener")
def listener() -> None:
    """Manage the background listener that relays requests to chat platforms."""


def describe_status(info: ListenerStatus) -> str:
    """``running (pid 123); telegram: ok`` for status lines."""
    if info.get("running"):
        text = f"running (pid {info.get('pid')})"
    elif info.get("unresponsive"):
        text = f"not answering (pid {info.get('pid')}); see `tether-hooks listener logs`"
    else:
        text = "not running"
    for name, bridge in (info.get("bridges") or {}).items():
        detail = f" ({bridge['detail']})" if bridge.get("detail") else ""
        text += f"; {name}: {bridge.get('state')}{detail}"
    for name, task in (info.get("tasks") or {}).items():
        if task.get("state") != "ok":  # a supervised task restarting, or reporting a problem
            text += f"; {name}: {task.get('state')} ({task.get('detail')})"
        elif task.get("restarts"):
            text += f"; {name}: restarted {task['restarts']}x"
    return text


@listener.command("start")
@output.json_option
def start(as_json: bool) -> None:
    """Start the listener in the background (returns once it answers)."""
    info = daemon.start()
    verb = "Started" if info.get("started") else "Already running:"
    output.emit(info, as_json, lambda: f"{verb} listener {describe_status(info)}")


@listener.command("stop")
@output.json_option
def stop(as_json: bool) -> None:
    """Stop the background listener (SIGTERM)."""
    info = daemon.stop()
    text = f"Stopped the listener (pid {info['pid']})" if info["stopped"] else "Not running."
    output.emit(info, as_json, lambda: text)


@listener.command("status")
@output.json_option
def status(as_json: bool) -> None:
    """Is the listener running, and how is each chat platform doing."""
    info = daemon.status()
    output.emit(info, as_json, lambda: f"Listener: {describe_status(info)}")


@listener.command("logs")
@click.option("-n", "--lines", "count", type=int, default=50, show_default=True,
              help="How many lines (0: all).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
def logs(count: int, follow: bool) -> None:
    """Print the listener's log."""
    lines = daemon.log_lines(count)
    click.echo("\n".join(lines) if lines else f"No log yet ({paths.listener_log_file()}).")
    if not follow or not os.path.exists(paths.listener_log_file()):
        return
    with open(paths.listener_log_file(), encoding="utf-8", errors="replace") as f:
        f.seek(0, 2)
        while True:
            line = f.readline()
            if line:
                click.echo(line, nl=False)
            else:
                time.sleep(0.25)  # tail -f


COMMANDS = [listen, listener]

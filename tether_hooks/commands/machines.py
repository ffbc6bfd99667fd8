"""``tether-hooks machines``: the machines of the fleet (``[shared]``), which one leads."""

from __future__ import annotations

import click

from tether_hooks import output
from tether_hooks.commands.approvals import fleet_settings
from tether_hooks.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tether_hooks.shared.view import MachineRow

__all__ = ["COMMANDS"]

_HEAD = ("NAME", "ROLE", "LAST-BEAT", "VERSION", "PLATFORMS", "PENDING")


def _cells(row: MachineRow) -> tuple[str, ...]:
    name = row["name"] + (" (you)" if row["you"] else "")
    role = "★ leader" if row["leader"] else row["role"]
    beat = "never" if row["age"] is None else output.ago(row["age"])
    if row["stale"]:
        beat += " (stale)"
    return (name, role, beat, row["version"] or "?", ",".join(row["platforms"]) or "-",
            str(row["pending"]))


def table(rows: list[MachineRow]) -> str:
    lines = [_HEAD, *map(_cells, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEAD))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)


@click.command("machines")
@output.json_option
def machines(as_json: bool) -> None:
    """The machines sharing this bot ([shared]): role, last heartbeat, which one leads."""
    s = fleet_settings()
    if s is None:
        raise UsageError("no [shared] in config.toml: this machine runs alone (see the README, "
                         "\"Several machines, one bot\")")
    from tether_hooks.shared.view import FleetView

    rows = FleetView(s).load().machines()
    output.emit(rows, as_json, lambda: table(rows) if rows else
                "No machine has checked in yet (is a listener running with [shared]?).")


COMMANDS = [machines]

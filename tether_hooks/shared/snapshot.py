"""Pure helpers of the fleet snapshot (``fleet.FleetStore``): fleet ids, resolving an id
typed by a user, decoding a Redis hash of JSON, a record as its order will settle it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tether_hooks.errors import NotFound, UsageError
from tether_hooks.shared.records import parse_id

__all__ = ["Doc", "docs", "is_number", "number", "provisional", "resolve"]

_STATUS_OF = {"allow": "allowed", "deny": "denied"}
Doc = dict[str, Any]


def resolve(items: Mapping[str, object], key: str, kind: str) -> str:
    """The key of ``items`` (plain or ``id@machine``) that ``key`` names: exactly, or by a
    unique prefix of its id part (``a1b2`` finds ``a1b2@devbox``; ``a1@devbox`` only on
    devbox). NotFound and UsageError (ambiguous) as ``Store`` raises them."""
    wanted = key.strip().lstrip("#").lower()
    if wanted in items:
        return wanted
    want_id, want_machine = parse_id(wanted)
    matches = []
    for item in items:
        rid, machine = parse_id(item.lower())
        if want_id and rid.startswith(want_id) and want_machine in (None, machine):
            matches.append(item)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no {kind} with id {key!r}")
    raise UsageError(f"{key!r} matches several {kind}s: {', '.join(sorted(matches))}")


def docs(raw: Mapping[Any, Any], *, numbers: tuple[str, ...] = (),
         tables: tuple[str, ...] = ()) -> dict[str, Doc]:
    """A hash of JSON objects, skipping any entry that is not one, or whose ``numbers``
    fields are not numbers, or whose ``tables`` fields are neither an object nor null (a
    record of another version, a hand edit: never a crash of the fleet's view)."""
    out: dict[str, Doc] = {}
    for field, text in raw.items():
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            continue
        if not isinstance(value, dict):
            continue
        if any(not is_number(value.get(k)) for k in numbers):
            continue
        if any(value.get(k) is not None and not isinstance(value.get(k), dict) for k in tables):
            continue
        out[str(field)] = value
    return out


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def number(value: object, default: float = 0.0) -> float:
    """``value`` as a float if it is a number (or a numeric text), else ``default``."""
    if is_number(value):
        return float(value)  # type: ignore[arg-type]
    try:
        found = float(str(value))
    except ValueError:
        return default
    return found if found == found else default


def provisional(record: Doc, order: Doc | None) -> Doc:
    """``record`` as its order (if any, and it is still pending there) will settle it."""
    if order is None or record.get("status") != "pending":
        return record
    if "request_at" in order and order["request_at"] != record.get("created_at"):
        return record  # an order left for an earlier request that had the same id
    behavior = str(order.get("behavior"))
    decision: Doc = {"behavior": behavior, "reason": order.get("reason"),
                     "by": order.get("by"), "via": order.get("via"), "at": order.get("at")}
    extra = order.get("extra")
    if isinstance(extra, dict):
        decision.update(extra)
    return {**record, "decision": decision, "delivering": True,
            "status": order.get("status") or _STATUS_OF.get(behavior, "expired")}

"""``/usage``: tokens and an estimated cost of a session, read from its transcript JSONL.

Claude Code writes one line per content block of an assistant message, each repeating the
message's ``usage``; lines are counted once per ``message.id``. Prices are list prices in
USD per million tokens (cache writes 1.25x input, cache reads 0.1x input).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PRICES", "describe", "read_usage"]

# model family -> (input, output) USD per million tokens
PRICES = {
    "opus-4-5": (5.0, 25.0),
    "opus-4-6": (5.0, 25.0),
    "opus": (15.0, 75.0),
    "sonnet": (3.0, 15.0),
    "haiku-4": (1.0, 5.0),
    "haiku": (0.8, 4.0),
}
_MAX_BYTES = 64 * 1024 * 1024


def _price(model: str) -> tuple[float, float] | None:
    for family, price in PRICES.items():
        if family in model:
            return price
    return None


def read_usage(path: str) -> dict[str, Any]:
    """Totals of a transcript: tokens by kind, per-model cost, messages. OSError if unreadable."""
    totals: dict[str, Any] = {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0,
                              "messages": 0, "cost": 0.0, "priced": True, "models": []}
    seen: set[str] = set()
    with open(path, "rb") as f:
        raw = f.read(_MAX_BYTES)
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            continue
        key = str(message.get("id") or entry.get("uuid") or len(seen))
        if key in seen:
            continue
        seen.add(key)
        usage, model = message["usage"], str(message.get("model") or "")
        counts = {
            "input": int(usage.get("input_tokens") or 0),
            "output": int(usage.get("output_tokens") or 0),
            "cache_write": int(usage.get("cache_creation_input_tokens") or 0),
            "cache_read": int(usage.get("cache_read_input_tokens") or 0),
        }
        for name, value in counts.items():
            totals[name] += value
        totals["messages"] += 1
        if model and model not in totals["models"] and not model.startswith("<"):
            totals["models"].append(model)
        price = _price(model)
        if price is None:
            totals["priced"] = totals["priced"] and not model
            continue
        rate_in, rate_out = price
        totals["cost"] += (
            counts["input"] * rate_in
            + counts["output"] * rate_out
            + counts["cache_write"] * rate_in * 1.25
            + counts["cache_read"] * rate_in * 0.1
        ) / 1e6
    return totals


def describe(totals: dict[str, Any]) -> str:
    """A few lines for the chat."""
    models = ", ".join(totals["models"]) or "unknown model"
    cost = f"~${totals['cost']:.2f}" + ("" if totals["priced"] else " (some models unpriced)")
    return (
        f"{totals['messages']} model replies ({models})\n"
        f"input {totals['input']:,}, output {totals['output']:,}, "
        f"cache write {totals['cache_write']:,}, cache read {totals['cache_read']:,} tokens\n"
        f"estimated cost {cost}"
    )

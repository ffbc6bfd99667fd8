"""Agent plug-ins: one module per agent, loaded by name (stdlib only: hooks import them).

Each module provides ``NAME``, ``DISPLAY``, ``parse(payload) -> request`` and the output
builders ``allow``, ``deny``, ``no_decision`` and ``stop_block`` (each returns the exact
stdout text the agent expects, possibly empty).
"""

from __future__ import annotations

import sys

__all__ = ["AGENTS", "get"]

AGENTS = ("claude", "codex")


def get(name: str):  # noqa: ANN201 - a module
    """The agent module called ``name``; ValueError for an unknown agent."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}: use one of {', '.join(AGENTS)}")
    module = f"tether_hooks.agents.{name}"
    __import__(module)  # not importlib: the hook's fast path would pay for importing it
    return sys.modules[module]

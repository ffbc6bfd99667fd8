"""Agent plug-ins: one module per agent, loaded by name (stdlib only: hooks import them).

Each module provides what ``agents.protocol.Agent`` lists: ``NAME``, ``DISPLAY``,
``parse(payload) -> request`` and the output builders ``allow``, ``deny``, ``no_decision``
and ``stop_block`` (each returns the exact stdout text the agent expects, possibly empty),
then what the installer, ``doctor`` and ``status`` ask of every agent.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the hook's fast path)

if TYPE_CHECKING:
    from tether_hooks.agents.protocol import Agent

__all__ = ["AGENTS", "get"]

AGENTS = ("claude", "codex")


def get(name: str) -> Agent:
    """The agent module called ``name``; ValueError for an unknown agent."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}: use one of {', '.join(AGENTS)}")
    module = f"tether_hooks.agents.{name}"
    __import__(module)  # not importlib: the hook's fast path would pay for importing it
    return sys.modules[module]  # a module is an Agent

"""Shared fixtures: every test gets its own TETHER_HOOKS_HOME; harness plug-ins are loaded here."""

from __future__ import annotations

pytest_plugins = [
    "harness.home",
    "harness.hookproc",
    "harness.claude",
    "harness.tmux",
    "harness.codex",
    "harness.telegram",
    "harness.telegram_relay",
    "harness.slack",
    "harness.slack_relay",
    "harness.discord",
    "harness.discord_relay",
]

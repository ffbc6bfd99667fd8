"""The fleet with Slack or Discord as the leader's platform: a request from a machine with
no chat of its own shows its machine, and the allowed user's answer reaches that machine's
hook (the same leader, FleetStore and shared book as with Telegram)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators.discord import DiscordEmulator
from emulators.slack import SlackEmulator
from harness.discord import ALICE as DISCORD_ALICE
from harness.discord_relay import discord_request, discord_table, shown
from harness.discord_relay import outcome as discord_outcome
from harness.fleet import Fleet, bash, leader_of
from harness.hookproc import HookRunner
from harness.redis import RedisServer
from harness.slack import ALICE as SLACK_ALICE
from harness.slack import CHANNEL, button_id, section_text
from harness.slack_relay import outcome as slack_outcome
from harness.slack_relay import slack_request, slack_table
from harness.waiting import until


@pytest.fixture
def fleet(tmp_path: Path, redis_server: RedisServer, namespace: str,
          hook: HookRunner) -> Iterator[Fleet]:
    made = Fleet(tmp_path, redis_server, namespace, None, hook)
    try:
        yield made
    finally:
        made.close()


def _decision(proc: object, hook: HookRunner) -> str:
    run = hook.finish(proc, timeout=40)  # type: ignore[arg-type]
    assert run.output, run.stderr
    return str(run.output["hookSpecificOutput"]["decision"]["behavior"])


def test_slack_as_the_leaders_platform(fleet: Fleet, slack_emulator: SlackEmulator,
                                       hook: HookRunner) -> None:
    emu = slack_emulator
    laptop = fleet.machine("laptop", chat=slack_table(emu))
    devbox = fleet.machine("devbox", chat=False)
    laptop.start()
    devbox.start()
    assert leader_of([laptop, devbox]) is laptop
    proc = devbox.hook(bash("s-dev", "kubectl rollout restart"))
    msg = slack_request(emu, "kubectl rollout restart")
    assert "devbox" in section_text(msg)
    until(devbox.pending, what="devbox's pending request")
    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), SLACK_ALICE)
    assert _decision(proc, hook) == "allow"
    slack_outcome(emu, msg, "Allowed by @alice")


def test_discord_as_the_leaders_platform(fleet: Fleet, discord_emulator: DiscordEmulator,
                                         hook: HookRunner) -> None:
    emu = discord_emulator
    laptop = fleet.machine("laptop", chat=discord_table(emu))
    devbox = fleet.machine("devbox", chat=False)
    laptop.start()
    devbox.start()
    assert leader_of([laptop, devbox]) is laptop
    proc = devbox.hook(bash("s-dev", "helm upgrade api"))
    msg = discord_request(emu, "helm upgrade api")
    assert "devbox" in shown(msg)
    emu.react(msg["id"], "\u274c", DISCORD_ALICE)
    assert _decision(proc, hook) == "deny"
    discord_outcome(emu, msg, "Denied by \\@alice")

"""End to end: the real Claude Code binary -> our hook -> the listener process -> the Discord
emulator (webhook posts by discord-webhook, bot-token reads by httpx) -> a user's reaction or
reply. (Pairing, commands and the other answers: tests/listener/test_discord_relay.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from emulators.discord import DiscordEmulator
from emulators.telegram import TelegramEmulator
from harness import telegram_relay
from harness.anthropic_fake import AnthropicFake, bash, text
from harness.claude import ClaudeRunner
from harness.discord_relay import (
    ALICE,
    BOB,
    MALLORY,
    TIMER,
    discord_request,
    discord_table,
    outcome,
    restarted,
    shown,
    wait_bot_reply,
)
from harness.hookproc import wait_pending
from harness.observe import bridge_states
from harness.waiting import until

from tether_hooks import paths
from tether_hooks.store import Store

ALLOW = "\u2705"


def test_a_request_is_posted_and_an_allowed_users_reaction_lets_it_run(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        discord_listener: DiscordEmulator) -> None:
    emu = discord_listener
    claude.install_hooks()
    target = claude_project / "out.txt"
    command = f"echo '@everyone *x* & y' > {target}"
    fake_anthropic.script(bash(command), text("done"))
    handle = claude.start("write it", cwd=claude_project, permission_mode="default")

    msg = discord_request(emu, "out.txt", seeded=TIMER)
    assert "Claude Code" in shown(msg) and "Bash" in shown(msg)
    assert claude_project.name in shown(msg)
    assert "@everyone *x* & y" in msg["embeds"][0]["description"]  # in a code block
    assert not msg["mentions"] and not msg["mention_everyone"]  # pings nobody
    assert not target.exists()

    # a stranger's reaction decides nothing and is taken away
    emu.react(msg["id"], ALLOW, MALLORY)
    until(lambda: Path(paths.audit_file()).exists() and '"event":"unauthorized"' in
          Path(paths.audit_file()).read_text(), timeout=15, what="the stranger refused")
    emu.wait_until(lambda: MALLORY not in emu.reactions(msg["id"]).get(ALLOW, []), 15,
                   "the stranger's reaction removed")
    (request,) = wait_pending()
    assert request["status"] == "pending" and handle.running and not target.exists()

    emu.react(msg["id"], ALLOW, ALICE)
    run = handle.wait(60)
    assert run.ok, run.describe()
    assert target.read_text() == "@everyone *x* & y\n"
    settled = outcome(emu, msg, "Allowed by \\@alice")
    assert "out.txt" in shown(settled)


def test_the_timer_reaction_lets_the_next_call_through_without_a_post(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        discord_listener: DiscordEmulator) -> None:
    emu = discord_listener
    claude.install_hooks()
    fake_anthropic.script(bash(f"echo one > {claude_project / 'one'}"),
                          bash(f"echo two > {claude_project / 'two'}"), text("done"))
    handle = claude.start("write two files", cwd=claude_project, permission_mode="default")
    msg = discord_request(emu, "echo one", seeded=TIMER)
    emu.react(msg["id"], TIMER, ALICE)

    run = handle.wait(60)
    assert run.ok, run.describe()
    assert {p.name for p in claude_project.iterdir()} >= {"one", "two"}
    outcome(emu, msg, "Allowed by \\@alice")
    requests = [m for m in emu.messages() if "wants to use" in shown(m)]
    assert [m["id"] for m in requests] == [msg["id"]]  # no request message for "echo two"
    assert len(Store().read()["requests"]) == 1


def test_a_reply_deny_with_reason_reaches_the_model(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        discord_listener: DiscordEmulator) -> None:
    emu = discord_listener
    emu.message_content_intent = True
    claude.install_hooks()
    target = claude_project / "out.txt"
    fake_anthropic.script(bash(f"echo hi > {target}"), text("ok"))
    handle = claude.start("write it", cwd=claude_project, permission_mode="default")
    msg = discord_request(emu, "echo hi")
    emu.post_user_message("deny: not on a Friday", ALICE, reply_to=msg["id"])

    run = handle.wait(60)
    assert not target.exists()
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]
    (result,) = fake_anthropic.tool_results()
    assert result.is_error and "not on a Friday" in result.content
    outcome(emu, msg, "Denied by \\@alice: not on a Friday")


def test_a_paired_user_approves_and_the_tool_runs(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        tether_home: Path, discord_listener: DiscordEmulator) -> None:
    emu = discord_listener
    emu.message_content_intent = True  # the `!pair` line is read as written
    claude.install_hooks()
    pair = subprocess.Popen([sys.executable, "-m", "tether_hooks", "pair", "discord"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert pair.stdout is not None
    line = next(raw.strip() for raw in pair.stdout if raw.strip().startswith("!pair "))
    said = emu.post_user_message(line, BOB)
    out, err = pair.communicate(timeout=60)
    assert pair.returncode == 0, err
    assert f"Paired @bob (id {BOB})" in out
    wait_bot_reply(emu, "Paired", reply_to=said["id"])
    assert f'"{BOB}"' in (tether_home / "config.toml").read_text()
    restarted()  # config.toml changed: the listener reads it again

    target = claude_project / "paired.txt"
    fake_anthropic.script(bash(f"echo paired > {target}"), text("done"))
    handle = claude.start("write it", cwd=claude_project, permission_mode="default")
    msg = discord_request(emu, "paired.txt")
    emu.react(msg["id"], ALLOW, BOB)
    run = handle.wait(60)
    assert run.ok, run.describe()
    assert target.read_text() == "paired\n"
    outcome(emu, msg, "Allowed by \\@bob")


def test_with_telegram_too_a_reaction_runs_the_tool_and_updates_the_telegram_copy(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        tether_home: Path, discord_emulator: DiscordEmulator,
        telegram_emulator: TelegramEmulator) -> None:
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    emu, tg = discord_emulator, telegram_emulator
    telegram_relay.configure(tether_home, tg, extra=discord_table(emu))
    claude.install_hooks()
    daemon.start()
    try:
        until(lambda: bridge_states() == {"telegram": "ok", "discord": "ok"}, timeout=30,
              what="both platforms connected")
        target = claude_project / "both.txt"
        fake_anthropic.script(bash(f"echo both > {target}"), text("done"))
        handle = claude.start("write it", cwd=claude_project, permission_mode="default")
        msg = discord_request(emu, "both.txt")
        copy = telegram_relay.request_message(tg, "both.txt")
        emu.react(msg["id"], ALLOW, ALICE)
        run = handle.wait(60)
        assert run.ok, run.describe()
        assert target.read_text() == "both\n"
        outcome(emu, msg, "Allowed by \\@alice")
        seen = telegram_relay.edited(tg, copy, "Allowed by").text or ""
        assert "Allowed by @alice in Discord" in seen and not tg.message(
            telegram_relay.CHAT, copy.message_id).buttons

        # and the other way: a press in Telegram settles the Discord message
        target = claude_project / "other.txt"
        fake_anthropic.script(bash(f"echo other > {target}"), text("ok"))
        handle = claude.start("write the other", cwd=claude_project,
                              permission_mode="default")
        msg = discord_request(emu, "other.txt")
        copy = telegram_relay.request_message(tg, "other.txt")
        tg.press(copy, "❌ Deny")
        handle.wait(60)
        assert not target.exists()
        settled = outcome(emu, msg, "Denied by \\@alice")
        assert "in Telegram" in shown(settled)
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()

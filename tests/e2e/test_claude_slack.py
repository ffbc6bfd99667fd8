"""End to end: the real Claude Code binary -> our hook -> the listener process -> the Slack
emulator (driven by the real slack_sdk over Socket Mode) -> a user's click."""

from __future__ import annotations

from pathlib import Path

from emulators.slack import SlackEmulator
from emulators.telegram import TelegramEmulator
from harness import telegram_relay
from harness.anthropic_fake import AnthropicFake, bash, text
from harness.claude import ClaudeRunner
from harness.hookproc import wait_pending
from harness.observe import bridge_states
from harness.slack import ALICE, CHANNEL, MALLORY, button_id, labels, section_text
from harness.slack_relay import outcome, slack_request, slack_table
from harness.waiting import until


def test_a_request_is_block_kit_in_the_sessions_thread_and_a_click_lets_it_run(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        slack_listener: SlackEmulator) -> None:
    emu = slack_listener
    claude.install_hooks()
    target = claude_project / "out.txt"
    command = f"echo '<!channel> *x* & y' > {target}"
    fake_anthropic.script(bash(command), text("done"))
    handle = claude.start("write it", cwd=claude_project, permission_mode="default")

    msg = slack_request(emu, "out.txt")
    assert msg.thread_ts and msg.thread_ts != msg.ts  # a reply in the session's thread
    (root,) = [m for m in emu.messages(CHANNEL) if m.ts == msg.thread_ts]
    assert "Claude Code" in section_text(root) and claude_project.name in section_text(root)
    assert "&lt;!channel&gt;" in str(msg.blocks) and "<!channel>" not in str(msg.blocks)
    assert labels(msg)[:3] == ["✅ Allow", "❌ Deny", "💬 Deny with reason"]
    assert any(label.startswith("⏱ Allow Bash") for label in labels(msg))
    assert not target.exists()

    # a stranger's click decides nothing and is told so, privately
    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), MALLORY)
    refusal = emu.wait_for_ephemeral(user=MALLORY, timeout=15)
    assert refusal.text == f"⛔ Not authorized. Your user id is {MALLORY}."
    (request,) = wait_pending()
    assert request["status"] == "pending" and handle.running and not target.exists()

    emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), ALICE)
    run = handle.wait(60)
    assert run.ok, run.describe()
    assert target.read_text() == "<!channel> *x* & y\n"
    assert "Allowed by @alice" in section_text(outcome(emu, msg, "Allowed by @alice"))


def test_with_telegram_too_a_click_in_slack_runs_the_tool_and_updates_the_telegram_copy(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        tether_home: Path, slack_emulator: SlackEmulator,
        telegram_emulator: TelegramEmulator) -> None:
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    emu, tg = slack_emulator, telegram_emulator
    telegram_relay.configure(tether_home, tg, extra=slack_table(emu))
    claude.install_hooks()
    daemon.start()
    try:
        until(lambda: bridge_states() == {"telegram": "ok", "slack": "ok"}, timeout=30,
              what="both platforms connected")
        target = claude_project / "both.txt"
        fake_anthropic.script(bash(f"echo both > {target}"), text("done"))
        handle = claude.start("write it", cwd=claude_project, permission_mode="default")
        msg = slack_request(emu, "both.txt")
        copy = telegram_relay.request_message(tg, "both.txt")
        emu.click(CHANNEL, msg.ts, button_id(msg, "✅ Allow"), ALICE)
        run = handle.wait(60)
        assert run.ok, run.describe()
        assert target.read_text() == "both\n"
        outcome(emu, msg, "Allowed by @alice")
        shown = telegram_relay.edited(tg, copy, "Allowed by").text or ""
        assert "Allowed by @alice in Slack" in shown and not tg.message(
            telegram_relay.CHAT, copy.message_id).buttons
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()

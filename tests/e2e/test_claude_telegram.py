"""End to end: the real Claude Code binary -> our hook -> the listener process -> the
Telegram emulator (driven by the real python-telegram-bot) -> a user's press or text."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.anthropic_fake import AnthropicFake, bash, text
from harness.claude import ClaudeRunner
from harness.hookproc import wait_pending
from harness.telegram import STRANGER_USER_ID
from harness.telegram_relay import CHAT, configure, edited, request_message

from tether_hooks.store import Store


@pytest.fixture
def relayed(claude: ClaudeRunner, telegram_listener: TelegramEmulator) -> ClaudeRunner:
    """Our hooks installed for this Claude home, the listener relaying to Telegram."""
    claude.install_hooks()
    return claude


def test_a_reply_to_finished_is_claudes_next_instruction(
        claude: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """``stop_wait``: the Stop hook waits for a reply in the chat, and Claude goes on with it."""
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    emu = telegram_emulator
    configure(tether_home, emu, extra="stop_wait = 10\n")
    claude.install_hooks()  # (the Stop hook's timeout follows stop_wait)
    daemon.start()
    try:
        emu.wait_for_poll(timeout=15)
        fake_anthropic.script(text("The build is green."), text("All 12 tests pass."))
        handle = claude.start("build it", cwd=claude_project, permission_mode="default")
        finished = emu.wait_for_message(lambda m: "finished in" in (m.text or ""),
                                        chat_id=CHAT, timeout=60)
        assert "The build is green." in (finished.text or "")
        assert "Reply here within 10 s" in (finished.text or "")
        emu.send_text(CHAT, "now run the tests")

        run = handle.wait(90)
        assert run.ok, run.describe()
        assert run.text == "All 12 tests pass."
        assert len(fake_anthropic.requests) == 2
        assert "Stop hook feedback:\nnow run the tests" in fake_anthropic.user_texts(-1)
        emu.wait_for_message(lambda m: "Sent; the agent goes on" in (m.text or ""),
                             chat_id=CHAT, timeout=10)
        again = emu.wait_for_message(lambda m: "All 12 tests pass." in (m.text or ""),
                                     chat_id=CHAT, timeout=15)
        assert "Reply here" not in (again.text or "")  # stop_hook_active: no second wait
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()


def test_the_request_shows_tool_and_command_and_a_press_lets_it_run(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    target = claude_project / "out.txt"
    command = f"echo '<b>x</b> & y' > {target}"
    fake_anthropic.script(bash(command), text("done"))
    handle = relayed.start("write it", cwd=claude_project, permission_mode="default")

    msg = request_message(emu, command)
    assert "Claude Code wants to use Bash" in (msg.text or "")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in (msg.source or "")  # escaped, shown verbatim
    assert msg.parse_mode == "HTML"
    assert msg.buttons[:3] == ["✅ Allow", "❌ Deny", "💬 Deny with reason"]
    assert "⏱ Allow Bash 30m" in msg.buttons
    assert not target.exists()
    press = emu.press(msg, "✅ Allow")

    run = handle.wait(60)
    assert run.ok, run.describe()
    assert target.read_text() == "<b>x</b> & y\n"
    assert emu.wait_for_callback_answer(press, timeout=10).text == "Allowed"
    assert "✅ Allowed by @alice" in (edited(emu, msg, "Allowed by").text or "")


def test_a_stranger_cannot_decide_and_alice_still_can(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    target = claude_project / "out.txt"
    fake_anthropic.script(bash(f"echo hi > {target}"), text("done"))
    handle = relayed.start("write it", cwd=claude_project, permission_mode="default")
    msg = request_message(emu, "echo hi")

    stranger = emu.press(msg, "✅ Allow", user_id=STRANGER_USER_ID)
    assert "Not authorized" in (emu.wait_for_callback_answer(stranger, timeout=10).text or "")
    (request,) = wait_pending()
    assert request["status"] == "pending" and handle.running and not target.exists()
    assert emu.message(CHAT, msg.message_id).buttons == msg.buttons  # untouched

    emu.press(msg, "✅ Allow")
    assert handle.wait(60).ok
    assert target.exists()
    edited(emu, msg, "Allowed by @alice")


def test_allow_bash_for_30m_passes_the_next_calls_with_one_summary(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    fake_anthropic.script(bash(f"echo one > {claude_project / 'one'}"),
                          bash(f"echo two > {claude_project / 'two'}"),
                          bash(f"echo three > {claude_project / 'three'}"), text("done"))
    handle = relayed.start("write three files", cwd=claude_project, permission_mode="default")
    msg = request_message(emu, "echo one")
    emu.press(msg, "⏱ Allow Bash 30m")

    run = handle.wait(60)
    assert run.ok, run.describe()
    assert {p.name for p in claude_project.iterdir()} >= {"one", "two", "three"}
    outcome = edited(emu, msg, "Allowed by @alice").text or ""
    assert "Allow Bash" in outcome and "(timer " in outcome
    summary = emu.wait_for_message(lambda m: "Auto-approved" in (m.text or ""), chat_id=CHAT,
                                   timeout=15)
    assert "Auto-approved 2 calls" in (summary.text or "")
    assert "echo two" in (summary.text or "") and "echo three" in (summary.text or "")
    requests = [m for m in emu.messages(CHAT) if m.buttons or "wants to use" in (m.text or "")]
    assert [m.message_id for m in requests] == [msg.message_id]  # no new request message
    assert len(Store().read()["requests"]) == 1


def test_deny_with_reason_reaches_the_model(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    target = claude_project / "out.txt"
    fake_anthropic.script(bash(f"echo hi > {target}"), text("ok"))
    handle = relayed.start("write it", cwd=claude_project, permission_mode="default")
    msg = request_message(emu, "echo hi")
    emu.press(msg, "💬 Deny with reason")
    emu.wait_for_message(lambda m: "next message is the reason" in (m.text or ""),
                         chat_id=CHAT, timeout=10)
    emu.send_text(CHAT, "write it under build/ & <not> here")

    run = handle.wait(60)
    assert not target.exists()
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash"]
    (result,) = fake_anthropic.tool_results()
    assert result.is_error and "write it under build/ & <not> here" in result.content
    edited(emu, msg, "Denied by @alice: write it under build/ & <not> here")


def test_a_text_reply_deny_with_reason_to_the_request_message(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    target = claude_project / "out.txt"
    fake_anthropic.script(bash(f"echo hi > {target}"), text("ok"))
    handle = relayed.start("write it", cwd=claude_project, permission_mode="default")
    msg = request_message(emu, "echo hi")
    emu.send_text(CHAT, "deny: not on a Friday", reply_to=msg)

    handle.wait(60)
    assert not target.exists()
    (result,) = fake_anthropic.tool_results()
    assert "not on a Friday" in result.content
    edited(emu, msg, "Denied by @alice: not on a Friday")


def test_no_answer_in_time_shows_expired(
        relayed: ClaudeRunner, fake_anthropic: AnthropicFake, claude_project: Path,
        telegram_listener: TelegramEmulator) -> None:
    emu = telegram_listener
    target = claude_project / "out.txt"
    fake_anthropic.script(bash(f"echo hi > {target}"), text("ok"))
    handle = relayed.start("write it", cwd=claude_project, permission_mode="default",
                           extra_env={"TETHER_HOOKS_APPROVAL_TIMEOUT": "2"})
    msg = request_message(emu, "echo hi")

    handle.wait(60)
    assert not target.exists()
    shown = edited(emu, msg, "Expired").text or ""
    assert "⌛ Expired: no answer in 2 s; Claude Code asked in the terminal" in shown
    (request,) = Store().read()["requests"].values()
    assert request["status"] == "expired"

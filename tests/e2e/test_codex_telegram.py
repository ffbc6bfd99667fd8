"""End to end: the real Codex binary (offline) asks for an escalated command; the request
reaches the Telegram emulator through the listener, and a press approves it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulators.telegram import TelegramEmulator
from harness.codex import CodexHome, CodexRunner
from harness.openai_fake import FakeOpenAI, call, text
from harness.telegram_relay import CHAT, configure, edited, request_message

from tether_hooks.main import cli
from tether_hooks.store import Store


def test_a_permission_request_is_approved_from_telegram(
    codex: CodexRunner,
    codex_home: CodexHome,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    telegram_listener: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = telegram_listener
    monkeypatch.setenv("CODEX_HOME", str(codex_home.path))
    installed = CliRunner().invoke(cli, ["install", "--agent", "codex"])
    assert installed.exit_code == 0, installed.output
    target = codex_project / "out.txt"
    fake_openai.script(
        call("exec_command", {"cmd": f"echo hi > {target}",
                              "sandbox_permissions": "require_escalated",
                              "justification": "Write out.txt?"}, call_id="call_w"),
        text("written"),
    )
    env = {"TETHER_HOOKS_HOME": os.environ["TETHER_HOOKS_HOME"],
           "TETHER_HOOKS_APPROVAL_TIMEOUT": "60"}
    running = codex.start("write it", cwd=codex_project, approve_for_me=True, extra_env=env)

    msg = request_message(emu, f"echo hi > {target}")
    assert "Codex wants to use Bash" in (msg.text or "")
    assert "⏱ Allow Bash 30m" in msg.buttons
    assert not target.exists()
    press = emu.press(msg, "✅ Allow")
    result = running.wait()

    assert result.returncode == 0, result.stderr
    assert target.read_text() == "hi\n"
    assert "hook: PermissionRequest Completed" in result.hook_lines()
    assert fake_openai.bodies("guardian") == []  # our hook decided, not Codex's reviewer
    assert emu.wait_for_callback_answer(press, timeout=10).text == "Allowed"
    edited(emu, msg, "Allowed by @alice")
    (request,) = Store().read()["requests"].values()
    assert (request["agent"], request["status"]) == ("codex", "allowed")


def test_a_reply_to_finished_is_codexs_next_prompt(
    codex: CodexRunner,
    codex_home: CodexHome,
    fake_openai: FakeOpenAI,
    codex_project: Path,
    tether_home: Path,
    telegram_emulator: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``stop_wait`` with Codex: its Stop hook blocks with the reply, and Codex goes on."""
    from tether_hooks import relay
    from tether_hooks.listener import daemon

    emu = telegram_emulator
    configure(tether_home, emu, extra="stop_wait = 10\n")
    monkeypatch.setenv("CODEX_HOME", str(codex_home.path))
    installed = CliRunner().invoke(cli, ["install", "--agent", "codex"])
    assert installed.exit_code == 0, installed.output
    daemon.start()
    try:
        emu.wait_for_poll(timeout=15)
        fake_openai.script(text("The build is green."), text("All 12 tests pass."))
        env = {"TETHER_HOOKS_HOME": os.environ["TETHER_HOOKS_HOME"]}
        running = codex.start("build it", cwd=codex_project, extra_env=env)
        finished = emu.wait_for_message(lambda m: "Reply here within 10 s" in (m.text or ""),
                                        chat_id=CHAT, timeout=60)
        assert "Codex finished in" in (finished.text or "")
        assert "The build is green." in (finished.text or "")
        emu.send_text(CHAT, "now run the tests")

        result = running.wait()
        assert result.returncode == 0, result.stderr
        turns = fake_openai.bodies("turn")
        assert len(turns) == 2
        assert "now run the tests" in json.dumps(turns[-1]["input"])
        assert "now run the tests" not in json.dumps(turns[0]["input"])
        emu.wait_for_message(lambda m: "All 12 tests pass." in (m.text or ""), chat_id=CHAT,
                             timeout=15)
    finally:
        if relay.listener_pid() is not None:
            daemon.stop()

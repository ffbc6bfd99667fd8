"""End to end: the real Codex binary (offline) asks for an escalated command; the request
reaches the Telegram emulator through the listener, and a press approves it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulators.telegram import TelegramEmulator
from harness.codex import CodexHome, CodexRunner
from harness.openai_fake import FakeOpenAI, call, text
from harness.telegram_relay import edited, request_message

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

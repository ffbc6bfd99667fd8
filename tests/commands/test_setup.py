"""setup telegram through the CLI, against the Bot API emulator, on a real config.toml."""

from __future__ import annotations

import json
import os
import shlex
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulators.telegram import TelegramEmulator
from harness.telegram import ALLOWED_USER_ID, STRANGER_USER_ID

from tether_hooks import paths
from tether_hooks.main import cli

ALICE = ALLOWED_USER_ID
EXISTING = """\
# my settings
approval_timeout = 120  # seconds

[telegram]
# old comment, replaced with the table
bot_token = "old"
chat_id = 1
allowed_user_ids = [1]
poll_timeout = 20

[slack]  # kept as it is
bot_token = "xoxb-1"
"""


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def config() -> dict:
    with open(paths.config_file(), "rb") as f:
        return tomllib.load(f)


def setup_args(emu: TelegramEmulator, *extra: str) -> list[str]:
    return ["setup", "telegram", "--token", emu.token, "--chat-id", str(ALICE),
            "--allow-user", str(ALICE), "--api-base", emu.base_url, *extra]


def test_setup_checks_the_token_and_writes_the_section(telegram_emulator) -> None:
    emu = telegram_emulator
    result = run(*setup_args(emu, "--allow-user", "77"))
    assert result.exit_code == 0, result.output
    assert "bot @emu_bot" in result.output and "listener start" in result.output
    assert config()["telegram"] == {
        "bot_token": emu.token, "chat_id": ALICE, "allowed_user_ids": [77, ALICE],
        "api_base": emu.base_url,
    }
    assert stat.S_IMODE(os.stat(paths.config_file()).st_mode) == 0o600
    assert [c.method for c in emu.calls()] == ["getMe"]


def test_setup_keeps_the_rest_of_the_file(telegram_emulator) -> None:
    emu = telegram_emulator
    Path(paths.config_file()).write_text(EXISTING)
    assert run(*setup_args(emu, "--forum")).exit_code == 0
    text = Path(paths.config_file()).read_text()
    assert text.startswith("# my settings\napproval_timeout = 120  # seconds\n\n[telegram]\n")
    assert text.endswith('\n[slack]  # kept as it is\nbot_token = "xoxb-1"\n')
    # Comments inside the rewritten table survive (issue 8: tomlkit; they used to be dropped).
    assert "[telegram]\n# old comment, replaced with the table\nbot_token = " in text
    data = config()
    assert data["telegram"]["poll_timeout"] == 20  # keys setup does not manage stay
    assert data["telegram"]["forum"] is True and data["telegram"]["chat_id"] == ALICE
    assert data["slack"] == {"bot_token": "xoxb-1"}


def test_token_from_the_environment_is_not_written(telegram_emulator, monkeypatch) -> None:
    emu = telegram_emulator
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emu.token)
    result = run("setup", "telegram", "--chat-id", str(ALICE), "--allow-user", str(ALICE),
                 "--api-base", emu.base_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["token_in_file"] is False
    assert "bot_token" not in config()["telegram"]


def test_a_bad_token_writes_nothing(telegram_emulator) -> None:
    emu = telegram_emulator
    args = setup_args(emu)
    args[3] = emu.token.split(":")[0] + ":AAWrongWrongWrongWrongWrong"
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "rejected the bot token" in result.output
    assert not os.path.exists(paths.config_file())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chat-id", "nope"], "--chat-id 'nope'"),
        (["--chat-id", "5"], "allowed_user_ids is empty"),
        (["--allow-user", "5"], "chat_id is missing"),
    ],
)
def test_missing_or_bad_values_are_refused(telegram_emulator, args, message) -> None:
    emu = telegram_emulator
    result = CliRunner().invoke(cli, ["setup", "telegram", "--token", emu.token,
                                      "--api-base", emu.base_url, *args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert emu.calls() == []


def test_test_flag_sends_a_message(telegram_emulator) -> None:
    emu = telegram_emulator
    result = run(*setup_args(emu, "--test"))
    assert result.exit_code == 0, result.output
    (msg,) = emu.messages(ALICE)
    assert "tether-hooks is connected" in msg.text
    assert "Sent a test message" in result.output


def test_discover_lists_who_wrote_without_confirming(telegram_emulator) -> None:
    emu = telegram_emulator
    group = emu.create_supergroup("Ops").id
    emu.send_text(ALICE, "hi")
    emu.send_text(group, "/start@emu_bot", STRANGER_USER_ID)
    result = run("setup", "telegram", "--token", emu.token, "--api-base", emu.base_url,
                 "--discover", "--wait", "0")
    assert result.exit_code == 0, result.output
    assert f"chat {ALICE} [private]" in result.output and f"user {ALICE} @alice" in result.output
    assert f"chat {group} [supergroup] Ops: user {STRANGER_USER_ID} @mallory" in result.output
    assert f"--chat-id {ALICE} --allow-user {ALICE}" in result.output
    assert len(emu.pending_updates) == 2  # left for the listener
    assert not os.path.exists(paths.config_file())


def test_discover_with_nobody_says_what_to_do(telegram_emulator) -> None:
    emu = telegram_emulator
    result = run("setup", "telegram", "--token", emu.token, "--api-base", emu.base_url,
                 "--discover", "--wait", "0")
    assert result.exit_code == 0
    assert "Nobody wrote to @emu_bot lately" in result.output


def _printed_next(output: str) -> list[str]:
    line = next(ln for ln in output.splitlines() if ln.startswith("Then: "))
    words = shlex.split(line[len("Then: "):])
    assert words[:3] == ["tether-hooks", "setup", "telegram"]
    return words[1:]


@pytest.mark.parametrize("token_from", ["option", "env", "config"])
def test_discover_prints_a_next_command_that_works_as_printed(
    telegram_emulator, monkeypatch, token_from: str
) -> None:
    emu = telegram_emulator
    emu.send_text(ALICE, "hi")
    args = ["setup", "telegram", "--discover", "--wait", "0"]
    if token_from == "option":
        args += ["--token", emu.token, "--api-base", emu.base_url]
    elif token_from == "env":
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emu.token)
        args += ["--api-base", emu.base_url]
    else:
        Path(paths.config_file()).write_text(
            f'[telegram]\nbot_token = "{emu.token}"\napi_base = "{emu.base_url}"\n'
            f"chat_id = 1\nallowed_user_ids = [1]\n")
    found = run(*args)
    assert found.exit_code == 0, found.output
    printed = _printed_next(found.output)
    assert ("--token" in printed) == (token_from == "option")
    assert ("TELEGRAM_BOT_TOKEN" in found.output) == (token_from == "env")
    result = run(*printed)
    assert result.exit_code == 0, result.output
    assert f"Wrote [telegram] to {paths.config_file()}: bot @emu_bot, chat {ALICE}" \
        in result.output
    written = config()["telegram"]
    assert written["chat_id"] == ALICE and written["allowed_user_ids"] == [ALICE]
    assert written["api_base"] == emu.base_url
    assert ("bot_token" in written) == (token_from != "env")

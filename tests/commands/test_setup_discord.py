"""setup discord through the CLI, against the Discord emulator, on a real config.toml."""

from __future__ import annotations

import os
import stat
import tomllib

import pytest
from click.testing import CliRunner
from emulators.discord import DiscordEmulator
from harness.discord import ALICE

from tether_hooks import paths
from tether_hooks.main import cli


def args(emu: DiscordEmulator, *extra: str) -> list[str]:
    return ["setup", "discord", "--webhook-url", emu.webhook_url, "--bot-token", emu.bot_token,
            "--allow-user", ALICE, "--api-base", emu.api_base, *extra]


def config() -> dict:
    with open(paths.config_file(), "rb") as f:
        return tomllib.load(f)


def refused(emu: DiscordEmulator, argv: list[str]) -> str:
    """The one line a failed setup prints; nothing written, no secret shown."""
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert emu.bot_token not in result.output and emu.webhook_token not in result.output
    assert emu.bot_token[-12:] not in result.output and emu.webhook_token[-12:] not in lines[0]
    assert not os.path.exists(paths.config_file())
    return lines[0]


def test_setup_takes_the_channel_from_the_webhook_and_writes_the_table_0600(
        discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    result = CliRunner().invoke(cli, args(emu))
    assert result.exit_code == 0, result.output
    assert emu.bot_token not in result.output and emu.webhook_token not in result.output
    assert config()["discord"] == {
        "webhook_url": emu.webhook_url, "bot_token": emu.bot_token,
        "channel_id": emu.channel_id, "allowed_user_ids": [ALICE], "api_base": emu.api_base}
    assert stat.S_IMODE(os.stat(paths.config_file()).st_mode) == 0o600
    assert emu.messages() == []  # nothing posted without --test


def test_a_channel_given_must_be_the_webhooks(discord_emulator: DiscordEmulator) -> None:
    emu = discord_emulator
    line = refused(emu, args(emu, "--channel", "123456789012345678"))
    assert f"the webhook posts in channel {emu.channel_id}" in line
    assert f"--channel {emu.channel_id}" in line


@pytest.mark.parametrize(("change", "said"), [
    (("--webhook-url", "https://discord.com/api/v10/channels/1"),
     "--webhook-url: the URL given does not end in /webhooks/<id>/<token>"),
    (("--bot-token", "abc def"), "--bot-token: the token given has a space"),
    (("--channel", "#approvals"), "--channel '#approvals': give the channel's id"),
    (("--allow-user", "alice"), "--allow-user 'alice': give a Discord user id"),
])
def test_bad_options_get_one_clear_line(discord_emulator: DiscordEmulator,
                                        change: tuple[str, str], said: str) -> None:
    emu = discord_emulator
    argv = args(emu)
    if change[0] in argv and change[0] != "--allow-user":
        argv[argv.index(change[0]) + 1] = change[1]
    else:
        argv += list(change)
    assert said in refused(emu, argv)


@pytest.mark.parametrize("fault", ["revoked", "deleted", "no-access"])
def test_what_discord_refuses_is_one_line_without_the_secrets(
        discord_emulator: DiscordEmulator, fault: str) -> None:
    emu = discord_emulator
    token = emu.bot_token
    if fault == "revoked":
        emu.revoke_bot_token()
    elif fault == "deleted":
        emu.delete_webhook()
    else:
        emu.permissions.discard("VIEW_CHANNEL")
    argv = args(emu)
    argv[argv.index("--bot-token") + 1] = token
    line = refused(emu, argv)
    assert token not in line
    assert {"revoked": "Reset Token", "deleted": "the webhook is gone",
            "no-access": "invite it to the server"}[fault] in line

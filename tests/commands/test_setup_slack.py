"""setup slack through the CLI, against the Slack emulator, on a real config.toml."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from emulators.slack import SlackEmulator
from harness.slack import ALICE, CHANNEL, MALLORY, section_text

from tether_hooks import paths
from tether_hooks.main import cli

EXISTING = """\
# my settings
approval_timeout = 120  # seconds

[slack]
# my workspace's bot
bot_token = "xoxb-old-old-old"
send_timeout = 30

[telegram]  # kept as it is
bot_token = "123:abc"
"""


def args(emu: SlackEmulator, *extra: str) -> list[str]:
    return ["setup", "slack", "--bot-token", emu.bot_token, "--app-token", emu.app_token,
            "--channel", CHANNEL, "--allow-user", ALICE, "--api-base", emu.base_url, *extra]


def config() -> dict:
    with open(paths.config_file(), "rb") as f:
        return tomllib.load(f)


def refused(*argv: str) -> str:
    """The one line a failed setup prints; nothing written."""
    result = CliRunner().invoke(cli, list(argv))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_setup_checks_both_tokens_and_the_channel_and_writes_the_table(
        slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    result = CliRunner().invoke(cli, args(emu, "--allow-user", MALLORY.lower()))
    assert result.exit_code == 0, result.output
    assert "bot @tether in Emulated Workspace, channel #approvals (C0APPROVAL)" in result.output
    assert "listener start" in result.output
    assert config()["slack"] == {
        "bot_token": emu.bot_token, "app_token": emu.app_token, "channel_id": CHANNEL,
        "allowed_user_ids": sorted([ALICE, MALLORY]), "api_base": emu.base_url}
    assert stat.S_IMODE(os.stat(paths.config_file()).st_mode) == 0o600
    assert [c.method for c in emu.calls()] == [
        "auth.test", "apps.connections.open", "conversations.info"]
    assert emu.messages(CHANNEL) == []  # nothing posted without --test


def test_setup_keeps_comments_and_the_rest_of_the_file(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    Path(paths.config_file()).write_text(EXISTING)
    result = CliRunner().invoke(cli, args(emu, "--test", "--json"))
    assert result.exit_code == 0, result.output
    text = Path(paths.config_file()).read_text()
    assert text.startswith("# my settings\napproval_timeout = 120  # seconds\n\n[slack]\n"
                           "# my workspace's bot\n")
    assert text.endswith('\n[telegram]  # kept as it is\nbot_token = "123:abc"\n')
    assert config()["slack"]["send_timeout"] == 30  # keys setup does not manage stay
    answer = json.loads(result.output)
    (msg,) = emu.messages(CHANNEL)
    assert answer["test_message"] == msg.ts and "tether-hooks is connected" in section_text(msg)


def test_tokens_from_the_environment_are_not_written(slack_emulator: SlackEmulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    emu = slack_emulator
    monkeypatch.setenv("SLACK_BOT_TOKEN", emu.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", emu.app_token)
    result = CliRunner().invoke(cli, ["setup", "slack", "--channel", CHANNEL, "--allow-user",
                                      ALICE, "--api-base", emu.base_url])
    assert result.exit_code == 0, result.output
    assert "A token comes from SLACK_BOT_TOKEN" in result.output
    assert "bot_token" not in config()["slack"] and "app_token" not in config()["slack"]


def test_a_bad_bot_token_writes_nothing(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    argv = args(emu)
    argv[3] = "xoxb-1-2-not-the-right-one"
    line = refused(*argv)
    assert "Slack rejected the bot token (invalid_auth)" in line
    assert "not-the-right-one" not in line
    assert not os.path.exists(paths.config_file())


def test_a_bad_app_token_writes_nothing(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    argv = args(emu)
    argv[5] = "xapp-1-A0EMUAPP01-1-wrongwrongwrong"
    assert "rejected the app-level token (invalid_auth)" in refused(*argv)
    assert not os.path.exists(paths.config_file())


def test_a_channel_the_bot_is_not_in_says_how_to_invite_it(slack_emulator: SlackEmulator
                                                           ) -> None:
    emu = slack_emulator
    emu.set_bot_member(CHANNEL, False)
    line = refused(*args(emu))
    assert "the bot is not in #approvals (not_in_channel): invite the bot to #approvals: " \
           "/invite @tether, then run this again" in line
    assert not os.path.exists(paths.config_file())


def test_a_missing_scope_is_named(slack_emulator: SlackEmulator) -> None:
    emu = slack_emulator
    emu.scopes.discard("channels:read")
    line = refused(*args(emu))
    assert "the Slack app lacks the channels:read scope to find the channel" in line
    assert "reinstall the app" in line
    assert not os.path.exists(paths.config_file())


@pytest.mark.parametrize(("change", "message"), [
    (("--channel", "#approvals"), "--channel '#approvals': give the channel's id"),
    (("--allow-user", "alice"), "--allow-user 'alice': give a Slack member id"),
    (("--bot-token", "xapp-1-A-2-x"), "--bot-token: give the xoxb-... token"),
    (("--api-base", "http://127.0.0.1:9/"), "--api-base 'http://127.0.0.1:9/' does not end in "
                                            "/api/: give the Web API base ending in /api/"),
])
def test_bad_options_are_refused_before_asking_slack(slack_emulator: SlackEmulator,
                                                     change: tuple[str, str],
                                                     message: str) -> None:
    emu = slack_emulator
    argv = args(emu)
    argv[argv.index(change[0]) + 1] = change[1]
    assert message in refused(*argv)
    assert emu.calls() == [] and not os.path.exists(paths.config_file())


def test_the_manifest_is_printed_and_nothing_else_happens(slack_emulator: SlackEmulator) -> None:
    from tether_hooks.platforms.slack_setup import BOT_EVENTS, BOT_SCOPES

    result = CliRunner().invoke(cli, ["setup", "slack", "--manifest"])
    assert result.exit_code == 0, result.output
    text = result.output
    for line in ("socket_mode_enabled: true", "  interactivity:\n    is_enabled: true",
                 "    - command: /tether", "should_escape: false"):
        assert line in text
    assert [line.strip()[2:] for line in text.splitlines() if line.startswith("      - ")] == [
        *BOT_SCOPES, *BOT_EVENTS]
    assert slack_emulator.calls() == [] and not os.path.exists(paths.config_file())


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_the_manifests_scopes_are_all_the_bridge_needs(slack_emulator: SlackEmulator,
                                                        private: bool) -> None:
    """With exactly the manifest's scopes (in a public or a private channel): setup's
    checks, posting, clicks, texts, ephemeral answers, edits, Show full, and reading a
    message back (update_buttons after a restart) all work."""
    import asyncio

    from harness.slack import Dispatch, bridge_for, wait

    from tether_hooks.platforms.base import Button
    from tether_hooks.platforms.slack_config import settings
    from tether_hooks.platforms.slack_setup import BOT_SCOPES, check

    emu = slack_emulator
    emu.scopes.clear()
    emu.scopes.update(BOT_SCOPES)
    channel = "G0PRIVATE1" if private else CHANNEL
    if private:
        emu.create_channel("secret", channel_id=channel, private=True)
    extra = {"channel_id": channel}
    req = {"id": "7f3a", "agent": "claude", "session_id": "s-1", "cwd": "/p",
           "tool_name": "Bash", "tool_input": {"command": "echo " + "x" * 3000}}

    async def main() -> None:
        from harness.slack import slack_section

        await check(settings(slack_section(emu, **extra)))
        bridge, d = bridge_for(emu, **extra), Dispatch()
        d.bridge = bridge
        try:
            await bridge.start(d)
            ref = await bridge.post_request(req, [[Button("✅ Allow", "a:1")]])
            await wait(emu.click, channel, ref.message_id, "tether_0_0")
            click = await d.next()
            await bridge.answer(click, "Allowed")
            await bridge.show_full(click, req)
            await wait(emu.post_user_message, channel, "allow", ALICE, ref.thread_id)
            await d.next()
        finally:
            await bridge.close()
        again = bridge_for(emu, **extra)
        await again.update_buttons(ref, [[Button("☑ x", "q:1")]])
        await again.show_outcome(ref, req, "✅ Allowed by @alice")

    asyncio.run(main())
    assert [c for c in emu.calls() if c.error and c.method != "users.info"] == []

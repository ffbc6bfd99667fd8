"""``tether-hooks pair <platform>``: make a chat user an approver by a code shown here.

Only from a terminal (never from the chat; an agent is refused: ``human_only``). Prints a
single-use code valid 10 minutes and the exact line to send in the configured chat; the
listener checks it (``listener.pairing``) and adds its writer to ``allowed_user_ids``.
"""

from __future__ import annotations

import time

import click

from tether_hooks import config, output, pairing
from tether_hooks.agent_check import human_only
from tether_hooks.errors import ConfigError, TetherError, UsageError

__all__ = ["COMMANDS"]

WATCH_EVERY = 0.2
LINE = {"telegram": "/pair {code}"}  # the command as each platform writes it (else !pair)
AFTER = {"discord": "(Without the bot's Message Content intent, Discord hides that line from "
                    "the bot: mention it first, `@YourBot !pair ...`.)\n\n"}


def _where(platform: str, section: dict[str, object]) -> str:
    if platform == "discord":
        return f"the Discord channel {section.get('channel_id')}"
    if platform == "slack":
        return f"the Slack channel {section.get('channel_id')}"
    return f"the Telegram chat {section.get('chat_id')}"


def _check(platform: str) -> dict[str, object]:
    cfg = config.load()
    if platform not in config.remote_platforms(cfg):
        raise UsageError(f"{platform} is not configured (or not enabled): run "
                         f"`tether-hooks setup {platform}` first")
    found = cfg.get(platform)
    section: dict[str, object] = dict(found) if isinstance(found, dict) else {}
    if platform == "discord":
        from tether_hooks.platforms.discord_config import settings

        if not settings(section, "config.toml").receives:
            raise ConfigError("Discord only posts (no bot_token and channel_id): the listener "
                              "cannot read a pairing line. Run `tether-hooks setup discord "
                              "--bot-token ... --channel ID` first")
    return section


@click.command("pair")
@click.argument("platform", type=click.Choice(["discord", "slack", "telegram"]))
@output.json_option
@human_only
def pair(platform: str, as_json: bool) -> None:
    """Add an approver: print a code to send in the chat, wait until someone sends it."""
    from tether_hooks.listener import daemon

    section = _check(platform)
    info = daemon.start()
    if not info.get("running"):
        raise TetherError("the listener is not running, so nobody can read the code: "
                          "see `tether-hooks listener logs`")
    code = pairing.start(platform)
    shown = f"{code[:4]}-{code[4:]}"
    line = LINE.get(platform, "!pair {code}").format(code=shown)
    if not as_json:
        click.echo(f"Send this line in {_where(platform, section)} within "
                   f"{int(pairing.TTL // 60)} minutes, from the account that should "
                   f"approve:\n\n    {line}\n\n{AFTER.get(platform, '')}"
                   "Waiting (Ctrl-C cancels)...")
    try:
        record = _wait()
    except KeyboardInterrupt:
        pairing.cancel()
        raise TetherError("pairing cancelled") from None
    phase = record.get("phase")
    if phase == "paired":
        result = {"paired": True, "platform": platform, "user_id": record.get("user_id"),
                  "user_name": record.get("user_name")}
        output.emit(result, as_json, lambda: (
            f"Paired {record.get('user_name')} (id {record.get('user_id')}): they may now "
            f"approve requests from {platform.capitalize()} (added to allowed_user_ids)."))
        return
    raise TetherError({
        "burned": "too many wrong codes were sent: pairing stopped; run it again",
        "expired": "the code expired: run `tether-hooks pair " + platform + "` again",
        "failed": f"the code was right but the user was not added: {record.get('error')}",
        "cancelled": "pairing was cancelled (another one started?)",
        "exposed": "a line the bot could not read was sent in the channel while the code was "
                   "valid (Discord hides message text from a bot without the Message Content "
                   "intent): it may have been the code, which everyone there saw, so the "
                   "pairing was stopped. Run `tether-hooks pair " + platform + "` again and "
                   "mention the bot in the line (@YourBot !pair ...), or turn the intent on",
    }.get(str(phase), f"pairing ended: {phase}"))


def _wait() -> dict[str, object]:
    while True:
        record = pairing.read() or {"phase": "cancelled"}
        if record.get("phase") == "waiting" and float(
                str(record.get("expires_at", 0))) <= time.time():
            pairing.cancel()
            return {**record, "phase": "expired"}
        if record.get("phase") != "waiting":
            return record
        time.sleep(WATCH_EVERY)


COMMANDS = [pair]

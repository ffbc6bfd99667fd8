"""Every chat platform's token shapes, for ``redact``: one SDK-free module per platform
holding ``SECRET_LABEL`` and ``SECRET_PATTERNS`` (its bridge class declares the same tuple as
``secret_patterns``). Stdlib-only and tiny: the hook's fast path may load it when it masks an
input for the audit log."""

from __future__ import annotations

from tether_hooks.platforms import discord_secrets, slack_secrets, telegram_secrets

# name -> its secrets module; a new platform adds one line here.
SECRETS = {
    "telegram": telegram_secrets,
    "slack": slack_secrets,
    "discord": discord_secrets,
}


def secret_patterns() -> list[tuple[str, str]]:
    """``(label, regex)`` of every registered platform's secrets (its token shapes)."""
    return [(str(mod.SECRET_LABEL), str(p)) for mod in SECRETS.values()
            for p in mod.SECRET_PATTERNS]

"""Configuration (``config.toml``) and the settings the hook reads."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "Config",
    "HookConfig",
    "OnTimeout",
    "PlatformSection",
    "Settings",
    "SlackSection",
    "TelegramSection",
]

# -- configuration (config.toml) -----------------------------------------------------------

OnTimeout = Literal["ask", "deny"]


class PlatformSection(TypedDict, total=False):
    """What every ``[platform]`` table may say; each bridge checks the rest."""

    enabled: bool
    allowed_user_ids: list[int | str]


class TelegramSection(PlatformSection, total=False):
    """``[telegram]`` (checked by ``platforms.telegram_config``)."""

    bot_token: str
    chat_id: int | str
    api_base: str
    api_file_base: str
    forum: bool
    poll_timeout: int
    retries: int
    retry_delay: float
    max_retry_after: float


class SlackSection(PlatformSection, total=False):
    """``[slack]`` (checked by ``platforms.slack_config``)."""

    bot_token: str
    app_token: str
    channel_id: str
    api_base: str
    proxy: str
    retries: int
    max_retry_after: float
    send_timeout: float
    ping_interval: float


class Settings(TypedDict):
    """The top-level settings of config.toml, checked, defaults filled in (``config.DEFAULTS``)."""

    approval_timeout: float
    on_timeout: OnTimeout
    local_approvals: bool
    default_timer: str
    default_timer_seconds: float  # default_timer, parsed
    never_auto_approve: list[str]
    stop_wait: float
    redact_patterns: list[str]


class Config(Settings, total=False):
    """``config.load()``: the settings and the platform tables."""

    telegram: TelegramSection
    slack: SlackSection
    discord: PlatformSection
    memory: PlatformSection
    notify: list[str]  # the platforms requests go to (default: every configured one)
    shared: dict[str, object]  # [shared]: several machines on one bot (shared.settings)


class HookConfig(Settings):
    """The settings a hook reads (``config.hook_config``, cached in config.cache.json)."""

    platforms: list[str]  # configured and enabled; ["shared"]: relayed by the fleet's leader

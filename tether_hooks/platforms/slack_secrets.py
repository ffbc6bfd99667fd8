"""Slack's secret shapes: ``SlackBridge.secret_patterns`` declares them, and ``redact`` reads
them from here (``platforms.secrets``) without importing the SDK. No imports: the hook's
fast path may load this when it masks an input for the audit log."""

SECRET_LABEL = "Slack token"
SECRET_PATTERNS: tuple[str, ...] = (
    # bot (xoxb), user (xoxp), legacy/workspace/refresh... tokens
    r"\bxox[abposre]-[A-Za-z0-9-]{10,}",
    # rotating tokens and app configuration tokens: xoxe-1-..., xoxe.xoxp-1-...
    r"\bxoxe(?:\.xox[bp])?-\d-[A-Za-z0-9-]{10,}",
    # app-level tokens (Socket Mode)
    r"\bxapp-\d+-[A-Za-z0-9-]{10,}",
    # the response_url of a click or a slash command: whoever has it can post there
    # (incoming webhooks are masked by redact's own "Slack webhook" rule)
    r"\bhooks\.slack\.com/(?:actions|commands)/[A-Za-z0-9]+/\d+/[A-Za-z0-9]+",
)

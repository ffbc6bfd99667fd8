"""Discord's secret shapes: ``DiscordBridge.secret_patterns`` declares them, and ``redact``
reads them from here (``platforms.secrets``) without importing the SDK. No imports: the
hook's fast path may load this when it masks an input for the audit log."""

SECRET_LABEL = "Discord token"
SECRET_PATTERNS: tuple[str, ...] = (
    # a webhook URL's last part, on any host (a local api_base too): whoever has it can post
    r"(?<=/webhooks/)\d+/[A-Za-z0-9_-]{16,}",
    # bot tokens: base64 user id . timestamp . HMAC
    r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}",
)

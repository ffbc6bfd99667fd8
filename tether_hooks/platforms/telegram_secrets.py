"""The Telegram bot token's shape: ``TelegramBridge.secret_patterns`` declares it, and
``redact`` reads it from here (``platforms.secrets``) without importing the SDK. No
imports: the hook's fast path may load this when it masks an input for the audit log."""

SECRET_LABEL = "Telegram bot token"
SECRET_PATTERNS: tuple[str, ...] = (r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}",)

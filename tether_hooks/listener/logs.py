"""The listener's log: ``paths.listener_log_file()``, rotated (1 MiB x 3), 0600, every
secret redacted. Whatever the daemon would print (stderr, stdout, warnings, tracebacks of
threads) goes through the same redacting log, so ``listener.out`` only ever holds what the
process said before its log was set up.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from tether_hooks import config, paths
from tether_hooks.platforms.base import redact
from tether_hooks.shared.settings import ENV_URL

__all__ = ["LOG_BACKUPS", "Redact", "log_lines", "secrets", "setup"]

LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3


class Redact(logging.Formatter):
    """Formats, then blanks every secret (tracebacks included)."""

    def __init__(self, known: list[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = list(known)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class _ToLog(io.TextIOBase):
    """A text stream that logs each line it is given (``sys.stderr`` of the daemon)."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self.logger, self.level, self._buf = logger, level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buf += text
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            if line.strip():
                self.logger.log(self.level, "%s", line.rstrip())
        return len(text)

    def flush(self) -> None:
        if self._buf.strip():
            self.logger.log(self.level, "%s", self._buf.rstrip())
        self._buf = ""


def secrets(cfg: Mapping[str, Any]) -> list[str]:
    """Every secret the listener knows: ``*_TOKEN``/``*_SECRET`` variables, platform keys,
    the last part of a webhook URL (``*_WEBHOOK_URL``, ``webhook_url``): whoever has it
    can post, and the shared Redis password (``[shared] redis_url``, ``TETHER_HOOKS_REDIS_URL``)."""
    found = [v for k, v in os.environ.items() if k.endswith(("_TOKEN", "_SECRET")) and v]
    found += [_webhook_key(v) for k, v in os.environ.items() if k.endswith("_WEBHOOK_URL")]
    for name in config.PLATFORMS:
        section = cfg.get(name)
        if isinstance(section, dict):
            found += [str(v) for k, v in section.items()
                      if any(w in k for w in ("token", "secret", "password", "key")) and v]
            found += [_webhook_key(str(v)) for k, v in section.items() if "webhook" in k]
    shared = cfg.get("shared")
    urls = [os.environ.get(ENV_URL, "")]
    if isinstance(shared, dict):
        urls.append(str(shared.get("redis_url") or ""))
    found += [p for url in urls for p in _url_password(url)]
    return [v for v in found if v]


def _url_password(url: str) -> list[str]:
    """A URL's password as written (percent-encoded) and decoded."""
    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def _webhook_key(url: str) -> str:
    return url.strip().rstrip("/").rsplit("/", 1)[-1] if "/" in url else ""


def setup(foreground: bool, known: list[str]) -> None:
    """Log to the rotated file (and stderr in the foreground); a daemon's own stderr and
    stdout are sent through the log too, redacted like the rest."""
    paths.ensure_dir(paths.log_dir())
    formatter = Redact(known)
    handler = logging.handlers.RotatingFileHandler(
        paths.listener_log_file(), maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    os.chmod(paths.listener_log_file(), 0o600)  # rotations: 0600 by the daemon's umask
    handlers: list[logging.Handler] = [handler]
    if foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "telegram.Bot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    if not foreground:
        logging.raiseExceptions = False  # a failing handler must not log into itself
        out = logging.getLogger("tether_hooks.listener.stderr")
        sys.stderr = _ToLog(out, logging.WARNING)
        sys.stdout = _ToLog(out, logging.INFO)


def log_lines(count: int = 50) -> list[str]:
    """The last ``count`` lines of the listener's log (rotated files included)."""
    main = paths.listener_log_file()
    lines: list[str] = []
    for path in [f"{main}.{n}" for n in range(LOG_BACKUPS, 0, -1)] + [main]:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()
        except OSError:
            continue
    return lines[-count:] if count else lines

"""URL checks shared by the platforms' config tables (no SDK import)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["shown", "url_problem"]

# A URL's host (a name, an IPv4 address or a bracketed IPv6 one) and optional port.
_HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+(?:%[^\]]+)?\]|[^\[\]:@/]+)(?::[0-9]{0,5})?")


def url_problem(value: object) -> str | None:
    """What keeps ``value`` from being an http(s) URL with a host (and a port, if any, that
    is a number up to 65535), without spaces or control characters; None if it is one."""
    if not isinstance(value, str):
        return "is not a string"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return "has a space or a control character in it"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (ValueError when it is not a port number)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host name"
    if not _HOST_RE.fullmatch(parts.netloc.rsplit("@", 1)[-1]):
        return "is not a URL (its host and port are not host:port)"
    return None


def shown(value: object) -> str:
    """A value for a message: not one that may carry a password (user:password@host)."""
    return "(not shown: it has a user name or password)" if "@" in str(value) else repr(value)

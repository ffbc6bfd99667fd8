"""Where redaction's extra patterns come from: the chat platforms' token shapes
(``platforms.secrets``) and the user's ``redact_patterns`` in config.toml. Kept apart from
the rule table (``redact_rules``) so that ``config`` can check patterns without importing
``redact`` back."""

from __future__ import annotations

import os
import re

from tether_hooks.redact_rules import check_patterns

_platform: list[tuple[str, re.Pattern[str]]] = []


def platform_tokens() -> list[tuple[str, re.Pattern[str]]]:
    """``(label, pattern)`` of the token shapes the chat platforms declare (each bridge's
    ``secret_patterns``, registered in ``platforms.secrets``), compiled on first use."""
    if not _platform:
        from tether_hooks.platforms import secrets

        _platform.extend((label, re.compile(source))
                         for label, source in secrets.secret_patterns())
    return _platform


_extra_cache: dict[object, list[re.Pattern[str]]] = {}


def configured() -> list[re.Pattern[str]]:
    """``redact_patterns`` of config.toml (through the hook's cached view)."""
    from tether_hooks import config, paths

    path = paths.config_file()
    try:
        st = os.stat(path)
        key: object = (path, st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        return []
    if key not in _extra_cache:
        try:
            found = check_patterns(config.hook_config().get("redact_patterns") or [])
        except Exception:  # a bad config is reported where it is loaded; built-ins still apply
            found = []
        _extra_cache.clear()
        _extra_cache[key] = found
    return _extra_cache[key]

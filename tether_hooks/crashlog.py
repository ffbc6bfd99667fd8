"""Unexpected errors go to a 0600 log file with their traceback; the user gets one line.

Stdlib only: the hook uses it too (on its failure path).
"""

from __future__ import annotations

import os
import time
import traceback

from tether_hooks import paths, redact

__all__ = ["record"]


def record(name: str, header: str, exc: BaseException) -> str:
    """Append ``header`` and ``exc``'s traceback to ``<log dir>/<name>``; the path written,
    or a note that it could not be. Never raises."""
    path = os.path.join(paths.log_dir(), name)
    try:
        paths.ensure_dir(os.path.dirname(path))
        body = f"{header}\n{''.join(traceback.format_exception(exc))}"
        text = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {redact.text(body)}"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:  # lone surrogates (a tool name from undecodable bytes) are escaped, never fatal
            os.write(fd, text.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
    except Exception:
        return f"(the log {path} could not be written)"
    return path

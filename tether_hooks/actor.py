"""Who is acting, as recorded in decisions and the audit log."""

from __future__ import annotations

import getpass

__all__ = ["cli_actor"]


def cli_actor() -> str:
    """The local user, as ``alice (CLI)``."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "local user"
    return f"{user} (CLI)"

"""One finding of ``tether-hooks doctor``: what was checked, how it went, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Check", "Status"]

Status = Literal["ok", "warn", "fail"]


@dataclass
class Check:
    """One finding: ``ok``, ``warn`` or ``fail``, with the fix when it is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

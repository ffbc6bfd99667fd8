"""What an agent plug-in provides: the contract ``agents.get`` returns, checked by mypy.

An agent is a module (``agents/claude.py``, ``agents/codex.py``): the hook calls its payload
parser and output builders on the fast path; the installer, ``doctor`` and ``status`` call
the rest, which import their helpers lazily. Every agent provides every member (no
``hasattr``): an agent without a second file to edit returns None from ``companion``.
The lines at the end prove that both modules conform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tether_hooks.check import Check
    from tether_hooks.installer import Companion
    from tether_hooks.models import HookRequest

__all__ = ["Agent"]


class Agent(Protocol):
    """An agent module, as the hook, the installer, ``doctor`` and ``status`` see it."""

    @property
    def NAME(self) -> str: ...  # noqa: N802 - module constants
    @property
    def DISPLAY(self) -> str: ...  # noqa: N802
    @property
    def ECHO_INPUT_TOOLS(self) -> tuple[str, ...]: ...  # noqa: N802
    @property
    def SCOPES(self) -> tuple[str, ...]: ...  # noqa: N802

    # -- the hook (fast path) --
    def parse(self, payload: object) -> HookRequest: ...
    def allow(self, event: str, reason: str, updated_input: dict[str, Any] | None = None,
              updated_permissions: list[Any] | None = None) -> str: ...
    def deny(self, event: str, reason: str, interrupt: bool = False) -> str: ...
    def no_decision(self, event: str, reason: str) -> str: ...
    def stop_block(self, reason: str) -> str: ...

    # -- the installer --
    def settings_path(self, scope: str, project: str) -> str: ...
    def hook_entries(self, command: str, mode: str, approval_timeout: float,
                     stop_wait: float) -> dict[str, Any]: ...
    def install_options(self, scope: str, project: str, command: str) -> dict[str, Any]: ...
    def companion(self, hooks_path: str, old: dict[str, Any], new: dict[str, Any],
                  options: dict[str, Any]) -> Companion | None: ...

    # -- doctor and status --
    def doctor_checks(self, cwd: str) -> list[Check]: ...
    def hooks_report(self, cwd: str) -> Sequence[Mapping[str, object]] | None: ...
    def describe_hooks(self, report: Sequence[Mapping[str, object]]) -> str: ...


if TYPE_CHECKING:  # static proof that each agent module conforms
    from tether_hooks.agents import claude, codex

    _claude: Agent = claude
    _codex: Agent = codex

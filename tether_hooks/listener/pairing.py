"""``!pair CODE`` (``/pair CODE`` on Telegram): the one command a stranger may send. The
code is checked against the pairing ``tether-hooks pair <platform>`` started in the
terminal (``tether_hooks.pairing``); the right one adds its writer to that platform's
``allowed_user_ids`` in config.toml (and at once to the listener's list). Every attempt,
right or wrong, is audited; only the configured chat counts."""

from __future__ import annotations

import logging
import time
import tomllib
from typing import Any

from tether_hooks import audit, config_write, pairing, paths
from tether_hooks.errors import TetherError
from tether_hooks.listener.bridges import Bridges
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import AuditEntry, Via
from tether_hooks.platforms.base import Incoming

__all__ = ["Pairings", "is_pairing"]

log = logging.getLogger("tether_hooks.listener")

QUIET = 600.0  # "no pairing is waiting" is said to a user at most once per 10 minutes


def is_pairing(event: Incoming) -> bool:
    return event.kind == "command" and event.data == "pair"


def add_user(platform: str, user_id: str) -> None:
    """``user_id`` appended to ``[platform] allowed_user_ids`` (the rest kept as it is)."""
    path = paths.config_file()
    with open(path, "rb") as f:
        table: dict[str, Any] = dict(tomllib.load(f).get(platform) or {})
    users = [u for u in table.get("allowed_user_ids") or [] if str(u) != user_id]
    numeric = users and all(isinstance(u, int) for u in users) or (
        not users and platform == "telegram")
    users.append(int(user_id) if numeric and user_id.lstrip("-").isdigit() else user_id)
    inner = {k: v for k, v in table.items() if not isinstance(v, dict)}
    config_write.set_table(platform, {**inner, "allowed_user_ids": users}, path)


class Pairings:
    """Checks ``pair`` commands and adds the paired user."""

    def __init__(self, bridges: Bridges, runtime: Runtime) -> None:
        self.bridges = bridges
        self.runtime = runtime
        self._told: dict[tuple[str, str], float] = {}  # (bridge, user) -> when told "none"

    async def on_pair(self, event: Incoming) -> None:
        entry: AuditEntry = {"event": "pair-failed", "bridge": event.bridge,
                             "user_id": str(event.user_id), "user_name": event.user_name,
                             "chat_id": str(event.chat_id), "kind": "pair",
                             "via": _via(event.bridge), "by": event.user_name}
        if not self.bridges.in_chat(event):
            entry["reason"] = "not in the configured chat"
            await self.runtime.io(audit.append, entry)
            return  # another chat: not a word there
        checked = await self.runtime.io(pairing.check, event.bridge, event.args,
                                        str(event.user_id), event.user_name)
        if checked.result == "paired":
            try:
                await self.runtime.io(add_user, event.bridge, str(event.user_id))
            except (OSError, TetherError, tomllib.TOMLDecodeError) as exc:
                await self.runtime.io(pairing.failed, f"cannot write config.toml: {exc}")
                entry["reason"] = f"config.toml not written: {exc}"
                await self.runtime.io(audit.append, entry)
                await self.bridges.tell(event, "⚠️ The code is right, but config.toml could "
                                               "not be written: see the terminal.")
                return
            self.bridges.allowed.setdefault(event.bridge, set()).add(str(event.user_id))
            paired: AuditEntry = {**entry, "event": "paired", "reason": "code accepted"}
            await self.runtime.io(audit.append, paired)
            log.warning("paired %s (%s) on %s: may now approve", event.user_name,
                        event.user_id, event.bridge)
            await self.bridges.tell(event, f"✅ Paired: {event.user_name} (id {event.user_id}) "
                                           "may now approve requests here.")
            return
        entry["reason"] = {"none": "no pairing is waiting", "slow": "too soon after a wrong code",
                           "wrong": "wrong code", "burned": "wrong code; pairing burned"
                           }[checked.result]
        await self.runtime.io(audit.append, entry)
        log.warning("pairing attempt by %s (%s) on %s: %s", event.user_name, event.user_id,
                    event.bridge, entry["reason"])
        text = {
            "none": "No pairing is waiting. Start one in the terminal: tether-hooks pair "
                    f"{event.bridge}",
            "slow": "Wait a few seconds before trying another code.",
            "wrong": f"❌ Wrong code ({checked.tries_left} tries left).",
            "burned": "❌ Wrong code. Too many wrong codes: start a new pairing in the "
                      "terminal.",
        }[checked.result]
        if checked.result in ("none", "slow"):  # unbounded: answered once in a while
            who, now = (event.bridge, str(event.user_id)), time.monotonic()
            if now - self._told.get(who, -QUIET) < QUIET:
                return
            self._told[who] = now
        await self.bridges.tell(event, text)


def _via(bridge: str) -> Via:
    from typing import cast

    return cast(Via, bridge)

"""Attack 2: a ``rev`` counter that ``str.isdigit`` takes for a number but ``int`` refuses
(a superscript digit, a hand edit) crashes the fleet's view: ``FleetStore.refresh`` raises
ValueError, which neither the CLI nor ``follow`` (Redis errors only) expects."""

from __future__ import annotations

from harness.redis import RedisServer

from tether_hooks.shared.client import connect_sync
from tether_hooks.shared.fleet import FleetStore
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.settings import SharedSettings


def test_a_superscript_rev_is_skipped_not_a_crash(redis_server: RedisServer,
                                                  namespace: str) -> None:
    s = SharedSettings(url=redis_server.url, machine="dev-box", namespace=namespace)
    keys, sync = Keys(namespace), connect_sync(s)
    sync.hset(keys.rev, mapping={"dev-box": "1", "odd": "\u00b2"})
    fleet = FleetStore(keys, sync, "/nonexistent")
    fleet.refresh()  # ValueError: invalid literal for int() with base 10: '²'
    assert fleet.machines() == ["dev-box"]

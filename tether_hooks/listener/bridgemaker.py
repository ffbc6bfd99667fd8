"""Building the platforms' bridges for a listener's ``Dispatcher``: each with its applied
offset, the inbox of fetched updates, the known threads, a thread recorder and (a fleet's
leader) its lease. Used by the lone listener (``daemon``) and a fleet's station."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether_hooks.errors import TetherError

if TYPE_CHECKING:
    from tether_hooks.ledger import Ledger
    from tether_hooks.listener.book import ChatBook
    from tether_hooks.listener.dispatch import Dispatcher
    from tether_hooks.listener.offsets import Offsets
    from tether_hooks.models import ChatRef, Config
    from tether_hooks.platforms.base import BridgeBase, Button, Lease

__all__ = ["add_bridges", "make_bridge"]

log = logging.getLogger("tether_hooks.listener")


class BridgeLoadError(TetherError):
    """A platform's bridge cannot be built (its extra is not installed)."""


async def add_bridges(dispatcher: Dispatcher, names: list[str], cfg: Config,
                      lease: Lease | None = None) -> None:
    """Build each platform's bridge (off the event loop: SDK imports) and add it."""
    loop = asyncio.get_running_loop()
    for name in names:
        try:
            bridge = await asyncio.to_thread(make_bridge, name, cfg, dispatcher.book, loop,
                                             dispatcher.offsets, dispatcher.store, lease)
        except Exception as exc:
            await dispatcher.bridges.fail(name, f"cannot load the {name} bridge: {exc}")
            continue
        dispatcher.add_bridge(bridge)


def make_bridge(name: str, cfg: Mapping[str, Any], book: ChatBook,
                 loop: asyncio.AbstractEventLoop, offsets: Offsets,
                 store: Ledger | None = None, lease: Lease | None = None) -> BridgeBase:
    """Build a bridge (``platforms.make_bridge``) with its applied offset, the inbox of
    fetched updates, the known threads and a thread recorder. The offsets are kept per
    ``account()``: built again when the account's offset is not the one it was given."""
    from tether_hooks import platforms
    from tether_hooks.platforms.base import BridgeContext

    section = cfg.get(name) or {}
    threads = book.threads(name)

    built: list[BridgeBase] = []

    def on_thread(session_id: str, thread_id: str) -> None:
        # the chat the bridge posts in: its table's chat_id, or the id it resolved itself
        chat = section.get("chat_id") or (built[-1].resolved_chat_id if built else None)
        loop.run_in_executor(None, _remember_thread, book, session_id, name, str(chat),
                             str(thread_id))

    def posted() -> list[tuple[ChatRef, list[list[Button]]]]:
        from tether_hooks.listener import chat
        from tether_hooks.store import Store

        return chat.posted_on((store or Store()).read()["requests"], book, name,
                              str(cfg.get("default_timer") or "30m"), full=True)

    def build(offset: int | None) -> BridgeBase:
        ctx = BridgeContext(section, offset, threads, on_thread, offsets, posted, lease=lease)
        try:
            return platforms.make_bridge(name, ctx)
        except ImportError as exc:
            raise BridgeLoadError(
                f"{exc}; install the extra: pip install 'tether-hooks[{name}]'"
            ) from exc

    offset = offsets.get(name)
    bridge = build(offset)
    offsets.bind(name, bridge.account())
    if offsets.get(name) != offset:  # another account: its own numbering
        bridge = build(offsets.get(name))
    built.append(bridge)
    return bridge


def _remember_thread(book: ChatBook, session_id: str, name: str, chat_id: str,
                     thread_id: str) -> None:
    try:
        book.set_thread(session_id, name, chat_id, thread_id)
    except OSError as exc:
        log.warning("cannot record the topic of session %s: %s", session_id, exc)

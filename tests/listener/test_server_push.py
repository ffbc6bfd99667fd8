"""The push: a hook waiting for a request keeps a connection to the listener's socket, and
the listener writes a line to it right after writing a decision to the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner
from harness.telegram_relay import bash_request, configure, request_message
from harness.waiting import until, until_async

from tether_hooks import relay
from tether_hooks.listener import server as server_module
from tether_hooks.listener.server import Server
from tether_hooks.push import Push
from tether_hooks.store import Store


class _Dispatcher:
    def status(self) -> dict:
        return {"ok": True, "usable": True}


def test_a_wait_connection_is_woken_by_notify_and_forgotten_when_closed(
        tether_home: Path) -> None:
    async def scenario() -> None:
        srv = Server(_Dispatcher())
        await srv.start()
        try:
            push = await asyncio.to_thread(Push.open, "r-1")
            assert push.connected
            await until_async(lambda: srv.waits.ids() == ["r-1"], what="the wait registered")
            # the acknowledgement wakes it once; then nothing until a decision is written
            assert await asyncio.to_thread(push.wait, 5.0)
            assert not await asyncio.to_thread(push.wait, 0.05)
            server_module.notify("r-2")  # another request: this hook sleeps on
            assert not await asyncio.to_thread(push.wait, 0.05)
            server_module.notify("r-1")
            assert await asyncio.to_thread(push.wait, 5.0) and push.connected
            push.close()
            await until_async(lambda: srv.waits.ids() == [], what="the wait forgotten")
            again = await asyncio.to_thread(Push.open, "r-1")
            await until_async(lambda: srv.waits.ids() == ["r-1"], what="a second wait")
        finally:
            await srv.close()
        # the listener went away: the hook sees the end of the connection and polls on
        assert srv.waits.ids() == []
        woke = [await asyncio.to_thread(again.wait, 5.0) for _ in range(2)]
        assert woke[-1] and not again.connected
        assert not await asyncio.to_thread(again.wait, 0.01)  # a plain sleep from now on

    asyncio.run(scenario())


def test_an_unknown_listener_leaves_the_hook_polling(tether_home: Path) -> None:
    push = Push.open("r-1")  # no listener at all
    assert not push.connected and not push.wait(0.01)


@pytest.mark.usefixtures("listener_stops_first")
def test_a_press_reaches_the_waiting_hook_through_its_wait_connection(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", bash_request("s-push", "make push"))
    msg = request_message(emu, "make push")
    (rid,) = [r["id"] for r in Store().read()["requests"].values() if r["status"] == "pending"]
    until(lambda: relay.call({"op": "waiting"})["ids"] == [rid],
          what="the hook's wait connection in the listener")
    emu.press(msg, "✅ Allow")
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    assert Store().read()["requests"][rid]["status"] == "allowed"
    # the hook exited: its connection is gone from the listener, nothing leaks
    until(lambda: relay.call({"op": "waiting"})["ids"] == [], what="the wait forgotten")

"""Several machines, one bot, end to end: listener processes on one shared Redis, hooks as
processes, the Telegram emulator as the bot's chat. What a user sees: each request once,
with its machine; a press reaches the hook of the machine that asked; one poller."""

from __future__ import annotations

import time

from emulators.telegram import Message, TelegramEmulator
from harness.fleet import Fleet, bash, leader_of
from harness.hookproc import HookRunner
from harness.redis import RedisServer
from harness.telegram_relay import CHAT, edited
from harness.waiting import until


def posted(emu: TelegramEmulator, needle: str, timeout: float = 30) -> Message:
    return emu.wait_for_message(lambda m: needle in (m.text or "") and bool(m.buttons),
                                chat_id=CHAT, timeout=timeout)


def copies(emu: TelegramEmulator, needle: str) -> int:
    """Request messages showing ``needle`` (not notices or command answers)."""
    return len([m for m in emu.messages(CHAT)
                if needle in (m.text or "") and "wants to use" in (m.text or "")])


def conflicts(emu: TelegramEmulator) -> list[object]:
    return [c for c in emu.calls("getUpdates") if c.status == 409]


def allowed(proc: object, hook: HookRunner) -> bool:
    run = hook.finish(proc, timeout=40)  # type: ignore[arg-type]
    return bool(run.output and run.output["hookSpecificOutput"]["decision"]["behavior"]
                == "allow")


def test_a_request_from_a_machine_without_chat_is_posted_once_and_its_press_reaches_it(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    proc = devbox.hook(bash("s-dev", "make deploy-staging"))
    msg = posted(emu, "make deploy-staging")
    assert "devbox" in (msg.text or "")
    rid = until(devbox.pending, what="devbox's pending request")[0]["id"]
    assert rid in (msg.text or "") and not laptop.requests()
    emu.send_text(CHAT, "/status")  # the chat sees the whole fleet
    status = emu.wait_for_message(lambda m: "Pending: 1" in (m.text or ""), chat_id=CHAT,
                                  timeout=15)
    assert "deploy-staging" in (status.text or "") and "on devbox" in (status.text or "")
    emu.press(msg, "✅ Allow")
    assert allowed(proc, hook)
    assert devbox.requests()[rid]["decision"]["by"] == "@alice"
    edited(emu, msg, "Allowed by @alice")
    assert copies(emu, "make deploy-staging") == 1
    assert not conflicts(emu)


def test_with_two_machines_on_one_bot_one_polls_and_each_gets_its_own_decision(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.machine("laptop"), fleet.machine("devbox")
    laptop.start()
    devbox.start()
    lead = leader_of([laptop, devbox])
    other = devbox if lead is laptop else laptop
    on_lead = lead.hook(bash("s-1", "echo from-the-leader"))
    on_other = other.hook(bash("s-2", "echo from-the-other"))
    first, second = posted(emu, "from-the-leader"), posted(emu, "from-the-other")
    assert lead.name in (first.text or "") and other.name in (second.text or "")
    emu.press(second, "❌ Deny")
    emu.press(first, "✅ Allow")
    assert allowed(on_lead, hook)
    assert not allowed(on_other, hook)
    assert [r["status"] for r in other.requests().values()] == ["denied"]
    assert copies(emu, "from-the-leader") == copies(emu, "from-the-other") == 1
    assert not conflicts(emu)


def test_approve_from_another_machines_cli_reaches_the_hook_and_the_message(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    proc = devbox.hook(bash("s-dev", "terraform plan"))
    msg = posted(emu, "terraform plan")
    rid = until(devbox.pending, what="devbox's pending request")[0]["id"]
    listed = laptop.cli("pending")
    assert rid in listed.stdout and "devbox" in listed.stdout, listed.stdout + listed.stderr
    done = laptop.cli("approve", rid)
    assert done.returncode == 0, done.stderr
    assert allowed(proc, hook)
    edited(emu, msg, "Allowed")


def test_a_chat_timer_on_a_request_applies_on_that_machine_only(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    proc = devbox.hook(bash("s-dev", "pytest -q"))
    msg = posted(emu, "pytest -q")
    timer_button = next(b for b in msg.buttons if b.startswith("⏱"))
    emu.press(msg, timer_button)
    assert allowed(proc, hook)
    until(lambda: any(t.get("scope") for t in devbox.timers()), what="the timer on devbox")
    again = devbox.hook(bash("s-dev", "pytest -q tests"))
    assert allowed(again, hook)  # no message: the timer let it through on devbox
    assert copies(emu, "pytest -q tests") == 0
    assert not laptop.timers()


def test_an_all_machines_timer_set_on_one_covers_the_other(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    laptop, devbox = fleet.pair()
    made = laptop.cli("allow-bash", "make check*", "--for", "10m", "--all-machines")
    assert made.returncode == 0, made.stderr
    until(lambda: devbox.timers(), what="the fleet timer mirrored on devbox")
    proc = devbox.hook(bash("s-dev", "make check"))
    assert allowed(proc, hook)
    assert copies(telegram_emulator, "make check") == 0  # no request message: the timer
    revoked = laptop.cli("revoke", "--all")
    assert revoked.returncode == 0, revoked.stderr
    until(lambda: not devbox.timers(), what="the fleet timer gone from devbox")


def test_the_leader_killed_another_takes_over_and_nothing_is_lost(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    machines = [fleet.machine(n) for n in ("laptop", "devbox", "ci")]
    for m in machines:
        m.start()
    lead = leader_of(machines)
    rest = [m for m in machines if m is not lead]
    proc = rest[0].hook(bash("s-a", "echo before-the-crash"))
    before = posted(emu, "before-the-crash")
    book = f"th:{fleet.namespace}:book"
    until(lambda: f'"message_id": "{before.message_id}"' in (fleet.redis.client().get(book) or ""),
          what="the post recorded in the shared book")
    lead.kill9()
    killed = time.monotonic()
    late = rest[1].hook(bash("s-b", "echo after-the-crash"))
    after = posted(emu, "after-the-crash", timeout=30)
    failover = time.monotonic() - killed
    print(f"failover: leader killed -> next request posted in {failover:.1f} s")
    assert failover < 15
    emu.press(before, "✅ Allow")
    emu.press(after, "✅ Allow")
    assert allowed(proc, hook) and allowed(late, hook)
    edited(emu, before, "Allowed by @alice")
    assert copies(emu, "before-the-crash") == copies(emu, "after-the-crash") == 1
    assert not conflicts(emu)
    assert leader_of(rest) in rest


def test_redis_stopped_mid_run_no_wrong_allow_and_no_lost_decision(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner,
        redis_server: RedisServer) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    pressed = devbox.hook(bash("s-dev", "echo pressed-while-down"))
    answered = devbox.hook(bash("s-dev", "echo answered-on-devbox"))
    msg = posted(emu, "pressed-while-down")
    local = posted(emu, "answered-on-devbox")
    redis_server.stop()
    try:
        press = emu.press(msg, "✅ Allow")  # the leader cannot write the order
        told = emu.wait_for_callback_answer(press, timeout=20).text or ""
        assert told != "Allowed"
        rid = next(r["id"] for r in devbox.pending() if "answered-on" in r["summary"])
        done = devbox.cli("deny", rid)  # decided on devbox meanwhile
        assert done.returncode == 0, done.stderr
        assert not allowed(answered, hook)
        assert any("pressed-while-down" in r["summary"] for r in devbox.pending()), [
            (r["summary"], r["status"], r.get("decision")) for r in devbox.requests().values()]
    finally:
        redis_server.start()
    edited(emu, local, "Denied", timeout=30)  # the decision made meanwhile is shown
    # the press made while Redis was down decided nothing: the request still waits, and a
    # press now (its buttons are still there) allows it
    assert any("pressed-while-down" in r["summary"] for r in devbox.pending())
    again = emu.press(msg, "✅ Allow")
    assert emu.wait_for_callback_answer(again, timeout=20).text == "Allowed"
    assert allowed(pressed, hook)
    edited(emu, msg, "Allowed by @alice")




def test_redis_away_a_machine_with_chat_serves_itself_and_leads_again_after(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner,
        redis_server: RedisServer) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    redis_server.stop()
    try:
        until(lambda: laptop.role() == "fallback", timeout=30, what="laptop serving alone")
        own = laptop.hook(bash("s-lap", "echo served-alone"))
        msg = posted(emu, "served-alone")
        emu.press(msg, "✅ Allow")
        assert allowed(own, hook)
        run = hook.finish(devbox.hook(bash("s-dev", "echo nobody-to-ask")), timeout=40)
        assert "no chat platform is reachable" in run.stderr  # its own prompt, at once
        assert "shared store" in laptop.cli("status").stdout
    finally:
        redis_server.start()
    leader_of([laptop, devbox], timeout=30)
    until(lambda: devbox.role() == "member", timeout=30, what="devbox back in the fleet")
    again = devbox.hook(bash("s-dev", "echo back-in-the-fleet"))
    emu.press(posted(emu, "back-in-the-fleet"), "✅ Allow")
    assert allowed(again, hook)


def test_a_decision_made_while_the_asking_machines_listener_is_down_reaches_it_after(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    laptop, devbox = fleet.pair()
    proc = devbox.hook(bash("s-dev", "echo decided-while-down"))
    msg = posted(emu, "echo decided-while-down")
    rid = until(devbox.pending, what="devbox's pending request")[0]["id"]
    devbox.kill9()  # its hook waits on its store (and starts a listener again); the order
    emu.press(msg, "✅ Allow")  # waits in Redis meanwhile
    edited(emu, msg, "Allowed by @alice")
    assert allowed(proc, hook)
    assert devbox.requests()[rid]["decision"]["by"] == "@alice"


def test_a_frozen_leader_hands_over_and_never_polls_beside_the_new_one(
        fleet: Fleet, telegram_emulator: TelegramEmulator, hook: HookRunner) -> None:
    emu = telegram_emulator
    machines = [fleet.machine(n) for n in ("laptop", "devbox")]
    for m in machines:
        m.start()
    lead = leader_of(machines)
    other = next(m for m in machines if m is not lead)
    lead.freeze()  # the lid closes
    try:
        proc = other.hook(bash("s-b", "echo while-frozen"))
        msg = posted(emu, "while-frozen", timeout=30)  # the other took over
        assert leader_of(machines) is other
    finally:
        lead.thaw()  # the lid opens: its lease is gone, it must not poll
    emu.press(msg, "✅ Allow")
    assert allowed(proc, hook)
    until(lambda: lead.role() == "member", timeout=15, what="the thawed one stepped down")
    assert not conflicts(emu)

"""Attack (issue 11): a timer for every machine is revoked while one machine's listener is
not running. The revoke says "Revoked"; the copy stays in that machine's state.json (only
its Mirror removes copies) and the hook, which reads state.json alone, keeps allowing."""

from __future__ import annotations

from harness.fleet import Fleet, bash, leader_of
from harness.hookproc import HookRunner
from harness.waiting import until


def test_a_fleet_timer_revoked_while_a_listener_is_down_keeps_allowing_there(
        fleet: Fleet, hook: HookRunner) -> None:
    laptop, devbox = fleet.machine("laptop"), fleet.machine("devbox", chat=False)
    laptop.start()
    devbox.start()
    leader_of([laptop, devbox])
    made = laptop.cli("allow-bash", "make check*", "--for", "1h", "--all-machines")
    assert made.returncode == 0, made.stderr
    until(lambda: devbox.timers(), what="the fleet timer mirrored on devbox")
    devbox.stop()  # its listener is down (crashed, upgraded, laptop lid closed...)
    revoked = laptop.cli("revoke", "--all")
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout, revoked.stderr
    asked = hook.start("claude", bash("s-dev", "make check"), extra_env={
        "TETHER_HOOKS_HOME": str(devbox.home), "TETHER_HOOKS_APPROVAL_TIMEOUT": "5"})
    run = hook.finish(asked, timeout=60)  # asked (and not answered): falls back after 5 s
    behavior = ((run.output or {}).get("hookSpecificOutput") or {}).get(
        "decision", {}).get("behavior")
    assert behavior != "allow", "a revoked fleet timer still allowed a call on devbox"
    assert "no answer from a remote approver" in run.stderr or not run.output, run.stderr

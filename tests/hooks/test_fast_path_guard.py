"""The fast-path guard (harness/fastpath.py) on real payloads, and the guard itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness.fastpath import (
    SLOW_PATH_DEPS,
    assert_fast_path,
    imported,
    outside_allowlist,
)
from harness.hookproc import payload

from tether_hooks import config, timers


@pytest.fixture
def cached(tether_home: Path) -> None:
    config.hook_config()  # the cache exists after the first call of any hook


@pytest.mark.usefixtures("cached")
@pytest.mark.parametrize("name", ["claude/PermissionRequest-Bash", "claude/PreToolUse-Write",
                                  "claude/Notification", "claude/PostToolUse-Bash",
                                  "claude/UserPromptSubmit", "codex/PreToolUse-apply_patch"])
def test_quiet_events_stay_on_the_allowlist(name: str) -> None:
    agent = name.split("/")[0]
    assert assert_fast_path(agent, payload(name)) == ""


@pytest.mark.usefixtures("cached")
def test_a_timer_allow_stays_on_the_allowlist() -> None:
    timers.add("tool", "30m", created_by="test", tool="Write")
    assert '"allow"' in assert_fast_path("claude", payload("claude/PermissionRequest-Write"))


@pytest.mark.usefixtures("cached")
def test_a_request_that_waits_imports_only_the_store_lock_beyond_the_stdlib() -> None:
    env = {**os.environ, "TETHER_HOOKS_LOCAL_APPROVALS": "1"}
    modules, _ = imported("claude", payload("claude/PermissionRequest-Bash"), until_wait=True,
                          env=env)
    assert "tether_hooks.store" in modules  # it did get as far as recording the request
    assert outside_allowlist(modules, SLOW_PATH_DEPS) == []
    assert {m.split(".")[0] for m in outside_allowlist(modules)} <= SLOW_PATH_DEPS


def test_the_allowlist_flags_any_third_party_name() -> None:
    seen = ["json", "os.path", "tether_hooks", "tether_hooks.hook", "collections.abc",
            "shiny_new_client", "shiny_new_client.api", "tether_hooks_extra", "httpx"]
    assert outside_allowlist(seen) == ["httpx", "shiny_new_client", "shiny_new_client.api",
                                       "tether_hooks_extra"]
    assert outside_allowlist(seen, {"httpx"}) == ["shiny_new_client", "shiny_new_client.api",
                                                  "tether_hooks_extra"]


@pytest.mark.usefixtures("cached")
def test_the_probe_starts_bare_so_it_sees_what_start_up_would_hide() -> None:
    """An editable install's finder (a .pth file ``site`` runs) imports importlib, re and
    enum before any code of ours: a probe started that way could never see the hook
    import them. The probe runs with -S, so the modules the hook call needs (json pulls re
    and enum) are all on its list, and importlib (SLOW_STDLIB) would be too."""
    modules, _ = imported("claude", payload("claude/Notification"))
    assert {"os", "json", "re", "enum", "tether_hooks.hook"} <= set(modules)
    assert "importlib" not in modules and "site" not in modules


def test_with_a_shared_store_the_hook_never_imports_a_redis_client(tether_home: Path) -> None:
    (tether_home / "config.toml").write_text(
        '[shared]\nredis_url = "rediss://:pw@redis.invalid:6380/0"\nmachine = "laptop"\n')
    config.hook_config()
    timers.add("tool", "30m", created_by="test", tool="Write")
    assert '"allow"' in assert_fast_path("claude", payload("claude/PermissionRequest-Write"))
    env = {**os.environ, "TETHER_HOOKS_LOCAL_APPROVALS": "1"}
    try:
        modules, _ = imported("claude", payload("claude/PermissionRequest-Bash"),
                              until_wait=True, env=env)
    finally:
        from tether_hooks.listener import daemon

        daemon.stop()  # the doorbell may have started this machine's listener
    assert "tether_hooks.store" in modules  # it did get as far as recording the request
    assert not [m for m in modules if m.split(".")[0] == "redis"
                or m.startswith("tether_hooks.shared")]

"""The listener as a process: start/stop/status, single instance, and hooks that rely on it."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.hookproc import HookRunner, wait_pending
from harness.waiting import until

from tether_hooks import paths, relay
from tether_hooks.listener import daemon, logs
from tether_hooks.store import Store


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], capture_output=True,
                          text=True, timeout=timeout)


def configure(home: Path, extra: str = "", **memory: object) -> Path:
    """A [memory] platform that records every bridge call in ``record.jsonl``."""
    record = home / "record.jsonl"
    section = {"allowed_user_ids": [1], "record": str(record), **memory}
    lines = [f"{k} = {json.dumps(v)}" for k, v in section.items()]
    (home / "config.toml").write_text(extra + "[memory]\n" + "\n".join(lines) + "\n")
    return record


def calls(record: Path, name: str | None = None) -> list[dict]:
    if not record.exists():
        return []
    entries = [json.loads(line) for line in record.read_text().splitlines()]
    return [e for e in entries if name is None or e["call"] == name]


def perm(tool: str = "Bash", session: str = "s-1", **tool_input: object) -> dict:
    return {"session_id": session, "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
            "permission_mode": "default", "hook_event_name": "PermissionRequest",
            "tool_name": tool, "tool_input": tool_input or {"command": "make"}}


def pending(count: int = 1) -> list[dict]:
    return wait_pending(count, timeout=10)


# -- the daemon verbs -----------------------------------------------------------------------


def test_start_status_stop_and_a_single_instance(tether_home: Path) -> None:
    configure(tether_home)
    started = cli("listener", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("Started listener running (pid ")
    pid = relay.listener_pid()
    assert pid is not None
    state_dir = Path(paths.state_dir())
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    sock = state_dir / "listener.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600

    again = cli("listener", "start")
    assert again.returncode == 0 and again.stdout.startswith("Already running")
    second = cli("listen")  # a second instance refuses at once
    assert second.returncode == 1 and "already running (pid" in second.stderr
    assert relay.listener_pid() == pid

    info = json.loads(cli("listener", "status", "--json").stdout)
    assert info["running"] and info["pid"] == pid
    assert info["bridges"]["memory"]["state"] == "ok"
    assert "Listener: running (pid" in cli("status").stdout

    stopped = cli("listener", "stop")
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    assert not sock.exists() and relay.listener_pid() is None
    assert not (state_dir / "listener.health.json").exists()
    assert cli("listener", "status").stdout.strip() == "Listener: not running"
    assert cli("listener", "stop").stdout.strip() == "Not running."
    logs = cli("listener", "logs").stdout
    assert "listener starting" in logs and "listener stopped" in logs


def test_sigterm_shuts_down_cleanly(tether_home: Path) -> None:
    configure(tether_home)
    info = daemon.start()
    assert info["started"]
    os.kill(info["pid"], signal.SIGTERM)
    until(lambda: relay.listener_pid() is None and not Path(paths.listener_socket()).exists(),
          what="the listener to exit")
    log = Path(paths.listener_log_file()).read_text()
    assert "shutting down" in log and "listener stopped" in log
    assert calls(tether_home / "record.jsonl")[-1]["call"] == "close"


def test_the_log_and_its_rotations_are_private(tether_home: Path) -> None:
    configure(tether_home)
    log = Path(paths.listener_log_file())
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("x" * logs.LOG_BYTES)  # full: the first line logged rotates it
    log.chmod(0o644)
    old = os.umask(0o022)  # a usual umask: the listener must not rely on it
    try:
        daemon.start()
    finally:
        os.umask(old)
    rotated = Path(f"{log}.1")
    until(lambda: rotated.exists() and "listener starting" in log.read_text(),
          what="the log to rotate")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(rotated.stat().st_mode) == 0o600


def test_secrets_never_reach_the_log() -> None:
    token = "123456789:AAEsecret-token-value-for-the-log-test"
    cfg = {"telegram": {"bot_token": "configured-secret-value", "chat_id": 1}}
    formatter = logs.Redact(logs.secrets(cfg))
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{token}/getMe failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1,
                                   "token %s and configured-secret-value", (token,),
                                   sys.exc_info())
    text = formatter.format(record)
    assert token not in text and "configured-secret-value" not in text
    assert text.count("«secret: Telegram bot token»") >= 2 and "«secret»" in text


@pytest.mark.parametrize(("where", "url"), [
    ("config", "http://127.0.0.1:8181/api/v10/webhooks/42/shortKEY123"),  # no token shape
    ("config", "https://discord.com/api/webhooks/1234567890/odd.shaped~key/"),
    ("env", "http://127.0.0.1:9/api/webhooks/7/h00ked"),
    ("env:SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/XXXXsecretpart"),
    ("config", "https://hooks.example.test/webhooks/8/local-key-value"),
])
def test_a_webhook_urls_key_never_reaches_the_log(
        where: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = url.rstrip("/").rsplit("/", 1)[-1]
    cfg: dict = {"discord": {"channel_id": "1"}}
    if where == "config":
        cfg["discord"]["webhook_url"] = url
    else:
        monkeypatch.setenv(where.partition(":")[2] or "DISCORD_WEBHOOK_URL", url)
    formatter = logs.Redact(logs.secrets(cfg))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "POST %s?wait=true -> 200",
                               (url,), None)
    text = formatter.format(record)
    assert key not in text, text
    assert url.rsplit("/", 2)[0] in text  # the rest of the line stays readable


@pytest.mark.parametrize(("where", "url", "password"), [
    ("config", "rediss://tether:s3cret-redis-pw@redis.example:6380/0", "s3cret-redis-pw"),
    ("config", "redis://:loopback-pass-42@127.0.0.1:6379", "loopback-pass-42"),
    ("env", "rediss://tether:env-given-pw-7@redis.example:6380/2", "env-given-pw-7"),
    ("config", "rediss://tether:p%40ss%2Fword%3A9@redis.example:6380", "p@ss/word:9"),
    ("env", "rediss://u:%E2%82%ACuro-pass-1@10.0.0.5:6380", "\u20acuro-pass-1"),
])
def test_the_shared_redis_password_never_reaches_the_log(
        where: str, url: str, password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg: dict = {"shared": {"machine": "laptop"}}
    if where == "config":
        cfg["shared"]["redis_url"] = url
        monkeypatch.delenv("TETHER_HOOKS_REDIS_URL", raising=False)
    else:
        monkeypatch.setenv("TETHER_HOOKS_REDIS_URL", url)
    written = url.split("@")[0].rsplit(":", 1)[1]  # as in the URL (percent-encoded)
    formatter = logs.Redact(logs.secrets(cfg))
    record = logging.LogRecord("x", logging.WARNING, __file__, 1,
                               "AUTH %s refused by %s; url %s", (password, "redis", written),
                               None)
    text = formatter.format(record)
    assert password not in text and written not in text, text
    assert "AUTH «secret» refused by redis; url «secret»" in text


def test_a_daemons_stderr_and_warnings_go_through_the_redacting_log(tether_home: Path) -> None:
    token = "123456789:AAEsecret-token-value-for-the-log-test"
    probe = f"""
import sys, threading, warnings
from tether_hooks.listener import logs
logs.setup(foreground=False, known=["configured-secret-value"])
print("stdout {token}")
print("stderr {token} configured-secret-value", file=sys.stderr)
warnings.warn("warning {token}")
def boom():
    raise RuntimeError("thread {token}")
t = threading.Thread(target=boom); t.start(); t.join()
sys.stderr.flush()
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0 and run.stdout == run.stderr == ""  # nothing in listener.out
    log = Path(paths.listener_log_file()).read_text()
    assert token not in log and "configured-secret-value" not in log
    tok = "«secret: Telegram bot token»"
    for shown in (f"stdout {tok}", f"stderr {tok} «secret»", f"warning {tok}",
                  f"RuntimeError: thread {tok}"):
        assert shown in log


def test_start_reports_why_the_listener_could_not_start(tether_home: Path) -> None:
    configure(tether_home)
    Path(paths.listener_socket()).parent.mkdir(parents=True, exist_ok=True)
    Path(paths.listener_socket()).mkdir()  # the socket path is taken by a directory
    failed = cli("listener", "start")
    assert failed.returncode == 1
    assert "the listener exited at once" in failed.stderr
    assert "listener.sock" in failed.stderr


# -- hooks and the listener -------------------------------------------------------------------


def test_a_hook_starts_the_listener_and_a_cli_decision_is_shown(hook: HookRunner,
                                                               tether_home: Path) -> None:
    record = configure(tether_home)
    proc = hook.start("claude", perm())
    (request,) = pending()
    until(lambda: calls(record, "post_request"), what="the request to be posted")
    assert relay.listener_pid() is not None
    assert cli("approve", request["id"]).returncode == 0
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    (shown,) = until(lambda: calls(record, "show_outcome"), what="the outcome")
    assert shown["request_id"] == request["id"] and shown["outcome"].startswith("✅ Allowed by")


def test_the_hook_falls_back_at_once_when_the_listener_cannot_start(hook: HookRunner,
                                                                    tether_home: Path) -> None:
    configure(tether_home)
    Path(paths.listener_socket()).parent.mkdir(parents=True, exist_ok=True)
    Path(paths.listener_socket()).mkdir()  # no listener can bind there
    # approval_timeout is 300 s: a hook that waited would time out this run
    run = hook.run("claude", perm(), timeout=60)
    assert run.output is None  # Claude Code asks in its own dialog
    assert "could not be started" in run.stderr
    (request,) = Store().read()["requests"].values()
    assert request["status"] == "expired" and request["decision"]["via"] == "listener"


def test_the_hook_falls_back_at_once_when_no_platform_can_post(hook: HookRunner,
                                                               tether_home: Path) -> None:
    configure(tether_home, fail="start")
    # a hook that waited out its 300 s approval_timeout would time out this run
    run = hook.run("claude", perm(), {"TETHER_HOOKS_APPROVAL_TIMEOUT": "300"}, timeout=60)
    assert run.output is None and "no chat platform is reachable" in run.stderr
    out = hook.run("claude", perm() | {"hook_event_name": "PreToolUse", "tool_use_id": "t"})
    assert out.output["hookSpecificOutput"]["permissionDecision"] == "ask"


def test_local_approvals_keep_waiting_without_a_listener(hook: HookRunner,
                                                         tether_home: Path) -> None:
    configure(tether_home, extra="local_approvals = true\n", fail="start")
    proc = hook.start("claude", perm())
    (request,) = pending()
    until(lambda: json.loads(cli("listener", "status", "--json").stdout).get("bridges", {})
          .get("memory", {}).get("state") == "auth", what="the bridge to fail")
    assert Store().read()["requests"][request["id"]]["status"] == "pending"
    assert cli("approve", request["id"]).returncode == 0
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_a_decision_made_while_the_listener_restarts_is_not_lost(hook: HookRunner,
                                                                 tether_home: Path) -> None:
    record = configure(tether_home)
    proc = hook.start("claude", perm())
    (request,) = pending()
    until(lambda: calls(record, "post_request"), what="the request to be posted")
    assert cli("listener", "stop").returncode == 0
    assert cli("approve", request["id"]).returncode == 0  # nobody relays it right now
    run = hook.finish(proc)
    assert run.output["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
    cli("listener", "start")  # (the waiting hook may have restarted it already)
    (shown,) = until(lambda: calls(record, "show_outcome"), what="the outcome after restart")
    assert shown["request_id"] == request["id"]
    assert len(calls(record, "post_request")) == 1  # not posted twice


def test_a_waiting_hook_restarts_a_listener_that_died(hook: HookRunner,
                                                      tether_home: Path) -> None:
    record = configure(tether_home)
    proc = hook.start("claude", perm())
    (request,) = pending()
    until(lambda: calls(record, "post_request"), what="the request to be posted")
    log = Path(paths.listener_log_file())
    until(lambda: f"request {request['id']}: the hook is waiting" in log.read_text(),
          what="the hook's doorbell")
    first = relay.listener_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)  # a crash: no clean shutdown
    until(lambda: relay.listener_pid() not in (None, first), what="a new listener")
    assert Store().read()["requests"][request["id"]]["status"] == "pending"
    cli("approve", request["id"])
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_a_timer_hit_never_touches_the_listener(hook: HookRunner, tether_home: Path) -> None:
    configure(tether_home)
    assert cli("allow-tool", "Bash").returncode == 0
    run = hook.run("claude", perm())
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert relay.listener_pid() is None and not Path(paths.listener_socket()).exists()


def test_notification_and_stop_post_notices(hook: HookRunner, tether_home: Path) -> None:
    record = configure(tether_home)
    base = {"session_id": "s-1", "cwd": "/home/u/proj", "transcript_path": "/t.jsonl"}
    hook.run("claude", base | {"hook_event_name": "Notification", "message": "Claude needs "
                               "your permission", "notification_type": "permission_prompt"})
    idle = hook.run("claude", base | {"hook_event_name": "Notification",
                                      "message": "Claude is waiting for your input",
                                      "notification_type": "idle_prompt"})
    assert (idle.stdout, idle.stderr) == ("", "")
    done = hook.run("claude", base | {"hook_event_name": "Stop", "stop_hook_active": False,
                                      "last_assistant_message": "All tests pass."})
    assert done.stdout == ""
    notices = until(lambda: len(calls(record, "post_notice")) >= 2 and
                    calls(record, "post_notice"), what="two notices")
    assert [(n["kind"], n["session_id"]) for n in notices] == [("waiting", "s-1"),
                                                               ("finished", "s-1")]
    assert "waiting for your input" in notices[0]["text"]
    assert "All tests pass." in notices[1]["text"]


def test_stop_from_the_chat_stops_the_next_tool_call(hook: HookRunner) -> None:
    Store().touch_session({"session_id": "s-1", "agent": "claude", "cwd": "/tmp"})
    Store().set_session("s-1", stop={"by": "@alice", "via": "telegram", "at": time.time()})
    run = hook.run("claude", perm())
    decision = run.output["hookSpecificOutput"]["decision"]
    assert decision == {"behavior": "deny", "message": "Stopped by @alice via tether-hooks.",
                        "interrupt": True}
    assert "stop" not in Store().read()["sessions"]["s-1"]
    assert hook.run("claude", perm()).stdout == ""  # used up: no platform, no decision


def test_the_fast_path_stays_stdlib_only_with_a_platform(tether_home: Path) -> None:
    from harness.fastpath import assert_fast_path

    from tether_hooks import config, timers

    configure(tether_home)
    timers.add("tool", "30m", created_by="test", tool="Bash")
    config.hook_config()
    assert "allow" in assert_fast_path("claude", perm())


def test_the_listener_restarts_itself_when_the_config_changes(tether_home: Path) -> None:
    configure(tether_home)
    pid = daemon.start()["pid"]
    record = tether_home / "elsewhere.jsonl"
    configure(tether_home, record=str(record))  # a new [memory] table
    until(lambda: calls(record, "start"), what="the bridge of the new config")
    info = daemon.status()
    assert info["running"] and info["pid"] == pid  # re-executed in place
    assert "restarting for the new config" in Path(paths.listener_log_file()).read_text()

"""``tether-hooks doctor`` with ``[shared]``: against the real Redis, a wrong password, a Redis
that is down, the README's ACL user, and another listener using this machine's name. The
password never shows; a failure is a check with a fix, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness.redis import RedisServer, free_port, shared_table

from tether_hooks.main import cli
from tether_hooks.shared.keys import Keys

README = Path(__file__).resolve().parents[2] / "README.md"


def write_config(home: Path, table: dict[str, object]) -> None:
    lines = [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    (home / "config.toml").write_text("[shared]\n" + "\n".join(lines) + "\n")


def doctor() -> tuple[int, dict[str, dict], str]:
    """Exit status, the checks by name (--json), and the human output."""
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    human = CliRunner().invoke(cli, ["doctor"]).output
    return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)}, human


@pytest.fixture(autouse=True)
def _no_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_HOOKS_REDIS_URL", raising=False)


def test_a_healthy_shared_store_is_reported_check_by_check(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    write_config(tether_home, shared_table(redis_server, "laptop", namespace))
    _, found, human = doctor()
    assert found["shared"]["status"] == "ok"
    assert f"redis://:***@127.0.0.1:{redis_server.port}/0 answers" in found["shared"]["detail"]
    assert "machine 'laptop'" in found["shared"]["detail"]
    assert found["shared tls"] == {"name": "shared tls", "status": "ok", "fix": "",
                                   "detail": "no TLS, to 127.0.0.1 (loopback: nothing crosses "
                                             "a network)"}
    assert found["shared version"]["status"] == "ok"
    assert found["shared version"]["detail"].startswith("Redis 7.")
    assert found["shared persistence"]["detail"] == "appendonly yes"
    assert found["shared clock"]["status"] == "ok"
    assert found["shared clock"]["detail"].endswith("s from Redis TIME")
    machine = found["shared machine"]
    assert machine["status"] == "ok" and "no record yet" in machine["detail"]
    assert "no listener leads now" in machine["detail"]
    # with [shared] and no platform of its own, this machine still needs its listener
    assert found["listener"]["status"] == "warn"
    assert "[ok  ] shared: " in human
    assert redis_server.password not in human


def test_the_url_may_come_from_the_environment(
        redis_server: RedisServer, namespace: str, tether_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_HOOKS_REDIS_URL", redis_server.url)
    write_config(tether_home, {"machine": "laptop", "namespace": namespace})
    _, found, human = doctor()
    assert found["shared"]["status"] == "ok" and found["shared persistence"]["status"] == "ok"
    assert redis_server.password not in human


def test_a_wrong_password_fails_and_says_to_check_the_password(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    wrong = "not-the-password-" + uuid.uuid4().hex[:8]
    url = redis_server.url.replace(redis_server.password, wrong)
    write_config(tether_home, {"redis_url": url, "machine": "laptop", "namespace": namespace})
    code, found, human = doctor()
    assert code == 1
    assert found["shared"]["status"] == "fail"
    assert "AuthenticationError" in found["shared"]["detail"]
    assert "check the user and password of redis_url" in found["shared"]["fix"]
    assert "shared version" not in found  # nothing else is asked of a Redis that refused us
    assert wrong not in human and wrong not in json.dumps(found)
    assert "Traceback" not in human


def test_a_redis_that_is_down_is_a_failed_check_with_the_fallback_named(
        tether_home: Path) -> None:
    port = free_port()
    password = "down-password-" + uuid.uuid4().hex[:8]
    write_config(tether_home, {"redis_url": f"redis://:{password}@127.0.0.1:{port}/0",
                               "machine": "laptop"})
    code, found, human = doctor()
    assert code == 1
    shared = found["shared"]
    assert shared["status"] == "fail" and "is unreachable" in shared["detail"]
    assert "ConnectionError" in shared["detail"]
    assert shared["fix"].startswith(f"start Redis on 127.0.0.1:{port} or correct redis_url")
    assert "its own platforms" in shared["fix"] and "tether-hooks approve" in shared["fix"]
    assert found["shared tls"]["status"] == "ok"  # known without a connection
    assert f"[FAIL] shared: the shared store redis://:***@127.0.0.1:{port}/0" in human
    assert password not in human and "Traceback" not in human


def test_plaintext_to_another_host_warns(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    # 0.0.0.0 is not a loopback name (so plaintext = true is needed), yet a connection to it
    # stays on this host: the real server answers and nothing leaves the machine
    url = redis_server.url.replace("127.0.0.1", "0.0.0.0")
    write_config(tether_home, {"redis_url": url, "machine": "laptop", "namespace": namespace,
                               "plaintext": True})
    _, found, human = doctor()
    tls = found["shared tls"]
    assert tls["status"] == "warn" and "no TLS to 0.0.0.0 (plaintext = true)" in tls["detail"]
    assert "cross the network in clear" in tls["detail"] and "rediss://" in tls["fix"]
    assert found["shared"]["status"] == "ok"
    assert redis_server.password not in human


def test_the_readme_acl_user_passes_every_check_but_persistence_is_unknown(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    line = next(x for x in README.read_text().splitlines() if "ACL SETUSER tether" in x)
    command = line[line.index("ACL SETUSER"):].strip().strip("`")
    user, password = f"tether-{namespace}", uuid.uuid4().hex
    words = command.replace("ACL SETUSER tether ", f"ACL SETUSER {user} ", 1).split()
    words = [f">{password}" if w == ">PASSWORD" else w for w in words]
    admin = redis_server.client()
    assert admin.execute_command(*words) == "OK"
    try:
        url = f"redis://{user}:{password}@127.0.0.1:{redis_server.port}/0"
        write_config(tether_home, {"redis_url": url, "machine": "laptop",
                                   "namespace": namespace})
        _, found, human = doctor()
        for name in ("shared", "shared version", "shared clock", "shared machine"):
            assert found[name]["status"] == "ok", found[name]
        persistence = found["shared persistence"]
        assert persistence["status"] == "ok"
        assert persistence["detail"].startswith("appendonly unknown: CONFIG GET was refused")
        assert password not in human
    finally:
        admin.acl_deluser(user)


def test_another_listener_with_this_machines_name_is_a_warning(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    write_config(tether_home, shared_table(redis_server, "laptop", namespace))
    keys, admin = Keys(namespace), redis_server.client()
    seconds, micros = admin.time()
    now_ms = seconds * 1000 + micros // 1000
    admin.hset(keys.machine("laptop"), mapping={"pid": 999999, "state": "member",
                                                "beat": now_ms - 2000, "version": "0.1.0"})
    admin.set(keys.leader, "devbox:4242:0a1b2c3d", px=8000)
    _, found, _ = doctor()
    machine = found["shared machine"]
    assert machine["status"] == "warn"
    assert re.search(r"'laptop' is in use by another listener \(pid 999999, member, beat [23] s "
                     r"ago\)", machine["detail"]), machine
    assert "no listener runs here" in machine["detail"]
    assert "leader: devbox" in machine["detail"]
    assert "machine = " in machine["fix"]

    admin.hset(keys.machine("laptop"), "beat", now_ms - 120_000)  # that install went away
    _, found, _ = doctor()
    machine = found["shared machine"]
    assert machine["status"] == "ok" and "last seen pid 999999" in machine["detail"]
    assert re.search(r"beat 12[01] s ago", machine["detail"]), machine


def test_without_the_redis_client_the_extra_is_named(
        redis_server: RedisServer, namespace: str, tether_home: Path) -> None:
    write_config(tether_home, shared_table(redis_server, "laptop", namespace))
    probe = ("import sys, json; sys.modules['redis'] = None\n"  # as if redis-py were absent
             "from tether_hooks.doctor import run_checks\n"
             "print(json.dumps([c.__dict__ for c in run_checks() if c.name == 'shared']))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=30, env={**os.environ})
    assert run.returncode == 0, run.stderr
    [shared] = json.loads(run.stdout)
    assert shared["status"] == "fail" and "redis-py) is not installed" in shared["detail"]
    assert "--extras all" in shared["fix"]

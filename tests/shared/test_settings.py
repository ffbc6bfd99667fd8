"""``[shared]`` settings: a Redis anyone could write to is refused, secrets stay masked."""

from __future__ import annotations

import pytest
from harness.redis import RedisServer

from tether_hooks import config
from tether_hooks.errors import ConfigError
from tether_hooks.shared import client, settings


@pytest.mark.parametrize("url, problem", [
    ("redis://127.0.0.1:6379/0", "has no password"),
    ("rediss://redis.example:6380", "has no password"),
    ("rediss://tether@redis.example:6380", "has no password"),
    ("redis://:pw@redis.example:6379", "password would cross the network in clear"),
    ("http://:pw@redis.example", "must start with rediss://"),
    ("redis://:pw@:6379", "names no host"),
    ("redis://:pw@host:99999", "is not a URL"),
])
def test_a_url_anyone_could_write_to_is_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        settings.check({"redis_url": url, "machine": "laptop"}, env={})
    assert ":pw@" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "rediss://:secret@redis.example:6380/0",
    "rediss://tether:secret@redis.example:6380/2",
    "redis://:secret@127.0.0.1:6379",
    "redis://tether:secret@localhost:6379",
])
def test_a_url_with_a_password_is_accepted_and_masked(url: str) -> None:
    s = settings.check({"redis_url": url, "machine": "laptop"}, env={})
    assert s.password == "secret"
    assert "secret" not in s.where() and "***" in s.where()


def test_loopback_without_password_needs_the_opt_in_and_only_on_loopback() -> None:
    ok = settings.check({"redis_url": "redis://127.0.0.1:6379", "insecure_loopback": True},
                        env={})
    assert ok.password is None
    with pytest.raises(ConfigError, match="has no password"):
        settings.check({"redis_url": "rediss://10.0.0.5:6379", "insecure_loopback": True},
                       env={})


def test_plaintext_to_another_host_needs_the_opt_in() -> None:
    s = settings.check({"redis_url": "redis://:pw@10.0.0.5:6379", "plaintext": True}, env={})
    assert not s.tls


def test_the_url_may_come_from_the_environment() -> None:
    s = settings.check({"machine": "devbox"},
                       env={settings.ENV_URL: "rediss://:pw@redis.example:6380"})
    assert s.url.endswith("redis.example:6380") and s.machine == "devbox"
    with pytest.raises(ConfigError, match="needs redis_url"):
        settings.check({"machine": "devbox"}, env={})


@pytest.mark.parametrize("table, problem", [
    ({"machine": "Laptop!"}, "machine = 'Laptop!' is invalid"),
    ({"machine": "all"}, "reserved"),
    ({"machine": ""}, "is invalid"),
    ({"namespace": "a b"}, "namespace = 'a b' is invalid"),
    ({"tls_ca": "/nonexistent/ca.pem"}, "not a readable file"),
    ({"plaintext": "yes"}, "must be true or false"),
    ({"redis_urll": "x"}, "unknown key 'redis_urll'"),
])
def test_bad_values_are_named(table: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        settings.check({"redis_url": "rediss://:pw@h:1", **table}, env={})


def test_config_validation_checks_the_table_and_the_hook_relays() -> None:
    with pytest.raises(ConfigError, match=r"\[shared\] must be a table"):
        config.validate({"shared": "redis://x"})
    cfg = config.validate({"shared": {"redis_url": "rediss://:pw@h:1", "machine": "a1"}})
    assert config._hook_view(cfg)["platforms"] == ["shared"]
    assert "pw" not in str(config._hook_view(cfg))


def test_the_default_machine_name_is_a_valid_one() -> None:
    assert settings._MACHINE.fullmatch(settings.default_machine())


def test_a_wrong_password_is_a_clear_message_without_the_password(
        redis_server: RedisServer) -> None:
    url = redis_server.url.replace(redis_server.password, "wrongpassword123")
    s = settings.check({"redis_url": url, "machine": "laptop"}, env={})
    with pytest.raises(client.SharedUnavailable) as caught, client.unavailable(s):
        client.connect_sync(s).ping()
    assert "wrongpassword123" not in str(caught.value)
    assert "unreachable" in str(caught.value)


def test_a_server_that_is_down_fails_fast(redis_server: RedisServer) -> None:
    from harness.redis import free_port

    s = settings.check({"redis_url": f"redis://:pw@127.0.0.1:{free_port()}/0"}, env={})
    with pytest.raises(client.SharedUnavailable, match="Connection"), client.unavailable(s):
        client.connect_sync(s, timeout=1).ping()

"""The ``[shared]`` checks of ``tether-hooks doctor``: the Redis answers and takes our
password, TLS or not, its version and persistence, this clock against Redis ``TIME``, and
who else uses this machine's name. The password is never shown; a Redis that is down is a
failed check with the reason, not a traceback."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import redis

from tether_hooks.check import Check
from tether_hooks.shared.client import SharedUnavailable, connect_sync, unavailable
from tether_hooks.shared.keys import Keys
from tether_hooks.shared.settings import ENV_URL, SharedSettings

__all__ = ["LIVE", "MAX_SKEW", "MIN_VERSION", "checks"]

MIN_VERSION = (6, 2)  # XAUTOCLAIM, GETDEL
MAX_SKEW = 2.0  # seconds between this clock and Redis TIME before a warning
LIVE = 30.0  # a machine record that beat this recently belongs to a running listener


def checks(s: SharedSettings, local_pid: Callable[[], int | None]) -> list[Check]:
    """Every ``[shared]`` finding; ``local_pid`` gives this machine's running listener."""
    tls = _tls(s)
    client = connect_sync(s)
    try:
        try:
            with unavailable(s):
                client.ping()
        except SharedUnavailable as exc:
            return [Check("shared", "fail", str(exc), _unreachable_fix(str(exc), s)), tls]
        found = [Check("shared", "ok", f"{s.where()} answers (machine {s.machine!r}, "
                                        f"namespace {s.namespace!r})"), tls]
        try:
            with unavailable(s):
                found.append(_version(client))
                found.append(_appendonly(client))
                clock, now = _clock(client)
                found.append(clock)
                found.append(_machine(client, s, now, local_pid))
        except SharedUnavailable as exc:
            found.append(Check("shared", "fail", str(exc), _unreachable_fix(str(exc), s)))
        return found
    finally:
        client.close()


def _unreachable_fix(text: str, s: SharedSettings) -> str:
    fallback = ("until then each machine's listener serves its own platforms: answer in the "
                "terminal or with `tether-hooks approve` on that machine")
    if "Authentication" in text or "WRONGPASS" in text or "NOAUTH" in text:
        return (f"check the user and password of redis_url in [shared] (or {ENV_URL}) against "
                f"the server's requirepass or ACL user; {fallback}")
    if "NoPermission" in text or "NOPERM" in text:
        return f"give the ACL user +@connection (see the README's ACL SETUSER line); {fallback}"
    host = urlsplit(s.url)
    return (f"start Redis on {host.hostname}:{host.port or 6379} or correct redis_url in "
            f"[shared] (or {ENV_URL}); {fallback}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls(s: SharedSettings) -> Check:
    if s.tls:
        ca = f", CA {s.tls_ca}" if s.tls_ca else ", the system's CAs"
        return Check("shared tls", "ok", f"TLS (rediss://{ca})")
    host = urlsplit(s.url).hostname or ""
    if _loopback(host):
        return Check("shared tls", "ok", f"no TLS, to {host} (loopback: nothing crosses a network)")
    return Check("shared tls", "warn",
                 f"no TLS to {host} (plaintext = true): the password and every request cross "
                 "the network in clear",
                 "serve Redis over TLS (tls-port) and use rediss://... in redis_url, with "
                 "tls_ca = \"/path/ca.pem\" for a private CA")


def _version(client: redis.Redis) -> Check:
    info = client.info("server")
    text = str(info.get("redis_version", "?"))
    parts = tuple(int(p) for p in text.split(".")[:2] if p.isdecimal())
    if len(parts) == 2 and parts >= MIN_VERSION:
        return Check("shared version", "ok", f"Redis {text}")
    return Check("shared version", "fail",
                 f"Redis {text}: the shared store needs 6.2 or later (XAUTOCLAIM)",
                 "upgrade the Redis server to 6.2 or later (7.x recommended)")


def _appendonly(client: redis.Redis) -> Check:
    try:
        value = client.config_get("appendonly").get("appendonly")
    except redis.ResponseError as exc:  # an ACL user without CONFIG, a managed Redis
        return Check("shared persistence", "ok",
                     f"appendonly unknown: CONFIG GET was refused ({exc}); "
                     "make sure the server runs with appendonly yes")
    if value == "yes":
        return Check("shared persistence", "ok", "appendonly yes")
    return Check("shared persistence", "warn",
                 f"appendonly {value or 'unknown'}: a Redis restart may lose decisions and timers "
                 "written since its last snapshot",
                 "set appendonly yes in redis.conf (now: redis-cli CONFIG SET appendonly yes)")


def _clock(client: redis.Redis) -> tuple[Check, float]:
    """The skew of this clock against Redis TIME, and Redis's time (seconds)."""
    before = time.time()
    seconds, micros = client.time()
    after = time.time()
    now = seconds + micros / 1e6
    skew = (before + after) / 2 - now
    if abs(skew) <= MAX_SKEW:
        return Check("shared clock", "ok", f"{abs(skew):.2f} s from Redis TIME"), now
    side = "ahead of" if skew > 0 else "behind"
    return Check("shared clock", "warn",
                 f"this machine's clock is {abs(skew):.1f} s {side} Redis TIME: timers and "
                 "expiry times set on one machine are read by the others",
                 "sync the clock (timedatectl set-ntp true; on macOS: sntp -sS time.apple.com)"
                 ), now


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _machine(client: redis.Redis, s: SharedSettings, now: float,
             local_pid: Callable[[], int | None]) -> Check:
    keys = Keys(s.namespace)
    record = cast(dict[str, str], client.hgetall(keys.machine(s.machine)))  # decoded
    token = cast(str | None, client.get(keys.leader))
    leader = f"leader: {token.split(':', 1)[0]}" if token else "no listener leads now"
    name = f"machine {s.machine!r}"
    if not record:
        return Check("shared machine", "ok",
                     f"{name}: no record yet (its listener writes one when it runs); {leader}")
    pid = _number(record.get("pid"))
    beat = _number(record.get("beat"))
    age = now - beat / 1000 if beat is not None else None
    seen = f"beat {age:.0f} s ago" if age is not None else "no beat"
    about = f"pid {int(pid) if pid is not None else '?'}, {record.get('state', '?')}, {seen}"
    if age is None or age > LIVE:
        return Check("shared machine", "ok", f"{name}: last seen {about}; {leader}")
    mine = local_pid()
    if pid is not None and mine == int(pid):
        return Check("shared machine", "ok", f"{name}: this machine's listener ({about}); "
                                             f"{leader}")
    here = f"this machine's listener is pid {mine}" if mine else "no listener runs here"
    return Check("shared machine", "warn",
                 f"{name} is in use by another listener ({about}) and {here}: two installs "
                 f"with one name take each other's requests and decisions; {leader}",
                 "give this machine its own name (machine = \"...\" under [shared] in "
                 "config.toml, then `tether-hooks listener stop && tether-hooks listener "
                 "start`), unless that listener is this machine's own that just restarted")

"""``[shared]`` in config.toml: where the shared Redis is and what this machine is called.

    [shared]
    redis_url = "rediss://tether:PASSWORD@redis.example:6380/0"   # or env TETHER_HOOKS_REDIS_URL
    machine = "laptop"          # shown in chat; default: the host name
    tls_ca = "/path/ca.pem"     # a CA for rediss:// (default: the system's)
    namespace = "tether"        # key prefix, for several fleets on one Redis
    insecure_loopback = false   # allow a URL without a password, on 127.0.0.1/::1 only
    plaintext = false           # allow redis:// (no TLS) to a host that is not loopback

Standard library only (config validation calls ``check``).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tether_hooks.errors import ConfigError

__all__ = ["ENV_URL", "SharedSettings", "check", "default_machine", "load", "masked"]

ENV_URL = "TETHER_HOOKS_REDIS_URL"
_MACHINE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_RESERVED = ("all", "fleet", "leader")  # key names (keys.Keys) a machine name must not be
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_KEYS = {"redis_url", "machine", "tls_ca", "namespace", "insecure_loopback", "plaintext"}


@dataclass(frozen=True)
class SharedSettings:
    url: str
    machine: str
    namespace: str = "tether"
    tls_ca: str | None = None

    @property
    def password(self) -> str | None:
        return unquote(urlsplit(self.url).password or "") or None

    @property
    def tls(self) -> bool:
        return self.url.startswith("rediss://")

    def where(self) -> str:
        """The URL with its password masked, for status and logs."""
        return masked(self.url)


def default_machine() -> str:
    """The host name as a machine name: lower case, letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-")
    return (name or "machine")[:32]


def masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def check(table: object, path: str = "config.toml",
          env: Mapping[str, str] | None = None) -> SharedSettings:
    """``[shared]`` checked; ConfigError names the key and says what to do."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [shared] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: [shared] has an unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(_KEYS))})")
    env = os.environ if env is None else env
    url = table.get("redis_url") or env.get(ENV_URL, "")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{path}: [shared] needs redis_url (or the environment variable "
                          f"{ENV_URL}), e.g. rediss://user:password@host:6380/0")
    flags = {}
    for key in ("insecure_loopback", "plaintext"):
        flags[key] = table.get(key, False)
        if not isinstance(flags[key], bool):
            raise ConfigError(f"{path}: [shared] {key} must be true or false")
    _check_url(url, path, loopback_ok=flags["insecure_loopback"], plaintext=flags["plaintext"])
    machine = table.get("machine", default_machine())
    if machine in _RESERVED:
        raise ConfigError(f"{path}: [shared] machine = {machine!r} is reserved; choose another")
    if not isinstance(machine, str) or not _MACHINE.fullmatch(machine):
        raise ConfigError(f"{path}: [shared] machine = {machine!r} is invalid: use 1 to 32 "
                          "lower-case letters, digits and dashes, starting with a letter or digit")
    namespace = table.get("namespace", "tether")
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"{path}: [shared] namespace = {namespace!r} is invalid: use 1 to 32 "
                          "letters, digits, dashes or underscores")
    ca = table.get("tls_ca")
    if ca is not None and (not isinstance(ca, str) or not os.path.isfile(ca)):
        raise ConfigError(f"{path}: [shared] tls_ca = {ca!r} is not a readable file")
    return SharedSettings(url=url, machine=machine, namespace=namespace, tls_ca=ca)


def _check_url(url: str, path: str, *, loopback_ok: bool, plaintext: bool) -> None:
    where = masked(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (a bad port raises ValueError)
    except ValueError as exc:
        raise ConfigError(f"{path}: [shared] redis_url {where} is not a URL: {exc}") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"{path}: [shared] redis_url {where} must start with rediss:// "
                          "(TLS) or redis://")
    if not host:
        raise ConfigError(f"{path}: [shared] redis_url {where} names no host")
    loopback = host in _LOOPBACK
    if not parts.password and not (loopback_ok and loopback):
        raise ConfigError(
            f"{path}: [shared] redis_url {where} has no password: whoever can write to that "
            "Redis can approve anything on every machine. Set one (requirepass, or ACL "
            "SETUSER) and give it as rediss://user:password@host:port"
            + ("" if not loopback else "; or set insecure_loopback = true (loopback only)"))
    if parts.scheme == "redis" and not loopback and not plaintext:
        raise ConfigError(
            f"{path}: [shared] redis_url {where} is redis:// to another host: the password "
            "would cross the network in clear. Use rediss:// (TLS), or set plaintext = true "
            "if the network is private")


def load(cfg: Mapping[str, object]) -> SharedSettings | None:
    """The shared settings of a loaded config, or None without ``[shared]``."""
    table = cfg.get("shared")
    if table is None:
        return None
    return check(table)

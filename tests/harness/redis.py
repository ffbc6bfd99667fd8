"""A real Redis server (the Debian ``redis-server``) on 127.0.0.1, with a password.

``RedisServer`` starts ``/usr/bin/redis-server`` on a free port in a temporary directory
(append-only file, fsync always, so a restart keeps what was written), waits for PING,
and can be stopped and started again on the same port (``stop``, ``start``). Each test gets
its own namespace (``th:<namespace>:``), so one server serves a whole session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid

import redis

__all__ = ["RedisServer", "free_port", "shared_table"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, directory: str) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.directory = directory
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--requirepass", self.password, "--dir", self.directory,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", os.path.join(self.directory, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start (see {self.directory})") from None
                time.sleep(0.02)  # polling for the server's socket

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def shared_table(server: RedisServer, machine: str, namespace: str | None = None) -> dict[str, str]:
    """A ``[shared]`` table for ``machine`` on ``server`` (a fresh namespace unless given)."""
    return {"redis_url": server.url, "machine": machine,
            "namespace": namespace or uuid.uuid4().hex[:12]}

"""The waiting hook's end of the listener's push (see ``listener/server.py``, op "wait").

After its doorbell a waiting hook keeps one connection to the listener open, asking to be
woken for its request. It then waits with ``select`` on that socket instead of sleeping
between two polls of the store: when the listener has written a decision it writes a line,
and the hook reads the store at once. The line is only a wake-up, never the decision (the
store stays the record), and without a connection (no listener, a restart, an old listener
that does not know "wait") the hook just sleeps between polls as before.

Stdlib only: the hook's slow path imports this module.
"""

from __future__ import annotations

import json
import select
import socket
import time

from tether_hooks import paths

__all__ = ["Push"]

MAX_PENDING = 64 * 1024  # bytes read per wake-up; the content does not matter


class Push:
    """A wait connection for one request; ``wait(seconds)`` sleeps or wakes early."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock

    @classmethod
    def open(cls, rid: str, timeout: float = 1.0) -> Push:
        """Connect and ask to be woken for ``rid``; a closed Push if the listener is away."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(paths.listener_socket())
            sock.sendall(json.dumps({"op": "wait", "id": rid}).encode() + b"\n")
            sock.setblocking(False)
        except OSError:
            sock.close()
            return cls(None)
        return cls(sock)

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if the listener wrote (read the store now)."""
        if self.sock is None:
            time.sleep(seconds)
            return False
        try:
            ready, _, _ = select.select([self.sock], [], [], seconds)
            if not ready:
                return False
            data = self.sock.recv(MAX_PENDING)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:  # the listener went away: poll on, a new one may be rung later
            self.close()
        return True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

"""A fast, honest way to run the real hook thousands of times: a long-lived ``python -I``
process imports ``tether_hooks.hook`` once, then forks one real child per call. Each child
gets the call's bytes on fd 0 and files on fds 1 and 2, sets ``sys.argv`` as the shim
does, runs ``tether_hooks.hook.main`` exactly as ``hooks/tether-hook`` does
(``sys.exit(main())``, an uncaught exception printing its traceback), and exits; the parent
reports its exit code, stdout and stderr. Nothing of ours is replaced or mocked.

Protocol: one JSON line per call on the server's stdin, ``{"argv": [b64...], "stdin": b64}``;
one JSON line back, ``{"rc": int, "out": b64, "err": b64}``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass

SERVER = r'''
import base64, io, json, os, sys, tempfile, traceback
import tether_hooks.hook, tether_hooks.agents.claude, tether_hooks.agents.codex
import tether_hooks.store, tether_hooks.relay  # warm: the slow path imports them
enc = {n: (getattr(sys, n).encoding, getattr(sys, n).errors) for n in ("stdin", "stdout", "stderr")}
ctl_in, ctl_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
work = tempfile.mkdtemp()
for line in ctl_in:
    call = json.loads(line)
    argv = [os.fsdecode(base64.b64decode(a)) for a in call["argv"]]
    names = [os.path.join(work, n) for n in ("in", "out", "err")]
    with open(names[0], "wb") as f:
        f.write(base64.b64decode(call["stdin"]))
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            for fd, name, flags in ((0, names[0], os.O_RDONLY),
                                    (1, names[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                    (2, names[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                new = os.open(name, flags, 0o600); os.dup2(new, fd); os.close(new)
            def wrap(fd, mode, name):
                raw = io.FileIO(fd, mode, closefd=False)
                buf = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
                return io.TextIOWrapper(buf, encoding=enc[name][0], errors=enc[name][1])
            sys.stdin, sys.stdout, sys.stderr = (wrap(0, "r", "stdin"), wrap(1, "w", "stdout"),
                                                 wrap(2, "w", "stderr"))
            sys.argv = ["tether-hook", *argv]
            try:
                code = tether_hooks.hook.main()
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                traceback.print_exc(); code = 1
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 1)
        except BaseException:
            os._exit(98)
    _, status = os.waitpid(pid, 0)
    out, err = (open(n, "rb").read() for n in names[1:])
    ctl_out.write(json.dumps({"rc": os.waitstatus_to_exitcode(status),
                              "out": base64.b64encode(out).decode(),
                              "err": base64.b64encode(err).decode()}).encode() + b"\n")
    ctl_out.flush()
'''


@dataclass
class Call:
    rc: int
    stdout: str
    stderr: str


class ForkHook:
    """The fork server: ``run(argv, stdin_bytes)`` is one real hook process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def run(self, argv: list[str | bytes], stdin: bytes = b"") -> Call:
        assert self.proc.stdin and self.proc.stdout
        args = [base64.b64encode(a if isinstance(a, bytes) else os.fsencode(a)).decode()
                for a in argv]
        self.proc.stdin.write(json.dumps({"argv": args,
                                          "stdin": base64.b64encode(stdin).decode()}).encode()
                              + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        answer = json.loads(line)
        return Call(answer["rc"], base64.b64decode(answer["out"]).decode("utf-8", "replace"),
                    base64.b64decode(answer["err"]).decode("utf-8", "replace"))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)

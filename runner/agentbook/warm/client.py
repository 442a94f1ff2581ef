"""The `agentbook` shim inside a jail: hands this call to the warm worker, or runs the real `agentbook`.

This file is not imported. `agentbook.warm.pool` copies it, under a shebang (`#!PYTHON -IS`: no site,
no PYTHON* variables, a ~15 ms start) and with REAL set to the real console script, into the folder
bound read-only at `/run/agentbook-warm` in the jail, first on PATH. Standard library only.

The call: connect to SOCK, send the arguments, the environment, the working folder, the umask and
this process's stdin/stdout/stderr (the descriptors themselves, SCM_RIGHTS), wait for the worker's
`Y` and answer `G`; from then on the worker's forked child is this call: signals sent here are
passed on, and the child's exit status becomes this process's own (a child killed by a signal kills
this process with the same signal). Any `N`, silence or error before `G` runs the real `agentbook`
here instead (the cold path): nothing ran yet, so nothing runs twice.
"""
from __future__ import annotations

import os
import signal
import socket
import struct
import sys

SOCK = os.path.join(os.path.dirname(__file__), "sock")  # beside this shim: its folder is the worker's
REAL = "agentbook"  # replaced by the pool with the absolute path of the real console script
MAGIC = b"AB1"
WAIT_FOR_WORKER = 5.0  # seconds for the worker's yes or no; it answers at once when idle
LOST = 70  # agentbook's internal-error exit: the worker went away mid-call (the call may have half run)
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGALRM)


def cold() -> None:
    try:
        os.execv(REAL, [REAL, *sys.argv[1:]])
    except OSError as err:
        sys.stderr.write(f"agentbook: cannot run {REAL}: {err.strerror}\n")
        os._exit(127)


def request() -> tuple[bytes, list[int]]:
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            pass
    mask = "".join("1" if fd in fds else "0" for fd in (0, 1, 2)).encode()
    umask = os.umask(0o22)
    os.umask(umask)
    args = [os.fsencode(a) for a in sys.argv[1:]]
    env = [k + b"=" + v for k, v in os.environb.items()]
    fields = [MAGIC, mask, str(umask).encode(), os.fsencode(os.getcwd()), str(len(args)).encode(), *args, *env]
    body = b"\0".join(fields)
    return struct.pack(">I", len(body)) + body, fds


def main() -> None:
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(WAIT_FOR_WORKER)
        conn.connect(SOCK)
        message, fds = request()
        sent = socket.send_fds(conn, [message[:4096]], fds)
        conn.sendall(message[sent:])
        if conn.recv(1) != b"Y":
            conn.close()
            return cold()
        conn.sendall(b"G")
    except (OSError, ValueError):
        return cold()
    conn.settimeout(None)
    for sig in FORWARDED:
        signal.signal(sig, lambda signum, _frame: _forward(conn, signum))
    status = _wait(conn)
    if status is None:
        sys.stderr.write("agentbook: the warm worker went away during the call\n")
        os._exit(LOST)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else LOST)


def _forward(conn: socket.socket, signum: int) -> None:
    try:
        conn.sendall(b"S" + bytes([signum]))
    except OSError:
        pass


def _wait(conn: socket.socket) -> int | None:
    got = b""
    while len(got) < 5:
        try:
            chunk = conn.recv(5 - len(got))
        except OSError:
            return None
        if not chunk:
            return None
        got += chunk
    if got[:1] != b"X":
        return None
    return int(struct.unpack(">i", got[1:])[0])


if __name__ == "__main__":
    main()

"""The warm worker: agentbook, imported once, inside the jail, forking one child per `agentbook` call.

Started by `agentbook.warm.pool` as `python -I -m agentbook.warm.server` in a jail built exactly as
the calls' own (`agentbook.session.jail`: same root, binds, read-only paths, limits, seccomp filter,
environment), with the listening socket and a pipe to say "ready" as inherited descriptors. It never
runs outside that jail, holds no secret (its environment is a call's clean one) and no state a call
can change: per call it reads one request, forks, and the child becomes `agentbook ARGS` with the
caller's descriptors, folder, umask and environment.

One call at a time: a call that arrives while another runs is told `N` at once (its shim runs the
real `agentbook`, so a pipeline of two `agentbook` calls never waits on itself). After every call,
whatever it started is killed (`kill(-1)` inside the worker's pid namespace: only the worker and
bubblewrap's init survive), its /tmp, /dev/shm and System V IPC objects are removed, and only then
is the exit status sent and the next call accepted. A call whose client goes away (its gate or bash
call timed out and its jail was killed) is killed the same way. The worker is not dumpable, so no
child can read or write its memory through /proc (ptrace itself is refused by the seccomp filter).

What a warm call cannot have that a cold one has, so the worker answers `N` (cold) for it: a folder
outside the root, an argument or variable naming /tmp, /dev/shm, /dev/fd or /proc (those are the
caller's own, not the worker's), or interpreter settings (PYTHON*, LANG, LC_*, TZ) other than the
worker's own.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import gc
import importlib
import io
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MAGIC = b"AB1"
MAX_REQUEST = 4 * 1024 * 1024  # bytes of argv and environment (Linux's own cap on both is lower)
FORWARDABLE = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
               signal.SIGALRM}
ELSEWHERE = (b"/tmp", b"/dev/shm", b"/dev/fd", b"/proc", b"/dev/std")  # the caller's, not the worker's
INTERPRETER_ENV = (b"PYTHON", b"LC_", b"LANG", b"TZ")
SCRATCH_MODES: dict[str, int] = {}  # /tmp and /dev/shm -> their mode when the worker started
MOUNTS: set[str] = set()  # the jail's mount points, and the folders above them: never removed
MOUNT_PARENTS: set[str] = set()
# Beside every command module: what the demo's gates (eval run/show, baseline, validate) import lazily.
PRELOAD = ("agentbook.launcher", "agentbook.evals.runner", "agentbook.evals.graders", "agentbook.evals.validate",
           "agentbook.models.scripted", "agentbook.models.spec", "agentbook.models.pricing",
           "agentbook.workflows.baseline", "jsonschema")
PR_SET_DUMPABLE = 4
CLEAN_SECONDS = 5.0


@dataclass
class Request:
    fds: dict[int, int]  # 0, 1, 2 -> the received descriptor (absent when the caller had it closed)
    umask: int
    cwd: bytes
    args: list[bytes]
    env: dict[bytes, bytes]


class Worker:
    def __init__(self, listener: socket.socket, root: bytes) -> None:
        self.listener, self.root = listener, root
        from agentbook.session.jail import install_paths

        # bound at the same place in every jail of this root: the root and this Python's and agentbook's
        # install (a checkout or venv under /tmp, as in CI, is not "the caller's /tmp")
        self.same = sorted([root, *(os.fsencode(p) for p in install_paths(Path(os.fsdecode(root))))],
                           key=len, reverse=True)
        self.own_env = {k: v for k, v in os.environb.items() if k.startswith(INTERPRETER_ENV)}

    def serve(self) -> Request:
        """Accept calls forever; returns only in a forked child, with the request it is to run."""
        while True:
            conn, _ = self.listener.accept()
            try:
                request = self._handle(conn)
            except OSError:
                request = None
            if request is not None:
                return request
            conn.close()

    def _handle(self, conn: socket.socket) -> Request | None:
        conn.settimeout(CLEAN_SECONDS)
        request = _read_request(conn)
        if request is None:
            return None
        pid = -1
        try:
            if not self._agreed(conn, request):
                return None
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
        finally:
            if pid != 0:
                _close(request)  # the worker keeps none of a caller's descriptors
        if pid == 0:
            self.listener.detach()  # closed in `become` with every other inherited descriptor
            conn.detach()
            return request
        try:
            status = self._supervise(conn, pid)
            _clean()
        except BaseException as err:  # noqa: BLE001 -- a call it cannot account for: no more calls
            sys.stderr.write(f"agentbook warm worker: lost track of a call ({err!r}); exiting\n")
            os._exit(1)  # its jail goes with it, and every process in it
        sys.stderr.write(f"warm: {'caller gone' if status is None else f'wait status {status}'}\n")
        if status is not None:
            conn.sendall(b"X" + struct.pack(">i", status))
        return None

    def _agreed(self, conn: socket.socket, request: Request) -> bool:
        """`Y` and the shim's `G` (it had not given up waiting), or `N` and the shim runs cold."""
        why = self._refuse(request) or (None if threading.active_count() == 1 else "the worker has threads")
        if why is not None:
            sys.stderr.write(f"cold: {why}\n")
            conn.sendall(b"N")
            return False
        conn.sendall(b"Y")
        return conn.recv(1) == b"G"

    def _refuse(self, request: Request) -> str | None:
        """Why this call must run cold (said in the worker's log, which only the runner reads), or None."""
        cwd = request.cwd
        if cwd != self.root and not cwd.startswith(self.root.rstrip(b"/") + b"/"):
            return "its folder is outside the root"
        if any(_elsewhere(value, self.same) for value in request.args):
            return "an argument names the caller's own /tmp, /dev or /proc, or climbs out of the root"
        from agentbook.session.sandbox import SCRATCH_ENV  # loaded with the CLI already: a lookup

        # the scratch folders every call gets (XDG caches...) name "a private /tmp": the worker's, emptied
        # after each call, serves as well as the call's own
        scratch = {k.encode(): v.encode() for k, v in SCRATCH_ENV.items()}
        if any(_elsewhere(value, self.same) for key, value in request.env.items() if scratch.get(key) != value):
            return "a variable names the caller's own /tmp, /dev or /proc, or climbs out of the root"
        theirs = {k: v for k, v in request.env.items() if k.startswith(INTERPRETER_ENV)}
        if theirs != self.own_env:
            return "its interpreter settings (PYTHON*, LANG, LC_*, TZ) are not the worker's"
        return None

    def _supervise(self, conn: socket.socket, pid: int) -> int | None:
        """Wait for the child; pass signals on; kill it when the caller goes. The status, or None
        when the caller went away."""
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        for fd in (conn.fileno(), pidfd, self.listener.fileno()):
            poller.register(fd, select.POLLIN)
        conn.setblocking(False)
        try:
            while True:
                for fd, _ in poller.poll():
                    if fd == self.listener.fileno():
                        _busy(self.listener)
                    elif fd == pidfd:
                        return os.waitpid(pid, 0)[1]
                    elif not _pass_signals(conn, pid):
                        _kill_all()  # the child too, reaped with the rest
                        return None
        finally:
            os.close(pidfd)
            conn.setblocking(True)


def _elsewhere(value: bytes, same: list[bytes]) -> bool:
    """Whether `value` may name a place that is the caller's own (its /tmp, its descriptors) or climb
    out of the root towards one; the places in `same` (the root, often under /tmp, and the install) are
    the same in both jails."""
    rest = value
    for place in same:
        rest = rest.replace(place.rstrip(b"/"), b"")
    return any(place in rest for place in ELSEWHERE) or b"../" in rest or rest.endswith(b"..")


def _read_request(conn: socket.socket) -> Request | None:
    try:
        head, fds, _flags, _addr = socket.recv_fds(conn, 4096, 3)
    except (OSError, ValueError):
        return None
    received = list(fds)
    try:
        while len(head) < 4 or len(head) < 4 + struct.unpack(">I", head[:4])[0]:
            if len(head) >= 4 and struct.unpack(">I", head[:4])[0] > MAX_REQUEST:
                raise ValueError("too big")
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("short")
            head += chunk
        return _parse(head[4:4 + struct.unpack(">I", head[:4])[0]], received)
    except (OSError, ValueError, struct.error):
        for fd in received:
            os.close(fd)
        return None


def _parse(body: bytes, received: list[int]) -> Request:
    fields = body.split(b"\0")
    if len(fields) < 5 or fields[0] != MAGIC:
        raise ValueError("not a request")
    mask, umask, cwd, count = fields[1], int(fields[2]), fields[3], int(fields[4])
    if len(mask) != 3 or set(mask) - {ord("0"), ord("1")} or mask.count(b"1") != len(received):
        raise ValueError("descriptors do not match")
    if not 0 <= umask <= 0o777 or not cwd.startswith(b"/") or not 0 <= count <= len(fields) - 5:
        raise ValueError("bad fields")
    args = fields[5:5 + count]
    env: dict[bytes, bytes] = {}
    for entry in fields[5 + count:]:
        key, sep, value = entry.partition(b"=")
        if not sep or not key:
            raise ValueError("bad environment entry")
        env[key] = value
    present = [i for i in range(3) if mask[i:i + 1] == b"1"]
    return Request(dict(zip(present, received)), umask, cwd, args, env)


def _close(request: Request) -> None:
    for fd in request.fds.values():
        with contextlib.suppress(OSError):
            os.close(fd)


def _busy(listener: socket.socket) -> None:
    """A second call while one runs: `N`, and its shim runs the real agentbook."""
    try:
        other, _ = listener.accept()
    except OSError:
        return
    with contextlib.suppress(OSError):
        other.setblocking(False)
        other.send(b"N")
    other.close()


def _pass_signals(conn: socket.socket, pid: int) -> bool:
    """Signals the caller received, passed to the child; False once the caller is gone."""
    try:
        data = conn.recv(256)
    except BlockingIOError:
        return True
    except OSError:
        return False
    if not data:
        return False
    for i in range(0, len(data) - 1, 2):
        if data[i:i + 1] == b"S" and data[i + 1] in FORWARDABLE:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, data[i + 1])
    return True


# -- between calls: nothing of one call is left for the next ------------------------------------------

def _clean() -> None:
    """Kill everything but this worker, empty the scratch folders and IPC; exit (so later calls run
    cold) when that cannot be done."""
    try:
        _kill_all()
        for place, mode in SCRATCH_MODES.items():
            _empty(place, mode)
        _remove_sysv_ipc()
    except Exception as err:  # noqa: BLE001 -- whatever it was, this worker is no longer clean
        sys.stderr.write(f"agentbook warm worker: cannot clean up after a call ({err}); exiting\n")
        os._exit(1)


def _kill_all() -> None:
    """SIGKILL every process of this pid namespace but this one and bubblewrap's init, until none is left."""
    me = os.getpid()
    deadline = time.monotonic() + CLEAN_SECONDS
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        _reap()
        left = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {', '.join(left[:5])} outlived their call")
        time.sleep(0.002)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _empty(place: str, mode: int) -> None:
    """Remove what the call left in `place`, folders it locked (chmod 000) included, and give `place`
    back its mode. Never a mount (the root itself is bound under /tmp when it lives there) nor
    anything across one: only what is on `place`'s own file system, outside every mount point."""
    os.chmod(place, mode)
    _remove_children(place, os.lstat(place).st_dev)


def _remove_children(folder: str, device: int) -> None:
    for entry in os.scandir(folder):
        info = entry.stat(follow_symlinks=False)
        if info.st_dev != device or entry.path in MOUNTS:
            continue
        if entry.path in MOUNT_PARENTS:  # a folder bubblewrap made to hold a mount: keep it, empty the rest
            _remove_children(entry.path, device)
        elif stat.S_ISDIR(info.st_mode):
            os.chmod(entry.path, 0o700)
            _remove_children(entry.path, device)
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)


def _mounts() -> set[str]:
    """Every mount point of this jail (from the worker's own mountinfo, read when it starts)."""
    points = set()
    with open("/proc/self/mountinfo", "rb") as table:
        for line in table:
            point = line.split(b" ")[4].decode("utf-8", "surrogateescape")
            points.add(point.encode().decode("unicode_escape") if "\\" in point else point)
    return points


def _remove_sysv_ipc() -> None:
    """System V shared memory, semaphores and message queues outlive their processes: remove them."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, call in (("shm", libc.shmctl), ("sem", libc.semctl), ("msg", libc.msgctl)):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                rows = table.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            ident = int(row.split()[1])
            if kind == "sem":
                call(ident, 0, 0)  # semctl(id, semnum, IPC_RMID)
            else:
                call(ident, 0, None)  # IPC_RMID


# -- the child: becomes `agentbook ARGS` --------------------------------------------------------------

def become(request: Request) -> None:
    """In the forked child: the caller's descriptors, folder, umask and environment, and nothing else
    of the worker's (every other descriptor is closed)."""
    os.setsid()
    _prctl(PR_SET_DUMPABLE, 1)  # as a cold `agentbook` is; only the worker itself is kept undumpable
    for target in (0, 1, 2):
        if target in request.fds:
            os.dup2(request.fds[target], target)
        else:
            with contextlib.suppress(OSError):
                os.close(target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.umask(request.umask)
    os.chdir(request.cwd)
    os.environb.clear()
    os.environb.update(request.env)
    _stdio()
    from agentbook.warm import real_agentbook

    sys.argv = [real_agentbook(), *(os.fsdecode(a) for a in request.args)]


def _stdio() -> None:
    """New sys.stdin/stdout/stderr on the caller's descriptors, made as Python makes them at start-up
    (names, encoding, errors, buffering: line-buffered on a terminal, and stderr always)."""
    old = sys.stdout
    encoding = old.encoding if old is not None else "utf-8"
    errors = old.errors if old is not None else "strict"
    streams: list[IO[Any] | None] = []
    for fd, name in ((0, "<stdin>"), (1, "<stdout>"), (2, "<stderr>")):
        try:
            raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        except OSError:
            streams.append(None)
            continue
        raw.name = name
        tty = raw.isatty()
        buffer = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        streams.append(io.TextIOWrapper(buffer, encoding=encoding,
                                        errors="backslashreplace" if fd == 2 else errors,
                                        line_buffering=tty or fd == 2))
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams  # type: ignore[misc,assignment]


def _preload() -> None:
    """Import every command and what the usual ones use; a module that cannot be imported here is left
    for the call that needs it to import (and fail on) as a cold start would."""
    from agentbook.cli import COMMANDS

    for name in [*(target.partition(":")[0] for target in COMMANDS.values()), *PRELOAD]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 -- any failure is the call's to meet, cold as warm
            continue


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value})")


def main() -> None:
    ap = argparse.ArgumentParser(prog="agentbook-warm-worker")
    ap.add_argument("--listen-fd", type=int, required=True)
    ap.add_argument("--ready-fd", type=int, required=True)
    opts = ap.parse_args()
    _prctl(PR_SET_DUMPABLE, 0)
    for place in ("/tmp", "/dev/shm"):
        SCRATCH_MODES[place] = stat.S_IMODE(os.stat(place).st_mode)
    MOUNTS.update(_mounts())
    for point in list(MOUNTS):
        parent = os.path.dirname(point)
        while parent not in ("/", ""):
            MOUNT_PARENTS.add(parent)
            parent = os.path.dirname(parent)
    _preload()
    listener = socket.socket(fileno=opts.listen_fd)
    worker = Worker(listener, os.fsencode(os.getcwd()))
    os.write(opts.ready_fd, b"R")
    os.close(opts.ready_fd)
    gc.freeze()  # the imported modules stay out of every collection: children neither scan nor copy them
    request = worker.serve()
    become(request)
    _exit(_run_agentbook())


def _run_agentbook() -> int:
    """`agentbook ARGS` in this child, as the console script runs it; its exit code."""
    from agentbook.launcher import main as agentbook_main

    try:
        agentbook_main()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 -- what the interpreter does with an uncaught exception
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def _exit(code: int) -> None:
    """What the end of the interpreter does that a caller can see (threads joined, atexit handlers
    run, output flushed), without tearing down every module the worker imported, which took 0.2 s."""
    # The interpreter's own order: threading's exit hooks first (they tell idle pool workers, e.g. a
    # shared ThreadPoolExecutor's, to stop), then the join of non-daemon threads; joining first waits
    # forever on a pool that was never told.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError) as err:  # what Python says and does when its output cannot be flushed
            with contextlib.suppress(OSError, ValueError):
                if sys.stderr is not None and stream is not sys.stderr:
                    sys.stderr.write(f"Exception ignored in: {stream!r}\n{type(err).__name__}: {err}\n")
                    sys.stderr.flush()
            code = code or 120
    os._exit(code)


if __name__ == "__main__":
    main()

"""The runner's side of the warm worker: one per worktree and role, in a jail like the calls' own.

A role is who calls: `gate` (the runbook's checks) or `bash` (the agent's tool). They never share a
worker, so the agent's bash cannot even reach the worker its gates use. A worker is keyed by what its
jail and environment are made of (limits, read-only paths, environment): a call whose key differs
runs cold, and the worker is replaced for the next call.

`use()` is all a call asks: None (run cold: the switch is off, the worker is still importing, it died,
or it cannot start here) or the bind and environment that put the shim first on PATH. The worker runs
in `agentbook.session.jail` exactly as the call does; it is started from a thread of its own that
lives as long as it does (bubblewrap's `--die-with-parent` follows the thread that started it), and
it dies with this process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.warm import JAIL_DIR, enabled, real_agentbook

CLIENT = Path(__file__).with_name("client.py")
SHEBANG_MAX = 250  # Linux reads 256 bytes of a script's first line
STARTS_PER_ROOT = 3  # a worker that keeps dying is not started again: every call runs cold
ROLES = ("gate", "bash")
WAIT_FOR_START = 30.0  # seconds a call waits for a worker that is still starting, at most


@dataclass(frozen=True)
class Use:
    """What one call needs to reach a ready worker: its folder bound read-only at JAIL_DIR, and the
    environment with the shim first on PATH."""

    ro_at: list[tuple[str, str]]
    env: dict[str, str]


class Worker:
    def __init__(self, role: str, root: Path, limits: Limits, read_only: list[str], env: dict[str, str],
                 options: list[str] | None = None) -> None:
        self.role, self.root, self.limits, self.read_only = role, root, limits, list(read_only)
        self.options = list(options or [])  # more of bubblewrap's: the gates' gate-state folder
        self.env = with_shim(env)
        self.key = _key(limits, read_only, env, self.options)
        self.home = Path(tempfile.mkdtemp(prefix="agentbook-warm-", dir=_runtime_dir()))
        self.log = self.home.with_name(self.home.name + ".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self._ready_fd: int | None = None
        self._ready = False
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._stopped = False

    # -- life ----------------------------------------------------------------------------------------

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"agentbook-warm-{self.role}", daemon=True).start()

    def _run(self) -> None:
        """Start the jailed worker and wait for it: this thread is its parent for bubblewrap."""
        call = None
        try:
            proc, call = self._spawn()
        except (OSError, jail.JailUnavailable) as err:
            self.log.write_text(f"cannot start: {err}\n")
            self._started.set()
            return
        self.proc = proc
        self._started.set()
        if self._stopped:
            _kill(proc)
        proc.wait()
        call.close()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], jail.Call]:
        self._write_shim()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        read_fd, write_fd = os.pipe()
        try:
            listener.bind(str(self.home / "sock"))
            listener.listen(64)
            argv = [sys.executable, "-I", "-m", "agentbook.warm.server", "--listen-fd", str(listener.fileno()),
                    "--ready-fd", str(write_fd)]
            call = jail.prepare(self.root, self.limits, argv=argv, read_only=self.read_only, options=self.options)
            try:
                with open(self.log, "wb") as log:
                    proc = subprocess.Popen(call.argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                                            pass_fds=(*call.pass_fds, listener.fileno(), write_fd))
            except BaseException:
                call.close()
                raise
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            listener.close()  # the worker holds it now; with it gone, calls are refused, not queued
            os.close(write_fd)
        self._ready_fd = read_fd
        return proc, call

    def _write_shim(self) -> None:
        shebang = f"#!{sys.executable} -IS\n"
        if len(shebang) > SHEBANG_MAX or "\n" in sys.executable[:-1]:
            raise OSError(f"the path of this Python is too long for a script's first line: {sys.executable}")
        text = CLIENT.read_text().replace('REAL = "agentbook"', f"REAL = {real_agentbook()!r}", 1)
        shim = self.home / "agentbook"
        shim.write_text(shebang + text)
        shim.chmod(0o755)

    def ready(self) -> bool:
        """True once the worker has imported agentbook and listens, while it lives."""
        return self.wait_ready(0.0)

    def wait_ready(self, seconds: float) -> bool:
        """Wait up to `seconds` for the worker's "ready" (it writes one byte, then closes the pipe)."""
        deadline = time.monotonic() + seconds
        if not self._ready and not self._started.wait(seconds):
            return False
        with self._lock:
            if not self._ready and self._ready_fd is not None:
                readable, _, _ = select.select([self._ready_fd], [], [], max(0.0, deadline - time.monotonic()))
                if readable:
                    self._ready = os.read(self._ready_fd, 1) == b"R"
                    os.close(self._ready_fd)
                    self._ready_fd = None
        return self._ready and self.proc is not None and self.proc.poll() is None

    def dead(self) -> bool:
        return self._started.is_set() and (self.proc is None or self.proc.poll() is not None)

    def stop(self) -> None:
        self._stopped = True
        if self.proc is not None:
            _kill(self.proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with self._lock:
            if self._ready_fd is not None:
                os.close(self._ready_fd)
                self._ready_fd = None
        shutil.rmtree(self.home, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.log.unlink()

    def use(self) -> Use:
        return Use([(str(self.home), JAIL_DIR)], dict(self.env))


def _runtime_dir() -> str | None:
    """Where the worker's folder goes on the host: /run (root) or $XDG_RUNTIME_DIR, where sockets
    belong, else the temporary folder."""
    for place in ("/run", os.environ.get("XDG_RUNTIME_DIR") or ""):
        if place and os.path.isdir(place) and os.access(place, os.W_OK | os.X_OK):
            return place
    return None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # bubblewrap: its pid namespace, and the worker, go with it


def _key(limits: Limits, read_only: list[str], env: dict[str, str], options: list[str]) -> tuple[object, ...]:
    return limits, tuple(read_only), tuple(sorted(env.items())), tuple(options)


def with_shim(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PATH": JAIL_DIR + os.pathsep + env.get("PATH", "/usr/bin:/bin")}


# -- the pool ---------------------------------------------------------------------------------------

_lock = threading.Lock()
_workers: dict[tuple[str, str], Worker] = {}
_starts: dict[tuple[str, str], int] = {}


def use(role: str, root: Path, limits: Limits, read_only: list[str], env: dict[str, str], *,
        start: bool = False, options: list[str] | None = None) -> Use | None:
    """For one jailed call in `root`: how to reach a ready worker, or None to run cold. `prewarm`
    starts a worker (a run whose gates call agentbook), or a call with `start` (the agent's first bash
    call of agentbook: it runs cold itself); one still importing is waited for (a cold start would cost
    as much, and compete with it for the CPU). A worker whose jail or environment differs from this
    call's is replaced, for the next call."""
    with _lock:
        fresh = (str(root.resolve()), role) not in _workers
    worker = _get(role, root, limits, read_only, env, options or [], start=start)
    if worker is None or (fresh and not worker.ready()):
        return None
    return worker.use() if worker.wait_ready(WAIT_FOR_START) else None


def prewarm(role: str, root: Path, limits: Limits, read_only: list[str], env: dict[str, str],
            wait: float = 0.0, options: list[str] | None = None) -> bool:
    """Start the worker a root's calls will use (a run does this before its first step), and optionally
    wait for it; True when it is ready."""
    worker = _get(role, root, limits, read_only, env, options or [], start=True)
    return worker is not None and worker.wait_ready(wait)


def _get(role: str, root: Path, limits: Limits, read_only: list[str], env: dict[str, str], options: list[str], *,
         start: bool) -> Worker | None:
    if not enabled() or role not in ROLES or not os.path.exists(real_agentbook()):
        return None
    slot = (str(root.resolve()), role)
    old = None
    with _lock:
        worker = _workers.get(slot)
        if worker is not None and (worker.key != _key(limits, read_only, env, options) or worker.dead()):
            old, worker = _workers.pop(slot), None
            start = True  # this root is warm: the next call finds a worker that fits
        if worker is None and start and _starts.get(slot, 0) < STARTS_PER_ROOT:
            _starts[slot] = _starts.get(slot, 0) + 1
            worker = _workers[slot] = Worker(role, Path(slot[0]), limits, read_only, env, options)
            worker.start()
    if old is not None:
        old.stop()
    return worker


def stop(root: Path | None = None) -> None:
    """Stop the workers of `root` (all of them when None)."""
    with _lock:
        slots = [s for s in _workers if root is None or s[0] == str(root.resolve())]
        doomed = [_workers.pop(s) for s in slots]
        for slot in slots:
            _starts.pop(slot, None)
    for worker in doomed:
        worker.stop()


def log_of(role: str, root: Path) -> str:
    """The worker's log: a line per call it served (`warm: ...`) or sent back cold (`cold: why`); no
    argument or variable of any call is in it."""
    worker = _workers.get((str(root.resolve()), role))
    try:
        return worker.log.read_text() if worker is not None else ""
    except OSError:
        return ""


def worker_pid(role: str, root: Path) -> int | None:
    """The host pid of the bubblewrap that holds a root's worker (for tests and the benchmark)."""
    worker = _workers.get((str(root.resolve()), role))
    return worker.proc.pid if worker is not None and worker.proc is not None else None


def worker_python_pid(role: str, root: Path) -> int | None:
    """The host pid of the worker's own Python process (bubblewrap -> its init -> the worker: the first
    descendant that runs Python), whose pid namespace and CPU time tests and the benchmark read; None
    when no worker runs or its Python has not started."""
    pid = worker_pid(role, root)
    queue = [] if pid is None else [pid]
    while queue:
        current = queue.pop(0)
        try:
            if "python" in Path(f"/proc/{current}/comm").read_text():
                return current
            queue += [int(child) for task in Path(f"/proc/{current}/task").iterdir()
                      for child in (task / "children").read_text().split()]
        except OSError:  # it ended while we looked
            continue
    return None


atexit.register(stop)

"""`agentbook watch DIR`: every ticket file dropped in DIR becomes a run, at most N at a time.

State lives in files (`DIR/.agentbook-watch/<ticket>.json`: queued, running, done, failed, with the
run id), so a restarted watcher neither loses nor repeats a ticket: `running` ones are resumed with
`agentbook run --resume`, `done`/`failed` ones are left alone, except a ticket refused before its run
began (a typo in its runbook or inputs) whose file has changed since: that one starts again. Each run is its own `agentbook run`
process; SIGTERM stops new starts and forwards SIGTERM, so running sessions stop at a saved state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from agentbook.errors import EXIT_INTERRUPTED, FatalError
from agentbook.fsutil import atomic_write_json, exclusive_lock, open_regular
from agentbook.gitops.branches import slug
from agentbook.outcome import EXIT_CODES, OutcomeKind
from agentbook.runbooks.record import RUNNING, new_run_id, now_iso, pid_alive

STATE_DIR = ".agentbook-watch"
TICKET_SUFFIXES = (".md", ".json", ".txt")
DONE_CODES = (0, 10)  # completed, no_changes
TERMINAL = {k.value for k in OutcomeKind}
SETTLE_SECONDS = 0.3  # a ticket must be unchanged this long before it starts (writers still writing)


@dataclass
class TicketState:
    ticket: str  # file name inside DIR
    status: str = "queued"  # queued | running | done | failed
    run_id: str | None = None
    exit_code: int | None = None
    error: str = ""
    updated_at: str = field(default_factory=now_iso)
    ticket_sha: str = ""  # the file as it was started: a refused ticket edited since starts again

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


Emit = Callable[[dict[str, Any]], None]


class Watcher:
    def __init__(self, directory: Path, *, repo: Path, concurrency: int, run_args: list[str], once: bool,
                 emit: Emit) -> None:
        if concurrency < 1:
            raise FatalError("--concurrency must be at least 1")
        self.dir = directory.resolve()
        if not self.dir.is_dir():
            raise FatalError(f"not a directory: {directory}")
        self.state_dir = self.dir / STATE_DIR
        self.repo, self.concurrency, self.run_args = repo.resolve(), concurrency, run_args
        self.once, self.emit = once, emit
        self.events: queue.Queue[Path] = queue.Queue()
        self.pending: dict[str, float] = {}  # ticket name -> when it was last seen changing
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.errors: dict[str, IO[bytes]] = {}  # each run's stderr, kept in a file (see _start)
        self.stopping = False
        self.failed = 0  # tickets that failed in this watcher's lifetime (`--once` exits 1)

    # -- state files -----------------------------------------------------------------------------

    def _state_path(self, name: str) -> Path:
        return self.state_dir / f"{name}.state.json"

    def load_state(self, name: str) -> TicketState | None:
        path = self._state_path(name)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return TicketState(**{k: v for k, v in data.items() if k in TicketState.__dataclass_fields__})

    def save_state(self, state: TicketState) -> None:
        state.updated_at = now_iso()
        atomic_write_json(self._state_path(state.ticket), state.to_json())
        self.emit(state.to_json())

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> int:
        # from here on by its descriptor: a dropper who may rename entries of the folder cannot swap it later
        self.state_dir = _own_folder(self.state_dir)
        busy = f"another agentbook watch is already watching {self.dir}"
        with exclusive_lock(self.state_dir / "watch.lock", busy), self._observer(), self._sigterm():
            for path in sorted(self.dir.iterdir()):
                self._seen(path, initial=True)
            while True:
                self._drain_events()
                if not self.stopping:
                    self._start_ready()
                self._reap()
                if not self.running and (self.stopping or (self.once and not self.pending)):
                    return 1 if self.failed and not self.stopping else 0
                time.sleep(0.05)

    def _seen(self, path: Path, initial: bool = False) -> None:
        if path.parent != self.dir or not _regular(path) or path.name.startswith(".") \
                or path.suffix not in TICKET_SUFFIXES:
            return
        state = self.load_state(path.name)
        if state is None or (state.status == "failed" and self._edited_since_refused(state, path)):
            self.save_state(TicketState(path.name))
        elif state.status in ("done", "failed") or path.name in self.running:
            if initial and state.status == "failed":  # say so: a silent skip reads as "nothing to do"
                self.emit({**state.to_json(), "error": (state.error + "\n" if state.error else "")
                           + "left alone: failed earlier (edit the ticket to start it again if it was "
                           "refused before its run began; else delete its state file)"})
            return
        # queued, or running when a watcher died: (re)start it; an existing run id resumes
        self.pending[path.name] = 0.0 if initial else time.monotonic()

    def _edited_since_refused(self, state: TicketState, path: Path) -> bool:
        """A ticket refused before its run began (no run record: nothing to resume, no branch made)
        whose file is no longer the one that was refused."""
        if self._record(state.run_id) is not None or not state.ticket_sha:
            return False
        return _sha(path) != state.ticket_sha

    def _drain_events(self) -> None:
        while True:
            try:
                path = self.events.get_nowait()
            except queue.Empty:
                return
            self._seen(path)

    def _start_ready(self) -> None:
        now = time.monotonic()
        for name in sorted(self.pending):
            if len(self.running) >= self.concurrency:
                return
            path = self.dir / name
            if not path.exists():
                self.pending.pop(name)
                continue
            if now - self.pending[name] < SETTLE_SECONDS or time.time() - path.stat().st_mtime < SETTLE_SECONDS:
                continue
            self.pending.pop(name)
            self._start(name)

    def _start(self, name: str) -> None:
        state = self.load_state(name) or TicketState(name)
        record = self._record(state.run_id)
        if record is not None:
            if record["status"] in TERMINAL:  # it finished after its watcher died
                self._settle(state, EXIT_CODES[OutcomeKind(record["status"])], "")
                return
            if record["status"] == RUNNING and pid_alive(record.get("pid")):  # still running, orphaned
                self.pending[name] = time.monotonic() + 1.0
                return
            args = ["run", "--resume", str(state.run_id)]
        else:
            if not _regular(self.dir / name):  # replaced by a link since it was seen
                return
            state.run_id = state.run_id or new_run_id(slug(Path(name).stem, 24))
            state.ticket_sha = _sha(self.dir / name)
            args = ["run", "--ticket", str(self.dir / name), "--run-id", state.run_id, *self.run_args]
        state.status = "running"
        self.save_state(state)
        # its stderr goes to a file, not a pipe read once it exits: a message past the pipe's 64 KiB (a ticket's
        # 200 KB runbook name, refused) blocked the run in write() for ever, and with it a watcher slot
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _tail when the run ends
        try:
            # -P: `python -m` puts the current folder first on sys.path, and the watcher is typed in the
            # repository's checkout: its `agentbook/` (or a `yaml.py`) ran as root with the runner's keys
            self.running[name] = subprocess.Popen(
                [sys.executable, "-P", "-m", "agentbook", *args, "--repo", str(self.repo), "--json"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        except BaseException:
            errors.close()
            raise
        self.errors[name] = errors

    def _record(self, run_id: str | None) -> dict[str, Any] | None:
        path = self.repo / ".agentbook" / "runs" / str(run_id) / "run.json"
        if not run_id or not path.exists():
            return None
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return record

    def _settle(self, state: TicketState, code: int, err: str) -> None:
        state.exit_code = code
        state.status = "done" if code in DONE_CODES else "failed"
        state.error = "" if code in DONE_CODES else err.strip()[-2000:]
        self.failed += code not in DONE_CODES
        self.save_state(state)

    def _reap(self) -> None:
        for name, proc in list(self.running.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.running[name]
            err = _tail(self.errors.pop(name))
            state = self.load_state(name) or TicketState(name)
            if code == EXIT_INTERRUPTED or (self.stopping and code < 0):
                state.exit_code = code
                state.error = "interrupted; resumes when the watcher starts again"  # status stays running
                self.save_state(state)
            else:
                self._settle(state, code, err)

    # -- plumbing --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _observer(self) -> Iterator[None]:
        events = self.events

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                target = getattr(event, "dest_path", "") or event.src_path
                if event.event_type in ("created", "moved", "modified", "closed") and not event.is_directory:
                    events.put(Path(os.fsdecode(target)))

        observer = Observer()
        observer.schedule(Handler(), str(self.dir), recursive=False)
        observer.start()
        try:
            yield
        finally:
            observer.stop()
            observer.join(timeout=5)

    @contextlib.contextmanager
    def _sigterm(self) -> Iterator[None]:
        def drain(signum: int, frame: FrameType | None) -> None:
            self.stopping = True
            for proc in self.running.values():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)

        previous = {sig: signal.signal(sig, drain) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


ERROR_TAIL = 8192


def _tail(errors: IO[bytes]) -> str:
    """The end of a finished run's stderr (the file closed after)."""
    with errors:
        size = errors.seek(0, os.SEEK_END)
        errors.seek(max(0, size - ERROR_TAIL))
        return errors.read().decode("utf-8", "replace")


def _own_folder(path: Path) -> Path:
    """Make `path` (the watcher's state folder, inside the folder strangers drop tickets into) or check
    the one there is a real folder of this user's that no one else may write, and return a path to it
    that stays its own (`/proc/self/fd/N` of a descriptor kept open): one planted before the watcher ran
    (`.agentbook-watch -> /etc/logrotate.d`, or a folder of the dropper's) had the runner, as root,
    create its lock and state files where the dropper chose, and read forged states back."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        fd = -1
    info = os.fstat(fd) if fd >= 0 else path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        what = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder" if not stat.S_ISDIR(info.st_mode) \
            else f"owned by uid {info.st_uid}" if info.st_uid != os.geteuid() else "writable by others"
        if fd >= 0:
            os.close(fd)
        raise FatalError(f"the watcher's state folder {path} is {what}: someone else may have made it",
                         hint="remove it if it is not yours; the watcher makes its own")
    return Path(f"/proc/self/fd/{fd}")  # held for the watcher's life


def _regular(path: Path) -> bool:
    """A regular file itself, never through a link: `environ.md -> /proc/self/environ` dropped in the folder
    had its run read the runner's environment (its keys) as the ticket, and a link to a user's file that."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _sha(path: Path) -> str:
    try:
        # in chunks, never through a link nor from a fifo (which blocked the watcher): a ticket is whatever
        # someone dropped in the folder, and may have been swapped since it was seen
        with open_regular(path, follow=False) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return ""

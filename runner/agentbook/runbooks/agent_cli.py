"""What every agent CLI engine shares: the jail it runs in, the relay it talks through, its spend.

An agent CLI (Claude Code, or any `command:`) runs in the same bubblewrap confinement as agentbook's
own bash: a read-only system, the run's worktree writable, protected paths and `.git` read-only, a
private /tmp, its own process and network namespaces. Its network namespace holds only loopback, so
the one way out is the relay's unix socket, bound read-only into the jail, which `relay_forward.py`
turns back into `ANTHROPIC_BASE_URL=http://127.0.0.1:<port>` for the agent. Its key is the relay's
token; the real key stays in the runner. Its home is the run's own `agent-home` folder (bound
writable, outside the worktree, so nothing there is committed), where its session files survive a
kill for `--resume`. Without bubblewrap there is no such confinement: these engines refuse to start.
Its stdout and stderr reach the runner over pipes of its own, and Claude Code, whose events decide a
step, is sealed from the commands it runs (`seal`: not dumpable, through a preloaded library, or the
loader's seal without a C compiler): none can write into those pipes through /proc. The jail's own stderr (bubblewrap's and the launcher's, which any process there can write
through `/proc/1/fd/2`) is kept apart: never evidence, only in the transcript as `jail_stderr`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentbook.confine import MODEL_ENV
from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_bytes, atomic_write_text, open_regular
from agentbook.models import relay_forward
from agentbook.models.base import Usage
from agentbook.models.relay import Relay, RelayLimits
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.redaction import Redactor
from agentbook.runbooks.engines import EngineContext
from agentbook.session import clib, jail
from agentbook.session.limits import GIB, Limits
from agentbook.session.sandbox import clean_env, protected_binds
from agentbook.session.trace import TraceRecorder
from agentbook.session.transcript import Transcript
from agentbook.session.watchdog import DiskMeter, Watchdog

STDERR_TAIL = 4000
LINE_LIMIT = 64 << 20  # one stream-json line carries a whole tool result
QUIET_ENV = {  # no updater, telemetry or error reports: there is no network to send them over anyway
    "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "NO_COLOR": "1"}


def elf_interpreter(binary: Path) -> str | None:
    """The ELF interpreter (PT_INTERP) `binary` names, or None: not ELF, static, or unreadable."""
    try:
        with open_regular(binary, follow=True) as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
    try:
        if wide:
            phoff, = struct.unpack_from(order + "Q", head, 0x20)
            entsize, count = struct.unpack_from(order + "HH", head, 0x36)
        else:
            phoff, = struct.unpack_from(order + "I", head, 0x1C)
            entsize, count = struct.unpack_from(order + "HH", head, 0x2A)
        for i in range(count):
            at = phoff + i * entsize
            kind, = struct.unpack_from(order + "I", head, at)
            if kind != 3:  # PT_INTERP
                continue
            offset, size = (struct.unpack_from(order + "QxxxxxxxxxxxxxxxxQ", head, at + 8) if wide else
                            struct.unpack_from(order + "IxxxxxxxxI", head, at + 4))
            name = head[offset:offset + size].split(b"\0", 1)[0]
            return name.decode() if name.startswith(b"/") else None
    except (struct.error, UnicodeDecodeError):
        return None
    return None


def seal_loader(binary: Path, folder: Path) -> tuple[Path, str]:
    """(an execute-only copy of `binary`'s ELF interpreter in `folder`, the interpreter's real path), to
    lay over the interpreter in the agent's jail. A process that runs a program it cannot read is not
    dumpable, so every dynamically linked process there (the agent first) has its `/proc/<pid>/fd`,
    `mem` and `environ` closed to the others: no command the agent runs opens `/proc/<agent>/fd/1` to
    write events into what the runner reads (relay_forward.py checks it held). A binary that is not a
    dynamically linked ELF program cannot be sealed so, and is refused."""
    interpreter = elf_interpreter(binary)
    if interpreter is None:
        raise FatalError(f"{binary} is not a dynamically linked program: its output could not be kept from "
                         "the commands it runs, which could then write events of their own into it",
                         hint="point AGENTBOOK_CLAUDE at Claude Code's native binary (claude.exe in the npm "
                              "package, or the one its installer puts in ~/.local/share/claude)")
    real = os.path.realpath(interpreter)
    try:
        with open_regular(Path(real), follow=False) as handle:
            data = handle.read()
    except OSError as err:
        raise FatalError(f"cannot read {real}, the interpreter {binary} names: {err.strerror}") from None
    loader = folder / "loader"
    folder.mkdir(parents=True, exist_ok=True)  # the run's own folder: the jail does not show it
    clear(loader)
    atomic_write_bytes(loader, data, mode=0o111)
    return loader, real


SEAL_AT = "/run/agentbook-agent/agentseal.so"  # where the seal library is shown in the agent's jail


@dataclass(frozen=True)
class Seal:
    """How an agent whose events decide steps is kept from the commands it runs: `preload`, a library
    that makes it not dumpable as it loads (agentbook/data/agentseal.c), or else `loader`, seal_loader's
    execute-only interpreter, which also stops `ld` from reading the loader (no C linking in the jail)."""

    preload: Path | None = None
    loader: tuple[Path, str] | None = None

    def ro_at(self) -> list[tuple[str, str]]:
        if self.preload is not None:
            return [(str(self.preload), SEAL_AT)]
        return [(str(self.loader[0]), self.loader[1])] if self.loader is not None else []

    def launcher_options(self) -> list[str]:
        return ["--sealed", "--preload", SEAL_AT] if self.preload is not None else ["--sealed"]


def seal(binary: Path, folder: Path) -> Seal:
    """The preloaded library where a C compiler can build it, else the loader's seal (where no compiler is
    there, no C is linked in the jail anyway: it shows the host's /usr)."""
    library, _ = clib.build("agentseal")
    return Seal(preload=library) if library is not None else Seal(loader=seal_loader(binary, folder))


def require_jail(agent: str) -> None:
    why = jail.problem()
    if why is not None:
        raise FatalError(f"agent {agent!r} runs only inside the bubblewrap sandbox, which does not work here: {why}",
                         hint="install bubblewrap (and allow user namespaces), or use --agent agentbook")


def agent_limits(limits: Limits, wall_seconds: float | None) -> Limits:
    """The run's jail limits for an agent CLI: one long-lived process (a JavaScript runtime reserves far
    more address space than a build step), so memory and CPU time are at least wide enough for a
    session; the run's wall clock still ends it."""
    return replace(limits, memory=max(limits.memory, 64 * GIB), cpu=max(limits.cpu, 3600.0, wall_seconds or 0.0))


def jail_call(root: Path, argv: list[str], *, protected: list[str], writable: list[Path],
              readable: list[Path], limits: Limits, ro_at: list[tuple[str, str]] | None = None) -> jail.Call:
    """`argv` in the same jail as the agent's bash (session/jail.py), plus the agent's own binds:
    `readable` host folders (the relay's socket, the agent's binary), `writable` ones (its home), and
    `ro_at` files shown read-only at another path (the sealing loader over the interpreter)."""
    call = jail.prepare(root, limits, argv=argv, read_only=protected_binds(root, [*protected, ".git"]),
                        host_ro=[str(p) for p in readable], ro_at=ro_at)
    cut = call.argv.index("--chdir")  # bubblewrap's own options end with --chdir ROOT --seccomp FD --
    extra = [part for path in writable for part in ("--bind", str(path), str(path))]
    return jail.Call([*call.argv[:cut], *extra, *call.argv[cut:]], call.pass_fds, call.cgroup)


def home_folder(home: Path, *parts: str) -> Path:
    """`home/parts...`, each folder on the way a real one: whatever the agent left in a folder's place
    (a symlink to a host folder, a file) is removed and the folder made. The home is the jailed agent's
    to write, and the runner writes there as itself (root): through `~/.claude -> /etc` it wrote into
    /etc. Called only while no process of the agent's runs (the jail dies with each message), so
    nothing can swap a link in between the check and the write."""
    path = home
    for part in parts:
        path = path / part
        try:
            is_folder = stat.S_ISDIR(path.lstat().st_mode)
        except FileNotFoundError:
            is_folder = False
        if not is_folder:
            clear(path)
            path.mkdir()
    return path


def clear(path: Path) -> None:
    """Remove `path` whatever it is (a link itself, never what it leads to); nothing when absent."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)  # never follows a link inside
    else:
        path.unlink()


# An agent CLI runs for minutes: its worktree is walked again this often (not every second, as for a
# bash call), the file system's free space read between walks still bounding the growth every tick.
DISK_REWALK_SECONDS = 5.0
HOME_SCRUB_LIMIT = 64 * 1024 * 1024  # larger files in the agent's home are caches, not transcripts


def scrub_home(home: Path, redactor: Redactor) -> int:
    """Redact the agent CLI's own files (its session transcripts, history, caches) as agentbook's records
    are: they sit in the run folder and hold whatever the agent read, a held secret included. Text files
    only; symlinks are not followed. Returns how many files were rewritten."""
    rewritten = 0
    for folder, _dirs, files in os.walk(home):
        for name in files:
            path = Path(folder) / name
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode) or info.st_size > HOME_SCRUB_LIMIT:
                    continue
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            clean = redactor.json_text(redactor.text(text)) if name.endswith((".json", ".jsonl")) else \
                redactor.text(text)
            if clean != text:
                atomic_write_text(path, clean, mode=stat.S_IMODE(info.st_mode))
                rewritten += 1
    return rewritten


class CliAgentSession:
    """The relay, the jail, the records and the spend of one agent CLI over a run's steps; subclasses
    say how to start the CLI for a message and what its output means."""

    agent = "command"

    def __init__(self, ctx: EngineContext, binary: Path | None) -> None:
        self.ctx = ctx
        self.root = ctx.root.resolve()
        self.home = ctx.state_dir / "agent-home"
        self.home.mkdir(parents=True, exist_ok=True)
        # the real file: the jail shows its folder only, not the npm link that points there
        self.binary = Path(os.path.realpath(binary)) if binary is not None else None
        self.redactor = redactor = Redactor(ctx.secrets)
        self.transcript = Transcript(ctx.transcript_path, ctx.session_id, redactor)
        self.trace = TraceRecorder(ctx.trace_path, ctx.session_id, redactor)
        self.trace.root.attributes["gen_ai.agent.name"] = self.agent
        self._sock_dir = Path(tempfile.mkdtemp(prefix="agentbook-relay-"))  # short: socket paths are <108 bytes
        before_usage, before_usd, self.turns_before = ctx.spent
        self.relay = Relay(ctx.model, socket_path=self._sock_dir / "relay.sock", trace=self.trace,
                           transcript=self.transcript, spent=(before_usage, before_usd),
                           limits=RelayLimits(max_usd=ctx.budgets.max_usd, max_tokens=ctx.budgets.max_tokens))
        self._started = False
        self._clock: float | None = None
        self._final = ""
        self.stderr_tail = ""  # the agent's own stderr: evidence in the record of a crash
        self.jail_tail = ""  # the jail's (bubblewrap's init, the launcher): anyone's in the jail to write
        self.disk_over = False  # the disk watchdog stopped the agent
        self.broken: str | None = None  # why the agent's output could not be read, which stopped it
        self.seal: Seal | None = None  # for an agent whose events decide steps
        self.launch = ""  # the launcher's status lines for the last message; none: the jail never started it

    # -- spend, as the runner reads it -----------------------------------------------------------

    @property
    def usage(self) -> Usage:
        return self.relay.stats.usage

    @property
    def cost_usd(self) -> float:
        return self.relay.stats.cost_usd

    @property
    def cost_estimated(self) -> bool:
        return self.relay.stats.cost_estimated

    @property
    def turns(self) -> int:
        return self.relay.stats.requests

    def final_text(self) -> str:
        return self._final

    def checkpoint(self) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        if self._started:
            await self.relay.stop()
        self.transcript.close()
        shutil.rmtree(self._sock_dir, ignore_errors=True)

    # -- one message -----------------------------------------------------------------------------

    async def send(self, text: str) -> Outcome:
        if not self._started:
            await self.relay.start()
            self._started = True
        if self._clock is None:
            self._clock = time.monotonic()
        self.transcript.event("user", text=text)
        try:
            outcome = await self._send(text)
        except asyncio.CancelledError:
            self._finish(Outcome(OutcomeKind.CRASHED, "cancelled", "the agent was cancelled"))
            scrub_home(self.home, self.redactor)
            raise
        self._finish(outcome)
        scrub_home(self.home, self.redactor)
        return outcome

    async def _send(self, text: str) -> Outcome:
        raise NotImplementedError

    def wall_remaining(self) -> float | None:
        wall = self.ctx.budgets.wall_seconds
        if wall is None:
            return None
        return wall - (time.monotonic() - (self._clock or time.monotonic()))

    def env(self) -> dict[str, str]:
        extra = {**self.ctx.env, **QUIET_ENV, "HOME": str(self.home), "ANTHROPIC_API_KEY": self.relay.token,
                 MODEL_ENV: self.ctx.model}
        return clean_env(extra, self.root)

    def call_in_jail(self, argv: list[str], out_fd: int, err_fd: int, status_fd: int) -> jail.Call:
        """`argv` behind the relay's forwarder, its stdout and stderr the runner's pipes `out_fd` and
        `err_fd`, the forwarder's one line of status `status_fd`, and sealed when the engine has a seal."""
        sealing = ["--out", str(out_fd), "--err", str(err_fd), "--status", str(status_fd)] + \
            (self.seal.launcher_options() if self.seal is not None else [])
        forward = [sys.executable, "-I", relay_forward.__file__, str(self.relay.socket_path), *sealing, "--", *argv]
        readable = [self._sock_dir]
        if self.binary is not None:  # the jail shows /usr and agentbook's install, not where npm put the agent
            readable.append(Path(os.path.realpath(self.binary)).parent)
        over = self.seal.ro_at() if self.seal is not None else None
        return jail_call(self.root, forward, protected=self.ctx.protected, writable=[self.home.resolve()],
                         readable=readable, limits=agent_limits(self.ctx.limits, self.ctx.budgets.wall_seconds),
                         ro_at=over)

    async def run_jailed(self, argv: list[str], stdin: bytes, on_line: Callable[[bytes], bool]) -> tuple[int | None, bool]:
        """Run `argv` in the jail, feeding each line of its stdout to `on_line` (False: stop the agent now).
        Returns (exit code or None when stopped, whether the wall clock ran out).

        The agent's stdout and stderr are pipes of its own, not the jail's: bubblewrap's init and the
        forwarder hold the jail's, and any process in the jail could write into them through /proc."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        status_read, status_write = os.pipe()
        os.set_blocking(status_read, False)  # read once the jail has ended: what is there is all there is
        try:
            call = self.call_in_jail(argv, out_write, err_write, status_write)
        except BaseException:
            for fd in (out_read, out_write, err_read, err_write, status_read, status_write):
                os.close(fd)
            raise
        try:
            proc = await asyncio.create_subprocess_exec(
                *call.argv, cwd=self.root, env=self.env(), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True, pass_fds=(*call.pass_fds, out_write, err_write, status_write))
        except BaseException:
            call.close()
            for fd in (out_read, err_read, status_read):
                os.close(fd)
            raise
        finally:
            for fd in (out_write, err_write, status_write):  # the jail's ends: this process keeps the reading ones
                os.close(fd)
        loop = asyncio.get_running_loop()
        output, errors = asyncio.StreamReader(limit=LINE_LIMIT), asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(output), os.fdopen(out_read, "rb", buffering=0))
        err_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(errors), os.fdopen(err_read, "rb", buffering=0))
        try:
            code, timed_out = await self._watch(proc, output, errors, stdin, on_line)
        finally:
            transport.close()
            err_transport.close()
            call.close()
            self.launch = _read_status(status_read)
        if self.jail_tail.strip():  # kept, as data of unknown origin, for whoever debugs the jail
            self.transcript.event("jail_stderr", text=self.jail_tail,
                                  note="bubblewrap's and the launcher's stderr: any process in the jail could write it")
        if self.launch.endswith("unsealed"):
            self.broken = ("the agent's output could not be kept from the commands it runs (it was not seen sealed: "
                           "its seal library did not load, or a program one cannot read stays dumpable here, "
                           "fs.suid_dumpable 1)")
            return None, timed_out
        return code, timed_out

    async def _watch(self, proc: asyncio.subprocess.Process, output: asyncio.StreamReader,
                     agent_errors: asyncio.StreamReader, stdin: bytes,
                     on_line: Callable[[bytes], bool]) -> tuple[int | None, bool]:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(stdin)
        with contextlib.suppress(ConnectionError):
            await proc.stdin.drain()
        proc.stdin.close()
        errors = asyncio.gather(self._tail(agent_errors, "stderr_tail"), self._tail(proc.stderr, "jail_tail"))
        stopped = timed_out = False
        # the worktree and the home are host folders: their growth is the jail's disk limit, as for bash
        meter = DiskMeter(self.root, self.ctx.limits.disk_total, also=(self.home,))
        dog = Watchdog(math.inf, meter, lambda _reason: _kill(proc), rewalk=DISK_REWALK_SECONDS)
        dog.start()
        try:
            async with asyncio.timeout(self.wall_remaining()):
                while line := await output.readline():
                    if not on_line(line):
                        stopped = True
                        break
        except ValueError:  # a line past LINE_LIMIT (asyncio's LimitOverrunError, re-raised as this)
            self.broken = f"a line of the agent's output passed {LINE_LIMIT >> 20} MiB"
            stopped = True
        except TimeoutError:
            timed_out = True
        except BaseException:  # cancelled (SIGTERM to the runner): the jail goes with it
            _kill(proc)
            raise
        finally:
            dog.stop()
        # an agent that wrote past the limit and exited between two of the watchdog's looks (a free-space
        # bound that other writers on the disk hid, or no tick at all on a loaded host) is caught by one
        # exact walk: the limit must not depend on timing
        self.disk_over = self.disk_over or dog.reason == "disk" or meter.over(rewalk_after=0) is not None
        stopped = stopped or self.disk_over
        if stopped or timed_out:
            _kill(proc)
        code = await proc.wait()
        await errors
        return (None if stopped or timed_out else code), timed_out

    async def _tail(self, stream: asyncio.StreamReader, into: str) -> None:
        while chunk := await stream.read(65536):
            setattr(self, into, (getattr(self, into) + chunk.decode("utf-8", "replace"))[-STDERR_TAIL:])

    # -- shared outcomes -------------------------------------------------------------------------

    def evidence(self) -> dict[str, Any]:
        tokens, usd = self.relay.spent()
        return {"agent": self.agent, "turns": self.turns, "tokens": tokens, "cost_usd": round(usd, 6)}

    def crash_evidence(self) -> dict[str, Any]:
        """The agent's own stderr, and why it never ran when it did not: the launcher's own words (an
        agent command that is not there), or, when the jail never started the launcher, the jail's
        stderr, which then only bubblewrap wrote (a bind it could not make). A crash had no cause to show
        for either. Once the launcher has started, any process of the agent's may write the jail's
        stderr: it is never evidence then."""
        evidence: dict[str, Any] = {"stderr": self.stderr_tail}
        said = self.launch.splitlines()
        if not said:
            evidence["jail_setup"] = self.jail_tail
        elif said[-1].startswith("cannot start"):
            evidence["launcher"] = said[-1]
        return evidence

    def limit_outcome(self, timed_out: bool) -> Outcome | None:
        """The relay's budget stop, output that cannot be read, the disk limit or the wall clock: these win
        over whatever the agent said."""
        if self.relay.stopped is not None:
            reason, sentence = self.relay.stopped
            return Outcome(OutcomeKind.BUDGET_EXHAUSTED, reason, f"budget exhausted: {sentence} (stopped at the relay)",
                           self.evidence())
        if self.broken is not None:
            return Outcome(OutcomeKind.CRASHED, "agent_output", f"{self.broken}: the agent was stopped", self.evidence())
        if self.disk_over:
            return Outcome(OutcomeKind.BUDGET_EXHAUSTED, "disk",
                           f"budget exhausted: the worktree and the agent's home grew past the disk limit of "
                           f"{self.ctx.limits.disk} bytes (limit 'disk'); the agent was stopped", self.evidence())
        if timed_out:
            return Outcome(OutcomeKind.BUDGET_EXHAUSTED, "wall",
                           f"budget exhausted: wall clock ({self.ctx.budgets.wall_seconds:g}s) ran out", self.evidence())
        return None

    def _finish(self, outcome: Outcome) -> None:
        self.transcript.event("outcome", outcome=outcome.to_json(), turns=self.turns, usage=self.usage.to_json(),
                              cost_usd=round(self.cost_usd, 6))
        error = None if outcome.kind in (OutcomeKind.COMPLETED, OutcomeKind.NO_CHANGES) else \
            f"{outcome.kind.value}: {outcome.message}"
        self.trace.finish({"agentbook.outcome": outcome.kind.value, "agentbook.outcome.reason": outcome.reason,
                           "gen_ai.request.model": self.ctx.model, "agentbook.turns": self.turns,
                           "gen_ai.usage.input_tokens": self.usage.total_input,
                           "gen_ai.usage.output_tokens": self.usage.output_tokens,
                           "agentbook.cost_usd": self.cost_usd, "agentbook.sandbox": "bwrap",
                           "agentbook.agent": self.agent}, error)
        self.trace.write()


def _read_status(fd: int) -> str:
    """The launcher's status line from the pipe's reading end `fd` (closed here); '' when it wrote none."""
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
            if len(data) > 8192:
                break
    except BlockingIOError:  # a holder of the writing end is still alive: take what is there
        pass
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace").strip()


def _kill(proc: asyncio.subprocess.Process) -> None:
    """The whole jail goes: bwrap's process group (the agent's namespace dies with its init)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)

"""The `bash` tool: one command in the jail (see `agentbook.session.sandbox` and `.jail`), with a wall
clock, a watch on the worktree's disk use, and an output cap that keeps the head and the tail."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentbook.session import allowlist, jail, sandbox
from agentbook.session.limits import Limits
from agentbook.session.paths import is_protected
from agentbook.session.tools import ToolContext, ToolResult
from agentbook.session.watchdog import DiskMeter, Watchdog
from agentbook.warm import calls_agentbook
from agentbook.warm import pool as warm_pool

OUTPUT_CAP = 30_000  # characters the agent sees: first and last halves, with the gap counted


@dataclass
class BashTool:
    name: str = "bash"
    description: str = (
        "Run a shell command in the working root (sandboxed: no network, only the root is writable, "
        "/tmp is private, processes/memory/file size/disk are limited). Output (stdout+stderr) is capped; "
        "long runs stop at the timeout.")
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"command": {"type": "string", "description": "The command line"},
                       "timeout": {"type": "number", "description": "Seconds before it is killed"}},
        "required": ["command"]})
    read_only: bool = False

    def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolResult("error: command must be a non-empty string", is_error=True)
        why = sandbox.check_command(command, ctx.bash_allow, ctx.sandbox)
        if why is not None:  # an error the agent can read and work around, counted as a tool error
            return ToolResult(f"error: {why}", is_error=True)
        timeout = _timeout(args.get("timeout"), ctx)
        before = snapshot_protected(ctx.root, ctx.protected)
        try:
            call = _call(command, ctx)
        except ValueError as err:
            return ToolResult(f"error: cannot parse the command: {err}", is_error=True)
        except jail.JailUnavailable as err:
            return ToolResult(f"error: the sandbox cannot run: {err}", is_error=True)
        meter = _meter(ctx) if call.jailed else None
        try:
            ran = run_command(call.argv, ctx.root, call.env, timeout, pass_fds=call.pass_fds, meter=meter)
        finally:
            call.close()
        after = snapshot_protected(ctx.root, ctx.protected)
        changed = [p for p in sorted(set(before) | set(after)) if before.get(p) != after.get(p)]
        text = (ran.output.rstrip("\n") + "\n" + _status(ran, timeout, ctx.limits)).lstrip("\n")
        if changed:
            return ToolResult(text + f"\nerror: the command changed protected paths: {', '.join(changed)}",
                              is_error=True, denied={"tool": "bash", "command": command, "changed": changed})
        return ToolResult(text, is_error=ran.stopped is not None or ran.code != 0)


def _timeout(asked: object, ctx: ToolContext) -> float:
    """The agent's timeout, never above the session's bash timeout nor the per-call limit."""
    cap = min(ctx.bash_timeout, ctx.limits.tool_seconds)
    try:
        wanted = float(asked) if asked is not None and not isinstance(asked, bool) else cap  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wanted = cap
    return cap if math.isnan(wanted) else max(0.1, min(wanted, cap))  # NaN asks for nothing


def _status(ran: Ran, timeout: float, limits: Limits) -> str:
    if ran.stopped == "timeout":
        return f"[timed out after {timeout:g}s; killed]"
    if ran.stopped == "disk":
        return (f"[killed: the worktree grew past its disk limit of {_size(limits.disk)} (limit 'disk'); "
                "delete what you do not need]")
    if ran.code == jail.RLIMIT_FAILED:
        return f"[exit code {ran.code}: the sandbox could not set its limits]"
    return f"[exit code {ran.code}]"


def _size(n: int) -> str:
    for unit, size in (("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n} bytes"


def _meter(ctx: ToolContext) -> DiskMeter:
    meter = ctx.state.get("disk_meter")
    if not isinstance(meter, DiskMeter) or meter.limit != ctx.limits.disk_total:
        meter = ctx.state["disk_meter"] = DiskMeter(ctx.root, ctx.limits.disk_total)
    return meter


@dataclass
class _Prepared:
    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    jailed: bool = False
    handle: jail.Call | None = None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _call(command: str, ctx: ToolContext) -> _Prepared:
    # Outside `bwrap` mode an allow-list was checked as one plain command: run it without a shell.
    argv = allowlist.argv(command) if ctx.bash_allow is not None and ctx.sandbox != "bwrap" else None
    env = sandbox.clean_env(ctx.env, ctx.root)
    if ctx.sandbox == "unconfined":
        return _Prepared(argv or ["/bin/bash", "-c", command], env)
    read_only = sandbox.protected_binds(ctx.root, ctx.protected)
    # the agent's own `agentbook` calls: a warm worker of the agent's (never the gates'), started by its
    # first such call, which runs cold; None whenever the worker cannot take them
    warm = warm_pool.use("bash", ctx.root, ctx.limits, read_only, env, start=calls_agentbook(command))
    handle = jail.prepare(ctx.root, ctx.limits, shell=None if argv else command, argv=argv, read_only=read_only,
                          ro_at=warm.ro_at if warm else None)
    return _Prepared(handle.argv, warm.env if warm else env, handle.pass_fds, True, handle)


def snapshot_protected(root: Path, patterns: list[str]) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under `root` (outside .git) that a protected glob covers."""
    if not patterns:
        return {}
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel_dir = os.path.relpath(dirpath, root)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if is_protected(rel, patterns) is not None:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                out[rel] = (st.st_size, st.st_mtime_ns)
    return out


@dataclass
class Ran:
    code: int
    output: str
    stopped: str | None = None  # "timeout" or "disk" when the watchdog killed it

    @property
    def timed_out(self) -> bool:
        return self.stopped == "timeout"


def run_command(argv: list[str], cwd: Path, env: dict[str, str], timeout: float, *,
                pass_fds: tuple[int, ...] = (), meter: DiskMeter | None = None) -> Ran:
    """Run `argv` until it exits, its time is up or the worktree passes its disk limit; everything it
    started is killed with it (its process group; in the jail, its whole pid namespace)."""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=pass_fds)
    except OSError as err:
        return Ran(127, f"error: cannot run {argv[0]}: {err.strerror}")
    assert proc.stdout is not None
    capture = _CappedReader(proc.stdout, OUTPUT_CAP)
    reader = threading.Thread(target=capture.drain, daemon=True)
    reader.start()
    dog = Watchdog(timeout, meter, lambda _reason: _signal_group(proc))
    dog.start()
    proc.wait()
    dog.stop()
    if dog.reason is None and meter is not None and meter.over() is not None:
        dog.reason = "disk"  # it got past the limit between two ticks and exited
    _kill_group(proc)  # also children left holding the pipe after the shell exited
    reader.join(timeout=5)
    proc.stdout.close()
    return Ran(proc.returncode if proc.returncode is not None else -9, capture.text(), dog.reason)


def _signal_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc)
    proc.wait()


class _CappedReader:
    """Keeps the first and last `cap/2` bytes of a stream and counts what is in between."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self.stream, self.half = stream, cap // 2
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def drain(self) -> None:
        while chunk := self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536):
            self.total += len(chunk)
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                del self.tail[:-self.half]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if self.total <= len(self.head) + len(self.tail):
            return head + self.tail.decode("utf-8", "replace")
        gap = self.total - len(self.head) - len(self.tail)
        return head + f"\n[... {gap} bytes of output cut ...]\n" + self.tail.decode("utf-8", "replace")


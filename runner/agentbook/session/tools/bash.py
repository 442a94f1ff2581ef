"""The `bash` tool: one command in the sandbox (see `agentbook.session.sandbox`), with a timeout and
an output cap that keeps the head and the tail."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentbook.session import allowlist, sandbox
from agentbook.session.paths import is_protected
from agentbook.session.tools import ToolContext, ToolResult

OUTPUT_CAP = 30_000  # characters the agent sees: first and last halves, with the gap counted


@dataclass
class BashTool:
    name: str = "bash"
    description: str = (
        "Run a shell command in the working root (sandboxed: no network, only the root is writable, "
        "/tmp is private). Output (stdout+stderr) is capped; long runs stop at the timeout.")
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
        timeout = min(float(args.get("timeout") or ctx.bash_timeout), ctx.bash_timeout)
        before = snapshot_protected(ctx.root, ctx.protected)
        try:
            argv = _argv(command, ctx)
        except ValueError as err:
            return ToolResult(f"error: cannot parse the command: {err}", is_error=True)
        code, output, timed_out = run_command(argv, ctx.root,
                                              sandbox.clean_env(ctx.env, ctx.root), timeout)
        after = snapshot_protected(ctx.root, ctx.protected)
        changed = [p for p in sorted(set(before) | set(after)) if before.get(p) != after.get(p)]
        status = f"[timed out after {timeout:g}s; killed]" if timed_out else f"[exit code {code}]"
        text = (output.rstrip("\n") + "\n" + status).lstrip("\n")
        if changed:
            return ToolResult(text + f"\nerror: the command changed protected paths: {', '.join(changed)}",
                              is_error=True, denied={"tool": "bash", "command": command, "changed": changed})
        return ToolResult(text, is_error=timed_out or code != 0)


def _argv(command: str, ctx: ToolContext) -> list[str]:
    if ctx.sandbox != "bwrap":  # checked as one plain command: run it without a shell
        return allowlist.argv(command)
    return sandbox.bwrap_argv(ctx.root, ["/bin/bash", "-c", command],
                              sandbox.protected_binds(ctx.root, ctx.protected))


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


def run_command(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, bool]:
    """Run `argv`; return (exit code, capped output, timed out). The whole process group is killed."""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as err:
        return 127, f"error: cannot run {argv[0]}: {err.strerror}", False
    assert proc.stdout is not None
    capture = _CappedReader(proc.stdout, OUTPUT_CAP)
    reader = threading.Thread(target=capture.drain, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc)  # also children left holding the pipe after the shell exited
    reader.join(timeout=5)
    return proc.returncode if proc.returncode is not None else -9, capture.text(), timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
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


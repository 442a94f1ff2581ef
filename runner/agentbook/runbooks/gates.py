"""Gates: the ```check commands of a step, run in the run's worktree after the agent finishes it.

They run sandboxed exactly like the agent's `bash` (bubblewrap: read-only system, writable worktree,
private /tmp, no network, a clean environment without API keys). Where bubblewrap does not work the
command runs unsandboxed with the same clean environment, and the result says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from agentbook.runbooks.record import GateResult
from agentbook.session.sandbox import bwrap_argv, bwrap_works, clean_env, protected_binds

OUTPUT_TAIL = 4000  # characters of gate output kept for the agent and the report


def tool_path() -> str:
    """PATH with this installation's bin folder first, so gates and the agent's bash find the same
    `agentbook` that runs them even when its virtualenv is not activated."""
    own = str(Path(sys.executable).parent)
    parts = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p and p != own]
    return os.pathsep.join([own, *parts])


def run_gate(command: str, worktree: Path, *, protected: list[str], timeout: float = 600.0) -> GateResult:
    root = worktree.resolve()
    argv = ["bash", "-c", command]
    sandboxed = bwrap_works()
    if sandboxed:
        # protected_binds walks the whole tree: skip it when there is nothing to protect
        argv = bwrap_argv(root, argv, protected_binds(root, protected) if protected else [])
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, check=False, cwd=root, env=clean_env({"PATH": tool_path()}, root), capture_output=True, text=True,
                              errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
        code, output = 124, text + f"\n[gate timed out after {timeout:.0f}s]"
    if not sandboxed:
        output += "\n[note: bubblewrap is unavailable; this check ran without a sandbox]"
    return GateResult(command, code, _tail(output), round(time.monotonic() - start, 3))


def _tail(text: str) -> str:
    if len(text) <= OUTPUT_TAIL:
        return text
    return f"[... {len(text) - OUTPUT_TAIL} characters cut]\n" + text[-OUTPUT_TAIL:]

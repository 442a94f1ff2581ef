"""Gates: the ```check commands of a step, run in the run's worktree after the agent finishes it.

They run in the same jail as the agent's `bash` (`agentbook.session.jail`: no capabilities, read-only
system, writable worktree, private /tmp, no network, seccomp, the run's limits, a clean environment
without API keys). Where the jail does not work a gate does not run (fail closed) unless the run was
started with `--sandbox none-i-accept-the-risk`; then it runs unconfined and the result says so.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from agentbook.runbooks.record import GateResult
from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.session.sandbox import UNCONFINED, clean_env, protected_binds
from agentbook.session.tools.bash import run_command
from agentbook.session.watchdog import DiskMeter

OUTPUT_TAIL = 4000  # characters of gate output kept for the agent and the report


def tool_path() -> str:
    """PATH with this installation's bin folder first, so gates and the agent's bash find the same
    `agentbook` that runs them even when its virtualenv is not activated."""
    own = str(Path(sys.executable).parent)
    parts = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p and p != own]
    return os.pathsep.join([own, *parts])


def run_gate(command: str, worktree: Path, *, protected: list[str], timeout: float = 600.0,
             sandbox: str = "auto", limits: Limits | None = None) -> GateResult:
    root = worktree.resolve()
    start = time.monotonic()
    why = None if sandbox == UNCONFINED else jail.problem()
    if why is not None:
        return GateResult(command, 126, f"[gate not run: it needs a working sandbox and there is none here: {why}]",
                          0.0)
    call = None
    argv = ["bash", "-c", command]
    if sandbox != UNCONFINED:
        # protected_binds walks the whole tree: skip it when there is nothing to protect
        call = jail.prepare(root, limits or Limits(), shell=command,
                            read_only=protected_binds(root, protected) if protected else [])
        argv = call.argv
    limits = limits or Limits()
    meter = DiskMeter(root, limits.disk) if call is not None else None  # gates run the agent's code too
    try:
        ran = run_command(argv, root, clean_env({"PATH": tool_path()}, root), timeout,
                          pass_fds=call.pass_fds if call else (), meter=meter)
    finally:
        if call is not None:
            call.close()
    code, output = (ran.code if ran.code >= 0 else 128 - ran.code), ran.output
    if ran.stopped == "timeout":
        code, output = 124, output + f"\n[gate timed out after {timeout:.0f}s]"
    elif ran.stopped == "disk":
        output += f"\n[gate killed: the worktree grew past its disk limit of {limits.disk} bytes (limit 'disk')]"
    if call is None:
        output += f"\n[note: this check ran without a sandbox (--sandbox {UNCONFINED})]"
    return GateResult(command, code, _tail(output), round(time.monotonic() - start, 3))


def _tail(text: str) -> str:
    if len(text) <= OUTPUT_TAIL:
        return text
    return f"[... {len(text) - OUTPUT_TAIL} characters cut]\n" + text[-OUTPUT_TAIL:]

"""Gates: the ```check commands of a step, run in the run's worktree after the agent finishes it.

They run in the same jail as the agent's `bash` (`agentbook.session.jail`: no capabilities, read-only
system, writable worktree, private /tmp, no network, seccomp, the run's limits, a clean environment
without API keys). Where the jail does not work a gate does not run (fail closed) unless the run was
started with `--sandbox none-i-accept-the-risk`; then it runs unconfined and the result says so.

A gate's own `agentbook ...` calls are answered by a warm worker in a jail like the gate's
(`agentbook.warm`) once one is ready for the worktree, and start cold otherwise.

Gates also get the run's gate-state folder (`gate_state`: in the run's own folder, outside the worktree),
bound read-write at GATE_STATE_JAIL in their jail and their worker's alone and named by
`AGENTBOOK_GATE_STATE`: what one gate keeps for a later one (`agentbook baseline save`) is kept there,
where the agent's bash and Claude Code never see it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from agentbook.runbooks.record import GateResult
from agentbook.session import gatesep, jail
from agentbook.session.limits import Limits
from agentbook.session.sandbox import UNCONFINED, clean_env, protected_binds
from agentbook.session.tools.bash import run_command
from agentbook.session.watchdog import DiskMeter
from agentbook.warm import pool
from agentbook.workflows.baseline import GATE_SEALED_ENV, GATE_STATE_ENV

OUTPUT_TAIL = 4000  # characters of gate output kept for the agent and the report


def tool_path() -> str:
    """PATH with this installation's bin folder first, so gates and the agent's bash find the same
    `agentbook` that runs them even when its virtualenv is not activated."""
    own = str(Path(sys.executable).parent)
    parts = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p and p != own]
    return os.pathsep.join([own, *parts])


# HOME is the worktree, which the agent writes: a `.pth` file in its Python user site ran in every check that
# starts the system's Python (and could end it 0 before the check ran), and a `.gitconfig` there chose how
# a check's git reads the tree (core.fsmonitor). Neither is read by a gate.
GATE_ENV = {"PYTHONNOUSERSITE": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
GATE_STATE_JAIL = "/agentbook-gate-state"  # a place of its own in the jail: no path of the host's is shown


def gate_env(worktree: Path, gate_state: Path | None = None, *, jailed: bool = True,
             sealed: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every gate of `worktree` runs with (before the warm worker's PATH); `sealed` are the
    digests of what earlier steps' gates saved (`agentbook.runbooks.gatestate`)."""
    root = worktree.resolve()
    extra = {"PATH": tool_path(), **GATE_ENV}
    if gate_state is not None:
        extra[GATE_STATE_ENV] = GATE_STATE_JAIL if jailed else str(gate_state)
        extra[GATE_SEALED_ENV] = json.dumps(sealed or {}, sort_keys=True)
    return clean_env(extra, root)


def state_binds(gate_state: Path | None) -> list[str]:
    """bubblewrap's options that show the run's gate-state folder to a gate (and to no one else)."""
    if gate_state is None:
        return []
    gate_state.mkdir(mode=0o700, parents=True, exist_ok=True)
    return ["--bind", str(gate_state.resolve()), GATE_STATE_JAIL]


def prewarm(worktree: Path, *, protected: list[str], limits: Limits | None = None, wait: float = 0.0,
            gate_state: Path | None = None) -> bool:
    """Start the warm worker the gates of `worktree` will use; True when it is ready."""
    root = worktree.resolve()
    return pool.prewarm("gate", root, limits or Limits(), protected_binds(root, protected) if protected else [],
                        gate_env(root, gate_state), wait=wait, options=state_binds(gate_state))


def run_gate(command: str, worktree: Path, *, protected: list[str], timeout: float = 600.0,
             sandbox: str = "auto", limits: Limits | None = None, gate_state: Path | None = None,
             sealed: dict[str, str] | None = None) -> GateResult:
    """Run one check; `gate_state` is the run's gate-state folder (None: a gate outside a run), `sealed`
    the digests of what earlier steps' gates kept there."""
    root = worktree.resolve()
    start = time.monotonic()
    why = None if sandbox == UNCONFINED else jail.problem()
    if why is not None:
        return GateResult(command, 126, f"[gate not run: it needs a working sandbox and there is none here: {why}]",
                          0.0)
    call = None
    note = f"\n[note: this check ran without a sandbox (--sandbox {UNCONFINED})]"
    argv = ["bash", "-c", command]
    limits = limits or Limits()
    env = gate_env(root, gate_state, jailed=sandbox != UNCONFINED, sealed=sealed)
    if sandbox != UNCONFINED:
        # protected_binds walks the whole tree: skip it when there is nothing to protect
        read_only = protected_binds(root, protected) if protected else []
        binds = state_binds(gate_state)
        warm = pool.use("gate", root, limits, read_only, env, options=binds)  # None: agentbook starts cold
        separated = gatesep.separation()  # the code the gate runs must not choose the gate's exit status
        call = jail.prepare(root, limits, shell=separated.guard() + command, read_only=read_only,
                            ro_at=warm.ro_at if warm else None, options=[*binds, *separated.bwrap_options()])
        note = "\n" + separated.note if separated.note else ""
        env = warm.env if warm else env
        argv = call.argv
    meter = DiskMeter(root, limits.disk_total) if call is not None else None  # gates run the agent's code too
    try:
        ran = run_command(argv, root, env, timeout, pass_fds=call.pass_fds if call else (), meter=meter)
        # A program that could not start one fails, and `! cmd` makes that a pass: a gate that reached its
        # process limit fails, whatever its commands made of it.
        crowded = call is not None and call.reached_process_limit()
    finally:
        if call is not None:
            call.close()
    code, output = (ran.code if ran.code >= 0 else 128 - ran.code), ran.output
    if crowded:
        code = code or 1
        output += (f"\n[gate failed: it reached its process limit of {limits.processes} (limit 'processes'): "
                   "a command that could not start a process may have made a check pass]")
    if ran.stopped == "timeout":
        code, output = 124, output + f"\n[gate timed out after {timeout:.0f}s]"
    elif ran.stopped == "disk":
        output += f"\n[gate killed: the worktree grew past its disk limit of {limits.disk} bytes (limit 'disk')]"
    output += note
    return GateResult(command, code, _tail(output), round(time.monotonic() - start, 3))


def _tail(text: str) -> str:
    if len(text) <= OUTPUT_TAIL:
        return text
    return f"[... {len(text) - OUTPUT_TAIL} characters cut]\n" + text[-OUTPUT_TAIL:]

"""The demo's gates: what its ```check commands cost now, against the paths they took before.

Runs `agentbook demo` twice (the warm worker off, then on: the demo's own gate time, as `run.json`
records it), then runs the same gate commands again, sandboxed exactly as the runner runs them, on a
worktree of the branch the demo made, in four ways (interleaved, median of R rounds):
  warm      what a run does now: each gate's `agentbook ...` answered by the warm worker
            (`agentbook.warm`), started before the first gate as a run starts it
  cold      the same with the worker off (AGENTBOOK_WARM=0): a Python start-up and imports per call
  original  cold, with `?http=1` on every scripted model: the stand-in over loopback HTTP through the
            `anthropic` SDK, the path every gate's `eval run`/`baseline` took when issue 17 was filed
            ("today" in its done-when; the goal is original / warm >= 3x)
  floor     `true` in the same sandbox, once per gate: what no gate can go below
Exit codes are not checked (a gate meant to fail before the fix passes on the branch head).
CPU is taken outside the sandbox (bubblewrap's pid namespace hides its children's CPU): the same
commands with the gates' environment, and for `warm` the worker's own and its children's CPU too.

    .venv/bin/python bench/bench_gates.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from precompile import compile_agentbook

from agentbook.runbooks.gates import gate_env, prewarm, run_gate
from agentbook.session.limits import Limits
from agentbook.warm import ENV_SWITCH, pool

SCRIPTED = re.compile(r"(scripted:[^\s;|&?]+)")


def demo(work: Path, warm: bool) -> tuple[Path, str, list[str], float]:
    """Run the demo; return its repo, branch, gate commands (in order) and the run's own gate time."""
    agentbook = str(Path(sys.executable).parent / "agentbook")
    proc = subprocess.run([agentbook, "demo", "--workdir", str(work), "--json"], capture_output=True, text=True,
                          check=False, env={**os.environ, ENV_SWITCH: "1" if warm else "0"})
    if proc.returncode != 0:
        raise SystemExit(f"agentbook demo failed ({proc.returncode}): {proc.stderr[-1000:]}")
    data = json.loads(proc.stdout)
    run = json.loads((Path(data["report"]).parent / "run.json").read_text())
    gates = [g["command"] for step in run["steps"] for g in step.get("gates") or []]
    return Path(data["repo"]), data["branch"], gates, float(run["timings"]["gates"])


def forget_responses(worktree: Path) -> None:
    """Drop the eval response caches: in the demo every gate's model calls are first calls."""
    for cache in worktree.rglob("responses.sqlite*"):
        cache.unlink()


def timed_gates(commands: list[str], worktree: Path, warm: bool) -> tuple[float, float]:
    """Wall seconds of running `commands` as gates (sandboxed), and CPU seconds of running them with
    the gates' environment outside the sandbox (bubblewrap's pid namespace hides its children's CPU)."""
    os.environ[ENV_SWITCH] = "1" if warm else "0"
    if warm and not prewarm(worktree, protected=[], wait=120):
        raise SystemExit("the warm worker did not start")
    forget_responses(worktree)
    start = time.perf_counter()
    for command in commands:
        run_gate(command, worktree, protected=[])
    wall = time.perf_counter() - start
    forget_responses(worktree)
    env = gate_env(worktree)
    if warm:  # the shim beside the worker's socket: the same worker answers outside the sandbox
        use = pool.use("gate", worktree.resolve(), Limits(), [], env)
        assert use is not None
        env = {**use.env, "PATH": use.ro_at[0][0] + os.pathsep + env["PATH"]}
    worker_before = worker_cpu(worktree) if warm else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for command in commands:
        subprocess.run(["bash", "-c", command], cwd=worktree, env=env, capture_output=True, check=False,
                       stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = worker_cpu(worktree) - worker_before if warm else 0.0
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + worker


def worker_cpu(worktree: Path) -> float:
    """CPU seconds of the warm worker and of the children it has waited for (every call's)."""
    python = pool.worker_python_pid("gate", worktree)
    if python is None:
        raise SystemExit("no worker process found")
    fields = Path(f"/proc/{python}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_agentbook()
    with tempfile.TemporaryDirectory(prefix="bench-gates-") as tmp:
        _, _, _, demo_cold = demo(Path(tmp) / "demo-cold", warm=False)
        repo, branch, gates, demo_warm = demo(Path(tmp) / "demo", warm=True)
        worktree = Path(tmp) / "head"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(worktree), branch],
                       check=True)
        variants = {
            "warm (the worker answers agentbook calls)": (gates, True),
            "cold (a Python start-up per call)": (gates, False),
            "original (cold, ?http=1: stand-in over HTTP + SDK)": ([SCRIPTED.sub(r"\1?http=1", g) for g in gates],
                                                                    False),
            "floor (`true` in the same sandbox)": (["true"] * len(gates), False),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        try:
            for _ in range(args.repeat):
                for name, (commands, warm) in variants.items():
                    samples[name].append(timed_gates(commands, worktree, warm))
        finally:
            pool.stop()
    median = {name: statistics.median(w for w, _ in v) for name, v in samples.items()}
    cpu = {name: statistics.median(c for _, c in v) for name, v in samples.items()}
    warm, cold, original, floor = median.values()
    cpu_warm, cpu_cold, cpu_original, _ = cpu.values()
    print(f"the demo's {len(gates)} gates, sandboxed, median of {args.repeat} interleaved rounds "
          f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"  {'':52}{'wall':>9}{'cpu':>9}  (cpu: the same commands outside the sandbox)")
    for name, seconds in median.items():
        print(f"  {name:<52}{seconds:7.2f} s{cpu[name]:7.2f} s")
    print(f"  original / warm = {original / warm:.2f}x wall, {cpu_original / cpu_warm:.2f}x cpu (goal >= 3x)")
    print(f"  cold / warm     = {cold / warm:.2f}x wall, {cpu_cold / cpu_warm:.2f}x cpu; "
          f"warm / floor = {warm / floor:.2f}x wall")
    print(f"  the demo's own gate time (run.json): {demo_cold:.2f} s with the worker off, {demo_warm:.2f} s with it "
          f"({demo_cold / demo_warm:.2f}x)")


if __name__ == "__main__":
    main()

"""The demo's gates: what its ```check commands cost now, against the path they all took before.

Runs `agentbook demo`, then runs the same gate commands again, sandboxed exactly as the runner runs
them, on a worktree of the branch the demo made, in three ways (interleaved, median of R rounds):
  now      the commands as the runbook wrote them: `scripted:` models answered in-process
  before   the same with `?http=1` on every scripted model: the stand-in over loopback HTTP through
           the `anthropic` SDK, the path every gate's `eval run`/`baseline` took before
  floor    `true` in the same sandbox, once per gate: what no gate can go below
Exit codes are not checked (a gate meant to fail before the fix passes on the branch head).

    .venv/bin/python bench/bench_gates.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
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

from agentbook.runbooks.gates import run_gate, tool_path
from agentbook.session.sandbox import clean_env

SCRIPTED = re.compile(r"(scripted:[^\s;|&?]+)")


def demo(work: Path) -> tuple[Path, str, list[str], float]:
    """Run the demo; return its repo, branch, gate commands (in order) and the run's own gate time."""
    agentbook = str(Path(sys.executable).parent / "agentbook")
    proc = subprocess.run([agentbook, "demo", "--workdir", str(work), "--json"], capture_output=True, text=True,
                          check=False)
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


def timed_gates(commands: list[str], worktree: Path) -> tuple[float, float]:
    """Wall seconds of running `commands` as gates (sandboxed), and CPU seconds of running them with
    the gates' environment outside the sandbox (bubblewrap's pid namespace hides its children's CPU)."""
    forget_responses(worktree)
    start = time.perf_counter()
    for command in commands:
        run_gate(command, worktree, protected=[])
    wall = time.perf_counter() - start
    forget_responses(worktree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = clean_env({"PATH": tool_path()}, worktree.resolve())
    for command in commands:
        subprocess.run(["bash", "-c", command], cwd=worktree, env=env, capture_output=True, check=False,
                       stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compile_bytecode() -> None:
    """Byte-compile agentbook as `pip install` does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every start."""
    import agentbook

    compileall.compile_dir(str(Path(agentbook.__file__).parent), quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-gates-") as tmp:
        repo, branch, gates, in_run = demo(Path(tmp) / "demo")
        worktree = Path(tmp) / "head"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(worktree), branch],
                       check=True)
        variants = {
            "now (in-process scripted models)": gates,
            "before (?http=1: stand-in over HTTP + SDK)": [SCRIPTED.sub(r"\1?http=1", g) for g in gates],
            "floor (`true` in the same sandbox)": ["true"] * len(gates),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, commands in variants.items():
                samples[name].append(timed_gates(commands, worktree))
    median = {name: statistics.median(w for w, _ in v) for name, v in samples.items()}
    cpu = {name: statistics.median(c for _, c in v) for name, v in samples.items()}
    now, before, floor = median.values()
    print(f"the demo's {len(gates)} gates, sandboxed, median of {args.repeat} interleaved rounds "
          f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"  {'':46}{'wall':>9}{'cpu':>9}  (cpu: the same commands outside the sandbox)")
    for name, seconds in median.items():
        print(f"  {name:<46}{seconds:7.2f} s{cpu[name]:7.2f} s")
    cpu_now, cpu_before, _ = cpu.values()
    print(f"  before / now = {before / now:.2f}x wall, {cpu_before / cpu_now:.2f}x cpu (goal >= 3x); "
          f"now / floor = {now / floor:.2f}x wall")
    print(f"  (inside the demo's own run the gates took {in_run:.2f} s)")


if __name__ == "__main__":
    main()

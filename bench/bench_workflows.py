"""The workflows' figures: the README's first command under a minute, prompts under their budgets.

  demo        `agentbook demo` end to end (copy the example, fix-prompt with the scripted agent,
              before/after eval), with the run's phases (model turns incl. the agent's own tool
              calls, gates, git) from its run.json
  floor       one `agentbook eval run` of the example's logql suite in a fresh process: the unit every
              gate and every agent eval call costs; the demo is printed as a multiple of it
  prompts     each runbook's rendered `--dry-run` prompt in tokens against its stated budget
Usage: bench_workflows.py [--quick]   (--quick skips the demo)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentbook.runbooks.executor import dry_run
from agentbook.workflows import runbook_test as rt
from agentbook.workflows.fixture import example_dir, make_repo, source_root

ROOT = source_root() or Path.cwd()
DEMO_LIMIT_S = 60.0


def cli(*args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "agentbook"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def bench_prompts(tmp: Path) -> None:
    repo = make_repo(example_dir(), tmp / "prompts-repo", ["python scripts/generate.py"])
    print("prompts   runbook              tokens  budget  share")
    for name in ("add-eval", "fix-prompt", "consolidate-prompt", "analyze-backtest"):
        spec = rt.load_spec(ROOT / "tests" / "runbooks" / f"{name}.test.yaml")
        tokens = rt.prompt_tokens(dry_run(rt.run_options(spec, repo)))
        budget = spec.dry_run_max_tokens or 0
        print(f"          {name:<20} {tokens:>6}  {budget:>6}  {tokens / budget:.2f}")


def bench_floor(tmp: Path) -> float:
    repo = make_repo(example_dir(), tmp / "floor-repo", ["python scripts/generate.py"])
    seconds, proc = cli("eval", "run", "evals/logql/suite.yaml", "--model", "scripted:evals/sut.script.yaml",
                        "--no-cache", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"floor     one `agentbook eval run` (5 cases, fresh process): {seconds:.2f}s")
    return seconds


def bench_demo(tmp: Path, floor: float) -> None:
    seconds, proc = cli("demo", "--workdir", str(tmp / "demo"), "--json", cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    run = json.loads((Path(data["report"]).parent / "run.json").read_text())
    phases = run.get("timings") or {}
    print(f"demo      wall {seconds:.1f}s (limit {DEMO_LIMIT_S:.0f}s: {seconds / DEMO_LIMIT_S:.2f} of it), "
          f"{seconds / floor:.1f}x the eval-run floor; outcome {data['outcome']}")
    print("          run phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    agentbook_only = sum(v for k, v in phases.items() if k not in ("model", "gates"))
    print(f"          runner's own work (plan, worktree, commits, report): {agentbook_only:.2f}s "
          f"= {agentbook_only / seconds:.1%} of the demo")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the full demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as name:
        tmp = Path(name)
        bench_prompts(tmp)
        floor = bench_floor(tmp)
        if not args.quick:
            bench_demo(tmp, floor)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings scale with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Closing the loop: `agentbook backtest close-loop` against its hops run by hand, in the same run.

  loop    one `backtest close-loop TICKET` (fix run, backtest re-run on the branch, import, analyze,
          cluster, compare) in a fresh process, on a fresh copy of the system
  floor   the same hops typed one after the other, each its own `agentbook` process, on another
          fresh copy: `run fix-prompt`, `git worktree add`, `backtest run`, `import`, `analyze`,
          `cluster`, `compare --ticket`; their wall times summed (no typing, no reading between them)

The system is tests/loop/data/mini (28 recorded incidents, a scripted production model that depends
on its prompt, the scripted right fixer), or with --example the incident assistant (60 incidents, its
LogQL fix ticket, or with --prompt prompts/root-cause.md its root-cause one;
tests/loop/data/example-fixer-good.script.yaml works both: the demo's second act). The ratio
loop / floor is what chaining costs (or saves: one process instead of seven imports).
Usage: bench_loop.py [--repeat N] [--example [--prompt PROMPT]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentbook.workflows.fixture import make_repo, source_root

ROOT = source_root() or Path.cwd()
DATA = ROOT / "tests" / "loop" / "data"
SYSTEMS = {  # name: (source, setup, run spec, analyst, eval model, fixer, the ticket's prompt)
    "mini": (DATA / "mini", [], "backtest/run.yaml", "scripted:backtest/analyst.script.yaml",
             "scripted:evals/model.script.yaml", f"scripted:{DATA / 'fixer-good.script.yaml'}", "prompts/triage.md"),
    "example": (ROOT / "examples" / "incident-assistant", ["python scripts/generate.py --big"], "backtest/run/run.yaml",
                "scripted:backtest/run/analyst.script.yaml", "scripted:evals/sut.script.yaml",
                f"scripted:{DATA / 'example-fixer-good.script.yaml'}", "prompts/logql.md"),
}
SYSTEM = "mini"
PROMPT: str | None = None  # the ticket's prompt, when not the system's default


def _sys() -> tuple[Path, list[str], str, str, str, str, str]:
    source, setup, spec, analyst, eval_model, fixer, prompt = SYSTEMS[SYSTEM]
    return source, setup, spec, analyst, eval_model, fixer, PROMPT or prompt


def cli(*args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "agentbook"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"agentbook {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - start, proc


def prepare(dest: Path) -> tuple[Path, str]:
    """A fresh copy of the system with its baseline backtest clustered and its fix ticket committed."""
    source, setup, spec, analyst, eval_model, _, prompt = _sys()
    repo = make_repo(source, dest, setup)
    with (repo / ".git" / "info" / "exclude").open("a") as fh:
        fh.write("backtests/\n")
    for args in (("run", spec, "backtests/base-run"), ("import", "backtests/base-run/manifest.jsonl", "backtests/base"),
                 ("analyze", "backtests/base", "--model", analyst, "--code", "."),
                 ("cluster", "backtests/base", "--code", ".")):
        cli("backtest", *args, cwd=repo)
    _, proc = cli("backtest", "fixes", "backtests/base", "--code", ".", "--eval-model", eval_model, "--json", cwd=repo)
    ticket = next(f["ticket"] for f in json.loads(proc.stdout)["fixes"] if f["ticket"] and f["location"].startswith(prompt))
    subprocess.run(["git", "add", "tickets"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "tickets"], cwd=repo, check=True)
    return repo, ticket


def loop(repo: Path, ticket: str) -> tuple[float, str]:
    _, _, spec, analyst, _, fixer, _ = _sys()
    seconds, proc = cli("backtest", "close-loop", ticket, "--spec", spec, "--model", fixer, "--analyst-model", analyst,
                        "--json", cwd=repo)
    fix = json.loads(proc.stdout)["fixes"][0]
    return seconds, f"{fix['check']['before']} -> {fix['check']['after']}, ready={fix['ready']}"


def by_hand(repo: Path, ticket: str) -> tuple[dict[str, float], str]:
    _, _, spec, analyst, _, fixer, _ = _sys()
    hops: dict[str, float] = {}
    hops["run fix-prompt"], proc = cli("run", "fix-prompt", "--ticket", ticket, "--model", fixer, "--json", cwd=repo)
    branch = json.loads(proc.stdout)["branch"]
    start = time.perf_counter()
    subprocess.run(["git", "worktree", "add", "-q", "--detach", ".agentbook/hand/tree", branch], cwd=repo, check=True)
    hops["git worktree add"] = time.perf_counter() - start
    tree = ".agentbook/hand/tree"
    hops["backtest run"], _ = cli("backtest", "run", f"{tree}/{spec}", ".agentbook/hand/run", cwd=repo)
    hops["backtest import"], _ = cli("backtest", "import", ".agentbook/hand/run/manifest.jsonl", ".agentbook/hand/bt",
                                     cwd=repo)
    hops["backtest analyze"], _ = cli("backtest", "analyze", ".agentbook/hand/bt", "--model", analyst, "--code", tree,
                                      cwd=repo)
    hops["backtest cluster"], _ = cli("backtest", "cluster", ".agentbook/hand/bt", "--code", tree, cwd=repo)
    hops["backtest compare"], proc = cli("backtest", "compare", "backtests/base", ".agentbook/hand/bt", "--ticket",
                                         ticket, "--json", cwd=repo)
    fix = json.loads(proc.stdout)["fixes"][0]
    return hops, f"{fix['before']} -> {fix['after']}, ready={fix['ready']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--example", action="store_true", help="the incident assistant instead of the mini system")
    parser.add_argument("--prompt", help="the fix ticket of this prompt (default: the system's first, e.g. prompts/logql.md)")
    args = parser.parse_args()
    global SYSTEM, PROMPT
    SYSTEM, PROMPT = "example" if args.example else "mini", args.prompt
    loops, floors, hop_runs = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        for i in range(args.repeat):
            repo, ticket = prepare(Path(tmp) / f"loop-{i}")
            seconds, got_loop = loop(repo, ticket)
            loops.append(seconds)
            repo, ticket = prepare(Path(tmp) / f"hand-{i}")
            hops, got_hand = by_hand(repo, ticket)
            hop_runs.append(hops)
            floors.append(sum(hops.values()))
            assert got_loop == got_hand, (got_loop, got_hand)  # the same result either way
    print(f"system    {_sys()[0].relative_to(ROOT)}: the {_sys()[6]} fix ticket ({got_loop}); median of {args.repeat}")
    for name in hop_runs[0]:
        print(f"  hop     {name:<18} {statistics.median(h[name] for h in hop_runs):6.2f}s")
    floor, chained = statistics.median(floors), statistics.median(loops)
    print(f"floor     the hops by hand, summed: {floor:.2f}s")
    print(f"loop      backtest close-loop:      {chained:.2f}s  = {chained / floor:.2f}x the floor")


if __name__ == "__main__":
    main()

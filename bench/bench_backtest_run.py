"""`backtest run` benchmark (issue 19): the incident assistant's own backtest, N investigations.

Prints, against figures measured in the same run on the same inputs:
  floor                 the entry point run directly (`python -m assistant investigate < input`, tracing on,
                        no jail, no grading), one after another: what one investigation costs by itself
  run, 1 worker         `agentbook backtest run --jobs 1`: per investigation, and its overhead over the floor
                        (the jail, the files, grading, the manifest)
  run, W workers        `--jobs W`: investigations per second, and the speed-up over 1 worker
Wall time, the best of `--rounds` rounds (the three measurements interleaved in each round): the machine
is shared, and its load swings more than the effect measured. CPU time cannot stand in here: the
jailed investigations run in their own pid namespace, outside this process's accounting.

    .venv/bin/python bench/bench_backtest_run.py              # 20 investigations, 4 workers, 2 rounds
    .venv/bin/python bench/bench_backtest_run.py --n 60 --workers 8 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "incident-assistant"


def make_system(dest: Path, n: int) -> Path:
    for part in ("assistant", "prompts", "backtest/run"):
        shutil.copytree(EXAMPLE / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    inputs = dest / "backtest" / "run" / "incidents.jsonl"
    inputs.write_text("".join(inputs.read_text().splitlines(keepends=True)[:n]))
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(dest), *args], check=True, capture_output=True)
    return dest


def floor(system: Path, work: Path) -> float:
    """Seconds to run every input through the entry point directly, one after another."""
    rows = [json.loads(line) for line in (system / "backtest" / "run" / "incidents.jsonl").read_text().splitlines()]
    t0 = time.monotonic()
    for row in rows:
        env = {**os.environ, "AGENTBOOK_TRACE_FILE": str(work / f"{row['id']}.otlp.json"),
               "AGENTBOOK_MODEL": "scripted:backtest/run/production.script.yaml"}
        subprocess.run([sys.executable, "-m", "assistant", "investigate"], cwd=system, env=env, check=True,
                       input=json.dumps(row["input"]), text=True, capture_output=True)
    return time.monotonic() - t0


def backtest_run(system: Path, out: Path, jobs: int) -> tuple[float, dict[str, object]]:
    t0 = time.monotonic()
    ran = subprocess.run([sys.executable, "-m", "agentbook", "backtest", "run",
                          str(system / "backtest" / "run" / "run.yaml"), str(out), "--jobs", str(jobs), "--json"],
                         check=False, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if ran.returncode != 0:
        raise SystemExit(f"backtest run failed ({ran.returncode}): {ran.stdout[-2000:]}{ran.stderr[-2000:]}")
    return wall, json.loads(ran.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="investigations (at most 60)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = args.n
    best = {"floor": float("inf"), "one": float("inf"), "many": float("inf")}
    with tempfile.TemporaryDirectory(prefix="bench-backtest-run-") as tmp:
        base = Path(tmp)
        system = make_system(base / "system", n)
        for r in range(args.rounds):
            (base / f"floor{r}").mkdir()
            best["floor"] = min(best["floor"], floor(system, base / f"floor{r}"))
            wall, one = backtest_run(system, base / f"one{r}", 1)
            best["one"] = min(best["one"], wall)
            wall, many = backtest_run(system, base / f"many{r}", args.workers)
            best["many"] = min(best["many"], wall)
            assert one["done"] == many["done"] == n, (one, many)
    f, o, m = best["floor"], best["one"], best["many"]
    print(f"backtest run on the incident assistant: {n} investigations ({one['correct']} correct), best of "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"  floor (entry point directly)  {f / n:6.3f} s per investigation")
    print(f"  run, 1 worker                 {o / n:6.3f} s per investigation   overhead {(o - f) / n:+.3f} s "
          f"({o / f:.2f}x the floor: jail, files, grading, manifest)")
    print(f"  run, {args.workers} workers               {m / n:6.3f} s per investigation   {n / m:.2f} investigations/s "
          f"vs {n / o:.2f} with 1 worker ({o / m:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

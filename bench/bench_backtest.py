"""Backtest benchmark (issue 7): N investigations x 6 turns at 200 ms per turn, concurrency 25.

Prints, against figures measured in the same run:
  wall / ideal         ideal = N x 6 x 0.2 s / 25 (perfect overlap, zero overhead); target <= 1.10
  wall / floor         floor = the same N x 6 requests sent straight through the model layer (SDK, HTTP,
                       same stand-in, 25 at a time) with no session, tools or files: the peer that shows
                       what the pipeline adds, on this machine, under its current load
  CPU per turn         user+sys CPU of the `analyze` process / (N x 6)
  RSS at 25/50/90 %    of the `analyze` process as analyses finish (flat = memory does not grow with N)
  batch vs live cost   the stand-in's usage priced as claude-haiku-4-5: 6-turn live analyses against
                       single-turn --batch analyses at the batch discount

The stand-in runs in its own process (as the real API would), so the figures are the pipeline's own.

    .venv/bin/python bench/bench_backtest.py            # 250 investigations (ideal 12 s)
    .venv/bin/python bench/bench_backtest.py --full     # 1,000 investigations (ideal 48 s)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from loader import load_module

from agentbook.backtest.importer import import_backtest

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "examples" / "incident-assistant" / "backtest" / "generate.py"
TURNS, LATENCY_MS, CONCURRENCY = 6, 200, 25
ANSWER = ("```json\n" + json.dumps({
    "verdict": "wrong", "failure_mode": "The query for {id} returned no usable logs.", "error_signature": None,
    "stage": "retrieval", "first_wrong_step": None,
    "suspected": [{"kind": "component", "path": "assistant/tools/loki.py", "line": None}],
    "evidence": [{"path": "trace/errors.md"}], "proposed_change": "Cap the query window.", "confidence": 0.7,
    "summary": "No logs."}) + "\n```")


def write_script(path: Path) -> None:
    reads = ["trace/errors.md", "trace/tree.txt", "outcome.md", "truth.md", "trace/README.md"]
    steps = [{"tool_use": {"name": "read", "input": {"path": p}}} for p in reads[:TURNS - 1]]
    session = {"match": {"first_user": {"regex": r"Analyse investigation (?P<id>\S+) "}},
               "defaults": {"latency_ms": LATENCY_MS}}
    script = {"version": 1, "model": "claude-haiku-4-5", "server": {"batch_seconds": 1, "chunk_chars": 400},
              "sessions": [{"name": "batch", **session, "match": {**session["match"], "system": "no tools"},
                            "turns": [{"text": ANSWER}]},
                           {"name": "live", **session, "turns": [*steps, {"text": ANSWER}]}]}
    path.write_text(json.dumps(script))  # JSON is YAML


def make_backtest(work: Path, count: int) -> Path:
    gen = load_module(GENERATOR, "backtest_generate")
    gen.generate(work / "src", seed=7, count=count, accounts=max(20, count // 10))
    import_backtest(work / "src" / "manifest.jsonl", work / "bt")
    return work / "bt"


def start_standin(script: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "agentbook", "standin", "serve", "--script", str(script)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "runner")})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "stand-in listening on http://127.0.0.1:PORT (script ...)"
    url = next(word for word in line.split() if word.startswith("http://"))
    return proc, url


def floor_seconds(model_spec: str, count: int) -> float:
    """The peer: N x 6 bare model calls, 25 in flight, through the same model layer and stand-in."""
    from agentbook.models import ModelRequest, load_model

    async def go() -> float:
        model = load_model(model_spec)
        queue = iter(range(count * TURNS))
        request = ModelRequest(messages=[{"role": "user", "content": "Analyse investigation inv-0001 (floor)"}],
                               max_tokens=1024)

        async def worker() -> None:
            for _ in queue:
                await model.complete(request)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        await model.aclose()
        return time.monotonic() - started

    return asyncio.run(go())


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_analyze(folder: Path, model: str, count: int, *extra: str) -> tuple[dict[str, Any], dict[int, float]]:
    """Run `agentbook backtest analyze` in a subprocess; sample its RSS as the done count passes milestones."""
    cmd = [sys.executable, "-m", "agentbook", "backtest", "analyze", str(folder), "--model", model,
           "--concurrency", str(CONCURRENCY), "--max-turns", str(TURNS + 2), "--json", *extra]
    cpu_before = _child_cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "runner")})
    ps = psutil.Process(proc.pid)
    log = folder / ".agentbook" / "analyze.jsonl"
    # the last mark short of the end: the process may exit within one sampling interval of its last analysis
    milestones = {count // 4: 0.0, count // 2: 0.0, count * 9 // 10: 0.0}
    done, offset = 0, 0
    while proc.poll() is None:
        if log.exists():
            with log.open() as fh:
                fh.seek(offset)
                chunk = fh.read()
                offset += len(chunk.encode())
            done += chunk.count('"event": "done"')
        rss = ps.memory_info().rss / 2**20 if proc.poll() is None else 0.0
        for mark, seen in milestones.items():
            if done >= mark and not seen and rss:
                milestones[mark] = rss
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"analyze failed ({proc.returncode}): {err[-2000:]}")
    summary = json.loads(out)
    summary["cpu_seconds"] = _child_cpu() - cpu_before
    return summary, milestones


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="1,000 investigations (default 250)")
    parser.add_argument("--count", type=int, help="investigations (overrides --full)")
    args = parser.parse_args()
    count = args.count or (1000 if args.full else 250)
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        folder = make_backtest(work, count)
        print(f"generated and imported {count} investigations in {time.monotonic() - started:.1f}s")
        write_script(work / "bench.script.yaml")
        server, url = start_standin(work / "bench.script.yaml")
        try:
            model = f"compat:{url}#claude-haiku-4-5?retries=0"
            standin = psutil.Process(server.pid)
            standin_cpu = sum(standin.cpu_times()[:2])
            live, rss = run_analyze(folder, model, count)
            standin_cpu = sum(standin.cpu_times()[:2]) - standin_cpu
            ideal = count * TURNS * LATENCY_MS / 1000 / CONCURRENCY
            floor = floor_seconds(model, count)
            wall = live["wall_seconds"]
            print(f"live: {live['done']} analyses x {TURNS} turns at {LATENCY_MS} ms, concurrency {CONCURRENCY}: "
                  f"wall {wall:.1f}s; ideal {ideal:.1f}s -> wall/ideal {wall / ideal:.3f} (target <= 1.10); "
                  f"floor (bare model calls) {floor:.1f}s -> wall/floor {wall / floor:.3f}, floor/ideal "
                  f"{floor / ideal:.3f}")
            print(f"CPU of analyze: {live['cpu_seconds']:.1f}s incl. start-up = "
                  f"{1000 * live['cpu_seconds'] / (count * TURNS):.1f} ms per turn; the stand-in used "
                  f"{standin_cpu:.1f}s CPU serving it ({standin_cpu / wall:.0%} of one core over the run)")
            print("RSS of analyze: " + ", ".join(f"{n} done {mb:.0f} MB" for n, mb in sorted(rss.items()))
                  + f"; growth first->last {rss[count * 9 // 10] / rss[count // 4]:.2f}x (flat = 1.0)")
            for p in folder.rglob("analysis.json"):
                p.unlink()
            batch, _ = run_analyze(folder, model, count, "--batch")
            print(f"cost: live ${live['cost_usd']:.4f} ({TURNS} turns each) vs batch ${batch['cost_usd']:.4f} "
                  f"(1 turn, batch price): batch/live {batch['cost_usd'] / live['cost_usd']:.3f}; "
                  f"per investigation ${live['cost_usd'] / count:.5f} vs ${batch['cost_usd'] / count:.5f}; "
                  f"batch wall {batch['wall_seconds']:.1f}s")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()

"""Session benchmark: N concurrent sessions x T turns against the stand-in with fixed latency per turn.

Prints three ratios (issue 3's quality bar):
  wall / ideal          ideal = T x latency (the sessions run concurrently); target <= 1.10
  runner CPU per turn   this process's CPU (the stand-in runs in a subprocess) / all turns; target < 5 ms
  cached input share    cache reads / all input tokens over turns 2..T; target > 0.80

One model serves the whole process, as in `backtest analyze`: its first wave of sessions opens the
connections and is reported on its own (cold start); the figures are the median of --repeat waves
after it. Peers measured in the same run: the same conversations through the model layer alone, and
the session loop over a model with no HTTP at all.

    .venv/bin/python bench/bench_session.py            # 25 sessions x 20 turns x 200 ms
    .venv/bin/python bench/bench_session.py --quick    # 5 x 6 x 100 ms
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentbook.models import Model, ModelRequest, ModelResponse, Usage, load_model
from agentbook.outcome import OutcomeKind
from agentbook.session import Budgets, SessionConfig, run_session

SYSTEM = ("You maintain a small Python service. Work in small steps, read before you edit, and keep "
          "the tests green. ") * 40  # ~700 tokens of stable prefix, like a real system prompt

SERVER = """
import asyncio, sys
from agentbook.standin import StandinServer, load_script
async def main():
    server = StandinServer(load_script(sys.argv[1]))
    await server.start()
    print(server.base_url, flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def write_script(path: Path, turns: int, latency_ms: float) -> None:
    tools = [{"tool_use": {"name": "read", "input": {"path": "src/app.py"}}},
             {"tool_use": {"name": "grep", "input": {"pattern": "def "}}},
             {"tool_use": {"name": "glob", "input": {"pattern": "**/*.py"}}}]
    steps = [{"text": f"Step {n}: checking the code.", **tools[n % 3]} for n in range(turns - 1)]
    script = {"version": 1, "model": "scripted", "sessions": [{
        "name": "bench", "match": {"first_user": {"regex": "^bench"}},
        "defaults": {"latency_ms": latency_ms},
        "turns": [*steps, {"text": "All checked; nothing to change."}]}]}
    path.write_text(json.dumps(script))  # JSON is YAML


class LoopOnlyModel:
    """The peer: the same turns and latency with no HTTP, SDK or stand-in, so the figures split into
    what the session loop costs and what the model layer (SDK, HTTP, SSE parsing) costs."""

    spec = name = "scripted"

    def __init__(self, turns: int, latency_ms: float) -> None:
        self.turns, self.latency = turns, latency_ms / 1000
        self.prefix = 0

    async def complete(self, request: ModelRequest, *, on_event: Any = None) -> ModelResponse:
        await asyncio.sleep(self.latency)
        index = sum(1 for m in request.messages if m["role"] == "assistant")
        tool = [("read", {"path": "src/app.py"}), ("grep", {"pattern": "def "}), ("glob", {"pattern": "**/*.py"})]
        name, args = tool[index % 3]
        content: list[dict[str, Any]] = [{"type": "text", "text": f"Step {index}: checking the code."}]
        if index < self.turns - 1:
            content.append({"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": args})
        usage = Usage(input_tokens=50, cache_read_input_tokens=1000 + 100 * index, output_tokens=20)
        return ModelResponse(f"msg_{index}", "scripted", content, "tool_use" if len(content) > 1 else "end_turn",
                             usage)

    async def aclose(self) -> None:
        pass


def make_root(base: Path, i: int) -> Path:
    root = base / f"root{i}"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("".join(f"def f{n}():\n    return {n}\n\n" for n in range(40)))
    return root


async def run_all(model: Model, base: Path, sessions: int, turns: int, tag: str) -> list[Any]:
    base.mkdir(parents=True)
    configs = [SessionConfig(model=model, root=make_root(base, i), system=SYSTEM,
                             tools=["read", "grep", "glob", "write", "edit"],
                             budgets=Budgets(max_turns=turns + 1, reserve=1.0),
                             transcript_path=base / f"t{i}.jsonl", trace_path=base / f"trace{i}.json")
               for i in range(sessions)]
    # a distinct first message per run, so no run finds its conversations in the stand-in's cache
    return await asyncio.gather(*(run_session(c, f"bench {tag} session {i}") for i, c in enumerate(configs)))


async def timed(make: Any) -> tuple[Any, float, float]:
    """(result, CPU seconds, wall seconds) of awaiting `make()`."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = await make()
    return result, time.process_time() - cpu0, time.perf_counter() - wall0


async def sdk_only(model: Model, sessions: int, turns: int) -> None:
    """The other peer: the same conversations straight through the model layer, no session around them
    (tool results are a fixed string), to see what the session adds on top of the SDK."""

    async def converse(i: int) -> None:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": f"bench sdk {i}"}]}]
        for _ in range(turns):
            response = await model.complete(ModelRequest(messages=list(messages), system=SYSTEM))
            messages.append({"role": "assistant", "content": response.content})
            calls = [b for b in response.content if b["type"] == "tool_use"]
            if not calls:
                return
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": b["id"], "content": "ok"} for b in calls]})

    await asyncio.gather(*(converse(i) for i in range(sessions)))


async def warm_runs(spec: str, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One process-wide model, as `backtest analyze` keeps one for all its analysts: a first wave of
    sessions opens its connections (reported as the cold start), then the measured runs reuse them."""
    model = load_model(spec)
    try:
        _, _, cold = await timed(lambda: run_all(model, base / "cold", args.sessions, args.turns, "cold"))
        runs = [await timed(lambda n=n: run_all(model, base / f"run{n}", args.sessions, args.turns, f"run{n}"))
                for n in range(max(1, args.repeat))]
        _, sdk_cpu, sdk_wall = await timed(lambda: sdk_only(model, args.sessions, args.turns))
    finally:
        await model.aclose()
    return {"cold": cold, "runs": runs, "sdk_cpu": sdk_cpu, "sdk_wall": sdk_wall}


def cached_share(transcripts: list[Path]) -> float:
    read = total = 0
    for path in transcripts:
        turns = [json.loads(line) for line in path.read_text().splitlines()]
        for event in [e for e in turns if e["event"] == "assistant"][1:]:
            u = event["usage"]
            read += u["cache_read_input_tokens"]
            total += u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
    return read / total if total else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the main measurement; the median is reported (shared machines are noisy)")
    parser.add_argument("--quick", action="store_true", help="5 sessions x 6 turns x 100 ms")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.turns, args.latency_ms = 5, 6, 100.0
    with tempfile.TemporaryDirectory(prefix="bench-session-") as tmp:
        base = Path(tmp)
        script = base / "bench.script.yaml"
        write_script(script, args.turns, args.latency_ms)
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(script)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            spec = f"compat:{server.stdout.readline().strip()}#scripted"
            got = asyncio.run(warm_runs(spec, base, args))
        finally:
            server.terminate()
            server.wait()
        peer = LoopOnlyModel(args.turns, args.latency_ms)
        _, peer_cpu, peer_wall = asyncio.run(timed(lambda: run_all(peer, base / "peer", args.sessions, args.turns, "")))
        runs = got["runs"]
        median = sorted(range(len(runs)), key=lambda n: runs[n][2])[len(runs) // 2]  # the median run by wall
        results, cpu, wall = runs[median]
        kinds = {r.outcome.kind for run in runs for r in run[0]}
        turns = sum(r.turns for r in results)
        ideal = args.turns * args.latency_ms / 1000
        share = cached_share([base / f"run{median}" / f"t{i}.jsonl" for i in range(args.sessions)])
        per_turn, peer_per_turn = cpu / turns * 1000, peer_cpu / turns * 1000
        print(f"sessions {args.sessions} x turns {args.turns} at {args.latency_ms:g} ms/turn; "
              f"outcomes {sorted(k.value for k in kinds)}; {turns} turns; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall figures need a quiet machine)")
        walls = sorted(r[2] / ideal for r in runs)
        print(f"wall {wall:.2f}s vs ideal {ideal:.2f}s: ratio {wall / ideal:.3f} (target <= 1.10); median of "
              f"{len(runs)} runs, range {walls[0]:.3f}-{walls[-1]:.3f}")
        print(f"  cold start (the process's first wave, opening {args.sessions} connections): wall ratio "
              f"{got['cold'] / ideal:.3f}")
        print(f"runner CPU {per_turn:.2f} ms/turn = {per_turn / 5:.2f}x the 5 ms target")
        sdk_wall = got["sdk_wall"]
        print(f"  peer: the same conversations through the model layer alone: wall ratio {sdk_wall / ideal:.3f}, "
              f"{got['sdk_cpu'] / turns * 1000:.2f} ms/turn; the session adds {wall / sdk_wall - 1:+.1%} wall")
        print(f"  peer without HTTP/SDK (session loop, tools, transcript, trace only): {peer_per_turn:.2f} ms/turn, "
              f"wall ratio {peer_wall / ideal:.3f}; model layer (SDK + HTTP + SSE) {per_turn - peer_per_turn:.2f} "
              f"ms/turn = {(per_turn - peer_per_turn) / per_turn:.0%} of runner CPU")
        print(f"cached share of input tokens after turn 1: {share:.3f} (target > 0.80)")
        return 0 if kinds == {OutcomeKind.COMPLETED} else 1


if __name__ == "__main__":
    sys.exit(main())

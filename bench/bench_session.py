"""Session benchmark: N concurrent sessions x T turns against the stand-in with fixed latency per turn.

Runs R independent processes (--runs, default 3), each with a fresh model (its connections, lazy
imports and first-use costs), and prints every wave of every run:
  wall / ideal          ideal = what a runner that cost nothing would take against the same stand-in,
                        measured in the same run: the last wave's own requests (from the stand-in's
                        log) sent again by a bare asyncio client, one socket per session, each the
                        moment the previous answer is in, nothing parsed (best of 2). It pays the
                        stand-in's latency, its CPU and its queueing, and loopback; the runner's CPU,
                        SDK, HTTP stack, tools and records are what the ratio measures.
                        Goal: every wave, the cold first wave included, <= 1.10 in 3 of 3 runs.
  / sleeps              the same worst wave against N tasks doing nothing but T sleeps of the latency
                        (timer granularity only: no stand-in, no HTTP), the yardstick before.
  runner CPU per turn   this process's CPU (the stand-in runs in a subprocess) / all turns; target < 5 ms
  cached input share    cache reads / all input tokens over turns 2..T; target > 0.80
Each run's load average (1 min) is printed at its start and end: with other work on the machine the
wall figures measure the machine, not agentbook. Peers in the same run: the same conversations through
the model layer alone, and the session loop over a model with no HTTP at all.

    .venv/bin/python bench/bench_session.py            # 3 runs of 25 sessions x 20 turns x 200 ms
    .venv/bin/python bench/bench_session.py --quick    # 1 run of 5 x 6 x 100 ms
    .venv/bin/python bench/bench_session.py --timeline # + per turn: where the time goes (bench_timeline.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import bench_timeline

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
    if len(sys.argv) > 2:  # --timeline: when each request arrived and when its answer was written
        sys.path.insert(0, sys.argv[3])
        from bench_timeline import trace_server
        trace_server(server, sys.argv[2])
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


def prepare(model: Model, base: Path, sessions: int, turns: int) -> list[SessionConfig]:
    """The sessions' roots and configs, made before the clock starts: the bench's setup, not the runner's."""
    base.mkdir(parents=True)
    return [SessionConfig(model=model, root=make_root(base, i), system=SYSTEM,
                          tools=["read", "grep", "glob", "write", "edit"],
                          budgets=Budgets(max_turns=turns + 1, reserve=1.0),
                          transcript_path=base / f"t{i}.jsonl", trace_path=base / f"trace{i}.json")
            for i in range(sessions)]


async def run_all(configs: list[SessionConfig], tag: str, stamps: list[dict[str, Any]] | None = None) -> list[Any]:
    async def one(i: int, config: SessionConfig) -> Any:
        # a distinct first message per run, so no run finds its conversations in the stand-in's cache
        key, began = f"bench {tag} session {i}", time.monotonic()
        result = await run_session(config, key)
        if stamps is not None:
            stamps.append({"key": key, "began": began, "done": time.monotonic()})
        return result

    return await asyncio.gather(*(one(i, c) for i, c in enumerate(configs)))


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


async def ideal_wave(sessions: int, turns: int, latency_ms: float) -> float:
    """Wall seconds of N tasks each awaiting T sleeps of the latency: a runner that cost nothing."""
    async def one() -> None:
        for _ in range(turns):
            await asyncio.sleep(latency_ms / 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(sessions)))
    return time.perf_counter() - started


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process `pid` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LoopLag:
    """How late this event loop wakes a task that asks for 5 ms: the queueing every session's next step
    meets while the loop is busy with the others."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.005
            await asyncio.sleep(0.005)
            self.lags.append(loop.time() - due)

    def __enter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def summary(self) -> dict[str, float]:
        lags = sorted(self.lags) or [0.0]
        return {"p50": lags[len(lags) // 2] * 1000, "p95": lags[int(len(lags) * 0.95)] * 1000}


async def one_run(base_url: str, server_pid: int, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One process-wide model, as `backtest analyze` keeps one for all its analysts: its first wave of
    sessions opens the connections and pays first-use costs (the cold wave), then the warm waves."""
    ideal = await ideal_wave(args.sessions, args.turns, args.latency_ms)
    spec = f"compat:{base_url}#scripted"
    cpu0, wall0 = time.process_time(), time.perf_counter()
    records: list[dict[str, Any]] = []
    if args.timeline:
        bench_timeline.hook_client()
    model: Any = load_model(spec)
    if args.timeline:
        model = bench_timeline.TimedModel(model, records)
    load = {"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0}
    waves: list[dict[str, Any]] = []
    try:
        for n in range(1 + max(1, args.waves)):
            tag = "cold" if n == 0 else f"wave{n}"
            server0 = proc_cpu(server_pid)
            stamps: list[dict[str, Any]] = []
            records.clear()
            configs = prepare(model, base / tag, args.sessions, args.turns)
            with LoopLag() as lag:
                results, cpu, wall = await timed(
                    lambda tag=tag, stamps=stamps, configs=configs: run_all(configs, tag, stamps))
            waves.append({"tag": tag, "wall": wall, "cpu": cpu, "server_cpu": proc_cpu(server_pid) - server0,
                          "turns": sum(r.turns for r in results), "lag": lag.summary(),
                          "outcomes": sorted({r.outcome.kind.value for r in results})})
            if args.timeline:
                await asyncio.sleep(0.2)  # the stand-in writes each stamp after the body: let the last land
                waves[-1]["timeline"] = bench_timeline.summarize(
                    list(records), base / "standin-timeline.jsonl", stamps, args.latency_ms / 1000)
        # the floor: the last wave's own requests replayed by a client that does nothing else (best of 2)
        bodies = await bench_timeline.recorded_bodies(base_url, args.sessions * args.turns)
        floor = min([await bench_timeline.replay(base_url, bodies, f"floor{n}") for n in range(2)])
        _, sdk_cpu, sdk_wall = await timed(lambda: sdk_only(model, args.sessions, args.turns))
    finally:
        await model.aclose()
    return {"ideal": ideal, "floor": floor, "load_model": load, "waves": waves, "sdk_cpu": sdk_cpu,
            "sdk_wall": sdk_wall}


def cached_share(transcripts: list[Path]) -> float:
    read = total = 0
    for path in transcripts:
        turns = [json.loads(line) for line in path.read_text().splitlines()]
        for event in [e for e in turns if e["event"] == "assistant"][1:]:
            u = event["usage"]
            read += u["cache_read_input_tokens"]
            total += u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
    return read / total if total else 0.0


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One run in this process: stand-in subprocess, ideal, model load, cold + warm waves, peers."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-session-") as tmp:
        base = Path(tmp)
        script = base / "bench.script.yaml"
        write_script(script, args.turns, args.latency_ms)
        extra = [str(base / "standin-timeline.jsonl"), str(Path(__file__).parent)] if args.timeline else []
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(script), *extra], stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert server.stdout is not None
            got = asyncio.run(one_run(server.stdout.readline().strip(), server.pid, base, args))
        finally:
            server.terminate()
            server.wait()
        peer = LoopOnlyModel(args.turns, args.latency_ms)
        configs = prepare(peer, base / "peer", args.sessions, args.turns)
        _, peer_cpu, peer_wall = asyncio.run(timed(lambda: run_all(configs, "")))
        last = got["waves"][-1]["tag"]
        got["cached_share"] = cached_share([base / last / f"t{i}.jsonl" for i in range(args.sessions)])
    got.update(peer_cpu=peer_cpu, peer_wall=peer_wall, load_before=load_before, load_after=os.getloadavg()[0])
    return got


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    nominal = args.turns * args.latency_ms / 1000
    print(f"sessions {args.sessions} x turns {args.turns} at {args.latency_ms:g} ms/turn; {len(runs)} runs, each a "
          f"fresh process; nominal {nominal:.2f}s; {os.cpu_count()} CPUs")
    print("  wall / ideal per wave; ideal = the same requests replayed by a runner that does nothing else "
          "(floor, best of 2)\n  sleeps = T x latency slept by N tasks; cpu = runner ms/turn; load = 1-min load average")
    tags = [w["tag"] for w in runs[0]["waves"]]
    print(f"  {'run':<4}{'load':>11}{'ideal':>8}{'sleeps':>8}{'model load':>11}"
          + "".join(f"{t:>8}" for t in tags) + f"{'worst':>8}{'/sleeps':>8}{'cpu':>7}")
    detail: list[str] = []
    met = met_sleeps = 0
    for n, run in enumerate(runs, 1):
        ratios = [w["wall"] / run["floor"] for w in run["waves"]]
        worst_sleeps = max(w["wall"] for w in run["waves"]) / run["ideal"]
        cpu = sum(w["cpu"] for w in run["waves"][1:]) / sum(w["turns"] for w in run["waves"][1:]) * 1000
        met += max(ratios) <= 1.10
        met_sleeps += worst_sleeps <= 1.10
        print(f"  {n:<4}{run['load_before']:>5.1f}->{run['load_after']:<4.1f}{run['floor']:>7.3f}s{run['ideal']:>7.3f}s"
              f"{run['load_model']['wall'] * 1000:>9.0f}ms"
              + "".join(f"{r:>8.3f}" for r in ratios) + f"{max(ratios):>8.3f}{worst_sleeps:>8.3f}{cpu:>7.2f}")
        detail.append(f"  run {n}: " + "; ".join(
            f"{w['tag']} runner {w['cpu'] / w['turns'] * 1000:.2f} + stand-in {w['server_cpu'] / w['turns'] * 1000:.2f} "
            f"ms/turn, loop lag p50 {w['lag']['p50']:.1f} p95 {w['lag']['p95']:.1f} ms" for w in run["waves"]))
    print("where the time above ideal goes (CPU per turn of this process and of the stand-in; how late the event "
          "loop wakes a 5 ms timer while the sessions run):")
    print("\n".join(detail))
    for n, run in enumerate(runs, 1):
        for wave in run["waves"]:
            if "timeline" in wave:
                print(bench_timeline.render(f"run {n} {wave['tag']}", wave["timeline"], args.turns))
    last = runs[-1]
    waves = last["waves"][1:]
    wall = statistics.median(w["wall"] for w in waves)
    turns = waves[0]["turns"]
    per_turn = statistics.median(w["cpu"] for w in waves) / turns * 1000
    peer_per_turn = last["peer_cpu"] / turns * 1000
    print(f"goal: every wave, cold included, <= 1.10 x ideal: met in {met} of {len(runs)} runs (target {len(runs)} of "
          f"{len(runs)}); against the sleeps alone in {met_sleeps} of {len(runs)}; wall figures need a quiet machine "
          "(see load)")
    print(f"runner CPU {per_turn:.2f} ms/turn = {per_turn / 5:.2f}x the 5 ms target (last run, median warm wave)")
    print(f"  peer: the same conversations through the model layer alone: wall / ideal {last['sdk_wall'] / last['floor']:.3f}, "
          f"{last['sdk_cpu'] / turns * 1000:.2f} ms/turn; the session adds {wall / last['sdk_wall'] - 1:+.1%} wall")
    print(f"  peer without HTTP/SDK (session loop, tools, transcript, trace only): {peer_per_turn:.2f} ms/turn, "
          f"wall / sleeps {last['peer_wall'] / last['ideal']:.3f}; model layer (SDK + HTTP + SSE) "
          f"{per_turn - peer_per_turn:.2f} ms/turn = {(per_turn - peer_per_turn) / per_turn:.0%} of runner CPU")
    print(f"cached share of input tokens after turn 1: {last['cached_share']:.3f} (target > 0.80)")
    outcomes = {o for run in runs for w in run["waves"] for o in w["outcomes"]}
    print(f"outcomes {sorted(outcomes)}")
    return outcomes == {OutcomeKind.COMPLETED.value}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3, help="independent processes, each with its own cold wave")
    parser.add_argument("--waves", type=int, default=2, help="warm waves per run after the cold one")
    parser.add_argument("--quick", action="store_true", help="1 run of 5 sessions x 6 turns x 100 ms")
    parser.add_argument("--timeline", action="store_true",
                        help="stamp every turn on both sides and print where each wave's time goes")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # a child: JSON on stdout
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.turns, args.latency_ms, args.runs = 5, 6, 100.0, 1
    if args.one_run:
        print(json.dumps(run_once(args), default=str))
        return 0
    child = [sys.executable, __file__, "--one-run", "--sessions", str(args.sessions), "--turns", str(args.turns),
             "--latency-ms", str(args.latency_ms), "--waves", str(args.waves), *(["--timeline"] if args.timeline else [])]
    runs = [json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            for _ in range(args.runs)]
    return 0 if report(runs, args) else 1


if __name__ == "__main__":
    sys.exit(main())

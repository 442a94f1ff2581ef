"""Model layer against the stand-in: N concurrent streamed conversations x T turns at a fixed latency.

The stand-in runs in its own process (`agentbook standin serve`), so this process's CPU is the client
side only: the real `anthropic` SDK plus agentbook's backend (governor hooks, event callback, typing).
Printed as ratios:
  wall / floor         floor = T x latency (what a perfectly concurrent client would take)
  cpu per turn         client CPU ms per request; also vs the bare SDK doing the same requests (peer)
  cached share         cache_read / all input tokens after each conversation's first turn
Usage: bench_models.py [--quick] [--sessions N] [--turns T] [--latency-ms L]
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

import anthropic
import psutil

from agentbook.models import ModelRequest, Usage, load_model

TOOLS = [{"name": name, "description": f"The {name} tool. " * 20,
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}
         for name in ("read", "write", "edit", "glob", "grep", "bash")]
TOOLS[-1] = {**TOOLS[-1], "cache_control": {"type": "ephemeral"}}
SYSTEM = [{"type": "text", "text": "You are a careful engineer. " * 200, "cache_control": {"type": "ephemeral"}}]


def script(turns: int, latency_ms: int) -> str:
    tool_turns = "".join(f"      - tool_use: {{name: read, input: {{path: 'f{{n}}-{i}.txt'}}}}\n"
                         for i in range(turns - 1))
    return (f"version: 1\nsessions:\n  - name: bench\n    match: {{first_user: {{regex: 'bench (?P<n>\\d+)'}}}}\n"
            f"    defaults: {{latency_ms: {latency_ms}}}\n    turns:\n{tool_turns}"
            f"      - text: 'done {{n}}'\n")


def next_messages(messages: list[dict[str, Any]], content: list[dict[str, Any]]) -> None:
    """Append the answer and tool results, moving the cache breakpoint to the newest message."""
    for m in messages:
        if isinstance(m["content"], list):
            m["content"] = [{k: v for k, v in b.items() if k != "cache_control"} for b in m["content"]]
    messages.append({"role": "assistant", "content": content})
    results = [{"type": "tool_result", "tool_use_id": b["id"], "content": "file contents " * 30}
               for b in content if b["type"] == "tool_use"]
    results[-1]["cache_control"] = {"type": "ephemeral"}
    messages.append({"role": "user", "content": results})


async def ours(spec: str, n: int, turns: int, usage: list[Usage]) -> None:
    model = load_model(spec)
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": f"bench {n}"}]}]
    events = 0

    def count(_: dict[str, Any]) -> None:
        nonlocal events
        events += 1

    for turn in range(turns):
        response = await model.complete(ModelRequest(messages=messages, system=SYSTEM, tools=TOOLS),
                                        on_event=count)
        if turn:
            usage.append(response.usage)
        if response.stop_reason != "tool_use":
            break
        next_messages(messages, response.content)
    await model.aclose()


async def bare_sdk(url: str, n: int, turns: int) -> None:
    async with anthropic.AsyncAnthropic(base_url=url, api_key="k") as client:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": f"bench {n}"}]}]
        for _ in range(turns):
            async with client.messages.stream(model="scripted", max_tokens=4096, messages=messages,  # type: ignore[arg-type]
                                              system=SYSTEM, tools=TOOLS) as stream:  # type: ignore[arg-type]
                async for _event in stream:
                    pass
                message = await stream.get_final_message()
            if message.stop_reason != "tool_use":
                break
            next_messages(messages, [b.model_dump(exclude_none=True) for b in message.content])


def timed(coro_factory: Any) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    asyncio.run(coro_factory())
    return time.perf_counter() - wall0, time.process_time() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5 sessions x 5 turns")
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--latency-ms", type=int, default=200)
    args = ap.parse_args()
    if args.quick:
        args.sessions, args.turns = 5, 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.script.yaml"
        path.write_text(script(args.turns, args.latency_ms))
        proc = subprocess.Popen([sys.executable, "-m", "agentbook", "standin", "serve", "--script", str(path),
                                 "--json"], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            head, line = "", ""
            while line != "}\n":
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit("stand-in did not start")
                head += line
            url = json.loads(head)["url"]
            run(url, args, psutil.Process(proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def run(url: str, args: argparse.Namespace, server: psutil.Process) -> None:
    spec = f"compat:{url}#scripted"
    requests = args.sessions * args.turns
    usage: list[Usage] = []

    async def ours_all() -> None:
        await asyncio.gather(*(ours(spec, n, args.turns, usage) for n in range(args.sessions)))

    async def bare_all() -> None:
        await asyncio.gather(*(bare_sdk(url, n + 10_000, args.turns) for n in range(args.sessions)))

    bare_wall, bare_cpu = timed(bare_all)
    server_cpu0 = sum(server.cpu_times()[:2])
    wall, cpu = timed(ours_all)
    server_cpu = sum(server.cpu_times()[:2]) - server_cpu0
    floor = args.turns * args.latency_ms / 1000
    total = sum(u.total_input for u in usage)
    cached = sum(u.cache_read_input_tokens for u in usage) / total if total else 0.0
    load = os.getloadavg()[0]
    print(f"model layer: {args.sessions} concurrent conversations x {args.turns} turns, "
          f"{args.latency_ms} ms per turn, stand-in in its own process "
          f"(machine load {load:.1f} on {os.cpu_count()} cores: wall figures need an idle machine)")
    print(f"  wall          {wall:6.2f} s   floor {floor:.2f} s   ratio {wall / floor:5.3f}   (target <= 1.10)")
    print(f"  client cpu    {cpu / requests * 1000:6.2f} ms per turn                (target < 5 ms)")
    print(f"  vs bare SDK   {bare_cpu / requests * 1000:6.2f} ms per turn   ratio {cpu / bare_cpu:5.3f}   "
          f"(agentbook backend overhead; bare wall {bare_wall:.2f} s)")
    print(f"  stand-in cpu  {server_cpu / requests * 1000:6.2f} ms per turn (server process)")
    print(f"  cached share  {cached:6.3f} of input tokens after the first turn   (target > 0.80)")


if __name__ == "__main__":
    main()

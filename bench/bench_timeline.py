"""An opt-in per-turn timeline for bench_session (`--timeline`): where each turn's time goes between
the runner and the stand-in, measured on the one clock both processes share (CLOCK_MONOTONIC).

Client side (this process): when the session calls the model, when the HTTP request is handed to the
connection (the SDK client's request hook), when the response headers arrive (its response hook) and
when the stream has been read to its end. Stand-in side (its process): when the request was read in
full, when its answer was ready (arrival + the script's latency) and when the body was written.
Nothing here runs unless the benchmark asks for it; production code has no timing hooks.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

_TURN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("bench_turn", default=None)

# (label, from, to): the segments one turn is cut into, in order
SEGMENTS = [("prep", "start", "sent"), ("to stand-in", "sent", "recv"), ("latency", "recv", "ready"),
            ("write", "ready", "write"), ("to runner", "write", "headers"), ("body", "headers", "end"),
            ("between", "end", "next")]


def _key(messages: list[dict[str, Any]]) -> str:
    content = messages[0]["content"]
    return str(content if isinstance(content, str) else content[0].get("text", ""))


def hook_client() -> None:
    """Wrap the backend's request/response hooks (before any client is made) to stamp the turn."""
    from agentbook.models import backend

    gate, observe = backend._gate, backend._observe

    async def timed_gate(request: Any) -> None:
        turn = _TURN.get()
        if turn is not None:
            turn["sent"] = time.monotonic()
        await gate(request)

    async def timed_observe(response: Any) -> None:
        turn = _TURN.get()
        if turn is not None:
            turn["headers"] = time.monotonic()
        await observe(response)

    backend._gate, backend._observe = timed_gate, timed_observe  # type: ignore[assignment]


class TimedModel:
    """The benchmark's model with each `complete` stamped (start, end; the hooks add sent/headers)."""

    def __init__(self, model: Any, records: list[dict[str, Any]]) -> None:
        self.model, self.records = model, records
        self.spec, self.name = model.spec, model.name

    async def complete(self, request: Any, *, on_event: Any = None) -> Any:
        turn = {"s": _key(request.messages), "n": len(request.messages), "start": time.monotonic()}
        token = _TURN.set(turn)
        try:
            return await self.model.complete(request, on_event=on_event)
        finally:
            turn["end"] = time.monotonic()
            _TURN.reset(token)
            self.records.append(turn)

    async def aclose(self) -> None:
        await self.model.aclose()


def trace_server(server: Any, path: str) -> None:
    """Stamp every Messages request the stand-in answers; one JSON line each in `path`."""
    out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the stand-in
    handle = server.handle

    async def timed_handle(request: Any) -> Any:
        reply = await handle(request)
        if request.path.rstrip("/") != "/v1/messages":
            return reply
        messages = json.loads(request.body)["messages"]
        stamp = {"s": _key(messages), "n": len(messages), "recv": request.received, "ready": time.monotonic()}
        body = reply.body

        async def stamped() -> AsyncIterator[bytes]:
            first = True
            async for chunk in body:
                if first:
                    stamp["write"], first = time.monotonic(), False
                yield chunk
            out.write(json.dumps(stamp) + "\n")

        if not isinstance(body, bytes):
            reply.body = stamped()
        return reply

    server.handle = timed_handle


def summarize(client: list[dict[str, Any]], server_file: Path, sessions: list[dict[str, Any]],
              latency: float) -> dict[str, Any]:
    """Per segment, the mean ms per turn over all turns of the wave, and the wave's critical path:
    the slowest session's start, its turns' segments summed, and its end."""
    served = {(r["s"], r["n"]): r for r in map(json.loads, server_file.read_text().splitlines())}
    by_session: dict[str, list[dict[str, Any]]] = {}
    for turn in client:
        turn.update(served.get((turn["s"], turn["n"]), {}))
        by_session.setdefault(turn["s"], []).append(turn)
    per_segment: dict[str, list[float]] = {label: [] for label, _, _ in SEGMENTS}
    first: dict[str, list[float]] = {label: [] for label, _, _ in SEGMENTS}
    totals: dict[str, dict[str, float]] = {}
    for info in sessions:
        turns = sorted(by_session.get(info["key"], []), key=lambda t: t["start"])
        for turn, following in zip(turns, [*turns[1:], None], strict=True):
            turn["next"] = following["start"] if following else info["done"]
        sums = {label: 0.0 for label, _, _ in SEGMENTS}
        for turn in turns:
            for label, a, b in SEGMENTS:
                if a in turn and b in turn:
                    ms = (turn[b] - turn[a]) * 1000
                    (first if turn["n"] == 1 else per_segment)[label].append(ms)
                    sums[label] += ms
        sums["start"] = (turns[0]["start"] - info["began"]) * 1000 if turns else 0.0
        sums["wall"] = (info["done"] - info["began"]) * 1000
        totals[info["key"]] = sums
    slowest = max(totals.values(), key=lambda t: t["wall"])
    # how bunched the sessions stay: per turn number, the spread of the stand-in's arrival times
    arrivals: dict[int, list[float]] = {}
    for turn in client:
        if "recv" in turn:
            arrivals.setdefault(turn["n"], []).append(turn["recv"])
    spread = [(max(v) - min(v)) * 1000 for _, v in sorted(arrivals.items())]
    means = {label: statistics.fmean(v) if v else 0.0 for label, v in per_segment.items()}
    p95 = {label: sorted(v)[int(len(v) * 0.95)] if v else 0.0 for label, v in per_segment.items()}
    firsts = {label: statistics.fmean(v) if v else 0.0 for label, v in first.items()}
    return {"spread_ms": spread, "mean_ms": means, "p95_ms": p95, "first_ms": firsts, "slowest_ms": slowest,
            "latency_ms": latency * 1000}


def render(tag: str, summary: dict[str, Any], turns: int) -> str:
    labels = ["start", *(label for label, _, _ in SEGMENTS)]
    mean, p95, slow = summary["mean_ms"], summary["p95_ms"], summary["slowest_ms"]
    head = "".join(f"{label:>12}" for label in labels)
    return "\n".join([
        f"  {tag}: per turn (ms; latency = the stand-in's scripted {summary['latency_ms']:.0f} ms)",
        f"    {'':<16}{head}",
        f"    {'first turn':<16}{'':>12}" + "".join(f"{summary['first_ms'][label]:>12.2f}" for label in labels[1:]),
        f"    {'later, mean':<16}{'':>12}" + "".join(f"{mean[label]:>12.2f}" for label in labels[1:]),
        f"    {'later, p95':<16}{'':>12}" + "".join(f"{p95[label]:>12.2f}" for label in labels[1:]),
        f"    {'slowest session':<16}" + "".join(f"{slow.get(label, 0.0):>12.1f}" for label in labels)
        + f"   (sum over its {turns} turns; wall {slow['wall']:.0f} ms)",
        "    spread of the sessions' arrivals at the stand-in, per turn (ms): "
        + " ".join(f"{ms:.0f}" for ms in summary["spread_ms"])])


# ---- the floor: a runner that spends nothing between turns ------------------------------------------

async def recorded_bodies(base_url: str, count: int) -> list[dict[str, Any]]:
    """The last `count` Messages request bodies the stand-in recorded (what the runner sent, the key
    aside: the log keeps none, and the replay sends a stand-in one the same way)."""
    reader, writer = await _connect(base_url)
    writer.write(f"GET /_standin/requests?limit={count} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
    status, body = await _read_response(reader)
    writer.close()
    assert status == 200, status
    return [{"auth": r["auth"], **r["body"]} for r in json.loads(body)["requests"] if r["path"] == "/v1/messages"]


async def replay(base_url: str, bodies: list[dict[str, Any]], tag: str) -> float:
    """Wall seconds for each session's recorded requests sent again in order, one keep-alive socket per
    session, each sent the moment the previous answer has been read in full and nothing else done: what
    a runner with no cost of its own would take against the same stand-in, its latency and its CPU."""
    sessions: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        sessions.setdefault(_key(body["messages"]), []).append(body)
    wires = []
    for n, turns in enumerate(sessions.values()):
        fresh = f"bench {tag} session {n}"  # a new conversation to the stand-in (its cache, its attempts)
        encoded = []
        for body in sorted(turns, key=lambda b: len(b["messages"])):
            auth = b"x-api-key: floor" if body["auth"] == "x-api-key" else b"authorization: Bearer floor"
            body = {k: v for k, v in body.items() if k != "auth"}
            first = body["messages"][0]
            content = [{**first["content"][0], "text": fresh}, *first["content"][1:]]
            body = {**body, "messages": [{**first, "content": content}, *body["messages"][1:]]}
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            encoded.append(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n%s\r\n"
                           b"anthropic-version: 2023-06-01\r\ncontent-length: %d\r\n\r\n%s" % (auth, len(data), data))
        wires.append(encoded)

    async def one(requests: list[bytes]) -> None:
        reader, writer = await _connect(base_url)
        for request in requests:
            writer.write(request)
            status, _ = await _read_response(reader)
            assert status == 200, status
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(w) for w in wires))
    return time.perf_counter() - started


async def _connect(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response (content-length or chunked), parsed no further."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lines = head.lower().split(b"\r\n")
    length = next((int(h.split(b":")[1]) for h in lines if h.startswith(b"content-length:")), None)
    if length is not None:
        return status, await reader.readexactly(length)
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        body += await reader.readexactly(size + 2)
        if size == 0:
            return status, bytes(body)

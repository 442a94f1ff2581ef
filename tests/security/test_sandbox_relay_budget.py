"""Attacks on the keyless relay's spend. The sandboxed agent (steered by the ticket) holds only the relay's
token, but every request goes out on the runner's key, and the run's `max_usd` was the only bound: the
relay forwarded any model the agent named (a dearer one), checked the budget only before a request (so
one request with a huge `max_tokens`, or many sent at once, spent far past it), and charged a stream
the agent hung up on before its final usage nothing for its output. Each attack here is made by the
real SDK against the real relay; upstream is a loopback server that bills the worst case (every
request uses all its `max_tokens`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentbook.models.relay import Relay, RelayLimits
from agentbook.redaction import Redactor
from agentbook.session.transcript import Transcript

MODEL = "claude-sonnet-4-5"  # priced: $3 in, $15 out per million tokens
OUTPUT_USD = 15 / 1_000_000


class Upstream:
    """Stands for the model's servers: records each request, answers with all of `max_tokens` used
    (streamed slowly when asked to stream), after `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                seen.append((self.path, body))
                time.sleep(delay)
                if self.path.endswith("count_tokens"):
                    return self._json({"input_tokens": 12})
                usage = {"input_tokens": 10, "output_tokens": int(body.get("max_tokens", 0))}
                if not body.get("stream"):
                    return self._json({"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                       "content": [{"type": "text", "text": "ok"}], "stop_reason": "max_tokens",
                                       "stop_sequence": None, "usage": usage})
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                start = {"type": "message_start", "message": {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": [],
                    "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}
                events = [start, {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
                events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word "}}] * 20
                events += [{"type": "content_block_stop", "index": 0},
                           {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                            "usage": {"output_tokens": usage["output_tokens"]}}, {"type": "message_stop"}]
                try:
                    for event in events:
                        self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(0.02)
                except OSError:
                    pass  # the relay hung up: what a real server would see

            def _json(self, value: dict[str, Any]) -> None:
                raw = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/v1/messages"]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.server.shutdown()


def _attack(tmp_path: Path, upstream: Upstream, limits: RelayLimits, attack: Any) -> tuple[Relay, Any, list[dict[str, Any]]]:
    """Run `attack(client)` (the real SDK pointed at the relay, no retries); (relay, result, transcript)."""
    async def go() -> tuple[Relay, Any]:
        transcript = Transcript(tmp_path / "transcript.jsonl", "run-1", Redactor([]))
        relay = Relay(f"compat:{upstream.url}#{MODEL}", limits=limits, transcript=transcript)
        await relay.start()
        client = anthropic.AsyncAnthropic(base_url=relay.base_url, api_key=relay.token, max_retries=0)
        try:
            return relay, await attack(client)
        finally:
            await client.close()
            await relay.stop()
            transcript.close()

    relay, result = asyncio.run(go())
    path = tmp_path / "transcript.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return relay, result, events


HELLO = [{"role": "user", "content": "hello"}]


def test_another_model_is_refused_and_recorded(tmp_path: Path, upstream: Upstream) -> None:
    async def attack(client: anthropic.AsyncAnthropic) -> list[Any]:
        out = []
        for call in (lambda: client.messages.create(model="claude-opus-4-1", max_tokens=64, messages=HELLO),
                     lambda: client.messages.count_tokens(model="claude-opus-4-1", messages=HELLO),
                     lambda: client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)):
            try:
                out.append(await call())
            except anthropic.APIStatusError as err:
                out.append(err)
        return out

    _, (dearer, counted, own), events = _attack(tmp_path, upstream, RelayLimits(max_usd=5.0), attack)
    for refused in (dearer, counted):
        assert isinstance(refused, anthropic.BadRequestError), refused  # 400: the SDK and agents do not retry it
        assert "the model 'claude-opus-4-1' is not relayed: this run's model is 'claude-sonnet-4-5'" in str(refused)
    assert own.content[0].text == "ok"
    assert [body["model"] for _, body in upstream.requests] == [MODEL]  # upstream heard only the run's model
    assert [e["reason"] for e in events if e["event"] == "relay_refused"] == ["model", "model"]


def test_batches_and_other_endpoints_are_not_relayed(tmp_path: Path, upstream: Upstream) -> None:
    async def attack(client: anthropic.AsyncAnthropic) -> Any:
        try:
            return await client.messages.batches.create(requests=[
                {"custom_id": "a", "params": {"model": MODEL, "max_tokens": 64000, "messages": HELLO}}])
        except anthropic.APIStatusError as err:
            return err

    _, refused, _ = _attack(tmp_path, upstream, RelayLimits(max_usd=0.01), attack)
    assert isinstance(refused, anthropic.NotFoundError) and "is not relayed" in str(refused)
    assert upstream.requests == []


def test_a_huge_max_tokens_cannot_spend_past_the_budget(tmp_path: Path, upstream: Upstream) -> None:
    budget = 0.01

    async def attack(client: anthropic.AsyncAnthropic) -> list[Any]:
        out = []
        for _ in range(3):
            try:
                out.append(await client.messages.create(model=MODEL, max_tokens=1_000_000, messages=HELLO,
                                                              timeout=30))
            except anthropic.APIStatusError as err:
                out.append(err)
        return out

    relay, results, events = _attack(tmp_path, upstream, RelayLimits(max_usd=budget), attack)
    assert upstream.messages()[0]["max_tokens"] < budget / OUTPUT_USD  # lowered to what the budget pays for
    assert relay.stats.cost_usd <= budget
    assert isinstance(results[-1], anthropic.BadRequestError) and "budget exhausted" in str(results[-1])
    assert relay.stopped is not None and relay.stopped[0] == "usd"
    assert any(e["event"] == "relay_clamped" and e["asked"] == 1_000_000 for e in events)


def test_parallel_requests_cannot_spend_past_the_budget(tmp_path: Path) -> None:
    slow = Upstream(delay=0.3)
    budget = 0.05  # eight requests of 4000 output tokens would cost $0.48

    async def attack(client: anthropic.AsyncAnthropic) -> list[Any]:
        async def one() -> Any:
            try:
                return await client.messages.create(model=MODEL, max_tokens=4000, messages=HELLO)
            except anthropic.APIStatusError as err:
                return err
        return await asyncio.gather(*(one() for _ in range(8)))

    try:
        relay, results, _ = _attack(tmp_path, slow, RelayLimits(max_usd=budget), attack)
    finally:
        slow.server.shutdown()
    assert relay.stats.cost_usd <= budget, relay.stats.cost_usd
    assert sum(1 for r in results if isinstance(r, anthropic.BadRequestError)) >= 1
    assert sum(1 for r in results if not isinstance(r, Exception)) >= 1  # the budget was spent, not refused outright


def test_a_stream_hung_up_before_its_usage_is_charged_in_full(tmp_path: Path, upstream: Upstream) -> None:
    async def attack(client: anthropic.AsyncAnthropic) -> None:
        async with client.messages.stream(model=MODEL, max_tokens=2000, messages=HELLO) as stream:
            async for _event in stream:
                break  # hang up after message_start: the final usage (2000 output tokens) never comes
        await asyncio.sleep(0.5)  # the relay notices the hang-up

    relay, _, _ = _attack(tmp_path, upstream, RelayLimits(max_usd=5.0), attack)
    assert relay.stats.usage.output_tokens == 2000
    assert relay.stats.cost_usd >= 2000 * OUTPUT_USD
    assert relay.stats.requests == 1 and relay.stats.calls[0].output_tokens == 2000

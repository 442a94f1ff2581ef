"""Attacks on the keyless relay's spend. The sandboxed agent (steered by the ticket) holds only the relay's
token, but every request goes out on the runner's key, and the run's `max_usd` was the only bound: the
relay forwarded any model the agent named (a dearer one), checked the budget only before a request (so
one request with a huge `max_tokens`, or many sent at once, spent far past it), and charged a stream
the agent hung up on before its final usage nothing for its output. Each attack here is made by the
real SDK against the real relay; upstream is the stand-in on loopback, scripted to bill the worst case
(every request uses all its `max_tokens`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from relay_kit import Attack, send, through_relay

from agentbook.models.relay import Relay, RelayLimits
from agentbook.standin import StandinServer, parse_script, running

MODEL = "claude-sonnet-4-5"  # priced: $3 in, $15 out per million tokens
OUTPUT_USD = 15 / 1_000_000
HANG_UP = "write at length"  # the first user message of the stream the agent hangs up on


def upstream_script(latency_ms: int = 0) -> str:
    """Stands for the model's servers: every request uses all of its `max_tokens`, after `latency_ms`; the
    stream of a long answer stalls after its first events (pinging, so nothing times out): the agent
    hangs up before its final usage."""
    return f"""
        version: 1
        defaults: {{latency_ms: {latency_ms}}}
        sessions:
          - name: long
            match: {{first_user: {HANG_UP}}}
            turns:
              - text: ok
                usage: {{input_tokens: 10, output_tokens: max_tokens}}
                fault: {{kind: stall, after_events: 3, ping_every: 0.02}}
        default:
          turns:
            - text: ok
              stop_reason: max_tokens
              usage: {{input_tokens: 10, output_tokens: max_tokens}}
    """


def serving(latency_ms: int = 0) -> Any:
    return running(parse_script(upstream_script(latency_ms), "upstream.script.yaml"))


@pytest.fixture
def upstream() -> Iterator[StandinServer]:
    with serving() as server:
        yield server


def _attack(tmp_path: Path, upstream: StandinServer, limits: RelayLimits, attack: Attack) -> tuple[Relay, Any, list[dict[str, Any]]]:
    return through_relay(tmp_path, upstream, attack, model=MODEL, limits=limits)


HELLO = [{"role": "user", "content": "hello"}]


def test_another_model_is_refused_and_recorded(tmp_path: Path, upstream: StandinServer) -> None:
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
    assert [r["body"]["model"] for r in upstream.requests(None)] == [MODEL]  # upstream heard only the run's model
    assert [e["reason"] for e in events if e["event"] == "relay_refused"] == ["model", "model"]


def test_batches_and_other_endpoints_are_not_relayed(tmp_path: Path, upstream: StandinServer) -> None:
    async def attack(client: anthropic.AsyncAnthropic) -> Any:
        try:
            return await client.messages.batches.create(requests=[
                {"custom_id": "a", "params": {"model": MODEL, "max_tokens": 64000, "messages": HELLO}}])
        except anthropic.APIStatusError as err:
            return err

    _, refused, _ = _attack(tmp_path, upstream, RelayLimits(max_usd=0.01), attack)
    assert isinstance(refused, anthropic.NotFoundError) and "is not relayed" in str(refused)
    assert upstream.requests(None) == []


def test_a_huge_max_tokens_cannot_spend_past_the_budget(tmp_path: Path, upstream: StandinServer) -> None:
    budget = 0.01

    async def attack(client: anthropic.AsyncAnthropic) -> list[Any]:
        return [await send(client, model=MODEL, max_tokens=1_000_000, messages=HELLO, timeout=30) for _ in range(3)]

    relay, results, events = _attack(tmp_path, upstream, RelayLimits(max_usd=budget), attack)
    assert upstream.requests()[0]["body"]["max_tokens"] < budget / OUTPUT_USD  # lowered to what the budget pays for
    assert relay.stats.cost_usd <= budget
    assert isinstance(results[-1], anthropic.BadRequestError) and "budget exhausted" in str(results[-1])
    assert relay.stopped is not None and relay.stopped[0] == "usd"
    assert any(e["event"] == "relay_clamped" and e["asked"] == 1_000_000 for e in events)


def test_parallel_requests_cannot_spend_past_the_budget(tmp_path: Path) -> None:
    budget = 0.05  # eight requests of 4000 output tokens would cost $0.48

    async def attack(client: anthropic.AsyncAnthropic) -> list[Any]:
        return await asyncio.gather(*(send(client, model=MODEL, max_tokens=4000, messages=HELLO) for _ in range(8)))

    with serving(latency_ms=300) as slow:
        relay, results, _ = _attack(tmp_path, slow, RelayLimits(max_usd=budget), attack)
    assert relay.stats.cost_usd <= budget, relay.stats.cost_usd
    assert sum(1 for r in results if isinstance(r, anthropic.BadRequestError)) >= 1
    assert sum(1 for r in results if not isinstance(r, Exception)) >= 1  # the budget was spent, not refused outright


def test_a_stream_hung_up_before_its_usage_is_charged_in_full(tmp_path: Path, upstream: StandinServer) -> None:
    async def attack(client: anthropic.AsyncAnthropic) -> None:
        async with client.messages.stream(model=MODEL, max_tokens=2000,
                                          messages=[{"role": "user", "content": HANG_UP}]) as stream:
            async for _event in stream:
                break  # hang up after message_start: the final usage (2000 output tokens) never comes
        await asyncio.sleep(0.5)  # the relay notices the hang-up

    relay, _, _ = _attack(tmp_path, upstream, RelayLimits(max_usd=5.0), attack)
    assert relay.stats.usage.output_tokens == 2000
    assert relay.stats.cost_usd >= 2000 * OUTPUT_USD
    assert relay.stats.requests == 1 and relay.stats.calls[0].output_tokens == 2000

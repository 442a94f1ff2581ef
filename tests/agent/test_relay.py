"""The keyless relay, with the real anthropic SDK as the agent and the stand-in as upstream: it adds the
real key, counts tokens and cost, stops at the budget, records the trace and transcript, and reaches
an agent in the real bubblewrap sandbox (no network) through its unix socket and the forwarder."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentbook.models import relay_forward
from agentbook.models.relay import Relay, RelayLimits
from agentbook.redaction import Redactor
from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.session.sandbox import bwrap_works
from agentbook.session.trace import TraceRecorder
from agentbook.session.transcript import Transcript

DATA = Path(__file__).parent / "data"
REAL_KEY = "sk-ant-relay-test-real-key-0123456789abcdef"
KEY_ENV = "AGENTBOOK_RELAY_TEST_KEY"
SPEC = f"scripted:{DATA / 'relay.script.yaml'}?key_env={KEY_ENV}"


@pytest.fixture(autouse=True)
def real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, REAL_KEY)


def _ask(base_url: str, key: str, *, stream: bool, history: list[dict[str, Any]] | None = None) -> Any:
    async def go() -> Any:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key=key, max_retries=0)
        messages = history or [{"role": "user", "content": "relay me"}]
        try:
            if stream:
                async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=256,
                                                  messages=messages) as s:
                    return await s.get_final_message()
            return await client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=messages)
        finally:
            await client.close()
    return go()


async def _with_relay(tmp_path: Path, limits: RelayLimits | None, body: Any) -> tuple[Relay, Any]:
    redactor = Redactor([REAL_KEY])
    trace = TraceRecorder(tmp_path / "trace.otlp.json", "run-1", redactor)
    transcript = Transcript(tmp_path / "transcript.jsonl", "run-1", redactor)
    relay = Relay(SPEC, limits=limits, trace=trace, transcript=transcript)
    await relay.start()
    try:
        result = await body(relay)
    finally:
        await relay.stop()
        transcript.close()
        trace.write()
    return relay, result


def test_relay_adds_the_key_counts_and_records(tmp_path: Path) -> None:
    async def body(relay: Relay) -> Any:
        first = await _ask(relay.base_url, relay.token, stream=True)
        history = [{"role": "user", "content": "relay me"},
                   {"role": "assistant", "content": [b.model_dump() for b in first.content]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.content[1].id,
                                                 "content": "hello"}]}]
        second = await _ask(relay.base_url, relay.token, stream=False, history=history)
        return first, second

    relay, (first, second) = asyncio.run(_with_relay(tmp_path, None, body))
    assert first.content[0].text == "First answer from upstream."  # upstream accepted only the real key
    assert second.content[0].text == "Second answer from upstream."
    assert relay.stats.requests == 2 and [c.status for c in relay.stats.calls] == [200, 200]
    assert relay.stats.usage.output_tokens == first.usage.output_tokens + second.usage.output_tokens
    assert relay.stats.calls[0].input_tokens == first.usage.input_tokens + (first.usage.cache_read_input_tokens or 0) \
        + (first.usage.cache_creation_input_tokens or 0)
    assert relay.stats.cost_usd > 0 and not relay.stats.cost_estimated  # claude-sonnet-4-5 is priced
    trace = (tmp_path / "trace.otlp.json").read_text()
    transcript = (tmp_path / "transcript.jsonl").read_text()
    spans = json.loads(trace)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [s["name"] for s in spans].count("chat claude-sonnet-4-5") == 2
    assert "Second answer from upstream." in trace and "relay me" in trace
    assert [json.loads(line)["event"] for line in transcript.splitlines()] == ["relay", "relay"]
    for text in (trace, transcript):
        assert REAL_KEY not in text and relay.token not in text


def test_relay_refuses_a_wrong_token_without_going_upstream(tmp_path: Path) -> None:
    async def body(relay: Relay) -> Any:
        with pytest.raises(anthropic.AuthenticationError) as err:
            await _ask(relay.base_url, REAL_KEY[:-1] + "x", stream=False)
        return err.value

    relay, err = asyncio.run(_with_relay(tmp_path, None, body))
    assert "relay token" in str(err)
    assert relay.stats.requests == 0


def test_relay_stops_at_max_usd(tmp_path: Path) -> None:
    async def body(relay: Relay) -> Any:
        for _ in range(50):
            try:
                await _ask(relay.base_url, relay.token, stream=True)
            except anthropic.BadRequestError as err:
                return err
        raise AssertionError("never stopped")

    # room for a few requests' input and a few output tokens each (their max_tokens is lowered to them)
    relay, err = asyncio.run(_with_relay(tmp_path, RelayLimits(max_usd=0.001), body))
    assert "budget exhausted" in str(err)
    assert relay.stopped is not None and relay.stopped[0] == "usd"
    assert 1 <= relay.stats.requests and relay.stats.cost_usd <= 0.001  # the refused request never went upstream
    events = [json.loads(line)["event"] for line in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    assert events[-1] == "relay_refused" and events.count("relay") == relay.stats.requests
    assert "relay_clamped" in events


AGENT = """
import os, anthropic
assert "ANTHROPIC_API_KEY" in os.environ and os.environ["ANTHROPIC_API_KEY"].startswith("sk-agentbook-relay-")
client = anthropic.Anthropic(max_retries=0)   # ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY from the environment
reply = client.messages.create(model="claude-sonnet-4-5", max_tokens=256,
                               messages=[{"role": "user", "content": "relay me"}])
print(reply.content[0].text)
import socket
try:
    socket.create_connection(("1.1.1.1", 443), timeout=2)
    print("NETWORK")
except OSError:
    print("no network")
"""


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")
def test_a_sandboxed_agent_reaches_only_the_relay(tmp_path: Path) -> None:
    """No network namespace access: the agent talks to 127.0.0.1 inside the sandbox, the forwarder
    carries that over the bound unix socket to the relay, and nothing else gets out."""
    sock_dir = Path(os.path.realpath(tmp_path)) / "s"
    sock_dir.mkdir()
    work = tmp_path / "work"
    work.mkdir()

    async def body(relay: Relay) -> Any:
        call = jail.prepare(work, Limits(), argv=[sys.executable, "-I", relay_forward.__file__,
                                                  str(relay.socket_path), "--", sys.executable, "-c", AGENT],
                            host_ro=[str(sock_dir)])
        env = {"PATH": os.environ["PATH"], "HOME": str(work), "ANTHROPIC_API_KEY": relay.token}
        try:
            proc = await asyncio.create_subprocess_exec(*call.argv, env=env, stdout=subprocess.PIPE,
                                                        stderr=subprocess.PIPE, pass_fds=call.pass_fds)
            out, err = await proc.communicate()
        finally:
            call.close()
        return proc.returncode, out.decode(), err.decode()

    async def with_socket() -> tuple[Relay, Any]:
        relay = Relay(SPEC, socket_path=sock_dir / "relay.sock")
        await relay.start()
        try:
            return relay, await body(relay)
        finally:
            await relay.stop()

    relay, (code, out, err) = asyncio.run(with_socket())
    assert code == 0, err
    assert out.splitlines() == ["First answer from upstream.", "no network"]
    assert relay.stats.requests == 1

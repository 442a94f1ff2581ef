"""Injected faults as the real SDK sees them: retried statuses, mid-stream errors, stalls, drops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from agentbook.standin import StandinServer

Standin = Callable[[str], StandinServer]
REQUEST: dict[str, Any] = {"model": "claude-sonnet-5", "max_tokens": 100,
                           "messages": [{"role": "user", "content": "hello"}]}


def script(fault: str) -> str:
    return f"""
        version: 1
        default:
          turns:
            - text: "recovered"
              fault: {fault}
    """


def call(server: StandinServer, *, stream: bool = True, **client_kw: Any) -> anthropic.types.Message:
    async def go() -> anthropic.types.Message:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", **client_kw) as c:
            if not stream:
                return await c.messages.create(**REQUEST)
            async with c.messages.stream(**REQUEST) as s:
                return await s.get_final_message()

    return asyncio.run(go())


@pytest.mark.parametrize("status", [429, 529])
def test_status_with_retry_after_is_retried_by_the_sdk(standin: Standin, status: int) -> None:
    server = standin(script(f"{{kind: status, status: {status}, retry_after: 0.05, attempts: 2}}"))
    message = call(server)
    assert message.content[0].type == "text" and message.content[0].text == "recovered"
    recorded = server.requests()
    assert [r["status"] for r in recorded] == [status, status, 200]
    assert [r["headers"]["x-stainless-retry-count"] for r in recorded] == ["0", "1", "2"]
    assert [r["attempt"] for r in recorded] == [1, 2, 3]


def test_status_fault_headers_and_body(standin: Standin) -> None:
    server = standin(script("{kind: status, status: 529, retry_after: 2, should_retry: false}"))
    with pytest.raises(anthropic.OverloadedError) as info:
        call(server)
    headers = info.value.response.headers
    assert headers["retry-after"] == "2" and headers["retry-after-ms"] == "2000"
    assert headers["x-should-retry"] == "false"
    assert info.value.body == {"type": "error", "request_id": headers["request-id"],
                               "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert len(server.requests()) == 1  # x-should-retry: false is obeyed


def test_midstream_error_after_200_is_not_retried_by_the_sdk(standin: Standin) -> None:
    server = standin(script("{kind: midstream_error, after_events: 3}"))
    with pytest.raises(anthropic.APIStatusError) as info:
        call(server)
    assert info.value.status_code == 200
    assert info.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert len(server.requests()) == 1


def test_midstream_fault_on_a_non_streaming_request_is_its_status(standin: Standin) -> None:
    server = standin(script("{kind: midstream_error, error_type: api_error, attempts: 1}"))
    message = call(server, stream=False)
    assert message.content[0].type == "text" and message.content[0].text == "recovered"
    assert [r["status"] for r in server.requests()] == [500, 200]


def test_dropped_connection_is_retried_then_succeeds(standin: Standin) -> None:
    server = standin(script("{kind: drop, after_events: 0, attempts: 1}"))
    message = call(server, stream=False)
    assert message.content[0].type == "text" and message.content[0].text == "recovered"
    assert [r["fault"] for r in server.requests()] == ["drop", None]


def test_stall_hits_the_client_timeout_then_the_retry_succeeds(standin: Standin) -> None:
    server = standin(script("{kind: stall, seconds: 30, after_events: 0, attempts: 1}"))
    message = call(server, stream=False, timeout=0.5)
    assert message.content[0].type == "text" and message.content[0].text == "recovered"
    assert [r["fault"] for r in server.requests()] == ["stall", None]


def test_short_stall_is_a_slow_stream_that_completes(standin: Standin) -> None:
    server = standin(script("{kind: stall, seconds: 0.05, after_events: 2}"))
    message = call(server)
    assert message.content[0].type == "text" and message.content[0].text == "recovered"
    assert len(server.requests()) == 1


def test_probability_faults_are_deterministic_for_a_seed(standin: Standin) -> None:
    text = script("{kind: status, status: 429, probability: 0.5, seed: 11}")
    outcomes = []
    for _ in range(2):
        server = standin(text)
        for n in range(12):
            body = {**REQUEST, "messages": [{"role": "user", "content": f"hello {n}"}]}
            outcomes.append(_status(server, body))
    first, second = outcomes[:12], outcomes[12:]
    assert first == second  # same seed, same requests: same faults
    assert 0 < first.count(429) < 12


def _status(server: StandinServer, body: dict[str, Any]) -> int:
    req = urllib.request.Request(server.base_url + "/v1/messages", data=json.dumps(body).encode(),
                                 headers={"x-api-key": "k", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_stall_with_pings_outlives_the_client_read_timeout(standin: Standin) -> None:
    server = standin(script("{kind: stall, seconds: 1, ping_every: 0.1, after_events: 2}"))
    message = call(server, timeout=0.5, max_retries=0)  # no read waits 0.5 s: pings keep arriving
    assert message.content[0].type == "text" and message.content[0].text == "recovered"


def test_turn_longer_than_max_tokens_is_cut(standin: Standin) -> None:
    server = standin("""
        version: 1
        default:
          turns:
            - text: "0123456789012345678901234567890123456789"
              tool_use: {name: read, input: {path: x}}
    """)

    async def go() -> anthropic.types.Message:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as c:
            return await c.messages.create(**{**REQUEST, "max_tokens": 4})

    message = asyncio.run(go())
    assert message.stop_reason == "max_tokens"
    assert [b.model_dump(exclude_none=True) for b in message.content] == [{"type": "text", "text": "0123456789012345"}]
    assert message.usage.output_tokens == 4


@pytest.mark.parametrize("fault", ["", "\n              fault: {kind: status, status: 400}"])
def test_latency_holds_back_the_answer(standin: Standin, fault: str) -> None:
    # a lower bound only: latency runs from the request's arrival, so no answer comes sooner
    server = standin(f"""
        version: 1
        default:
          turns:
            - text: "late"
              latency_ms: 300{fault}
    """)
    start = time.perf_counter()
    with contextlib.suppress(anthropic.BadRequestError):
        assert call(server, max_retries=0).content[0].text == "late"
    assert time.perf_counter() - start >= 0.3
    assert server.requests()[0]["status"] == (400 if fault else 200)

"""Prompt-caching numbers and the Message Batches round trip, through the real SDK."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anthropic

from agentbook.standin import StandinServer

Standin = Callable[[str], StandinServer]
SCRIPT = """
    version: 1
    server: {batch_seconds: 0.2}
    sessions:
      - name: broken
        match: {first_user: "broken"}
        turns:
          - text: "never"
            fault: {kind: status, status: 529}
    default:
      after_last: repeat_last
      turns:
        - text: "answer"
"""
SYSTEM = [{"type": "text", "text": "s" * 400},  # 100 tokens
          {"type": "text", "text": "t" * 800, "cache_control": {"type": "ephemeral"}}]  # 200 tokens


def create(server: StandinServer, **params: Any) -> anthropic.types.Message:
    async def go() -> anthropic.types.Message:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as c:
            return await c.messages.create(model="claude-sonnet-5", max_tokens=50, **params)

    return asyncio.run(go())


def usage(message: anthropic.types.Message) -> tuple[int, int, int, int, int]:
    u = message.usage
    assert u.cache_creation is not None
    return (u.input_tokens, u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0,
            u.cache_creation.ephemeral_5m_input_tokens, u.cache_creation.ephemeral_1h_input_tokens)


def test_cache_write_then_read_of_a_growing_conversation(standin: Standin) -> None:
    server = standin(SCRIPT)
    turn1 = [{"role": "user", "content": [{"type": "text", "text": "u" * 40,  # 10 + 3 overhead
                                           "cache_control": {"type": "ephemeral"}}]}]
    # first request: nothing cached; everything up to the last breakpoint is written
    assert usage(create(server, system=SYSTEM, messages=turn1)) == (0, 313, 0, 313, 0)
    # same prefix again: all read back
    assert usage(create(server, system=SYSTEM, messages=turn1)) == (0, 0, 313, 0, 0)
    # the conversation grows and the breakpoint moves to its end: old prefix read, new part written
    turn2 = [{"role": "user", "content": [{"type": "text", "text": "u" * 40}]},
             {"role": "assistant", "content": "a" * 20},  # 5 + 3
             {"role": "user", "content": [{"type": "text", "text": "v" * 8,  # 2 + 3
                                           "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]
    assert usage(create(server, system=SYSTEM, messages=turn2)) == (0, 13, 313, 0, 13)
    # a different system prompt shares nothing
    other = [{"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}}]
    assert usage(create(server, system=other, messages=turn1)) == (0, 113, 0, 113, 0)


def test_without_breakpoints_nothing_is_cached(standin: Standin) -> None:
    server = standin(SCRIPT)
    plain = [{"type": "text", "text": "s" * 400}]
    messages = [{"role": "user", "content": "hi"}]
    assert usage(create(server, system=plain, messages=messages)) == (104, 0, 0, 0, 0)
    assert usage(create(server, system=plain, messages=messages)) == (104, 0, 0, 0, 0)


def test_cache_min_tokens_keeps_small_prefixes_out(standin: Standin) -> None:
    server = standin("""
        version: 1
        server: {cache_min_tokens: 1024}
        default: {turns: [{text: ok}]}
    """)
    messages = [{"role": "user", "content": "hi"}]
    assert usage(create(server, system=SYSTEM, messages=messages)) == (304, 0, 0, 0, 0)


def test_batch_round_trip(standin: Standin) -> None:
    server = standin(SCRIPT)
    params = {"model": "claude-sonnet-5", "max_tokens": 10}

    async def go() -> tuple[list[Any], list[Any]]:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as c:
            batch = await c.messages.batches.create(requests=[
                {"custom_id": "ok-1", "params": {**params, "messages": [{"role": "user", "content": "one"}]}},
                {"custom_id": "bad-1", "params": {**params, "messages": [{"role": "user", "content": "broken"}]}},
            ])
            states = [batch]
            while batch.processing_status != "ended":
                await asyncio.sleep(0.05)
                batch = await c.messages.batches.retrieve(batch.id)
                states.append(batch)
            results = [r async for r in await c.messages.batches.results(batch.id)]
            return states, results

    states, results = asyncio.run(go())
    assert states[0].processing_status == "in_progress" and states[0].request_counts.processing == 2
    assert states[0].results_url is None
    final = states[-1]
    assert final.request_counts.succeeded == 1 and final.request_counts.errored == 1
    assert final.results_url == f"{server.base_url}/v1/messages/batches/{final.id}/results"
    by_id = {r.custom_id: r.result for r in results}
    assert by_id["ok-1"].type == "succeeded"
    assert by_id["ok-1"].message.content[0].text == "answer"
    assert by_id["ok-1"].message.usage.service_tier == "batch"
    assert by_id["bad-1"].type == "errored"
    assert by_id["bad-1"].error.error.type == "overloaded_error"


def test_batch_cancel_and_list(standin: Standin) -> None:
    server = standin(SCRIPT.replace("batch_seconds: 0.2", "batch_seconds: 60"))

    async def go() -> tuple[Any, Any, list[str]]:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as c:
            batch = await c.messages.batches.create(requests=[{"custom_id": "a", "params": {
                "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}])
            canceling = await c.messages.batches.cancel(batch.id)
            ended = await c.messages.batches.retrieve(batch.id)
            listed = [b.id async for b in c.messages.batches.list()]
            return canceling, ended, listed

    canceling, ended, listed = asyncio.run(go())
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 1
    assert listed == [ended.id]


def test_bad_batch_and_count_tokens_bodies_are_400(standin: Standin) -> None:
    server = standin(SCRIPT)

    async def go() -> list[str]:
        messages = []
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as c:
            try:
                await c.messages.batches.create(requests=[])
            except anthropic.BadRequestError as err:
                messages.append(err.body["error"]["message"])
            try:
                await c.messages.count_tokens(model="m", messages=[])
            except anthropic.BadRequestError as err:
                messages.append(err.body["error"]["message"])
            try:
                await c.messages.batches.retrieve("msgbatch_nope")
            except anthropic.NotFoundError as err:
                messages.append(err.body["error"]["message"])
        return messages

    assert asyncio.run(go()) == ["requests: a non-empty list of {custom_id, params} is required",
                                 "messages: at least one message is required",
                                 "message batch msgbatch_nope not found"]


def test_a_breakpoint_looks_back_at_most_20_blocks(standin: Standin) -> None:
    server = standin(SCRIPT)
    system = [{k: v for k, v in block.items() if k != "cache_control"} for block in SYSTEM]  # one breakpoint
    marked = {"type": "text", "text": "m" * 40, "cache_control": {"type": "ephemeral"}}
    plain = [{"type": "text", "text": f"{n:04d}"} for n in range(25)]  # 1 token each
    first = [{"role": "user", "content": [marked]}]
    assert usage(create(server, system=system, messages=first))[1] == 313  # written
    near = [{"role": "user", "content": [{**marked, "cache_control": None}, *plain[:18],
                                         {**plain[18], "cache_control": {"type": "ephemeral"}}]}]
    far = [{"role": "user", "content": [{**marked, "cache_control": None}, *plain[:24],
                                        {**plain[24], "cache_control": {"type": "ephemeral"}}]}]
    assert usage(create(server, system=system, messages=far))[2] == 0  # 25 blocks back: not seen
    assert usage(create(server, system=system, messages=near))[2] == 313  # 19 blocks back: found

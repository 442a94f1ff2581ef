"""The real `anthropic` SDK against the stand-in on loopback: streaming, JSON, tokens, auth, recorder."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from agentbook.standin import StandinServer

TOOLS_SCRIPT = """
    version: 1
    server: {json_chunks: 4, chunk_chars: 5}
    sessions:
      - name: inv
        match:
          first_user: {regex: "investigate (?P<inv>inv-\\\\d+)"}
          system: incident
        turns:
          - thinking: "Check the logs."
            text: "Looking at {inv}."
            tool_use: {name: grep, input: {pattern: "ERROR {inv}", path: "logs/{inv}.log", max: 20}}
          - text: "Root cause of {inv}: disk full."
    default:
      after_last: repeat_last
      turns:
        - text: "fallback"
"""

Standin = Callable[[str], StandinServer]


def client(server: StandinServer, **kw: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base_url, api_key=kw.pop("api_key", "sk-test-1234"), **kw)


def first_request(text: str = "Please investigate inv-42 now") -> dict[str, Any]:
    return {"model": "claude-sonnet-5", "max_tokens": 512, "system": "You are an incident assistant.",
            "messages": [{"role": "user", "content": text}]}


def raw_post(server: StandinServer, path: str, body: dict[str, Any], headers: dict[str, str]
             ) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(server.base_url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_streamed_tool_use_is_reassembled_from_several_json_pieces(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)

    async def go() -> tuple[anthropic.types.Message, list[Any]]:
        async with client(server) as c, c.messages.stream(**first_request()) as stream:
            events = [e async for e in stream]
            return await stream.get_final_message(), events

    message, events = asyncio.run(go())
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    tool = message.content[2]
    assert tool.type == "tool_use"
    assert tool.name == "grep" and tool.id == "toolu_inv_001_2"
    assert tool.input == {"pattern": "ERROR inv-42", "path": "logs/inv-42.log", "max": 20}
    pieces = [e.delta.partial_json for e in events
              if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert pieces[0] == "" and len(pieces) == 5 and json.loads("".join(pieces)) == tool.input
    assert message.stop_reason == "tool_use"
    assert message.content[1].type == "text" and message.content[1].text == "Looking at inv-42."


def test_sse_event_order_on_the_wire(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    body = {**first_request("investigate inv-7"), "stream": True}
    status, headers, raw = raw_post(server, "/v1/messages", body, {"x-api-key": "k"})
    assert status == 200 and headers["content-type"] == "text/event-stream"
    names = [line[7:] for line in raw.decode().splitlines() if line.startswith("event: ")]
    deltas = {"thinking": ["content_block_delta"] * 4,  # 3 thinking pieces of 5 chars + signature
              "text": ["content_block_delta"] * 4, "tool": ["content_block_delta"] * 5}
    expected = (["message_start", "ping"]
                + ["content_block_start", *deltas["thinking"], "content_block_stop"]
                + ["content_block_start", *deltas["text"], "content_block_stop"]
                + ["content_block_start", *deltas["tool"], "content_block_stop"]
                + ["message_delta", "message_stop"])
    assert names == expected
    data = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")]
    assert [d["type"] for d in data] == names  # each data payload names its own event
    assert data[0]["message"]["content"] == [] and data[0]["message"]["stop_reason"] is None
    assert data[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


def test_non_streaming_json_and_session_selection(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)

    async def go() -> list[anthropic.types.Message]:
        async with client(server) as c:
            first = await c.messages.create(**first_request())
            follow = first_request()
            follow["messages"] += [
                {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_inv_001_2",
                                              "content": "disk full"}]}]
            second = await c.messages.create(**follow)
            other = await c.messages.create(**{**first_request(), "system": "unrelated"})
            return [first, second, other]

    first, second, other = asyncio.run(go())
    assert first.id.startswith("msg_standin_") and first.model == "claude-sonnet-5"
    assert second.content[0].type == "text" and second.content[0].text == "Root cause of inv-42: disk full."
    assert second.stop_reason == "end_turn"
    # system does not match the session: the catch-all answers
    assert other.content[0].type == "text" and other.content[0].text == "fallback"
    assert [(r["session"], r["turn"]) for r in server.requests()] == [("inv", 1), ("inv", 2), ("default", 1)]


def test_missing_tool_result_is_rejected_like_the_api(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    body = first_request()
    body["messages"] += [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_x", "name": "grep", "input": {}}]},
        {"role": "user", "content": "no results given"}]

    async def go() -> None:
        async with client(server) as c:
            await c.messages.create(**body)

    with pytest.raises(anthropic.BadRequestError) as info:
        asyncio.run(go())
    assert info.value.body["error"]["message"] == (
        "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_x. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message.")


def test_tampered_thinking_block_is_rejected(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    body = first_request()
    body["messages"] += [{"role": "assistant", "content": [
        {"type": "thinking", "thinking": "edited", "signature": "bogus"}, {"type": "text", "text": "hi"}]},
        {"role": "user", "content": "go on"}]
    status, _, raw = raw_post(server, "/v1/messages", body, {"x-api-key": "k"})
    assert status == 400
    assert json.loads(raw)["error"] == {"type": "invalid_request_error",
                                        "message": "messages.1.content.0: Invalid `signature` in `thinking` block"}


def test_auth_styles_and_missing_key(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    assert raw_post(server, "/v1/messages", first_request(), {"x-api-key": "sk-aaaa"})[0] == 200
    assert raw_post(server, "/v1/messages", first_request(), {"authorization": "Bearer sk-bbbb"})[0] == 200
    status, headers, raw = raw_post(server, "/v1/messages", first_request(), {})
    assert status == 401 and headers["request-id"].startswith("req_standin")
    assert json.loads(raw) == {"type": "error", "request_id": headers["request-id"], "error": {
        "type": "authentication_error",
        "message": "missing API key: send an x-api-key header or Authorization: Bearer <key>"}}
    recorded = server.requests()
    assert [(r["auth"], r["api_key_hint"], r["status"]) for r in recorded] == [
        ("x-api-key", "aaaa", 200), ("bearer", "bbbb", 200), ("none", None, 401)]
    assert recorded[0]["headers"]["x-api-key"] == "<redacted>"


def test_server_that_accepts_only_x_api_key_rejects_the_sdk_default(standin: Standin) -> None:
    server = standin("""
        version: 1
        server: {auth: [x-api-key], versions: ["2023-06-01"]}
        default: {turns: [{text: hi}]}
    """)

    async def go() -> None:
        async with client(server) as c:
            await c.messages.create(**first_request())

    with pytest.raises(anthropic.AuthenticationError) as info:
        asyncio.run(go())
    assert info.value.body["error"]["message"] == (
        "authentication style bearer is not accepted by this server (accepted: x-api-key)")
    status, _, raw = raw_post(server, "/v1/messages", first_request(),
                              {"x-api-key": "k", "anthropic-version": "2026-10-21"})
    assert status == 400
    assert json.loads(raw)["error"]["message"] == (
        "anthropic-version: '2026-10-21' is not a supported version (supported: 2023-06-01)")


def test_count_tokens_matches_the_usage_of_the_same_request(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    tools = [{"name": "grep", "description": "search", "input_schema": {"type": "object", "properties": {}}}]

    async def go() -> tuple[int, anthropic.types.Message]:
        async with client(server) as c:
            counted = await c.messages.count_tokens(model="claude-sonnet-5", tools=tools,
                                                    system="You are an incident assistant.",
                                                    messages=first_request()["messages"])
            message = await c.messages.create(**first_request(), tools=tools)
            return counted.input_tokens, message

    counted, message = asyncio.run(go())
    assert counted == message.usage.input_tokens
    # ceil(bytes/4): tool JSON 87 -> 22, system 30 -> 8, message 29 -> 8 + 3 per-message overhead
    assert counted == 22 + 8 + 11
    assert message.usage.cache_read_input_tokens == 0 and message.usage.cache_creation_input_tokens == 0


def test_scripted_usage_is_reported_exactly_in_json_and_in_the_stream(standin: Standin) -> None:
    server = standin("""
        version: 1
        sessions:
          - name: fixed
            match: {first_user: fixed}
            turns:
              - {text: "ok", usage: {input_tokens: 10, output_tokens: 777}}
          - name: worst
            match: {first_user: worst}
            turns:
              - {text: "ok", stop_reason: max_tokens, usage: {output_tokens: max_tokens}}
    """)

    async def go(first_user: str, max_tokens: int) -> tuple[anthropic.types.Message, list[Any], anthropic.types.Message]:
        request = {"model": "claude-sonnet-5", "max_tokens": max_tokens, "messages": [{"role": "user", "content": first_user}]}
        async with client(server) as c:
            plain = await c.messages.create(**request)
            async with c.messages.stream(**request) as stream:
                events = [event async for event in stream]
                return plain, events, await stream.get_final_message()

    plain, events, streamed = asyncio.run(go("fixed", 100))
    for message in (plain, streamed):
        assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 777)
    start = next(e for e in events if e.type == "message_start")
    assert (start.message.usage.input_tokens, start.message.usage.output_tokens) == (10, 1)  # as the API starts
    plain, _, streamed = asyncio.run(go("worst", 4321))
    for message in (plain, streamed):
        assert message.usage.output_tokens == 4321 and message.content[0].text == "ok"
        assert message.usage.input_tokens == plain.usage.input_tokens > 0  # input still counted
        assert message.stop_reason == "max_tokens"


def test_recorder_over_http(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    raw_post(server, "/v1/messages", first_request("investigate inv-1"), {"x-api-key": "sk-secret-0000"})
    raw_post(server, "/v1/messages", first_request(), {"x-api-key": "sk-secret-9999"})
    with urllib.request.urlopen(server.base_url + "/_standin/requests?limit=1", timeout=10) as resp:
        recorded = json.loads(resp.read())["requests"]
    assert len(recorded) == 1 and recorded[0]["seq"] == 2
    entry = recorded[0]
    assert entry["path"] == "/v1/messages" and entry["body"]["messages"][0]["content"] == "Please investigate inv-42 now"
    assert "sk-secret" not in json.dumps(recorded)
    req = urllib.request.Request(server.base_url + "/_standin/requests", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()
    assert server.requests() == []


def test_unknown_path_is_a_404_error_body(standin: Standin) -> None:
    server = standin(TOOLS_SCRIPT)
    status, _, raw = raw_post(server, "/v1/complete", {}, {"x-api-key": "k"})
    assert status == 404 and json.loads(raw)["error"] == {"type": "not_found_error",
                                                          "message": "Not found: POST /v1/complete"}


def test_head_request_gets_headers_and_no_body_then_the_connection_still_serves(standin: Standin) -> None:
    # Claude Code probes the base URL with HEAD; a body there is a protocol error that killed the reply.
    import http.client

    server = standin(TOOLS_SCRIPT)
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("HEAD", "/v1/complete", headers={"x-api-key": "k"})
    head = conn.getresponse()
    assert head.status == 404 and head.read() == b""
    conn.request("POST", "/v1/messages", body=json.dumps(first_request()),
                 headers={"content-type": "application/json", "x-api-key": "k"})
    reply = conn.getresponse()
    assert reply.status == 200 and json.loads(reply.read())["type"] == "message"
    conn.close()

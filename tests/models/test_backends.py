"""Backends against the stand-in: typed errors, compat auth/version/body options, the anthropic backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from agentbook.models import (
    AuthError,
    ConnectionFailed,
    MidStreamError,
    ModelError,
    ModelRequest,
    ModelResponse,
    Overloaded,
    RateLimited,
    SpendLimit,
    load_model,
)
from agentbook.models.backend import MessagesBackend
from agentbook.models.governor import GOVERNOR
from agentbook.models.scripted import ScriptedModel
from agentbook.standin import ensure_server, parse_script, running

Scripted = Callable[[str], str]
HELLO = ModelRequest(messages=[{"role": "user", "content": "hello"}], max_tokens=64)


def complete(spec: str, request: ModelRequest = HELLO) -> ModelResponse:
    async def go() -> ModelResponse:
        model = load_model(spec)
        try:
            return await model.complete(request)
        finally:
            await model.aclose()

    return asyncio.run(go())


def fault_script(fault: str) -> str:
    return f"""
        version: 1
        default:
          turns:
            - text: "fine"
              fault: {fault}
    """


@pytest.mark.parametrize(("fault", "error", "status", "etype"), [
    ("{kind: status, status: 429, retry_after: 0.01}", RateLimited, 429, "rate_limit_error"),
    ("{kind: status, status: 529, retry_after: 0.01}", Overloaded, 529, "overloaded_error"),
    ("{kind: status, status: 401}", AuthError, 401, "authentication_error"),
    ("{kind: status, status: 402}", SpendLimit, 402, "billing_error"),
    ("{kind: status, status: 400, message: 'Your credit balance is too low to access the Anthropic API.'}",
     SpendLimit, 400, "invalid_request_error"),
    ("{kind: midstream_error}", MidStreamError, 200, "overloaded_error"),
])
def test_failures_become_typed_errors(scripted: Scripted, fault: str, error: type[ModelError], status: int,
                                      etype: str) -> None:
    spec = scripted(fault_script(fault)) + "?retries=1"
    with pytest.raises(error) as info:
        complete(spec)
    err = info.value
    assert (err.status, err.error_type) == (status, etype)
    assert err.exit_code == 13
    assert err.request_id is not None and err.request_id.startswith("req_standin")
    assert err.retryable is (error in (RateLimited, Overloaded, MidStreamError))
    assert err.evidence()["error"] == error.__name__


def test_midstream_error_message_and_governor_note(scripted: Scripted) -> None:
    spec = scripted(fault_script("{kind: midstream_error, after_events: 4}"))
    with pytest.raises(MidStreamError) as info:
        complete(spec)
    assert info.value.message == f"{spec}: error event mid-stream: overloaded_error: Overloaded"
    assert GOVERNOR.stats.limited == 1  # a mid-stream overload slows the whole process down too


def test_sdk_retries_then_success_and_the_governor_saw_the_limit(scripted: Scripted) -> None:
    spec = scripted(fault_script("{kind: status, status: 429, retry_after: 0.02, attempts: 2}"))
    response = complete(spec)
    assert response.text() == "fine" and response.stop_reason == "end_turn"
    assert GOVERNOR.stats.limited == 2
    assert response.request_id is not None and response.request_id.startswith("req_standin")


def test_dropped_connection_without_retries_is_connection_failed(scripted: Scripted) -> None:
    spec = scripted(fault_script("{kind: drop, after_events: 0}")) + "?retries=0"
    with pytest.raises(ConnectionFailed) as info:
        complete(spec)
    assert info.value.retryable and info.value.status is None


def test_stream_events_reach_the_callback_in_order(scripted: Scripted) -> None:
    spec = scripted("""
        version: 1
        default:
          turns:
            - tool_use: {name: read, input: {path: a.txt}}
    """)
    seen: list[dict[str, Any]] = []

    async def go() -> ModelResponse:
        model = load_model(spec)

        async def on_event(event: dict[str, Any]) -> None:
            seen.append(event)

        try:
            return await model.complete(HELLO, on_event=on_event)
        finally:
            await model.aclose()

    response = asyncio.run(go())
    assert response.tool_uses() == [{"type": "tool_use", "id": "toolu_default_001_0", "name": "read",
                                     "input": {"path": "a.txt"}}]
    assert [e["type"] for e in seen] == ["message_start", "content_block_start"] + \
        ["content_block_delta"] * 4 + ["content_block_stop", "message_delta", "message_stop"]
    assert seen[2]["delta"] == {"type": "input_json_delta", "partial_json": ""}


def test_usage_and_cache_split_come_back_typed(scripted: Scripted) -> None:
    spec = scripted("""
        version: 1
        model: claude-sonnet-5
        default: {turns: [{text: ok}], after_last: repeat_last}
    """)
    request = ModelRequest(messages=[{"role": "user", "content": "hello"}],
                           system=[{"type": "text", "text": "x" * 400,
                                    "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
    first, second = complete(spec, request), complete(spec, request)
    assert first.model == "claude-sonnet-5"
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_creation_1h,
            first.usage.cache_read_input_tokens, first.usage.input_tokens) == (100, 100, 0, 5)
    assert (second.usage.cache_read_input_tokens, second.usage.cache_creation_input_tokens) == (100, 0)
    assert first.usage.output_tokens == 1


SERVER_OLD_STYLE = """
    version: 1
    server: {auth: [x-api-key], versions: ["2023-06-01"], api_keys: [sk-local-abcd]}
    default: {turns: [{text: "compat ok"}], after_last: repeat_last}
"""


def test_compat_backend_auth_style_version_and_extra_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBOOK_COMPAT_API_KEY", "sk-local-abcd")
    with running(parse_script(SERVER_OLD_STYLE)) as server:
        base = f"compat:{server.base_url}#llama3"
        # the SDK's defaults (Bearer, 2026-10-21) are refused by this older-style server
        with pytest.raises(AuthError):
            complete(base)
        response = complete(f"{base}?auth=x-api-key&version=2023-06-01&body.keep_alive=%225m%22&body.top_k=5")
        assert response.text() == "compat ok"
        last = server.requests()[-1]
        assert last["auth"] == "x-api-key" and last["api_key_hint"] == "abcd"
        assert last["headers"]["anthropic-version"] == "2023-06-01"
        assert "authorization" not in last["headers"]
        assert last["body"]["keep_alive"] == "5m" and last["body"]["top_k"] == 5
        assert last["body"]["model"] == "llama3" and last["body"]["stream"] is True


def test_compat_backend_never_sends_the_anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-real-secret-zzzz")
    monkeypatch.delenv("AGENTBOOK_COMPAT_API_KEY", raising=False)
    with running(parse_script("version: 1\ndefault: {turns: [{text: hi}]}\n")) as server:
        complete(f"compat:{server.base_url}#m")
        assert server.requests()[-1]["api_key_hint"] != "zzzz"


def test_anthropic_backend_uses_the_env_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(parse_script("version: 1\ndefault: {turns: [{text: from anthropic}]}\n")) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-7777")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        response = complete("anthropic:claude-sonnet-5")
        assert response.text() == "from anthropic" and response.model == "claude-sonnet-5"
        last = server.requests()[-1]
        assert (last["auth"], last["api_key_hint"]) == ("bearer", "7777")


def test_anthropic_backend_without_a_key_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(AuthError) as info:
        load_model("anthropic:claude-sonnet-5")
    assert info.value.render() == ("anthropic:claude-sonnet-5: no API key "
                                   "(set ANTHROPIC_API_KEY (or key_env=<VAR> in the spec))")


def test_scripted_model_name_and_server_are_shared(scripted: Scripted) -> None:
    spec = scripted("version: 1\nmodel: claude-opus-5\ndefault: {turns: [{text: hi}]}\n")
    model = load_model(spec)
    assert model.name == "claude-opus-5" and model.spec == spec
    assert ensure_server(spec.removeprefix("scripted:")).script.model == "claude-opus-5"
    asyncio.run(model.aclose())


def test_connection_cut_mid_stream_is_connection_failed(scripted: Scripted) -> None:
    spec = scripted(fault_script("{kind: drop, after_events: 3}"))
    with pytest.raises(ConnectionFailed) as info:
        complete(spec)
    assert "connection broke mid-response" in info.value.message and info.value.retryable


def test_a_rate_limit_pauses_every_backend_in_the_process(scripted: Scripted) -> None:
    limited = scripted(fault_script("{kind: status, status: 429, retry_after: 30}")) + "?retries=0"
    with pytest.raises(RateLimited) as info:
        complete(limited)
    assert info.value.retry_after == 30.0
    # another model, another server: its next attempt would wait for the pause the first one got
    assert 29.0 < GOVERNOR.delay() <= 30.0 + 0.25
    GOVERNOR.reset()
    assert GOVERNOR.delay() == 0.0


def test_stream_that_ends_without_message_stop_is_connection_failed(scripted: Scripted) -> None:
    spec = scripted(fault_script("{kind: truncate, after_events: 5}"))
    with pytest.raises(ConnectionFailed) as info:
        complete(spec)
    assert info.value.message == f"{spec}: the stream ended before message_stop"
    assert info.value.retryable


def test_only_user_id_metadata_goes_on_the_wire(scripted: Scripted) -> None:
    spec = scripted("version: 1\ndefault: {turns: [{text: hi}]}\n")
    complete(spec, ModelRequest(messages=HELLO.messages, metadata={"user_id": "run-7", "session": "s-1"}))
    body = ensure_server(spec.removeprefix("scripted:")).requests()[-1]["body"]
    assert body["metadata"] == {"user_id": "run-7"}


@pytest.mark.parametrize("option", ["?http=1", ""])
def test_count_tokens_through_the_backend(scripted: Scripted, option: str) -> None:
    spec = scripted("version: 1\ndefault: {turns: [{text: hi}]}\n") + option

    async def go() -> tuple[int, ModelResponse]:
        model = load_model(spec)
        assert isinstance(model, MessagesBackend) == bool(option)  # the in-process model counts the same
        assert isinstance(model, (MessagesBackend, ScriptedModel))
        try:
            request = ModelRequest(messages=HELLO.messages, system="You are terse.")
            return await model.count_tokens(request), await model.complete(request)
        finally:
            await model.aclose()

    counted, response = asyncio.run(go())
    assert counted == response.usage.total_input == 4 + 2 + 3  # system, "hello", per-message overhead


def test_compat_auth_none_sends_no_key() -> None:
    with running(parse_script("version: 1\ndefault: {turns: [{text: hi}]}\n")) as server:
        with pytest.raises(AuthError) as info:
            complete(f"compat:{server.base_url}#m?auth=none")
        assert info.value.message.endswith("401 authentication_error: missing API key: send an x-api-key "
                                           "header or Authorization: Bearer <key>")
        headers = server.requests()[-1]["headers"]
        assert "authorization" not in headers and "x-api-key" not in headers


def test_concurrent_streams_make_no_thread_hop(scripted: Scripted) -> None:
    """Five concurrent requests (five fresh SDK clients, one per stream) are answered without the
    event loop's thread pool: the SDK looks its platform name up in a worker thread on each client's
    first request unless the client already has it, and a cold wave of 25 sessions queued 25 such
    hops behind the loop for the GIL. Fails if an SDK upgrade moves the lookup elsewhere."""
    spec = scripted("version: 1\ndefault:\n  turns:\n    - text: 'hi'\n") + "?http=1"

    async def go() -> tuple[list[ModelResponse], object]:
        model = load_model(spec)
        try:
            answers = await asyncio.gather(*(model.complete(HELLO) for _ in range(5)))
        finally:
            await model.aclose()
        assert isinstance(model, MessagesBackend) and len(model._clients) == 5
        return answers, asyncio.get_running_loop()._default_executor  # type: ignore[attr-defined]

    answers, executor = asyncio.run(go())
    assert [a.content[0]["text"] for a in answers] == ["hi"] * 5
    assert executor is None, "a request went through the loop's thread pool"

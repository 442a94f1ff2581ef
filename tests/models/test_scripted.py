"""`scripted:` models: the real SDK streaming from the in-process stand-in, through load_model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.models import BadRequest, ModelError, ModelRequest, load_model
from agentbook.standin import ensure_server, stop_all

EXPLORE = Path(__file__).resolve().parents[2] / "examples" / "sessions" / "explore.script.yaml"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _drive(spec: str, task: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Answer every tool call with 'ok' until the model ends its turn; return messages and event types."""
    model = load_model(spec)
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    events: list[str] = []
    try:
        for _ in range(20):
            response = await model.complete(ModelRequest(messages=messages),
                                             on_event=lambda e: events.append(e["type"]))
            messages.append({"role": "assistant", "content": response.content})
            if response.stop_reason != "tool_use":
                break
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": t["id"], "content": "ok"} for t in response.tool_uses()]})
    finally:
        await model.aclose()
    return messages, events


def test_explore_script_runs_every_tool_then_ends_with_text() -> None:
    messages, events = run(_drive(f"scripted:{EXPLORE}", "Please explore the repo and keep a note LOG.md"))
    assistant = [m["content"] for m in messages if m["role"] == "assistant"]
    tools = [b["name"] for content in assistant for b in content if b["type"] == "tool_use"]
    assert tools == ["glob", "read", "grep", "write", "edit", "bash"]
    write = next(b for c in assistant for b in c if b.get("name") == "write")
    # input arrived as several input_json_delta pieces and was reassembled, placeholders filled
    assert write["input"] == {"path": "LOG.md",
                              "content": "# Notes\n\nExplored the repository (turn 4).\nStatus: draft\n"}
    assert assistant[-1] == [{"type": "text", "text": "Done: I read README.md, searched for TODO markers, "
                                                      "and wrote LOG.md (status reviewed)."}]
    assert assistant[0][0]["type"] == "thinking" and assistant[0][0]["signature"]
    assert events[:2] == ["message_start", "content_block_start"] and events[-2:] == ["message_delta",
                                                                                      "message_stop"]
    assert events.count("message_start") == 7
    stop_all()


def test_vars_default_when_the_task_names_no_note() -> None:
    messages, _ = run(_drive(f"scripted:{EXPLORE}", "explore please"))
    write = next(b for m in messages if m["role"] == "assistant" for b in m["content"]
                 if b.get("name") == "write")
    assert write["input"]["path"] == "NOTES.md"
    stop_all()


def test_one_server_per_script_file() -> None:
    assert ensure_server(EXPLORE) is ensure_server(str(EXPLORE))
    stop_all()


def test_turn_past_the_end_is_a_clear_bad_request() -> None:
    async def go() -> None:
        model = load_model(f"scripted:{EXPLORE}")
        messages: list[dict[str, Any]] = [{"role": "user", "content": "no match here"},
                                          {"role": "assistant", "content": "x"},
                                          {"role": "user", "content": "again"}]
        try:
            await model.complete(ModelRequest(messages=messages))
        finally:
            await model.aclose()

    with pytest.raises(BadRequest) as info:
        run(go())
    assert info.value.status == 400
    assert "session 'default' has 1 turns; this request asks for turn 2" in str(info.value)
    stop_all()


def test_bad_script_is_a_fatal_error_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.script.yaml"
    bad.write_text("version: 1\nsessions:\n  - name: a\n    match: {first_user: x}\n    turns:\n"
                   "      - txt: hello\n")
    with pytest.raises(FatalError) as info:
        load_model(f"scripted:{bad}")
    assert info.value.location == f"{bad}:6:9"
    assert "Additional properties are not allowed ('txt' was unexpected)" in info.value.message


def test_missing_script_file(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="script file not found"):
        load_model(f"scripted:{tmp_path / 'nope.script.yaml'}")


FLAKY = EXPLORE.with_name("flaky.script.yaml")


async def _triage(model: Any, inv: str) -> tuple[list[dict[str, Any]], int]:
    """A caller's loop: answer tools with 'ok', retry a whole turn on retryable typed errors."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"triage {inv} please"}]
    retries = 0
    while True:
        try:
            response = await model.complete(ModelRequest(messages=messages))
        except ModelError as err:
            assert err.retryable, err
            retries += 1
            continue
        messages.append({"role": "assistant", "content": response.content})
        if response.stop_reason != "tool_use":
            return messages, retries
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": t["id"], "content": "ok"} for t in response.tool_uses()]})


def test_flaky_example_every_conversation_completes_through_faults() -> None:
    async def go() -> list[tuple[list[dict[str, Any]], int]]:
        model = load_model(f"scripted:{FLAKY}")
        try:
            return await asyncio.gather(*(_triage(model, f"inv-{n:03d}") for n in range(12)))
        finally:
            await model.aclose()

    results = run(go())
    for n, (messages, _) in enumerate(results):
        assert messages[-1]["content"][-1]["text"] == f"Finished inv-{n:03d}: wrote findings-inv-{n:03d}.md."
    recorded = ensure_server(FLAKY).requests()
    statuses = [r["status"] for r in recorded]
    assert statuses.count(429) + statuses.count(529) > 0.15 * len(statuses)  # faults really happened
    assert sum(1 for r in recorded if r["fault"] == "midstream_error") == 12  # one per conversation
    assert sum(retries for _, retries in results) >= 12  # at least the mid-stream ones, retried by the caller
    stop_all()


def test_unreadable_script_is_a_fatal_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary.script.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FatalError, match="cannot read script: 'utf-8' codec can't decode") as info:
        load_model(f"scripted:{binary}")
    assert info.value.location == str(binary)

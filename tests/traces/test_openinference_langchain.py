"""OpenInference spans from LangChain's instrumentor whose messages are only in `input.value` /
`output.value` (LangChain's serialised messages, its generations, LangGraph's state) render as messages.

The hand-written spans below are in the shapes the instrumentor writes (openinference-instrumentation-
langchain 0.1.80 with its message attributes hidden, and with them). The real samples are the
instrumentor's own exports (`data/langchain-run/`, written here by its `generate.py`) and any-agent's test asset
(`$AGENTBOOK_INTEROP/traces/`, skipped when absent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces import export_trace, read_trace
from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many

RUN = Path(__file__).parent / "data" / "langchain-run"  # written by the instrumentor here (generate.py beside them)
REAL = [RUN / "openinference_agent.jsonl", RUN / "openinference_agent_hidden-messages.jsonl",
        INTEROP / "traces" / "anyagent_LANGCHAIN_trace.json"]


def _lc(cls: str, **kwargs: Any) -> dict[str, Any]:
    return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", cls], "kwargs": kwargs}


CALL = {"name": "lookup_order", "args": {"order": "A-17"}, "id": "call_lookup_1", "type": "tool_call"}
HISTORY = [_lc("SystemMessage", content="You answer billing questions.", type="system"),
           _lc("HumanMessage", content="Where is order A-17?", type="human"),
           _lc("AIMessage", content="", type="ai", tool_calls=[CALL], id="run-ai-1"),
           _lc("ToolMessage", content="A-17 shipped on Monday", type="tool", tool_call_id="call_lookup_1")]
REPLY = _lc("AIMessage", content="Order A-17 shipped on Monday.", type="ai", id="run-ai-2",
            usage_metadata={"input_tokens": 120, "output_tokens": 9, "total_tokens": 129})


def _attrs(**values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        key = key.replace("__", ".")
        out.append({"key": key, "value": {"intValue": str(value)} if isinstance(value, int)
                    else {"stringValue": value if isinstance(value, str) else json.dumps(value)}})
    return out


def _span(span_id: str, name: str, parent: str | None, **attrs: Any) -> dict[str, Any]:
    span = {"traceId": "a" * 32, "spanId": span_id, "name": name, "kind": 1, "startTimeUnixNano": "1764950000000000000",
            "endTimeUnixNano": "1764950001500000000", "status": {"code": 1}, "attributes": _attrs(**attrs)}
    return span | ({"parentSpanId": parent} if parent else {})


def _fixture(tmp_path: Path) -> Path:
    generations = {"generations": [[{"text": "Order A-17 shipped on Monday.", "generation_info": None,
                                     "type": "ChatGeneration", "message": REPLY}]], "llm_output": None}
    spans = [
        # LangGraph's graph: its state in and out; the output repeats the input message first
        _span("1" * 16, "LangGraph", None, openinference__span__kind="CHAIN",
              input__value={"messages": [HISTORY[1]]},
              output__value={"messages": [HISTORY[1], HISTORY[2], HISTORY[3], REPLY]}),
        # a chat model with its message attributes hidden: messages only in the values
        _span("2" * 16, "ChatOpenAI", "1" * 16, openinference__span__kind="LLM",
              input__value={"messages": [HISTORY]}, input__mime_type="application/json",
              output__value=generations, output__mime_type="application/json"),
        # the tool: its result is the ToolMessage LangChain returns
        _span("3" * 16, "lookup_order", "1" * 16, openinference__span__kind="TOOL", tool__name="lookup_order",
              input__value="{'order': 'A-17'}",
              output__value={"type": "tool", "data": {"content": "A-17 shipped on Monday", "type": "tool",
                                                      "name": "lookup_order", "tool_call_id": "call_lookup_1",
                                                      "status": "success"}}),
        # a chat model with the flattened attributes too: they win, each message is rendered once
        _span("4" * 16, "ChatOpenAI", "1" * 16, openinference__span__kind="LLM",
              input__value={"messages": [[HISTORY[1]]]}, output__value=generations,
              llm__input_messages__0__message__role="user",
              llm__input_messages__0__message__content="Where is order A-17?",
              llm__output_messages__0__message__role="assistant",
              llm__output_messages__0__message__content="Order A-17 shipped on Monday.",
              llm__token_count__prompt=11, llm__token_count__completion=9),
    ]
    source = tmp_path / "spans.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}), encoding="utf-8")
    return source


def _messages(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "messages").iterdir())}


def test_messages_only_in_values_render_with_roles_text_tool_calls_and_tokens(tmp_path: Path) -> None:
    source = _fixture(tmp_path)
    (trace,) = read_trace(source)
    export_trace(trace, tmp_path / "out")
    llm = tmp_path / "out" / "001-chain-langgraph" / "002-llm-chatopenai"
    assert _messages(llm) == {
        "000-system.md": "# message 000 · system · input\n\nYou answer billing questions.\n",
        "001-user.md": "# message 001 · user · input\n\nWhere is order A-17?\n",
        "002-assistant.md": "# message 002 · assistant · input\n\n## tool call lookup_order (id call_lookup_1)\n\n"
                            "```json\n{\n  \"order\": \"A-17\"\n}\n```\n",
        "003-tool.md": "# message 003 · tool · input\ntool_call_id: call_lookup_1\n\nA-17 shipped on Monday\n",
        "004-assistant.md": "# message 004 · assistant · output\n\nOrder A-17 shipped on Monday.\n",
    }
    span = next(s for s in trace.spans if s.span_id == "2" * 16)
    assert (span.input_tokens, span.output_tokens) == (120, 9)
    assert "input.value" not in span.attributes and "output.value" not in span.attributes
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert (tool.tool_call_id, tool.tool_result) == ("call_lookup_1", "A-17 shipped on Monday")
    assert measure(source, tmp_path / "out").lost == []


def test_state_repeating_its_input_and_flattened_attributes_render_each_message_once(tmp_path: Path) -> None:
    source = _fixture(tmp_path)
    (trace,) = read_trace(source)
    export_trace(trace, tmp_path / "out")
    graph = tmp_path / "out" / "001-chain-langgraph"
    assert list(_messages(graph)) == ["000-user.md", "001-assistant.md", "002-tool.md", "003-assistant.md"]
    assert _messages(graph)["000-user.md"] == "# message 000 · user · input\n\nWhere is order A-17?\n"
    assert _messages(graph)["003-assistant.md"] == (
        "# message 003 · assistant · output\n\nOrder A-17 shipped on Monday.\n")
    flat = graph / "004-llm-chatopenai"
    assert _messages(flat) == {
        "000-user.md": "# message 000 · user · input\n\nWhere is order A-17?\n",
        "001-assistant.md": "# message 001 · assistant · output\n\nOrder A-17 shipped on Monday.\n",
    }
    span = next(s for s in trace.spans if s.span_id == "4" * 16)
    assert (span.input_tokens, span.output_tokens) == (11, 9)  # the attributes', not the messages' usage


@pytest.mark.parametrize("source", REAL, ids=[p.name for p in REAL])
def test_real_langchain_spans_export_their_messages_and_keep_every_string(source: Path, tmp_path: Path) -> None:
    if not source.is_file():
        pytest.skip(f"{source.name} not in the interop folder")
    summaries = export_many(read_trace(source), tmp_path / "out")
    assert sum(s.messages for s in summaries) > 0
    result = measure(source, tmp_path / "out")
    assert result.lost == [] and result.total > 50


def test_hiding_the_message_attributes_loses_no_message(tmp_path: Path) -> None:
    """The instrumentor's `hide_input_messages`/`hide_output_messages` drop the flattened attributes; the
    same run then renders the same messages from the values (it rendered none)."""
    rendered = []
    for source in REAL[:2]:
        traces = read_trace(source)
        # the text's first line: an image part is written as its JSON here, as `[image content]` when flattened
        rendered.append([(m.role, m.content.split("\n")[0], [(c.name, c.arguments, c.id) for c in m.tool_calls],
                          m.tool_call_id) for t in traces for s in t.spans for m in s.input_messages + s.output_messages])
    # 3 + 5 + 8 (the agent's three calls), 3 (streamed), 2 (completion), 2 + 4 (a batch of two prompts)
    assert len(rendered[1]) == 27
    assert rendered[1] == rendered[0]


def _call_md(name: str, call_id: str, args: str) -> str:
    return f"## tool call {name} (id {call_id})\n\n```json\n{args}\n```\n"


def test_flattened_messages_missing_the_calls_get_them_from_the_value_once(tmp_path: Path) -> None:
    """The instrumentor flattens an AIMessage's calls from `additional_kwargs` only: with LiteLLM's
    objects there unserialisable, the flattened message has its role alone and `kwargs.tool_calls` in the
    value has the calls. They are filled in; calls the flattened message has are not added again."""
    asked = _lc("AIMessage", content="", type="ai", tool_calls=[CALL], id="run-ai-1",
                additional_kwargs={"tool_calls": [{"lc": 1, "type": "not_implemented", "id": ["litellm", "X"],
                                                   "repr": "X(...)"}]})
    generations = {"generations": [[{"text": "", "type": "ChatGeneration", "message": asked,
                                     "generation_info": {"finish_reason": "tool_calls"}}]]}
    flat_call = {"llm__output_messages__0__message__tool_calls__0__tool_call__function__name": "lookup_order",
                 "llm__output_messages__0__message__tool_calls__0__tool_call__function__arguments": '{"order": "A-17"}',
                 "llm__output_messages__0__message__tool_calls__0__tool_call__id": "call_lookup_1"}
    common = {"openinference__span__kind": "LLM", "input__value": {"messages": [[HISTORY[1], asked]]},
              "output__value": generations, "llm__input_messages__0__message__role": "user",
              "llm__input_messages__0__message__content": "Where is order A-17?",
              "llm__input_messages__1__message__role": "assistant",
              "llm__output_messages__0__message__role": "assistant"}
    spans = [_span("1" * 16, "ChatLiteLLM", None, **common),  # role only: the calls from the value
             _span("2" * 16, "ChatLiteLLM", None, **common, **flat_call),  # the calls flattened too
             # the value's messages are not the flattened ones (another count): nothing is taken from it
             _span("3" * 16, "ChatLiteLLM", None, **{**common, "input__value": {"messages": [[asked]]}})]
    source = tmp_path / "spans.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}), encoding="utf-8")
    (read,) = read_trace(source)
    export_trace(read, tmp_path / "out")
    trace = tmp_path / "out"
    call = _call_md("lookup_order", "call_lookup_1", '{\n  "order": "A-17"\n}')
    for folder in ("001-llm-chatlitellm", "002-llm-chatlitellm"):
        got = _messages(trace / folder)
        assert got["001-assistant.md"] == "# message 001 · assistant · input\n\n" + call
        assert got["002-assistant.md"] == "# message 002 · assistant · output\n\n" + call
    assert _messages(trace / "003-llm-chatlitellm")["001-assistant.md"] == "# message 001 · assistant · input\n"
    errors = (trace / "errors.md").read_text(encoding="utf-8")
    assert "no text and no tool calls" not in errors
    assert measure(source, tmp_path / "out").lost == []


def test_real_langchain_trace_renders_the_calls_its_flattened_messages_lack(tmp_path: Path) -> None:
    """any-agent's LangGraph ReAct run (gpt-4.1-mini through LiteLLM): both tool-calling model spans were
    flagged "no text and no tool calls"; their calls are in `output.value`'s `kwargs.tool_calls`."""
    source = REAL[2]
    if not source.is_file():
        pytest.skip(f"{source.name} not in the interop folder")
    export_many(read_trace(source), tmp_path / "out")
    root = tmp_path / "out" / "001-other-agent_run" / "002-agent-any_agent"
    first = root / "003-agent-agent" / "005-chain-runnablesequence" / "007-llm-chatlitellm"
    second = root / "011-agent-agent" / "013-chain-runnablesequence" / "015-llm-chatlitellm"
    time_call = _call_md("get_current_time", "call_oIYbXNQqRjJgFevQEzCA4lUE",
                         '{\n  "timezone": "America/New_York"\n}')
    file_call = _call_md("write_file", "call_zp7LW8H4WGNyXcMvgYfW6oZj", '{\n  "text": "2025"\n}')
    assert _messages(first)["002-assistant.md"] == "# message 002 · assistant · output\n\n" + time_call
    assert _messages(second)["002-assistant.md"] == (
        "# message 002 · assistant · input\nname: any_agent\n\n" + time_call)
    assert _messages(second)["004-assistant.md"] == "# message 004 · assistant · output\n\n" + file_call
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "Empty outputs" not in errors and "no text and no tool calls" not in errors
    result = measure(source, tmp_path / "out")
    assert result.lost == [] and result.total > 50

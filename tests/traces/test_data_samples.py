"""What each reader makes of the third-party samples in `data/<source>/` (provenance in
`data/PROVENANCE.md`), and, for shapes no sample shows, a small file written here.

Expected values are read straight from the source JSON, not from the readers under test.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agentbook.traces import export_trace, read_trace
from agentbook.traces.model import Span, Trace

DATA = Path(__file__).parent / "data"


def _only(trace: Trace, kind: str) -> list[Span]:
    return [s for s in trace.spans if s.kind == kind]


def test_vercel_ai_sdk_spans_become_model_calls_with_their_messages() -> None:
    source = DATA / "openinference-vercel" / "all-spans.json"
    raw = json.loads(source.read_text(encoding="utf-8"))
    traces = read_trace(source)
    assert len(traces) == len(raw)  # the fixture keeps one span per trace
    for item, trace in zip(raw, traces, strict=True):
        span, attrs = trace.spans[0], item["attributes"]
        start = item["startTime"][0] * 10**9 + item["startTime"][1]
        assert (trace.format, span.span_id, span.start_ns) == ("otlp", item["spanContext"]["spanId"], start)
        operation = attrs["ai.operationId"]
        assert span.kind == ("llm" if operation.endswith(("doGenerate", "doStream")) else
                             "other" if "embed" in operation else "chain")
        if "ai.response.model" in attrs:
            assert span.model == attrs["ai.response.model"]
        tokens = attrs.get("ai.usage.inputTokens", attrs.get("ai.usage.promptTokens", attrs.get("ai.usage.tokens")))
        assert span.input_tokens == tokens
        if "ai.prompt.messages" in attrs:
            assert len(span.input_messages) == len(json.loads(attrs["ai.prompt.messages"]))
        answer = attrs.get("ai.response.text", attrs.get("ai.response.object"))
        if answer is not None:
            assert span.output_messages[-1].content == answer
            assert span.output_messages[-1].finish_reason == attrs["ai.response.finishReason"]


def test_vercel_tool_call_spans_and_parent_spellings(tmp_path: Path) -> None:
    """The attributes the AI SDK documents for `ai.toolCall` (no sample has one), under a provider call,
    with the parent given either way the JS SDK has written it."""
    hr = [1770131992, 5]
    spans = [
        {"name": "ai.generateText.doGenerate", "spanContext": {"traceId": "ab" * 16, "spanId": "01" * 8},
         "startTime": hr, "endTime": hr, "status": {"code": 2, "message": "boom"},
         "attributes": {"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "m",
                        "ai.response.toolCalls": json.dumps([{"toolCallType": "function", "toolCallId": "call-1",
                                                              "toolName": "getWeather", "input": '{"city":"Prague"}'}]),
                        "ai.response.finishReason": "tool-calls"}},
        {"name": "ai.toolCall", "spanContext": {"traceId": "ab" * 16, "spanId": "02" * 8},
         "parentSpanContext": {"traceId": "ab" * 16, "spanId": "01" * 8}, "startTime": hr, "endTime": hr,
         "attributes": {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "getWeather",
                        "ai.toolCall.id": "call-1", "ai.toolCall.args": '{"city":"Prague"}',
                        "ai.toolCall.result": "Sunny in Prague"}},
        {"name": "ai.toolCall", "spanContext": {"traceId": "ab" * 16, "spanId": "03" * 8},
         "parentSpanId": "01" * 8, "attributes": {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "x"}},
    ]
    (tmp_path / "spans.json").write_text(json.dumps(spans), encoding="utf-8")
    trace = read_trace(tmp_path / "spans.json")[0]
    call, tool, bare = trace.spans
    assert (call.kind, call.status, call.model) == ("llm", "error", "m")
    assert [(c.name, c.id, c.arguments) for c in call.output_messages[0].tool_calls] == [
        ("getWeather", "call-1", '{"city":"Prague"}')]
    assert (tool.kind, tool.parent_id, tool.tool_name, tool.tool_call_id) == ("tool", "01" * 8, "getWeather", "call-1")
    assert (tool.tool_args, tool.tool_result) == ('{"city":"Prague"}', "Sunny in Prague")
    assert (bare.parent_id, bare.tool_args, bare.tool_result) == ("01" * 8, None, None)
    summary = export_trace(trace, tmp_path / "out")
    assert (summary.tool_spans, summary.errors) == (2, 1)


def test_claude_stream_json_session_reads_turns_result_and_cost() -> None:
    source = DATA / "claude-agent-sdk-gleam" / "basic_query.ndjson"
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    init, reply, result = lines
    trace = read_trace(source)[0]
    root, turn = trace.spans
    assert (trace.format, trace.trace_id) == ("claude-stream", init["session_id"])
    assert (root.status, root.cost_usd, root.output_text, root.model) == (
        "ok", result["total_cost_usd"], result["result"], init["model"])
    usage = reply["message"]["usage"]
    assert (turn.kind, turn.model, turn.output_messages[0].content) == ("llm", reply["message"]["model"], "4")
    assert turn.input_tokens == usage["input_tokens"] + usage["cache_creation_input_tokens"]
    assert turn.attributes["message_id"] == reply["message"]["id"]
    assert (root.attributes["init"], root.attributes["result"]) == (init, result)


def test_claude_stream_json_lines_one_per_file() -> None:
    folder = DATA / "claude-agent-sdk-gleam"
    call = json.loads((folder / "assistant_message.json").read_text(encoding="utf-8"))["message"]["content"][0]
    tool = _only(read_trace(folder / "assistant_message.json")[0], "tool")[0]
    assert (tool.tool_name, tool.tool_call_id, json.loads(tool.tool_args or "")) == (call["name"], call["id"], call["input"])
    answer = read_trace(folder / "user_message.json")[0]
    assert answer.format == "claude-stream"
    assert any("has no matching tool call" in p for p in answer.problems)
    assert read_trace(folder / "result_success.json")[0].spans[0].status == "ok"


def test_claude_stream_json_failed_result_fails_the_session(tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = [
        {"type": "system", "subtype": "init", "session_id": "s1", "model": "claude-x"},
        {"type": "result", "subtype": "error_max_turns", "is_error": True, "session_id": "s1", "num_turns": 6},
    ]
    (tmp_path / "out.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    root = read_trace(tmp_path / "out.jsonl")[0].spans[0]
    assert (root.status, root.status_message) == ("error", "error_max_turns")


def test_claude_code_loglines_wrapper_reads_like_a_transcript() -> None:
    source = DATA / "claude-code-transcripts" / "sample_session.json"
    records = json.loads(source.read_text(encoding="utf-8"))["loglines"]
    blocks = [b for r in records if isinstance(r["message"].get("content"), list) for b in r["message"]["content"]]
    trace = read_trace(source)[0]
    tools = _only(trace, "tool")
    assert trace.format == "claude-code"
    assert [t.tool_name for t in tools] == [b["name"] for b in blocks if b["type"] == "tool_use"]
    assert sum(t.status == "error" for t in tools) == sum(bool(b.get("is_error")) for b in blocks)
    thoughts = [b["thinking"] for b in blocks if b["type"] == "thinking"]
    reasoning = "".join(m.reasoning for s in _only(trace, "llm") for m in s.output_messages)
    assert thoughts and all(t in reasoning for t in thoughts)


def _recorded(name: str) -> list[tuple[str, Any]]:
    path = DATA / "langsmith-sdk" / f"anthropic_managed_{name}.jsonl"
    return [tuple(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def test_claude_managed_agents_session_from_recorded_calls() -> None:
    calls = _recorded("custom_tools")
    session = calls[0][1]
    events = [p for m, p in calls if m.endswith("events.stream")]
    trace = read_trace(DATA / "langsmith-sdk" / "anthropic_managed_custom_tools.jsonl")[0]
    root = trace.spans[0]
    assert (trace.format, trace.trace_id, root.model) == ("claude-sessions", session["id"], session["agent"]["model"]["id"])
    assert root.input_messages[0].content == session["agent"]["system"]
    requests = _only(trace, "llm")
    ends = [e for e in events if e["type"] == "span.model_request_end"]
    assert [(s.input_tokens, s.output_tokens) for s in requests] == [
        (sum(e["model_usage"][k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")),
         e["model_usage"]["output_tokens"]) for e in ends]
    use = next(e for e in events if e["type"] == "agent.custom_tool_use")
    answer = next(e for e in events if e["type"] == "user.custom_tool_result")
    (tool,) = _only(trace, "tool")
    assert (tool.tool_name, json.loads(tool.tool_args or ""), tool.tool_result) == (
        use["name"], use["input"], answer["content"][0]["text"])
    said = next(e for e in events if e["type"] == "agent.message")
    assert requests[-1].output_messages[0].content == said["content"][0]["text"]


def test_claude_managed_agents_rejected_tool_fails_and_plain_events_read_alike(tmp_path: Path) -> None:
    source = DATA / "langsmith-sdk" / "anthropic_managed_mcp_tools_reject.jsonl"
    trace = read_trace(source)[0]
    failed = [s for s in _only(trace, "tool") if s.status == "error"]
    assert [s.tool_name for s in failed] == ["web_search_exa"] and "rejected" in failed[0].status_message
    events = [p for m, p in _recorded("mcp_tools_reject") if m.endswith("events.stream")]
    (tmp_path / "events.json").write_text(json.dumps({"data": events}), encoding="utf-8")
    plain = read_trace(tmp_path / "events.json")[0]
    shape = [(s.kind, s.tool_name, s.status, s.input_tokens) for s in trace.spans[1:]]
    assert [(s.kind, s.tool_name, s.status, s.input_tokens) for s in plain.spans[1:]] == shape  # no model: no session


def test_claude_stream_json_subagent_lines_go_under_their_task_call(tmp_path: Path) -> None:
    """No sample has a subagent: lines written here after the stream-json shape (`parent_tool_use_id`)."""
    def say(content: list[dict[str, Any]], parent: str | None = None, role: str = "assistant") -> dict[str, Any]:
        return {"type": role, "session_id": "s1", "parent_tool_use_id": parent, "uuid": f"u{len(lines)}",
                "message": {"id": f"m{len(lines)}", "role": role, "model": "claude-x", "content": content}}
    lines: list[dict[str, Any]] = [{"type": "system", "subtype": "init", "session_id": "s1", "model": "claude-x"}]
    lines.append(say([{"type": "tool_use", "id": "toolu_task", "name": "Task", "input": {"prompt": "look"}}]))
    lines.append(say([{"type": "tool_use", "id": "toolu_sub", "name": "Bash", "input": {"command": "ls"}}], "toolu_task"))
    lines.append(say([{"type": "tool_result", "tool_use_id": "toolu_sub", "content": "a.py"}], "toolu_task", "user"))
    lines.append(say([{"type": "tool_result", "tool_use_id": "toolu_task", "content": "found a.py"}], None, "user"))
    (tmp_path / "out.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    spans = {s.span_id: s for s in read_trace(tmp_path / "out.jsonl")[0].spans}
    bash, task = spans["tool-toolu_sub"], spans["tool-toolu_task"]
    sub_turn = spans[bash.parent_id or ""]
    subagent = spans[sub_turn.parent_id or ""]
    assert (subagent.kind, subagent.parent_id, bash.tool_result) == ("agent", task.span_id, "a.py")
    assert task.tool_result == "found a.py"


def test_pydantic_ai_v2_tool_return_with_an_error_outcome_fails_its_tool_span() -> None:
    """Pydantic AI 2 sends a tool's ModelRetry back as a `tool-return` part with `outcome: retried` (no
    longer a `retry-prompt`): the tool span fails with the message, the calls around it do not."""
    source = DATA / "pydantic-ai-run" / "all_messages.json"
    parts = [p for m in json.loads(source.read_text(encoding="utf-8")) for p in m["parts"]]
    returns = {p["tool_call_id"]: p for p in parts if p["part_kind"] == "tool-return"}
    assert {p["outcome"] for p in returns.values()} == {"success", "retried"}
    trace = read_trace(source)[0]
    tools = {s.tool_call_id: s for s in _only(trace, "tool")}
    assert set(tools) == set(returns)
    for call_id, part in returns.items():
        failed = part["outcome"] in ("failed", "retried")
        assert (tools[call_id].status, tools[call_id].status_message) == (
            ("error", part["content"]) if failed else ("ok", ""))


def test_openai_agents_sdk_task_and_turn_steps_are_chain_spans_and_a_tool_error_fails_its_span() -> None:
    source = DATA / "openai-agents-run" / "export.json"
    items = [i for i in json.loads(source.read_text(encoding="utf-8"))["data"] if i["object"] == "trace.span"]
    trace = read_trace(source)[0]
    by_id = {s.span_id: s for s in trace.spans}
    assert len(by_id) == len(items)
    for item in items:
        span, data = by_id[item["id"]], item["span_data"]
        steps = data.get("data", {}) if data["type"] == "custom" else {}
        if steps.get("sdk_span_type") == "task":
            assert (span.kind, span.name) == ("chain", f"task {steps['name']}")
        elif steps.get("sdk_span_type") == "turn":
            assert (span.kind, span.name) == ("chain", f"turn {steps['turn']} {steps['agent_name']}")
        elif data["type"] == "function":
            assert (span.kind, span.tool_name, span.status == "error") == ("tool", data["name"], bool(item["error"]))
            if item["error"]:
                assert span.status_message.startswith(item["error"]["message"])
        elif data["type"] == "generation":
            assert span.kind == "llm" and span.output_tokens == data["usage"]["output_tokens"]


def _otlp_spans(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def _attr(span: dict[str, Any], key: str) -> Any:
    value = next(a["value"] for a in span["attributes"] if a["key"] == key)
    return next(iter(value.values()))


def test_logfire_spans_are_named_by_their_message_and_cost_what_logfire_says() -> None:
    """Logfire names a span by its message template (`Chat Completion with {request_data[model]!r}`) and
    puts the formatted message in `logfire.msg`, the cost in `operation.cost`."""
    source = DATA / "logfire-run" / "openai_calls_otlp.json"
    raw = {s["name"]: s for s in _otlp_spans(source)}  # (one template for all three calls)
    by_id = {base64.b64decode(s["spanId"]).hex(): s for s in _otlp_spans(source)}
    assert len(raw) == 1 and len(by_id) == 3
    for trace in read_trace(source):
        (span,) = trace.spans
        item = by_id[span.span_id]
        assert span.name == _attr(item, "logfire.msg") and span.attributes["logfire.msg_template"] == item["name"]
        costs = [a for a in item["attributes"] if a["key"] == "operation.cost"]
        assert span.cost_usd == (_attr(item, "operation.cost") if costs else None)
    assert any(s.cost_usd for t in read_trace(source) for s in t.spans)


def test_mlflow_trace_written_by_mlflow_reads_kinds_messages_tokens_error_and_feedback() -> None:
    """MLflow 3's own `Trace.to_json()`: span attributes JSON-encoded, OpenAI chat shapes as a chat
    model's inputs and outputs (its token counts only in the completion's `usage`), a tool raising."""
    source = DATA / "mlflow-run" / "trace.json"
    doc = json.loads(source.read_text(encoding="utf-8"))
    raw = {base64.b64decode(s["span_id"]).hex(): s for s in doc["data"]["spans"]}
    (trace,) = read_trace(source)
    assert trace.format == "otlp" and len(trace.spans) == len(raw)
    kinds = {s.span_id: s.kind for s in trace.spans}
    expected = {"AGENT": "agent", "CHAT_MODEL": "llm", "TOOL": "tool", "RETRIEVER": "retrieval"}
    assert kinds == {k: expected[json.loads(s["attributes"]["mlflow.spanType"])] for k, s in raw.items()}
    for span in _only(trace, "llm"):
        outputs = json.loads(raw[span.span_id]["attributes"]["mlflow.spanOutputs"])
        usage = outputs["usage"]
        assert (span.input_tokens, span.output_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])
        assert span.model == outputs["model"]
        assert span.output_messages[-1].finish_reason == outputs["choices"][0]["finish_reason"]
    (tool,) = _only(trace, "tool")
    assert tool.status == "error" and tool.status_message == raw[tool.span_id]["status"]["message"]
    (feedback,) = trace.metadata["scores"]
    assert feedback["name"] == doc["info"]["assessments"][0]["assessment_name"]


def test_weave_write_ahead_log_merges_each_call_and_reads_kinds_messages_tokens_and_the_exception() -> None:
    """W&B Weave 0.54's own write-ahead log: a call's start and end are separate lines (an end may come
    before its start), op code and objects are records of their own."""
    source = DATA / "weave-run" / "calls.wal.jsonl"
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    starts = {r["req"]["start"]["id"]: r["req"]["start"] for r in records if r["type"] == "call_start"}
    ends = {r["req"]["end"]["id"]: r["req"]["end"] for r in records if r["type"] == "call_end"}
    (trace,) = read_trace(source)
    assert trace.format == "weave" and {s.span_id for s in trace.spans} == set(starts) == set(ends)
    for span in trace.spans:
        start, end = starts[span.span_id], ends[span.span_id]
        assert span.parent_id == start["parent_id"] and span.trace_id == start["trace_id"]
        kind = start["attributes"]["weave"].get("kind")
        assert span.kind == {"agent": "agent", "tool": "tool"}.get(kind, "llm" if "usage" in str(end["output"]) else "other")
        if span.kind == "llm":
            usage = end["output"]["usage"]
            assert (span.input_tokens, span.output_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])
            assert [m.content for m in span.input_messages] == [m.get("content") or "" for m in start["inputs"]["messages"]]
        exception = json.loads(end["exception"]) if end["exception"] else None
        assert span.status == ("error" if exception else "ok")
        if exception:
            assert span.status_message == f"{exception['type']}: {exception['message']}"
    assert len(trace.metadata["weave_objects"]) == sum(r["type"] not in ("call_start", "call_end") for r in records)


def test_weave_call_records_read_like_the_log_they_came_from(tmp_path: Path) -> None:
    """The API's call records are each call's start and end in one object: a list of them reads into the
    same spans as the log."""
    source = DATA / "weave-run" / "calls.wal.jsonl"
    merged: dict[str, dict[str, Any]] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        part = record["req"].get("start") or record["req"].get("end")
        if record["type"] in ("call_start", "call_end"):
            merged.setdefault(part["id"], {}).update({k: v for k, v in part.items() if v is not None})
    calls = tmp_path / "calls.json"
    calls.write_text(json.dumps(list(merged.values())), encoding="utf-8")
    (from_log,), (from_calls,) = read_trace(source), read_trace(calls)
    assert from_calls.format == "weave"
    shape = [(s.span_id, s.parent_id, s.kind, s.name, s.status, s.status_message, s.total_tokens) for s in from_log.spans]
    assert sorted(shape) == sorted((s.span_id, s.parent_id, s.kind, s.name, s.status, s.status_message, s.total_tokens)
                                   for s in from_calls.spans)


def _weave_calls() -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for line in (DATA / "weave-run" / "calls.wal.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["type"] in ("call_start", "call_end"):
            part = record["req"].get("start") or record["req"].get("end")
            merged.setdefault(part["id"], {}).update({k: v for k, v in part.items() if v is not None})
    return list(merged.values())


def _summed(call: dict[str, Any]) -> tuple[int, int]:
    usage = call["summary"]["usage"].values()
    return sum(u["prompt_tokens"] for u in usage), sum(u["completion_tokens"] for u in usage)


def test_weave_summary_usage_is_a_calls_own_tokens_less_its_childrens(tmp_path: Path) -> None:
    """`summary.usage` sums a call and everything under it: the whole log counts each model call's tokens
    once (the agent above them none); the root alone (as the calls table exports it) carries them all;
    an op with no kind whose output is not a completion but whose own usage made requests is a model call."""
    calls = _weave_calls()
    root = next(c for c in calls if c.get("parent_id") is None and "usage" in c.get("summary", {}))
    (whole,) = read_trace(DATA / "weave-run" / "calls.wal.jsonl")
    assert (sum(s.input_tokens or 0 for s in whole.spans), sum(s.output_tokens or 0 for s in whole.spans)) == _summed(root)
    assert next(s for s in whole.spans if s.span_id == root["id"]).input_tokens is None
    alone = tmp_path / "roots.json"
    alone.write_text(json.dumps([root]), encoding="utf-8")
    (trace,) = read_trace(alone)
    assert (trace.spans[0].input_tokens, trace.spans[0].output_tokens) == _summed(root)
    assert trace.spans[0].kind == root["attributes"]["weave"]["kind"]
    chat = next(c for c in calls if isinstance(c.get("output"), dict) and "usage" in c["output"])
    assert "kind" not in chat["attributes"]["weave"]
    wrapped = dict(chat, output=chat["output"]["choices"][0]["message"]["content"], inputs={"question": "why?"})
    (alone := tmp_path / "wrapped.json").write_text(json.dumps([wrapped]), encoding="utf-8")
    (trace,) = read_trace(alone)
    assert trace.spans[0].kind == "llm"
    assert (trace.spans[0].input_tokens, trace.spans[0].output_tokens) == _summed(chat)


def test_strands_spans_in_both_genai_dialects_read_to_the_same_calls_and_results() -> None:
    """Strands' native spans, written by the library here (`strands-run/generate.py`): with the newer GenAI
    conventions (content on `gen_ai.client.inference.operation.details`) and without (per-message events,
    Bedrock Converse blocks `toolUse` / `toolResult`), the same model calls, tool calls with arguments,
    tool results as text (not `[{"text": ...}]`), call ids on the results, and the failing tool."""
    seen = []
    for name in ("agent.jsonl", "agent_latest_semconv.jsonl"):
        (trace,) = read_trace(DATA / "strands-run" / name)
        llm, tools = _only(trace, "llm"), _only(trace, "tool")
        assert [len(s.input_messages) for s in llm] == [2, 4, 6, 8], name
        calls = [(c.name, json.loads(c.arguments), c.id) for s in llm for m in s.output_messages for c in m.tool_calls]
        results = [(m.tool_call_id, m.content) for m in llm[-1].input_messages if m.tool_call_id]
        spans = [(s.tool_name, s.tool_call_id, json.loads(s.tool_args or ""), s.tool_result, s.status) for s in tools]
        seen.append((calls, results, spans, llm[-1].output_messages[0].content))
    legacy, latest = seen
    assert [c[0] for c in legacy[0]] == ["deploy_log", "loki_query", "loki_query"]
    assert legacy[0] == latest[0] and legacy[2] == latest[2] and legacy[3] == latest[3]
    assert legacy[2][0][3] == "checkout: deploy 4821 at 14:02 UTC by ci-bot (db pool size 20 -> 5)"
    assert [s[4] for s in legacy[2]] == ["ok", "error", "ok"]
    # the error result reads as Strands says it in both; the older dialect also names its status
    assert [r[0] for r in legacy[1]] == [r[0] for r in latest[1]] == ["tooluse_deploy_01", "tooluse_loki_02",
                                                                     "tooluse_loki_03"]
    assert legacy[1][1][1] == "[error] Error: limit must be at most 100"
    assert latest[1][1][1] == "Error: limit must be at most 100"


def test_a_tool_result_of_text_blocks_reads_as_its_text_and_other_json_stays_verbatim(tmp_path: Path) -> None:
    """`[{"text": ...}]` (Bedrock Converse's content blocks) is shown as its text; a list whose blocks carry
    anything else is not a bare text and is kept exactly as written."""
    def span(n: int, result: str) -> dict[str, Any]:
        return {"traceId": "ab" * 16, "spanId": f"{n:016x}", "name": "execute_tool lookup",
                "startTimeUnixNano": "1732000000000000000", "endTimeUnixNano": "1732000001000000000",
                "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
                               {"key": "gen_ai.tool.call.result", "value": {"stringValue": result}}]}
    kept = '[{"text": "A-17", "citations": [1]}]'
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        span(1, '[{"text": "A-17 shipped"}, {"text": "on Monday"}]'), span(2, kept)]}]}]}), encoding="utf-8")
    first, second = read_trace(source)[0].spans
    assert (first.tool_result, second.tool_result) == ("A-17 shipped\non Monday", kept)

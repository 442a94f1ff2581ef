"""The reader registry and the dialects found in the wild, each on a real third-party sample
(`fixtures/wild/`, provenance in its PROVENANCE.md) and, for shapes no sample shows, a small file."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.traces import export_trace, read_trace
from agentbook.traces.readers import BUILTIN, registry
from agentbook.traces.tree import walk

WILD = Path(__file__).parent / "fixtures" / "wild"
CODEX = WILD / "codex_rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"

PLUGIN = '''
from agentbook.traces.model import Span, Trace
from agentbook.traces.readers import Reader

def _read(docs, source):
    trace = Trace(trace_id="csv", format="csvtrace", source=source)
    for n, doc in enumerate(docs.iterate()):
        trace.spans.append(Span(f"s{n}", name=doc["csvtrace"], kind="tool", status="ok"))
    return [trace]

READER = Reader(name="csvtrace", expects="a csvtrace row", read=_read,
                detect=lambda docs: isinstance(docs[0], dict) and "csvtrace" in docs[0])
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[Path]:
    """A real installed-package layout (a dist-info with entry_points.txt) on sys.path."""
    (tmp_path / "csvtrace_plugin.py").write_text(PLUGIN, encoding="utf-8")
    info = tmp_path / "csvtrace_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: csvtrace-plugin\nVersion: 0.1\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    registry.cache_clear()
    try:
        yield info
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("csvtrace_plugin", None)
        registry.cache_clear()


def _entry_points(info: Path, lines: str) -> None:
    (info / "entry_points.txt").write_text("[agentbook.trace_readers]\n" + lines, encoding="utf-8")
    registry.cache_clear()


def test_builtins_are_the_registered_entry_points() -> None:
    reg = registry()
    assert set(reg.names()) == set(BUILTIN)
    assert reg.problems == ()
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    for name, value in BUILTIN.items():
        assert f'{name} = "{value}"' in pyproject


def test_a_plugin_reader_is_found_and_used(plugin_path: Path, tmp_path: Path) -> None:
    _entry_points(plugin_path, "csvtrace = csvtrace_plugin:READER\n")
    assert "csvtrace" in registry().names()
    source = tmp_path / "rows.jsonl"
    source.write_text('{"csvtrace": "first"}\n{"csvtrace": "second"}\n', encoding="utf-8")
    trace = read_trace(source)[0]
    assert (trace.format, [s.name for s in trace.spans]) == ("csvtrace", ["first", "second"])
    assert read_trace(source, "csvtrace")[0].format == "csvtrace"


def test_a_plugin_cannot_replace_a_builtin_and_a_broken_one_is_named(plugin_path: Path) -> None:
    _entry_points(plugin_path, "otlp = csvtrace_plugin:READER\nbroken = csvtrace_plugin:NOTHING\n")
    reg = registry()
    assert reg.get("otlp") is not None and reg.get("otlp").expects.startswith("OTLP/JSON")  # type: ignore[union-attr]
    assert "broken" not in reg.names()
    assert [p.split(":")[0] for p in reg.problems] == [
        "trace reader plugin 'otlp' (csvtrace_plugin", "trace reader plugin 'broken' (csvtrace_plugin"]


def test_an_unknown_format_name_lists_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(FatalError) as err:
        read_trace(tmp_path / "x.json", "zipkin")
    assert err.value.render() == ("unknown trace format 'zipkin' (use one of: auto, " + ", ".join(registry().names())
                                  + ")")


def test_deprecated_genai_prompt_and_completion_json_strings_become_messages() -> None:
    trace = read_trace(WILD / "openinference_otel_genai_deprecated_client_span_tool_calls.json")[0]
    span = trace.spans[0]
    assert [(m.role, m.content) for m in span.input_messages] == [
        ("user", "Weather in Paris?"), ("assistant", "Absolutely! Let me check the weather for you."),
        ("tool", "rainy, 57°F")]
    assert [(c.name, json.loads(c.arguments), c.id) for c in span.input_messages[1].tool_calls] == [
        ("get_weather", {"location": "Paris"}, "1234")]
    assert [(m.content, m.finish_reason) for m in span.output_messages] == [
        ("The weather in Paris is currently rainy with a temperature of 57°F.", "stop")]
    assert not any(k.startswith(("gen_ai.prompt", "gen_ai.completion")) for k in span.attributes)
    assert (span.kind, span.model, span.input_tokens, span.output_tokens) == ("llm", "gpt-4-0613", 97, 52)


def test_genai_tool_execution_dump_fills_tool_folder(tmp_path: Path) -> None:
    trace = read_trace(WILD / "openinference_otel_genai_tool_execution_span.json")[0]
    span = trace.spans[0]
    assert (span.kind, span.tool_name, span.tool_call_id) == ("tool", "get_weather", "1234")
    assert json.loads(span.tool_args or "") == {"city": "New York"}
    assert json.loads(span.tool_result or "")["status"] == "success"
    export_trace(trace, tmp_path / "out")
    folder = next((tmp_path / "out").glob("001-*"))
    assert json.loads((folder / "tool" / "args.json").read_text(encoding="utf-8")) == {"city": "New York"}
    assert "sunny with a temperature" in (folder / "tool" / "result.txt").read_text(encoding="utf-8")


def test_unparseable_message_strings_are_kept_not_dropped(tmp_path: Path) -> None:
    """A message attribute that reads as no message list stays, verbatim, in the span's attributes."""
    source = tmp_path / "span.json"
    source.write_text(json.dumps({"gen_ai.operation.name": "chat", "gen_ai.prompt": "plain text prompt, not JSON",
                                  "llm.input_messages": "[not json either"}), encoding="utf-8")
    span = read_trace(source)[0].spans[0]
    assert span.attributes["gen_ai.prompt"] == "plain text prompt, not JSON"
    assert span.attributes["llm.input_messages"] == "[not json either"


def test_openinference_messages_given_as_a_json_string(tmp_path: Path) -> None:
    messages = [{"message.role": "system", "message.content": "Be brief."},
                {"message.role": "user", "message.content": "Weather in Paris?", "message.image_url": "https://x/y.png"}]
    source = tmp_path / "span.json"
    source.write_text(json.dumps({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
                                  "llm.input_messages": json.dumps(messages)}), encoding="utf-8")
    span = read_trace(source)[0].spans[0]
    assert [(m.role, m.content) for m in span.input_messages] == [("system", "Be brief."), ("user", "Weather in Paris?")]
    assert span.attributes == {"llm.input_messages.1.message.image_url": "https://x/y.png"}


def test_codex_session() -> None:
    trace = read_trace(CODEX)[0]
    assert (trace.format, trace.trace_id) == ("codex", "11111111-1111-4111-8111-111111111111")
    tools = [s for s in trace.spans if s.kind == "tool"]
    assert [(t.tool_name, t.tool_call_id, t.tool_result) for t in tools] == [
        ("exec_command", "call-structured-001", "./alpha.txt\n./beta.txt"),
        ("apply_patch", "call-custom-001", "Done!"),
        ("mcp__synthetic__lookup", "call-mcp-001", '{"status":"ok"}')]
    first = tools[0].parent_id
    turn = next(s for s in trace.spans if s.span_id == first)
    assert [(m.role, m.content) for m in turn.input_messages] == [("user", "List the synthetic files.")]
    assert turn.output_messages[0].reasoning == "I will inspect the synthetic directory."
    assert turn.model == "synthetic-model"
    last = [s for s in trace.spans if s.kind == "llm"][-1]
    assert last.output_messages[0].content == "The synthetic files are alpha.txt and beta.txt."
    assert trace.unread == {"future_synthetic_record": 1}


def test_codex_failed_command_is_a_tool_error(tmp_path: Path) -> None:
    lines = [
        {"timestamp": "2026-01-02T17:00:00Z", "type": "session_meta", "payload": {"id": "s1"}},
        {"timestamp": "2026-01-02T17:00:01Z", "type": "response_item",
         "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "cat it"}]}},
        {"timestamp": "2026-01-02T17:00:02Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "arguments": '{"command":["cat","nope.txt"]}',
                     "call_id": "c1"}},
        {"timestamp": "2026-01-02T17:00:03Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "c1", "output": json.dumps(
             {"output": "cat: nope.txt: No such file or directory\n", "metadata": {"exit_code": 1}})}},
        {"timestamp": "2026-01-02T17:00:04Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "c2"}},
        {"timestamp": "2026-01-02T17:00:05Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
            "last_token_usage": {"input_tokens": 5300, "output_tokens": 180},
            "total_token_usage": {"input_tokens": 5300, "output_tokens": 180}}}},
    ]
    source = tmp_path / "rollout.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    trace = read_trace(source)[0]
    failed = [s for s in trace.spans if s.status == "error"]
    assert [(s.tool_name, s.status_message) for s in failed] == [
        ("shell", "exit code 1: cat: nope.txt: No such file or directory")]
    retry = next(s for s in trace.spans if s.tool_call_id == "c2")
    assert retry.parent_id != failed[0].parent_id  # a new model turn, after the output came back
    assert sum(s.input_tokens or 0 for s in trace.spans if s.kind == "llm") == 5300


def test_claude_code_transcript(tmp_path: Path) -> None:
    traces = read_trace(WILD / "claude-code_edge_cases.jsonl")
    assert [t.trace_id for t in traces] == ["edge_cases", "todowrite_session"]
    trace = traces[0]
    assert trace.name.startswith("Tested various edge cases including markdown formatting, long text, tool errors")
    failed = [s for s in trace.spans if s.status == "error"]
    assert [(s.kind, s.tool_name, s.status_message) for s in failed] == [
        ("tool", "FailingTool", "Error: Tool execution failed with error: Command not found")]
    # the sample's damaged lines (a misspelt `contenst`, a result for no call, a string, a number, ...): kept, counted
    assert trace.unread == {"user fields": 2, "user": 1, "not-an-object": 3, "record": 1}
    summary = export_trace(trace, tmp_path / "out")
    assert summary.flagged == 1
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "FailingTool" in errors and "Command not found" in errors
    manifest = json.loads((tmp_path / "out" / "trace.json").read_text(encoding="utf-8"))
    assert manifest["kept_verbatim"]["record_kinds"] == {"not-an-object": 3, "record": 1, "user": 1, "user fields": 2}
    assert "7 record(s) of unknown kinds" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    # no costUSD in the file: priced from agentbook's table (claude-sonnet-4: $3 in, $15 out per Mtok) ...
    llm = next(s for s in traces[1].spans if s.kind == "llm")
    assert llm.cost_usd == round((168 * 3 + 85 * 15) / 1e6, 8)
    # ... and left unknown for a model the table does not price, rather than guessed
    assert {s.cost_usd for s in trace.spans if s.kind == "llm"} == {None}


def _langsmith_runs() -> list[dict[str, Any]]:
    root, llm, tool = "0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002", \
        "0a1b2c3d-0000-4000-8000-000000000003"
    return [
        {"id": root, "name": "AgentExecutor", "run_type": "chain", "trace_id": root, "parent_run_id": None,
         "start_time": "2024-05-01T10:00:00.000000", "end_time": "2024-05-01T10:00:05.000000",
         "inputs": {"input": "weather in Paris?"}, "outputs": {"output": "Rainy."}, "tags": ["prod"]},
        {"id": llm, "name": "ChatOpenAI", "run_type": "llm", "trace_id": root, "parent_run_id": root,
         "start_time": "2024-05-01T10:00:01.000000", "end_time": "2024-05-01T10:00:02.000000",
         "inputs": {"messages": [{"role": "user", "content": "weather in Paris?"}]},
         "outputs": {"generations": [[{"text": "Let me look.", "generation_info": {"finish_reason": "tool_calls"}}]]},
         "prompt_tokens": 12, "completion_tokens": 5, "total_cost": 0.0003,
         "extra": {"invocation_params": {"model": "gpt-4o"}}},
        {"id": tool, "name": "weather", "run_type": "tool", "trace_id": root, "parent_run_id": root,
         "start_time": "2024-05-01T10:00:03.000000", "end_time": "2024-05-01T10:00:04.000000",
         "inputs": {"input": "Paris"}, "outputs": None, "error": "TimeoutError: upstream weather API"},
    ]


def test_langsmith_runs(tmp_path: Path) -> None:
    source = tmp_path / "runs.json"
    source.write_text(json.dumps(_langsmith_runs()), encoding="utf-8")
    trace = read_trace(source)[0]
    assert trace.format == "langsmith"
    assert [(d, s.kind, s.name) for d, s in walk(trace.roots)] == [
        (0, "chain", "AgentExecutor"), (1, "llm", "ChatOpenAI"), (1, "tool", "weather")]
    llm = trace.roots[0].children[0]
    assert (llm.model, llm.input_tokens, llm.output_tokens, llm.cost_usd) == ("gpt-4o", 12, 5, 0.0003)
    assert [(m.content, m.finish_reason) for m in llm.output_messages] == [("Let me look.", "tool_calls")]
    tool = trace.roots[0].children[1]
    assert (tool.status, tool.status_message, tool.tool_args) == ("error", "TimeoutError: upstream weather API", "Paris")
    nested = dict(_langsmith_runs()[0], child_runs=_langsmith_runs()[1:])
    source.write_text(json.dumps(nested), encoding="utf-8")
    assert len(read_trace(source)[0].spans) == 3


def test_langsmith_sdk_batch_sample() -> None:
    """The SDK's post/patch batch (a real payload from langsmith-sdk's tests): one run, merged."""
    trace = read_trace(WILD / "langsmith-sdk_wrap_openai_default.json")[0]
    (span,) = trace.spans
    assert (trace.format, span.kind, span.name, span.status) == ("langsmith", "llm", "ChatOpenAI", "ok")
    assert [(m.role, m.content) for m in span.input_messages] == [("user", "howdy")]
    assert [(m.content, m.finish_reason) for m in span.output_messages] == [("Howdy! How can I assist you today?", "stop")]
    assert (span.input_tokens, span.output_tokens, span.model) == (9, 9, "gpt-4o-mini-2024-07-18")
    assert span.duration_ms == 1115.0


def test_phoenix_object_of_several_traces(tmp_path: Path) -> None:
    def span(trace: str, span_id: str, parent: str | None, name: str) -> dict[str, Any]:
        return {"name": name, "context": {"trace_id": trace, "span_id": span_id}, "parent_id": parent,
                "span_kind": "TOOL" if parent else "AGENT", "start_time": "2026-07-24T12:00:00+00:00",
                "end_time": "2026-07-24T12:00:01+00:00", "status_code": "OK", "attributes": {"tool.name": name}}
    doc = {"accepted": [span("a" * 32, "1" * 16, None, "turn"), span("a" * 32, "2" * 16, "1" * 16, "save_prompt")],
           "rejected": [span("b" * 32, "3" * 16, None, "turn")]}
    source = tmp_path / "pxi.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    traces = read_trace(source)
    assert [(t.format, t.trace_id, len(t.spans)) for t in traces] == [
        ("openinference", "a" * 32, 2), ("openinference", "b" * 32, 1)]


def test_retry_after_an_intervening_span_is_flagged(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    def span(span_id: str, parent: str | None, name: str, start: int, error: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"traceId": "c" * 32, "spanId": span_id, "name": name,
                               "startTimeUnixNano": str(1_700_000_000_000_000_000 + start),
                               "attributes": [{"key": "gen_ai.tool.name", "value": {"stringValue": name}}]}
        if parent:
            out["parentSpanId"] = parent
        if error:
            out["status"] = {"code": 2, "message": "permission denied"}
        return out
    spans = [span("a" * 16, None, "agent", 0), span("b" * 16, "a" * 16, "write_file", 1, error=True),
             span("c" * 16, "a" * 16, "list_dir", 2), span("d" * 16, "a" * 16, "write_file", 3)]
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}), encoding="utf-8")
    result = run_cli("trace", "export", source, tmp_path / "out")
    assert result.code == 0, result.err
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "## Retries (same step run again after a failed span)" in errors or "## Retries" in errors
    retry_lines = [line for line in errors.splitlines() if "runs again after a failed span" in line]
    assert len(retry_lines) == 1 and "004-tool-write_file" in retry_lines[0] and "002-tool-write_file" in retry_lines[0]


def test_atif_of_another_shape_is_read_not_misread(tmp_path: Path) -> None:
    """A trajectory written by another exporter (as the issue found from a Claude Code run): version
    without the ATIF- prefix, tool calls as {id, name, input}, one result per observation with
    is_error, totals under other names. Tool names, results, the error and the cost all arrive."""
    doc = {"schema_version": "1.4", "session_id": "cc-7", "agent": {"name": "claude-code", "model_name": "m"},
           "steps": [
               {"step_id": 1, "actor": "user", "message": "make the config writable",
                "timestamp": "2025-11-02T10:00:00Z"},
               {"step_id": 2, "source": "agent", "message": "Editing it.", "timestamp": "2025-11-02T10:00:03Z",
                "tool_calls": [{"id": "toolu_1", "name": "Write", "input": {"file_path": "/etc/app.conf"}}],
                "observation": {"tool_call_id": "toolu_1", "is_error": True,
                                "content": "EACCES: permission denied, open '/etc/app.conf'"},
                "metrics": {"input_tokens": 14800, "output_tokens": 213, "cost": 0.1268}}],
           "final_metrics": {"total_tokens": 15013, "total_cost": 0.1268}}
    source = tmp_path / "trajectory.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    trace = read_trace(source)[0]
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert (tool.tool_name, tool.tool_call_id, tool.status) == ("Write", "toolu_1", "error")
    assert tool.tool_result == "EACCES: permission denied, open '/etc/app.conf'"
    assert json.loads(tool.tool_args or "") == {"file_path": "/etc/app.conf"}
    summary = export_trace(trace, tmp_path / "out")
    assert summary.flagged >= 1
    assert "permission denied" in (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "tokens in/out 14800/213; cost $0.1268" in readme
    assert "15013" in (tmp_path / "out" / "001-agent-claude-code" / "span.yaml").read_text(encoding="utf-8")


def test_genai_messages_recorded_on_the_operation_details_event_are_read(tmp_path: Path) -> None:
    """The newer GenAI conventions let an instrumentation record content on a
    `gen_ai.client.inference.operation.details` event instead of the span: its messages (system, user, a
    tool call, the answer) are the span's; what else it carries stays on the event."""
    def attr(key: str, value: Any) -> dict[str, Any]:
        return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}
    event = {"name": "gen_ai.client.inference.operation.details", "timeUnixNano": "1732000000500000000",
             "attributes": [
                 attr("gen_ai.system_instructions", [{"type": "text", "content": "You answer on-call questions."}]),
                 attr("gen_ai.input.messages", [{"role": "user", "parts": [{"type": "text", "content": "disk on db-2?"}]}]),
                 attr("gen_ai.output.messages", [{"role": "assistant", "finish_reason": "tool_call", "parts": [
                     {"type": "tool_call", "id": "c1", "name": "df", "arguments": {"host": "db-2"}}]}]),
                 attr("gen_ai.response.id", "resp-77")]}
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat m",
            "kind": 3, "startTimeUnixNano": "1732000000000000000", "endTimeUnixNano": "1732000001000000000",
            "attributes": [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "m")],
            "events": [event]}
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}), encoding="utf-8")
    (got,) = read_trace(source)[0].spans
    assert [(m.role, m.content) for m in got.input_messages] == [
        ("system", "You answer on-call questions."), ("user", "disk on db-2?")]
    (answer,) = got.output_messages
    assert [(c.name, c.id, json.loads(c.arguments)) for c in answer.tool_calls] == [("df", "c1", {"host": "db-2"})]
    assert [e["attributes"] for e in got.events] == [{"gen_ai.response.id": "resp-77"}]


def test_codex_rollout_of_earlier_releases_is_read(tmp_path: Path) -> None:
    """Codex CLI once wrote its rollout as a `{id, timestamp, instructions}` line then the response items
    bare (and `record_type: state` lines): read as a session like the current `{timestamp, type, payload}`
    lines, not refused as an unknown format."""
    lines = [{"id": "4f0c", "timestamp": "2025-05-01T10:00:00Z", "instructions": "Work in the repository."},
             {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the tests"}]},
             {"record_type": "state"},
             {"type": "function_call", "name": "shell", "arguments": '{"command": ["ls", "tests"]}', "call_id": "c1"},
             {"type": "function_call_output", "call_id": "c1",
              "output": '{"output": "ls: tests: No such file", "metadata": {"exit_code": 1}}'},
             {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "There is no tests folder."}]}]
    source = tmp_path / "rollout-2025-05-01-4f0c.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    (trace,) = read_trace(source)
    assert (trace.format, trace.trace_id) == ("codex", "4f0c")
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert (tool.tool_name, tool.status, tool.tool_result) == ("shell", "error", "ls: tests: No such file")
    first = next(s for s in trace.spans if s.kind == "llm")
    assert [(m.role, m.content) for m in first.input_messages] == [
        ("system", "Work in the repository."), ("user", "list the tests")]
    assert any(s.output_messages and s.output_messages[-1].content == "There is no tests folder." for s in trace.spans)


def _claude_rec(uuid: str, parent: str | None, kind: str, content: list[dict[str, Any]], *, side: bool = False,
                agent: str | None = None, t: int = 0) -> dict[str, Any]:
    """One Claude Code transcript record (session s1); `side` marks a Task subagent's, `agent` its agentId."""
    message: dict[str, Any] = {"role": kind, "content": content}
    if kind == "assistant":
        message.update(id=f"msg_{uuid}", model="claude-sonnet-4-5")
    out = {"type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": "s1", "isSidechain": side,
           "timestamp": f"2025-11-19T22:53:{t:02d}Z", "message": message}
    return {**out, "agentId": agent} if agent else out


def test_claude_code_subagent_goes_under_the_task_call_that_ran_it(tmp_path: Path) -> None:
    """A Task subagent's records (`isSidechain`, its `agentId`) come between the Task call and its result,
    whose record names the same `agentId`: the subagent's agent span is the Task tool span's child, not
    a sibling of the session's turns; a second stretch of its records whose chain the file breaks joins it."""
    lines = [
        _claude_rec("u1", None, "user", [{"type": "text", "text": "find the colour attribute"}], t=1),
        _claude_rec("a1", "u1", "assistant", [{"type": "tool_use", "id": "toolu_task", "name": "Task",
                                               "input": {"prompt": "research data-border-color"}}], t=2),
        _claude_rec("s1", None, "user", [{"type": "text", "text": "research data-border-color"}], side=True, agent="e1c8", t=3),
        _claude_rec("s2", "s1", "assistant", [{"type": "tool_use", "id": "toolu_grep", "name": "Grep",
                                               "input": {"pattern": "data-border-color"}}], side=True, agent="e1c8", t=4),
        _claude_rec("s4", "s3-not-in-file", "assistant", [{"type": "text", "text": "used in two templates"}],
            side=True, agent="e1c8", t=6),
        _claude_rec("u2", "a1", "user", [{"type": "tool_result", "tool_use_id": "toolu_task",
                                          "content": [{"type": "text", "text": "used in two templates"}]}], agent="e1c8", t=7),
    ]
    source = tmp_path / "s1.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    (trace,) = read_trace(source)
    task = next(s for s in trace.spans if s.tool_name == "Task")
    subagents = [s for s in trace.spans if s.name == "subagent (sidechain)"]
    assert len(subagents) == 1 and subagents[0].parent_id == task.span_id
    turns = [s for s in trace.spans if s.parent_id == subagents[0].span_id]
    assert [t.kind for t in turns] == ["llm", "llm"]



def test_claude_code_subagent_named_on_only_some_records_is_one_subagent(tmp_path: Path) -> None:
    """Claude Code 2.0.x (claude-code-log's sidechain_integrated.jsonl, 2.0.46) names the subagent's agentId
    on the Task result's record and on only some of its sidechain records: a named record whose chain the
    file breaks continues the one unnamed sidechain, under the Task call; with two unnamed sidechains it
    starts its own rather than guess."""
    task = [_claude_rec("a1", None, "assistant", [{"type": "tool_use", "id": "toolu_task", "name": "Task",
                                                   "input": {"prompt": "research data-border-color"}}], t=1),
            _claude_rec("u2", "a1", "user", [{"type": "tool_result", "tool_use_id": "toolu_task",
                                              "content": [{"type": "text", "text": "used in two templates"}]}],
                        agent="e1c8", t=9)]
    stretch = [_claude_rec("s1", None, "assistant", [{"type": "text", "text": "I'll research it"}], side=True, t=2),
               _claude_rec("s2", "s1", "assistant", [{"type": "tool_use", "id": "toolu_grep", "name": "Grep",
                                                      "input": {"pattern": "data-border-color"}}], side=True, t=3)]
    named = _claude_rec("s4", "s3-not-in-file", "assistant", [{"type": "text", "text": "used in two templates"}],
                        side=True, agent="e1c8", t=5)
    other = _claude_rec("x1", None, "assistant", [{"type": "text", "text": "another subagent"}], side=True, t=4)

    def subagents(lines: list[dict[str, Any]], name: str) -> tuple[str, list[tuple[str | None, int]]]:
        source = tmp_path / name
        source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        (trace,) = read_trace(source)
        call = next(s for s in trace.spans if s.tool_name == "Task")
        found = [(s.parent_id, sum(1 for c in trace.spans if c.parent_id == s.span_id))
                 for s in trace.spans if s.name == "subagent (sidechain)"]
        return call.span_id, found

    call, found = subagents(task + stretch + [named], "one.jsonl")
    assert found == [(call, 3)]  # under the Task call, with its three turns (s1, s2, s4)
    call, found = subagents(task + stretch + [other, named], "two.jsonl")
    assert sorted(found, key=str) == [("session", 1), ("session", 2), (call, 1)]  # none merged

def test_google_adk_request_response_and_tool_attributes_are_read(tmp_path: Path) -> None:
    """Google ADK writes a model call's request and response as JSON (`gcp.vertex.agent.llm_request` /
    `llm_response`: system instruction, contents of text, function_call and function_response parts,
    usage) and a tool's arguments and response beside `gen_ai.*`; its API server's debug trace lists the
    spans with integer ids. The call is an llm span with its messages, the tool has its arguments and
    result, and the request's other config stays an attribute."""
    request = {"model": "gemini-2.0-flash-lite",
               "config": {"system_instruction": "You answer on-call questions.", "labels": {"team": "sre"}},
               "contents": [{"role": "user", "parts": [{"text": "is db-2 out of disk?"}]},
                            {"role": "model", "parts": [{"function_call": {"id": "adk-1", "name": "df", "args": {"host": "db-2"}}}]},
                            {"role": "user", "parts": [{"function_response": {"id": "adk-1", "name": "df",
                                                                              "response": {"used_pct": 97}}}]}]}
    response = {"content": {"role": "model", "parts": [{"text": "checking", "thought": True}, {"text": "Yes: 97% full."}]},
                "finish_reason": "STOP", "usage_metadata": {"prompt_token_count": 230, "candidates_token_count": 12}}
    spans = [
        {"name": "invoke_agent oncall", "span_id": 2, "trace_id": 211, "parent_span_id": None,
         "start_time": 1766731818000000000, "end_time": 1766731823000000000, "attributes": {"gen_ai.operation.name": "invoke_agent"}},
        {"name": "call_llm", "span_id": 3, "trace_id": 211, "parent_span_id": 2, "start_time": 1766731818800000000,
         "end_time": 1766731822900000000, "attributes": {"gen_ai.system": "gcp.vertex.agent",
                                                         "gcp.vertex.agent.llm_request": json.dumps(request),
                                                         "gcp.vertex.agent.llm_response": json.dumps(response)}},
        {"name": "execute_tool df", "span_id": 4, "trace_id": 211, "parent_span_id": 2, "start_time": 1766731819000000000,
         "end_time": 1766731819100000000, "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "df",
                                                         "gcp.vertex.agent.tool_call_args": '{"host": "db-2"}',
                                                         "gcp.vertex.agent.tool_response": json.dumps(
                                                             {"id": "adk-1", "name": "df", "response": {"used_pct": 97}})}}]
    source = tmp_path / "adk_trace.json"
    source.write_text(json.dumps(spans), encoding="utf-8")
    (trace,) = read_trace(source)
    llm = next(s for s in trace.spans if s.name == "call_llm")
    assert llm.kind == "llm" and (llm.input_tokens, llm.output_tokens) == (230, 12)
    assert [m.role for m in llm.input_messages] == ["system", "user", "assistant", "tool"]
    assert [(c.name, c.id) for c in llm.input_messages[2].tool_calls] == [("df", "adk-1")]
    assert json.loads(llm.input_messages[3].content) == {"used_pct": 97}
    (answer,) = llm.output_messages
    assert (answer.content, answer.reasoning, answer.finish_reason) == ("Yes: 97% full.", "checking", "STOP")
    assert llm.attributes["gcp.vertex.agent.llm_request.rest"] == {"config": {"labels": {"team": "sre"}}}
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert (json.loads(tool.tool_args or ""), json.loads(tool.tool_result or ""), tool.tool_call_id) == (
        {"host": "db-2"}, {"used_pct": 97}, "adk-1")


def test_a_message_part_of_a_kind_not_read_is_kept_whole(tmp_path: Path) -> None:
    """A provider's own part kind (Microsoft.Extensions.AI's reasoning content with its protected data, as a
    C# agent's GenAI messages carry it) is shown whole, its kind included; only its `content` was kept."""
    messages = [{"role": "assistant", "parts": [
        {"type": "tool_call", "id": "c1", "name": "get_report", "arguments": {"months": 3}},
        {"type": "Microsoft.Extensions.AI.TextReasoningContent", "content": {"text": "", "protectedData": "CooKAY89a1"}}]}]
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat",
            "startTimeUnixNano": "1732000000000000000", "endTimeUnixNano": "1732000001000000000",
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                           {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps(messages)}}]}
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}), encoding="utf-8")
    (got,) = read_trace(source)[0].spans
    (reply,) = got.output_messages
    assert [c.name for c in reply.tool_calls] == ["get_report"]
    assert json.loads(reply.content) == messages[0]["parts"][1]


def test_atif_embedded_subagent_is_read_under_the_call_that_started_it(tmp_path: Path) -> None:
    """ATIF v1.7 embeds subagent trajectories (`subagent_trajectories[]`, referenced by `trajectory_id`):
    the subagent's run and steps go under the tool span whose result references it, with span ids of their
    own (its step 1 is not the parent's step 1); the reference's fields and a call's `extra` are kept."""
    child = {"schema_version": "ATIF-v1.7", "trajectory_id": "child-7", "agent": {"name": "researcher"},
             "steps": [{"step_id": 1, "source": "user", "message": "look up the quota"},
                       {"step_id": 2, "source": "agent", "message": "quota is 5",
                        "metrics": {"prompt_tokens": 25, "completion_tokens": 9}}]}
    doc = {"schema_version": "ATIF-v1.7", "session_id": "s-7", "agent": {"name": "lead"},
           "steps": [{"step_id": 1, "source": "user", "message": "what is the quota?"},
                     {"step_id": 2, "source": "agent", "message": "",
                      "tool_calls": [{"tool_call_id": "c1", "function_name": "delegate", "arguments": {"q": "quota"},
                                      "extra": {"runtime": "graph-dispatch"}}],
                      "observation": {"results": [{"source_call_id": "c1", "content": "delegated",
                                                   "subagent_trajectory_ref": [
                                                       {"trajectory_id": "child-7", "extra": {"summary": "quota probe"}}]}]}}],
           "subagent_trajectories": [child]}
    source = tmp_path / "trajectory.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    (trace,) = read_trace(source)
    assert trace.orphans == [] and len({s.span_id for s in trace.spans}) == len(trace.spans) == 7
    by_id = {s.span_id: s for s in trace.spans}
    sub = next(s for s in trace.spans if s.name == "researcher")
    caller = by_id[sub.parent_id or ""]
    assert (caller.kind, caller.tool_name) == ("tool", "delegate")
    assert "trajectory_id child-7" in (caller.tool_result or "") and "summary quota probe" in (caller.tool_result or "")
    assert [s.name for s in trace.spans if s.parent_id == sub.span_id] == ["step 1 user", "step 2 agent"]
    assert (sub.input_tokens, sub.output_tokens) == (25, 9)
    assert "subagent_trajectories" not in trace.metadata
    export_trace(trace, tmp_path / "out")
    spans = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("span.yaml"))
    assert "graph-dispatch" in spans


def _trajectory(session: str, refs: tuple[str, ...] = ()) -> dict[str, Any]:
    results = [{"source_call_id": f"c-{r}", "content": "delegated", "subagent_trajectory_ref": [{"session_id": r}]}
               for r in refs]
    steps: list[dict[str, Any]] = [{"step_id": 1, "source": "user", "message": f"task of {session}"}]
    if refs:
        steps.append({"step_id": 2, "source": "agent", "message": "",
                      "tool_calls": [{"tool_call_id": f"c-{r}", "function_name": "delegate", "arguments": {"to": r}}
                                     for r in refs], "observation": {"results": results}})
    return {"schema_version": "ATIF-v1.6", "session_id": session, "agent": {"name": session}, "steps": steps}


def test_trajectories_named_in_one_object_nest_the_subagents_they_reference(tmp_path: Path) -> None:
    """An object naming trajectories (Phoenix's `{"parent": ..., "child": ...}`): a trajectory another
    one references (`subagent_trajectory_ref` by session id) is read under that one's tool call, as an
    embedded subagent is; its name in the file is kept; one nobody references is a trace of its own."""
    doc = {"parent": _trajectory("lead", ("researcher",)), "child": _trajectory("researcher"),
           "unrelated": _trajectory("other")}
    source = tmp_path / "trajectories.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    lead, other = read_trace(source)
    assert (lead.trace_id, other.trace_id, lead.metadata["document_key"]) == ("lead", "other", "parent")
    sub = next(s for s in lead.spans if s.name == "researcher")
    assert (sub.kind, sub.attributes["document_key"]) == ("agent", "child")
    caller = next(s for s in lead.spans if s.span_id == sub.parent_id)
    assert (caller.kind, caller.tool_name) == ("tool", "delegate") and not lead.orphans and not lead.problems


def test_trajectories_that_reference_each_other_are_each_read_once(tmp_path: Path) -> None:
    """Trajectories that reference each other in a cycle are each read once: from the one outside the
    cycle that references into it, else from the first of the cycle; none is read twice or lost."""
    for docs, roots in (([_trajectory("a", ("b",)), _trajectory("b", ("a",)), _trajectory("c", ("a",))], ["c"]),
                        ([_trajectory("a", ("b",)), _trajectory("b", ("a",))], ["a"])):
        source = tmp_path / "trajectories.json"
        source.write_text(json.dumps(docs), encoding="utf-8")
        traces = read_trace(source)
        runs = [s.name for t in traces for s in t.spans if s.kind == "agent"]
        assert sorted(runs) == sorted(d["session_id"] for d in docs) and [t.trace_id for t in traces] == roots


def test_a_line_that_is_no_trajectory_is_kept_not_dropped(tmp_path: Path) -> None:
    doc = {"schema_version": "ATIF-v1.4", "session_id": "s", "agent": {"name": "a"},
           "steps": [{"step_id": 1, "source": "user", "message": "hello"}]}
    source = tmp_path / "trajectories.jsonl"
    source.write_text(json.dumps(doc) + '\n42\n"a stray line that is not a trajectory"\n', encoding="utf-8")
    trace = read_trace(source)[0]
    assert trace.metadata["not_read"] == [42, "a stray line that is not a trajectory"]
    assert trace.problems == [("2 item(s) of the file are not objects: kept in trace.json (metadata.not_read), "
                               "not read as traces")]


def test_mlflow_trace_info_data_spans_and_assessments(tmp_path: Path) -> None:
    """MLflow's `{"info", "data": {"spans"}}` (as `mlflow traces get` prints it; written here after that
    shape): JSON-encoded attributes decoded, span types, chat messages, token usage, assessments as scores."""
    source = Path(__file__).parent / "fixtures" / "mlflow_trace.json"
    doc = json.loads(source.read_text(encoding="utf-8"))
    (trace,) = read_trace(source)
    root, chat, tool = trace.spans
    assert [s.kind for s in trace.spans] == ["agent", "llm", "tool"]
    assert (chat.parent_id, tool.parent_id) == (root.span_id, root.span_id)
    assert (chat.input_tokens, chat.output_tokens, chat.model) == (412, 57, "gpt-4.1-2025-04-14")
    assert [m.role for m in chat.input_messages] == ["system", "user"]
    assert [c.name for c in chat.output_messages[0].tool_calls] == ["loki_query"]
    assert chat.attributes["mlflow.spanInputs"] == {"model": "gpt-4.1", "temperature": 0.2}
    assert (tool.status, json.loads(tool.tool_args or "")) == ("error", {"query": '{app="checkout"} |= "timeout"', "since": "1h"})
    assert root.output_text == "I could not query the logs: the Loki request timed out."
    judged, expected = doc["info"]["assessments"]
    assert [s["name"] for s in chat.scores] == [judged["assessment_name"]]
    assert chat.scores[0]["comment"] == judged["rationale"]
    assert trace.metadata["scores"] == [{"name": "expected_root_cause", "value": expected["expectation"]["value"],
                                         "source": "HUMAN", "source_id": "sre-reviewer@example.com"}]
    export_trace(trace, tmp_path / "out")
    assert "score `expected_root_cause` = connection pool exhausted" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_openai_agents_sdk_export_spans_by_type(tmp_path: Path) -> None:
    """The Agents SDK's `{"data": [trace, span, ...]}` (`Trace.export()` / `Span.export()` as the SDK's
    source writes them; the file is written here after that shape), and the same items one per line."""
    source = Path(__file__).parent / "fixtures" / "openai_agents_export.json"
    items = json.loads(source.read_text(encoding="utf-8"))["data"]
    (trace,) = read_trace(source)
    spans = {s.span_id: s for s in trace.spans}
    assert (trace.format, trace.name, trace.metadata["trace"]) == ("openai-agents", "Incident triage", items[0])
    for item in items[1:]:
        span, data = spans[item["id"]], item["span_data"]
        sdk_step = data["type"] == "custom" and data.get("data", {}).get("sdk_span_type") in ("task", "turn")
        assert (span.parent_id, span.kind) == (item["parent_id"], "chain" if sdk_step else {
            "agent": "agent", "generation": "llm", "response": "llm", "function": "tool", "handoff": "chain"}.get(
            data["type"], "other"))
        assert span.status == ("error" if item["error"] else "ok")
        if data["type"] == "function":
            assert (span.tool_name, span.tool_args, span.tool_result) == (data["name"], data["input"], data["output"])
        if data["type"] in ("generation", "response"):
            assert (span.input_tokens, span.output_tokens) == (data["usage"]["input_tokens"], data["usage"]["output_tokens"])
    generation = spans[items[2]["id"]]
    assert [m.role for m in generation.input_messages] == ["system", "user"]
    assert generation.output_messages[0].tool_calls[0].name == "lookup_runbook"
    assert spans[items[3]["id"]].status_message.endswith(items[3]["error"]["data"]["error"])
    lines = tmp_path / "items.jsonl"
    lines.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    assert [s.span_id for s in read_trace(lines)[0].spans] == [s.span_id for s in trace.spans]


def test_pydantic_ai_message_history(tmp_path: Path) -> None:
    """`all_messages_json()` output (written here after pydantic_ai.messages' shapes): responses become
    model calls fed by the request parts before them, tool calls are matched to their returns, and a
    retry-prompt fails the call it answers. Two histories one per line are two traces."""
    source = Path(__file__).parent / "fixtures" / "pydantic_ai_messages.json"
    history = json.loads(source.read_text(encoding="utf-8"))
    (trace,) = read_trace(source)
    llm = [s for s in trace.spans if s.kind == "llm"]
    tools = {s.tool_call_id: s for s in trace.spans if s.kind == "tool"}
    responses = [m for m in history if m["kind"] == "response"]
    assert [(s.model, s.input_tokens, s.output_tokens) for s in llm] == [
        (m["model_name"], m["usage"]["input_tokens"], m["usage"]["output_tokens"]) for m in responses]
    assert [m.role for m in llm[0].input_messages] == ["system", "user"]
    assert llm[0].output_messages[0].reasoning == responses[0]["parts"][0]["content"]
    assert llm[-1].output_messages[0].content == responses[-1]["parts"][0]["content"]
    deploys, logs = tools["call_dpl_01"], tools["call_logs_02"]
    assert (deploys.status, json.loads(deploys.tool_result or "")) == ("ok", history[2]["parts"][0]["content"])
    assert (logs.status, json.loads(logs.tool_args or "")) == ("error", responses[1]["parts"][0]["args"])
    assert "literal_error" in logs.status_message
    two = tmp_path / "two.jsonl"
    two.write_text(json.dumps(history) + "\n" + json.dumps(history[:2]) + "\n", encoding="utf-8")
    assert [len(t.spans) for t in read_trace(two)] == [len(trace.spans), 3]


def test_the_debug_trace_skill_names_every_built_in_format() -> None:
    """An agent forcing a format, or wondering whether its file is readable, learns the names from the
    skill; four readers were added once without it saying so."""
    skill = Path(__file__).resolve().parents[2] / "skills" / "debug-trace"
    taught = (skill / "SKILL.md").read_text()
    table = (skill / "references" / "formats.md").read_text()
    listed = re.split(r"[(),;\s]+", taught.split("`--format NAME`", 1)[1].split("and pick one trace", 1)[0])
    missing = [name for name in BUILTIN if name not in listed or f"(`{name}`)" not in table]
    assert not missing, missing


def test_claude_code_record_whose_parent_is_not_in_the_file_is_said(tmp_path: Path) -> None:
    """The sample's second session starts at a record whose `parentUuid` names a record the file does not
    hold (lines missing, or a session resumed from another file): said as a warning, with both ids."""
    source = WILD / "claude-code_edge_cases.jsonl"
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    uuids = {r.get("uuid") for r in records}
    dangling = [(r["uuid"], r["parentUuid"]) for r in records if r.get("parentUuid") and r["parentUuid"] not in uuids]
    assert dangling == [("assistant_004", "assistant_003")]
    trace = read_trace(source)[1]
    export_trace(trace, tmp_path / "out")
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "## Warnings" in errors and "assistant_004" in errors and "assistant_003" in errors
    assert [s for s in read_trace(source)[0].spans if s.warnings] == []  # every parent of the first is there

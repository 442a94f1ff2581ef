"""LangChain's serialised messages in LangSmith runs render as every other format's messages do.

The fixture `fixtures/langsmith_lc_messages.json` is written here (a LangGraph agent's chain run, an
Anthropic call with thinking, a tool_use part and an unreadable call, a tool run, an OpenAI call whose
reply is a chunk); its whole export is also a golden folder. The real samples are runs LangChain's
tracer sent to a loopback stand-in of the LangSmith API (`data/langchain-run/`, written here by its
`generate.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentbook.traces import export_trace, read_trace
from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "langsmith_lc_messages.json"
SAMPLES = HERE / "data" / "langchain-run"  # LangChain's tracer's own output, written here (generate.py beside it)
MESSAGE_CLASSES = {"HumanMessage", "AIMessage", "SystemMessage", "ToolMessage", "ChatMessage", "FunctionMessage"}


def _export(tmp_path: Path) -> Path:
    (trace,) = read_trace(FIXTURE)
    export_trace(trace, tmp_path / "out")
    return tmp_path / "out" / "001-chain-billing_agent"


def test_messages_render_with_roles_text_reasoning_and_tool_calls(tmp_path: Path) -> None:
    root = _export(tmp_path)
    llm = root / "004-llm-chatopenai"
    assert sorted(p.name for p in (llm / "messages").iterdir()) == [
        "000-system.md", "001-user.md", "002-assistant.md", "003-tool.md", "004-critic.md", "005-assistant.md"]
    assert (llm / "messages" / "001-user.md").read_text(encoding="utf-8") == (
        "# message 001 · user · input\n\nWhy was invoice INV-2291 charged twice?\n"
        '{"type": "image_url", "image_url": {"url": "https://billing.example/inv-2291.png"}}\n')
    # Anthropic's content repeats the call LangChain lists in tool_calls: one call, by its id
    assert (llm / "messages" / "002-assistant.md").read_text(encoding="utf-8") == (
        "# message 002 · assistant · input\n\nLet me search the billing docs.\n\n"
        "## reasoning\n\nThe user wants the duplicate-charge policy; search the docs.\n\n"
        '## tool call search_docs (id toolu_01Search)\n\n```json\n{\n  "query": "duplicate charge"\n}\n```\n')
    assert (llm / "messages" / "003-tool.md").read_text(encoding="utf-8") == (
        "# message 003 · tool · input\nname: search_docs\ntool_call_id: toolu_01Search\n\n"
        "Page 14: a retried card payment can post twice; the second charge is voided in 3 days.\n")
    assert (llm / "messages" / "004-critic.md").read_text(encoding="utf-8") == (
        "# message 004 · critic · input\n\nQuote the page number exactly.\n")
    assert (llm / "output.md").read_text(encoding="utf-8") == (
        "# output of span llm ChatOpenAI\n\n1 message(s); the full text of each is in its file.\n\n"
        '- `messages/005-assistant.md` assistant, 74 chars: "INV-2291 was retried; the second charge is voided '
        'within 3 days (page 14)."\n\n## assistant\n\nINV-2291 was retried; the second charge is voided within 3 days '
        "(page 14).\n\nfinish reason: stop\n")


def test_tool_run_result_is_the_message_text_linked_to_its_call(tmp_path: Path) -> None:
    tool = _export(tmp_path) / "003-tool-search_docs"
    assert (tool / "tool" / "result.txt").read_text(encoding="utf-8") == (
        "Page 14: a retried card payment can post twice; the second charge is voided in 3 days.\n")
    assert "tool:\n  name: search_docs\n  call_id: toolu_01Search\n" in (tool / "span.yaml").read_text(encoding="utf-8")
    summary = export_trace(read_trace(FIXTURE)[0], tmp_path / "again")
    assert (summary.tool_calls, summary.tool_spans) == (1, 1)  # the call asked for and the run: one call


def test_token_usage_and_model_reach_the_span(tmp_path: Path) -> None:
    spans = {s.name: s for s in read_trace(FIXTURE)[0].spans}
    assert [(s.input_tokens, s.output_tokens, s.model) for s in (spans["ChatAnthropic"], spans["ChatOpenAI"])] == [
        (412, 57, "claude-sonnet-4-5"), (530, 31, "gpt-4o-mini-2024-07-18")]
    assert [m.finish_reason for m in spans["ChatAnthropic"].output_messages] == ["tool_use"]


def _run(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": "7f3c0000-0000-4000-8000-0000000000aa", "name": "ChatModel", "run_type": "llm",
             "start_time": "2026-11-30T09:00:00", "end_time": "2026-11-30T09:00:01",
             "inputs": {"messages": [[{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages",
                                                                             "HumanMessage"],
                                      "kwargs": {"content": "hi", "type": "human"}}]]}, "outputs": outputs}]


@pytest.mark.parametrize(("outputs", "tokens"), [
    ({"generations": [[{"text": "yo"}]], "llm_output": {"token_usage": {"prompt_tokens": 11, "completion_tokens": 22}}},
     (11, 22)),
    ({"generations": [[{"text": "a", "message": {"lc": 1, "type": "constructor", "id": ["langchain_core", "messages",
                                                                                        "AIMessage"],
                                                 "kwargs": {"content": "a", "usage_metadata": {"input_tokens": 30,
                                                                                               "output_tokens": 40}}}}]]},
     (30, 40)),
])
def test_usage_from_llm_output_or_the_messages(outputs: dict[str, Any], tokens: tuple[int, int],
                                               tmp_path: Path) -> None:
    source = tmp_path / "runs.json"
    source.write_text(json.dumps(_run(outputs)), encoding="utf-8")
    (span,) = read_trace(source)[0].spans
    assert (span.input_tokens, span.output_tokens) == tokens
    assert [(m.role, m.content) for m in span.input_messages] == [("user", "hi")]


def test_secrets_stay_data_and_are_never_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A serialised secret names an environment variable; LangChain's loader would read it. The export
    keeps the reference as data and never holds the variable's value."""
    monkeypatch.setenv("BILLING_SESSION_TOKEN", "value-of-the-billing-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "value-of-the-api-key")
    export_many(read_trace(FIXTURE), tmp_path / "out")
    text = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "BILLING_SESSION_TOKEN" in text and "ANTHROPIC_API_KEY" in text
    assert "value-of-the" not in text


def test_a_message_list_with_an_object_langchain_could_not_serialise_stays_as_data(tmp_path: Path) -> None:
    """Not every item is a message (a `not_implemented` object in the list): the payload is kept whole,
    as plain input, rather than rendered with a message missing."""
    runs = _run({})
    runs[0]["inputs"]["messages"][0].append({"lc": 1, "type": "not_implemented", "id": ["x", "Obj"], "repr": "Obj()"})
    source = tmp_path / "runs.json"
    source.write_text(json.dumps(runs), encoding="utf-8")
    (span,) = read_trace(source)[0].spans
    assert span.input_messages == [] and '"repr": "Obj()"' in span.input_text


def _source_runs(doc: Any) -> list[dict[str, Any]]:
    """The runs of a sample, merged as the API merges a batch (counted here without the reader)."""
    if isinstance(doc, dict) and "post" in doc:
        runs = {r["id"]: dict(r) for r in doc["post"]}
        for patch in doc.get("patch", []):
            runs[patch["id"]].update(patch)
        return list(runs.values())
    return doc if isinstance(doc, list) else [doc]


def _expected_messages(run: dict[str, Any]) -> int:
    inputs, outputs = run.get("inputs") or {}, run.get("outputs") or {}
    count = 0
    if run["run_type"] == "llm":
        count += sum(len(batch) for batch in inputs.get("messages", [])) + len(inputs.get("prompts", []))
        count += sum(len(batch) for batch in outputs.get("generations", []))
    return count


def _lc_classes(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(value["id"][-1])} if value.get("lc") == 1 and value.get("type") == "constructor" else set()
        return found.union(*(_lc_classes(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_lc_classes(v) for v in value))
    return set()


@pytest.mark.parametrize("name", ["langsmith_batch.json", "langsmith_runs.jsonl"])
def test_real_tracer_samples_render_every_message_and_keep_every_string(name: str, tmp_path: Path) -> None:
    source = SAMPLES / name
    text = source.read_text(encoding="utf-8")
    docs = [json.loads(line) for line in text.splitlines()] if name.endswith(".jsonl") else [json.loads(text)]
    runs = [run for doc in docs for run in _source_runs(doc)]
    assert {"HumanMessage", "AIMessage", "SystemMessage", "ChatMessage"} <= _lc_classes(runs)
    traces = read_trace(source)
    summaries = export_many(traces, tmp_path / "out")
    assert sum(s.messages for s in summaries) == sum(_expected_messages(r) for r in runs) > 0
    assert sum(s.spans for s in summaries) == len(runs)
    calls = {c["id"] for r in runs for batch in (r.get("outputs") or {}).get("generations", []) for g in batch
             if "message" in g for c in g["message"]["kwargs"].get("tool_calls", [])}
    assert calls and {s.tool_call_id for t in traces for s in t.spans if s.kind == "tool"} == calls
    result = measure(source, tmp_path / "out")
    assert result.lost == [] and result.total > 50

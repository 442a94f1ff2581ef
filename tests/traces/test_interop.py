"""Every third-party sample exports, and its spans, messages and tool calls all reach the folder.

The expected numbers are counted here straight from the source JSON, format by format, without the
readers under test; the folder is then counted file by file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces import export_trace, read_trace

SAMPLES = {
    "anyagent_OPENAI_trace.json": "otlp",
    "anyagent_LLAMA_INDEX_trace.json": "otlp",
    "agentprism_langfuse-1.json": "langfuse",
    "openinference-genai_otel_genai_client_span_tool_calls.json": "otlp",
    "openinference-genai_openinference_client_span_tool_calls.json": "openinference",
    "otlp-proto_examples_trace.json": "otlp",
}


def _anyagent(doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    messages = calls = tools = 0
    ids = set()
    for span in doc["spans"]:
        ids.add(format(span["context"]["span_id"], "016x"))
        attrs = span["attributes"]
        op = attrs.get("gen_ai.operation.name")
        if "gen_ai.input.messages" in attrs:
            messages += len(json.loads(attrs["gen_ai.input.messages"]))
        if op == "execute_tool":
            tools += 1
        elif "gen_ai.output" in attrs:
            messages += 1
            try:
                out = json.loads(attrs["gen_ai.output"])
            except ValueError:
                out = None
            if isinstance(out, list):
                calls += sum(1 for x in out if isinstance(x, dict) and "tool.name" in x)
    return len(doc["spans"]), messages, calls, tools, ids


def _langfuse_messages(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return 0
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return len(value)
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return len(value["messages"]) + (1 if value.get("system") else 0)
    return 0


def _langfuse(doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    obs = doc["observations"]
    messages = sum(_langfuse_messages(o.get("input")) + _langfuse_messages(o.get("output")) for o in obs)
    tools = sum(1 for o in obs if o["type"] == "TOOL")
    return len(obs), messages, 0, tools, {o["id"] for o in obs}


def _openinference(doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    msgs = {m.group(1) for k in doc if (m := re.match(r"llm\.((?:input|output)_messages\.\d+)\.", k))}
    calls = {m.group(1) for k in doc if (m := re.match(r"(llm\.\w+\.\d+\.message\.tool_calls\.\d+)\.", k))}
    return 1, len(msgs), len(calls), 0, set()


def _genai_flat(doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    inputs = json.loads(doc["gen_ai.input.messages"])
    outputs = json.loads(doc["gen_ai.output.messages"])
    calls = sum(1 for m in inputs + outputs for p in m["parts"] if p["type"] == "tool_call")
    return 1, len(inputs) + len(outputs), calls, 0, set()


def _otlp(doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    spans = [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    return len(spans), 0, 0, 0, {s["spanId"].lower() for s in spans}


def _expected(name: str, doc: dict[str, Any]) -> tuple[int, int, int, int, set[str]]:
    if name.startswith("anyagent"):
        return _anyagent(doc)
    if name.startswith("agentprism_langfuse"):
        return _langfuse(doc)
    if "openinference_client" in name:
        return _openinference(doc)
    if "otel_genai_client" in name:
        return _genai_flat(doc)
    return _otlp(doc)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_exports_everything(name: str, interop_traces: Path, tmp_path: Path,
                                   count_folder: Callable[..., Any]) -> None:
    source = interop_traces / name
    if not source.is_file():
        pytest.skip(f"{name} not in the interop folder")
    spans, messages, calls, tools, ids = _expected(name, json.loads(source.read_text(encoding="utf-8")))
    traces = read_trace(source)
    assert len(traces) == 1
    assert traces[0].format == SAMPLES[name]
    summary = export_trace(traces[0], tmp_path / "out")
    found = count_folder(tmp_path / "out")
    assert (found.spans, found.index_rows, found.messages, found.tool_calls, found.tool_dirs) == (
        spans, spans, messages, calls, tools)
    assert (summary.spans, summary.messages, summary.tool_calls, summary.tool_spans) == (
        spans, messages, calls, tools)
    index = (tmp_path / "out" / "index.tsv").read_text(encoding="utf-8")
    assert ids <= {row.split("\t")[-1] for row in index.splitlines()[1:]}


def test_langfuse_sample_keeps_scores_and_shares_the_system_prompt(interop_traces: Path, tmp_path: Path) -> None:
    source = interop_traces / "agentprism_langfuse-1.json"
    if not source.is_file():
        pytest.skip("langfuse sample missing")
    export_trace(read_trace(source)[0], tmp_path / "out")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "score `helpfulness` = 0.2" in readme
    prompts = list((tmp_path / "out" / "prompts").iterdir())
    assert len(prompts) == 1
    text = prompts[0].read_text(encoding="utf-8")
    assert "You are a helpful Langfuse support agent" in text
    refs = [p for p in (tmp_path / "out").rglob("000-system.md")
            if f"prompts/{prompts[0].name}" in p.read_text(encoding="utf-8")]
    assert len(refs) == 2


def test_otlp_sample_orphan_is_placed_and_explained(interop_traces: Path, tmp_path: Path) -> None:
    source = interop_traces / "otlp-proto_examples_trace.json"
    if not source.is_file():
        pytest.skip("otlp sample missing")
    export_trace(read_trace(source)[0], tmp_path / "out")
    assert [p.name for p in (tmp_path / "out" / "_orphans").iterdir()] == ["001-other-i-m-a-server-span"]
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "has parent eee19b7ec3c1b173, which is not in this trace" in errors


def _phoenix_expected(spans: list[dict[str, Any]]) -> tuple[int, int, int, dict[str, list[str]]]:
    """Spans, messages, tool calls and each span's message roles in index order, counted from Phoenix's
    span export (flat OpenInference attributes whose keys sort as strings: `.10` before `.2`)."""
    messages = calls = 0
    roles: dict[str, list[str]] = {}
    for span in spans:
        attrs = span["attributes"]
        found: dict[tuple[str, int], str] = {}
        for key, value in attrs.items():
            if m := re.match(r"llm\.(input|output)_messages\.(\d+)\.message\.role$", key):
                found[(m.group(1), int(m.group(2)))] = value
        messages += len(found)
        calls += len({m.group(1) for k in attrs if (m := re.match(r"(llm\.\w+\.\d+\.message\.tool_calls\.\d+)\.", k))})
        roles[span["context"]["span_id"]] = [found[k] for k in sorted(found)]
    return len(spans), messages, calls, roles


def test_phoenix_span_exports_keep_every_message_and_call_in_order(tmp_path: Path,
                                                                    count_folder: Callable[..., Any]) -> None:
    """Phoenix's span JSON (its client's and REST API's export): every span, message and tool call of the
    file reaches the folders, and a span's messages keep their numeric order (`.2` before `.10`)."""
    folder = INTEROP / "phoenix"
    sources = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not sources:
        pytest.skip(f"Phoenix samples not present at {folder}")
    for source in sources:
        doc = json.loads(source.read_text(encoding="utf-8"))  # a list of spans, or named lists of them
        spans, messages, calls, roles = _phoenix_expected(
            [s for group in doc.values() for s in group] if isinstance(doc, dict) else doc)
        traces = read_trace(source)
        assert {t.format for t in traces} == {"openinference"}
        got = [0, 0, 0]
        for n, trace in enumerate(traces):
            export_trace(trace, tmp_path / source.stem / str(n))
            found = count_folder(tmp_path / source.stem / str(n))
            got = [got[0] + found.spans, got[1] + found.messages, got[2] + found.tool_calls]
            for span in trace.spans:
                if roles.get(span.span_id):
                    assert [m.role for m in span.input_messages + span.output_messages] == roles[span.span_id]
        assert got == [spans, messages, calls], source.name


def _atif_expected(doc: dict[str, Any]) -> tuple[int, int, int]:
    """Spans (one run per trajectory, one per step, one per observation result) and tool calls of an ATIF
    document, embedded subagent trajectories included, counted from the JSON."""
    spans, calls = 1, 0
    for step in doc.get("steps") or []:
        spans += 1
        if step.get("source") == "agent":
            calls += len(step.get("tool_calls") or [])
        observation = step.get("observation")
        if isinstance(observation, dict):
            spans += len(observation["results"]) if isinstance(observation.get("results"), list) else 1
    for sub in doc.get("subagent_trajectories") or []:
        sub_spans, sub_calls, _ = _atif_expected(sub)
        spans, calls = spans + sub_spans, calls + sub_calls
    return spans, calls, sum(1 for _ in doc.get("subagent_trajectories") or [])


def test_atif_trajectories_keep_every_step_result_and_call(tmp_path: Path, count_folder: Callable[..., Any]) -> None:
    """Harbor's and Phoenix's ATIF trajectories (read from the interop folder): every step, observation
    result and tool call reaches the folder, embedded subagents as runs of their own."""
    folder = INTEROP / "atif"
    sources = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not sources:
        pytest.skip(f"ATIF samples not present at {folder}")
    for source in sources:
        doc = json.loads(source.read_text(encoding="utf-8"))
        if "steps" not in doc:  # trajectories by name (Phoenix's parent and child): the child is a subagent
            doc = {**doc["parent"], "subagent_trajectories": [doc["child"]]}
        spans, calls, subagents = _atif_expected(doc)
        (trace,) = read_trace(source)
        export_trace(trace, tmp_path / source.stem)
        found = count_folder(tmp_path / source.stem)
        assert (found.spans, found.tool_calls) == (spans, calls), source.name
        assert sum(1 for s in trace.spans if s.kind == "agent") == 1 + subagents and not trace.orphans, source.name


def test_langfuse_framework_exports_keep_every_observation(tmp_path: Path, count_folder: Callable[..., Any]) -> None:
    """Langfuse's exports of twenty framework integrations (read from the interop folder): every
    observation is a span of the folder, with its id in index.tsv, each TOOL observation a tool span."""
    folder = INTEROP / "langfuse"
    sources = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not sources:
        pytest.skip(f"Langfuse samples not present at {folder}")
    for source in sources:
        spans, _messages, _calls, tools, ids = _langfuse(json.loads(source.read_text(encoding="utf-8")))
        (trace,) = read_trace(source)
        assert trace.format == "langfuse"
        export_trace(trace, tmp_path / source.stem)
        found = count_folder(tmp_path / source.stem)
        index = (tmp_path / source.stem / "index.tsv").read_text(encoding="utf-8")
        assert (found.spans, sum(1 for s in trace.spans if s.kind == "tool") >= tools) == (spans, True), source.name
        assert ids <= {row.split("\t")[-1] for row in index.splitlines()[1:]}, source.name

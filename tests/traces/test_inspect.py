"""Inspect AI eval logs: each sample a trace, its events the tree.

The fixture `fixtures/inspect_eval_log.json` is written here in the shape Inspect's JSON logs have (a
sample with spans, model calls, a tool span Inspect opened for each call, a failing call, attachments,
scores; an older sample with `step` events and a failed model call). The real logs are Inspect's own
test logs, `.json` and `.eval` (`$AGENTBOOK_INTEROP/inspect/`, provenance there), skipped when absent; their counts are taken
from the JSON here, without the reader.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.errors import FatalError
from agentbook.traces import read_trace
from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many

FIXTURE = Path(__file__).parent / "fixtures" / "inspect_eval_log.json"


def test_a_sample_is_a_trace_whose_spans_hold_its_calls_tools_and_scores(tmp_path: Path) -> None:
    first, second = read_trace(FIXTURE)
    assert (first.format, first.trace_id, second.trace_id) == ("inspect", "INC-142-epoch-1", "INC-143-epoch-1")
    assert [(s.kind, s.name) for s in first.spans] == [
        ("agent", "oncall_rca sample INC-142-epoch-1"), ("chain", "init"), ("chain", "solvers"), ("chain", "react"),
        ("llm", "anthropic/claude-sonnet-4-5"), ("tool", "loki_query"), ("llm", "anthropic/claude-sonnet-4-5"),
        ("tool", "loki_query"), ("llm", "anthropic/claude-sonnet-4-5"), ("chain", "scorers"),
        ("chain", "model_graded_fact")]
    root, by_name = first.spans[0], {s.span_id: s for s in first.spans}
    llm, failed, tool = first.spans[4], first.spans[5], first.spans[7]
    # the attachment is put back; reasoning and the call are read; usage is the output's
    assert llm.input_messages[0].content.startswith("You are the on-call assistant")
    (reply,) = llm.output_messages
    assert (reply.reasoning, [c.name for c in reply.tool_calls], reply.finish_reason) == (
        "Logs first, then deploys.", ["loki_query"], "tool_calls")
    assert (llm.input_tokens, llm.output_tokens) == (812, 40)
    # the span Inspect opened for the call is the tool span, with its sandbox event; the error fails it
    assert (failed.status, failed.status_message, failed.tool_call_id) == (
        "error", "limit must be at most 100", "call_loki_01")
    assert [e["name"] for e in failed.events] == ["sandbox"] and by_name[failed.parent_id or ""].name == "react"
    assert json.loads(tool.tool_args or "") == {"query": '{app="checkout"} |= "timeout"', "limit": 50}
    assert (tool.tool_result or "").startswith("37 lines")
    # scores: the sample's on the root, the score event's on its scorer span
    assert root.scores[0]["name"] == "model_graded_fact" and first.spans[10].scores[0]["value"] == "C"
    # the one message no model call shows is the root's; the attachment nothing refers to is kept
    assert [m.content for m in root.input_messages] == ["Thanks, paging the owner of checkout-db."]
    assert root.attributes["attachments"] == {"fedcba9876543210fedcba9876543210": "an attachment nothing refers to"}
    assert first.metadata["plan"]["steps"][0]["solver"] == "react" and "plan" not in second.metadata
    assert second.metadata["eval"]["task"] == "oncall_rca"


def test_an_older_sample_with_step_events_and_a_failed_call(tmp_path: Path) -> None:
    _, second = read_trace(FIXTURE)
    root, step, llm = second.spans
    assert (step.kind, step.name, step.parent_id, llm.parent_id) == ("chain", "generate", root.span_id, step.span_id)
    assert (llm.status, llm.status_message) == ("error", "RateLimitError: 429 Too Many Requests")
    assert root.status == "error" and step.status == "error"  # the sample's error, the error event's span
    export_many(read_trace(FIXTURE), tmp_path / "out")
    assert measure(FIXTURE, tmp_path / "out").lost == []


def _log(source: Path) -> dict[str, Any]:
    """A log's JSON; an `.eval` archive's header with its samples, read here with zipfile."""
    if source.suffix != ".eval":
        return dict(json.loads(source.read_text(encoding="utf-8")))
    with zipfile.ZipFile(source) as archive:
        doc = json.loads(archive.read("header.json"))
        doc["samples"] = [json.loads(archive.read(n)) for n in archive.namelist() if n.startswith("samples/")]
    return dict(doc)


def _archive(tmp_path: Path, log: dict[str, Any], extra: dict[str, bytes] | None = None) -> Path:
    """`log` written as Inspect writes an `.eval` file: header.json, one file per sample, copies beside."""
    path = tmp_path / "log.eval"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_journal/start.json", json.dumps({"version": 2, "eval": log["eval"]}))
        for sample in log["samples"]:
            archive.writestr(f"samples/{sample['id']}_epoch_{sample['epoch']}.json", json.dumps(sample))
        archive.writestr("summaries.json", json.dumps([{"id": s["id"], "epoch": s["epoch"]} for s in log["samples"]]))
        archive.writestr("reductions.json", json.dumps([{"scorer": "model_graded_fact", "samples": []}]))
        archive.writestr("header.json", json.dumps({k: v for k, v in log.items() if k != "samples"}))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def test_an_eval_archive_with_pooled_messages_reads_as_its_json_log(tmp_path: Path) -> None:
    """The `.eval` archive of the fixture's log, its model calls' inputs moved to the sample's
    `message_pool` and named by range (`input_refs`, as newer Inspect writes them): the same spans and
    messages as the JSON log, and every string of the archive's header and samples reaches the export."""
    log = json.loads(FIXTURE.read_text(encoding="utf-8"))
    sample = log["samples"][0]
    pool: list[dict[str, Any]] = []
    for event in sample["events"]:
        if event["event"] == "model":
            pool += event["input"][len(pool):]  # each call's input extends the previous one's
            event["input_refs"], event["input"] = [[0, len(event["input"])]], []
    sample["message_pool"] = pool
    expected = [[(s.kind, s.name, [m.content for m in s.input_messages + s.output_messages]) for s in t.spans]
                for t in read_trace(FIXTURE)]
    traces = read_trace(_archive(tmp_path, log))
    assert [[(s.kind, s.name, [m.content for m in s.input_messages + s.output_messages]) for s in t.spans]
            for t in traces] == expected
    assert traces[0].metadata["reductions"] == [{"scorer": "model_graded_fact", "samples": []}]
    export_many(traces, tmp_path / "out")
    assert measure(tmp_path / "log.eval", tmp_path / "out").lost == []


def test_a_zip_that_is_no_inspect_log_or_holds_no_json_is_refused(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip without header.json, a member that is not JSON, and one whose JSON values are past the bound
    every trace file has (`AGENTBOOK_TRACE_MAX_VALUES`) fail with a message naming the file, no traceback."""
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FatalError, match="without header.json"):
        read_trace(other)
    log = json.loads(FIXTURE.read_text(encoding="utf-8"))
    broken = _archive(tmp_path, log, {"samples/9_epoch_1.json": b"{not json"})
    with pytest.raises(FatalError, match="samples/9_epoch_1.json in the archive is not JSON"):
        read_trace(broken)
    (tmp_path / "log.eval").unlink()
    heavy = _archive(tmp_path, log)
    monkeypatch.setenv("AGENTBOOK_TRACE_MAX_VALUES", "500")
    with pytest.raises(FatalError, match="more than 500 JSON values"):
        read_trace(heavy)


def _expected(doc: dict[str, Any]) -> tuple[int, int, int, int]:
    """Traces, llm spans, tool spans and messages of an Inspect log, counted from its JSON."""
    samples = [s for s in doc.get("samples") or [] if isinstance(s, dict)]
    llm = tools = messages = 0

    def walk(events: list[dict[str, Any]], shown: set[str]) -> None:
        nonlocal llm, tools, messages
        for e in events:
            if e.get("event") == "model":
                llm += 1
                choices = (e.get("output") or {}).get("choices") or []
                pooled = [m for a, b in e.get("input_refs") or [] for m in pool[a:b]]
                messages += len(e.get("input") or []) + len(pooled) + len(choices)
                shown.update(m.get("id") for m in (e.get("input") or []) + pooled)
                shown.update(c["message"].get("id") for c in choices)
            elif e.get("event") == "tool":
                tools += 1
                walk(e.get("events") or [], shown)

    for sample in samples:
        shown: set[str] = set()
        pool = sample.get("message_pool") or []
        walk(sample.get("events") or (sample.get("transcript") or {}).get("events") or [], shown)
        messages += sum(1 for m in sample.get("messages") or [] if not m.get("id") or m["id"] not in shown)
    return max(len(samples), 1), llm, tools, messages


def test_inspect_logs_keep_every_sample_call_tool_and_message(tmp_path: Path,
                                                            count_folder: Callable[..., Any]) -> None:
    """Inspect's own logs (a browsing agent with tools, model-graded evals, older transcripts, a log with
    no samples): a trace per sample, an llm span per model event, a tool span per tool event, every message
    of the calls and of the conversation, and every string of the file, reach the folders."""
    folder = INTEROP / "inspect"
    sources = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".eval")) if folder.is_dir() else []
    if not sources:
        pytest.skip(f"Inspect logs not present at {folder}")
    for source in sources:
        traces, llm, tools, messages = _expected(_log(source))
        read = read_trace(source)
        assert {t.format for t in read} == {"inspect"} and len(read) == traces, source.name
        export_many(read, tmp_path / source.stem)
        spans = [s for t in read for s in t.spans]
        assert (sum(s.kind == "llm" for s in spans), sum(s.kind == "tool" for s in spans)) == (llm, tools), source.name
        assert sum(s.message_count for s in spans) == messages, source.name
        assert all(not t.orphans for t in read), source.name
        assert measure(source, tmp_path / source.stem).lost == [], source.name


def test_an_event_id_that_spells_a_made_up_span_id_keeps_both_spans(tmp_path: Path) -> None:
    """A `span_begin` id "2" read as span `sample-…-2`, the id this reader gave the 2nd span it made: the
    two shared an id and the model calls inside became orphans. Each span now has an id of its own."""
    def call(span: str) -> dict[str, Any]:
        return {"event": "model", "span_id": span, "model": "m", "input": [], "output": {}}
    events = [{"event": "span_begin", "id": "2", "name": "a"}, call("2"),
              {"event": "span_begin", "id": "4", "parent_id": "2", "name": "b"}, call("4"), call("2")]
    log = {"version": 2, "status": "success", "eval": {"task": "t"}, "plan": {},
           "samples": [{"id": "s", "epoch": 1, "messages": [], "events": events}]}
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log), encoding="utf-8")
    [trace] = read_trace(path)
    ids = [s.span_id for s in trace.spans]
    assert len(ids) == len(set(ids)) == 6 and not trace.orphans, ids

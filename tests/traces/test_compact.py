"""The compact layout (large traces): one file pair per agent subtree, every span findable by
`file:line`, nothing lost, the same tree as the folder layout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.traces.test_conservation import missing

from agentbook.traces import export_trace, read_trace
from agentbook.traces.layout import CHUNK_SPANS, COMPACT_MIN

HEADER = re.compile(r"^## (\d+) (\w+) ")


def _otlp(tmp_path: Path, agents: int, per_agent: int) -> Path:
    """A root agent with `agents` sub-agents, each running `per_agent` chat/tool spans; one tool fails."""
    def attr(key: str, value: Any) -> dict[str, Any]:
        return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}
    spans: list[dict[str, Any]] = [{"traceId": "d" * 32, "spanId": f"{1:016x}", "name": "root",
                                    "startTimeUnixNano": "1700000000000000000",
                                    "attributes": [attr("gen_ai.operation.name", "invoke_agent")]}]
    n = 1
    for a in range(agents):
        n += 1
        agent = f"{n:016x}"
        spans.append({"traceId": "d" * 32, "spanId": agent, "parentSpanId": f"{1:016x}", "name": f"worker {a}",
                      "startTimeUnixNano": str(1700000000000000000 + n),
                      "attributes": [attr("gen_ai.operation.name", "invoke_agent")]})
        for k in range(per_agent):
            n += 1
            span: dict[str, Any] = {"traceId": "d" * 32, "spanId": f"{n:016x}", "parentSpanId": agent,
                                    "startTimeUnixNano": str(1700000000000000000 + n)}
            if k % 2:
                span["name"] = f"tool {n}"
                span["attributes"] = [attr("gen_ai.operation.name", "execute_tool"),
                                      attr("gen_ai.tool.name", "search"),
                                      attr("gen_ai.tool.call.arguments", json.dumps({"q": f"query number {n}"})),
                                      attr("gen_ai.tool.call.result", f"result text of tool span {n}")]
                if a == 1 and k == 3:
                    span["status"] = {"code": 2, "message": "permission denied writing /etc/app.conf"}
            else:
                span["name"] = f"chat {n}"
                span["attributes"] = [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "m1"),
                                      attr("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [
                                          {"type": "text", "content": f"question number {n} about the outage"}]}])),
                                      attr("gen_ai.usage.input_tokens", 100 + n)]
            spans.append(span)
    source = tmp_path / "big.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}), encoding="utf-8")
    return source


def _line(out: Path, ref: str) -> str:
    file, _, line = ref.rpartition(":")
    return (out / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]


def test_every_span_is_at_its_file_and_line(tmp_path: Path) -> None:
    source = _otlp(tmp_path, agents=3, per_agent=CHUNK_SPANS + 10)
    trace = read_trace(source)[0]
    summary = export_trace(trace, tmp_path / "out", "compact")
    out = tmp_path / "out"
    rows = [r.split("\t") for r in (out / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    assert len(rows) == summary.spans == 1 + 3 * (CHUNK_SPANS + 11)
    for number, row in enumerate(rows, 1):
        match = HEADER.match(_line(out, row[0]))
        assert match and (int(match.group(1)), match.group(2)) == (number, row[1]), row
    # one folder per agent, nested under the root's; each sub-agent's 211 spans in two file pairs
    spans_files = sorted(str(p.relative_to(out)) for p in out.rglob("spans-*"))
    assert len(spans_files) == 2 + 3 * 4
    assert all(f.startswith("001-agent-root/") for f in spans_files)
    assert summary.files == len([p for p in out.rglob("*") if p.is_file()])
    jsonl = [json.loads(line) for p in out.rglob("spans-*.jsonl") for line in p.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["number"] for r in jsonl) == list(range(1, summary.spans + 1))


def test_the_failure_is_three_reads_away(tmp_path: Path) -> None:
    """README -> errors.md -> the file at the line: the failed span's status, arguments and result."""
    export_trace(read_trace(_otlp(tmp_path, agents=3, per_agent=20))[0], tmp_path / "out", "compact")
    out = tmp_path / "out"
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "1. `errors.md`: every failed span and tool error with its `file:line`" in readme
    errors = (out / "errors.md").read_text(encoding="utf-8")
    ref = re.search(r"^- `([^`]+:\d+)` tool", errors, re.MULTILINE)
    assert ref is not None
    file, _, line = ref.group(1).rpartition(":")
    lines = (out / file).read_text(encoding="utf-8").splitlines()[int(line) - 1:]
    section = "\n".join(lines[:next(i for i, t in enumerate(lines[1:], 1) if t.startswith("## "))])
    assert "[error]" in section.splitlines()[0]
    assert "permission denied writing /etc/app.conf" in section
    assert '"q": "query number 27"' in section and "result text of tool span 27" in section


def test_compact_export_loses_nothing_and_has_the_folder_layouts_tree(tmp_path: Path) -> None:
    source = _otlp(tmp_path, agents=2, per_agent=15)
    export_trace(read_trace(source)[0], tmp_path / "compact", "compact")
    export_trace(read_trace(source)[0], tmp_path / "folders", "folders")
    assert missing(source, tmp_path / "compact") == []
    tree = [(tmp_path / d / "tree.txt").read_text(encoding="utf-8").splitlines()[1:] for d in ("compact", "folders")]
    assert tree[0] == tree[1]
    manifest = json.loads((tmp_path / "compact" / "trace.json").read_text(encoding="utf-8"))
    assert manifest["layout"] == "compact"


def test_auto_switches_above_the_threshold(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    small = _otlp(tmp_path, agents=1, per_agent=8)
    assert run_cli("trace", "export", small, tmp_path / "small").code == 0
    assert (tmp_path / "small" / "001-agent-root" / "span.yaml").is_file()
    big = _otlp(tmp_path, agents=2, per_agent=COMPACT_MIN // 2)
    result = run_cli("trace", "export", big, tmp_path / "big", "--json")
    assert result.code == 0, result.err
    files = json.loads(result.out)["traces"][0]["files"]
    assert files < 40
    assert json.loads((tmp_path / "big" / "trace.json").read_text(encoding="utf-8"))["layout"] == "compact"
    again = run_cli("trace", "export", big, tmp_path / "big2", "--layout", "compact")
    assert again.code == 0
    assert (tmp_path / "big" / "errors.md").read_bytes() == (tmp_path / "big2" / "errors.md").read_bytes()


def test_errors_md_summarises_thousands_of_model_spans_without_output(tmp_path: Path) -> None:
    """2,500 chat spans that recorded input but no output made errors.md 136 KB of one line each: it
    now says so in one line per kind, still lists every real error in full, and findings.tsv has all."""
    source = _otlp(tmp_path, agents=2, per_agent=1250)
    export_trace(read_trace(source)[0], tmp_path / "out")
    out = tmp_path / "out"
    errors = (out / "errors.md").read_text(encoding="utf-8")
    assert len(errors.encode()) < 4_000, errors[:4_000]
    failed = re.search(r"^- `([^`]+:\d+)` tool `tool \d+`: permission denied writing /etc/app.conf$", errors, re.MULTILINE)
    assert failed is not None and "[error]" in _line(out, failed.group(1))
    line = re.search(r"^- 1250 llm spans: input recorded but no output\b.*$", errors, re.MULTILINE)
    assert line is not None and "`m1`" in line.group(0) and "findings.tsv" in line.group(0)
    rows = [r.split("\t") for r in (out / "findings.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0][:3] == ["section", "where", "kind"]
    empty = [r for r in rows[1:] if r[0] == "empty_output"]
    assert len(empty) == 1250 and all(HEADER.match(_line(out, r[1])) for r in empty[:50])
    assert [r[0] for r in rows[1:]].count("tool_error") == 1

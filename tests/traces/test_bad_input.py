"""Bad input: a clear message and exit 3, or a folder that says what it could not place. Never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.traces import export_trace, read_trace


def _span(span_id: str, parent: str | None = None, name: str = "step", **extra: Any) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": "ab" * 16, "spanId": span_id, "name": name,
                            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}
    if parent:
        span["parentSpanId"] = parent
    span.update(extra)
    return span


def _otlp(*spans: dict[str, Any]) -> str:
    return json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]})


def _write(tmp_path: Path, text: str | bytes, name: str = "trace.json") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


TRUNCATED = _otlp(_span("a" * 16))[:-7]
FATAL = [
    ("truncated", TRUNCATED, (f"{{path}}:1:{len(TRUNCATED) + 1}: not valid JSON or JSON Lines: Expecting ',' "
     "delimiter (the file may be truncated)")),
    ("unknown", json.dumps({"hello": "world", "rows": [1, 2]}),
     ("{path}: unknown trace format (a JSON object with keys: hello, rows) (expected one of: agentbook: agentbook "
     "transcript (JSON Lines with `event` and `session` on each line); claude-code: ")),
    ("scalar", "42", "{path}: unknown trace format (a JSON int) (expected one of: agentbook: "),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
     "{path}: not a text trace file (byte 0 is not UTF-8) (trace files are JSON or JSON Lines)"),
    ("empty", " \n", "{path}: the file is empty (trace files are JSON or JSON Lines)"),
    ("no-spans", json.dumps({"resourceSpans": []}),
     "{path}: no spans found (the file parsed but held no spans, observations or steps)"),
]


@pytest.mark.parametrize(("case", "content", "message"), FATAL, ids=[c[0] for c in FATAL])
def test_unreadable_files_fail_with_a_clear_message(case: str, content: str | bytes, message: str, tmp_path: Path,
                                                    run_cli: Callable[..., Any]) -> None:
    path = _write(tmp_path, content)
    result = run_cli("trace", "export", path, tmp_path / "out")
    assert (result.code, result.out) == (3, "")
    expected = "agentbook: error: " + message.format(path=path)
    if case in ("unknown", "scalar"):  # the refusal names every reader and what it expects: check them all
        assert result.err.startswith(expected)
        for name in ("claude-code", "codex", "langsmith", "langfuse", "atif", "openinference", "otlp"):
            assert f"; {name}: " in result.err
        assert result.err.endswith(", or one span's attribute map)\n")
    else:
        assert result.err == expected + "\n"
    assert not (tmp_path / "out").exists()


def test_missing_file_and_wrong_format(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    result = run_cli("trace", "summary", tmp_path / "nope.json")
    assert (result.code, result.err.strip()) == (3, f"agentbook: error: {tmp_path / 'nope.json'}: no such trace file")
    path = _write(tmp_path, _otlp(_span("a" * 16)))
    result = run_cli("trace", "summary", path, "--format", "langfuse")
    assert result.code == 3
    assert result.err.strip() == (f"agentbook: error: {path}: this is not langfuse (it looks like otlp) "
                                  "(leave --format at auto, or pass the format the file is in)")


PLACEMENT = [
    ("orphan", [_span("a" * 16), _span("b" * 16, parent="c" * 16, name="lost")],
     ["span bbbbbbbbbbbbbbbb ('lost') has parent cccccccccccccccc, which is not in this trace: placed under _orphans/"]),
    ("self-parent", [_span("a" * 16), _span("b" * 16, parent="b" * 16, name="loop")],
     ["span bbbbbbbbbbbbbbbb ('loop') is its own parent: placed under _orphans/"]),
    ("cycle", [_span("a" * 16), _span("b" * 16, parent="c" * 16, name="x"), _span("c" * 16, parent="b" * 16, name="y")],
     [("parent cycle (bbbbbbbbbbbbbbbb -> cccccccccccccccc): span bbbbbbbbbbbbbbbb ('x') placed under _orphans/ "
      "to cut it")]),
    ("duplicate", [_span("a" * 16, name="first"), _span("a" * 16, name="second")],
     [("duplicate span id aaaaaaaaaaaaaaaa: the second copy ('second') is kept as aaaaaaaaaaaaaaaa~dup1 under "
      "_orphans/")]),
]


@pytest.mark.parametrize(("case", "spans", "problems"), PLACEMENT, ids=[c[0] for c in PLACEMENT])
def test_unplaceable_spans_go_to_orphans_and_are_explained(case: str, spans: list[dict[str, Any]],
                                                           problems: list[str], tmp_path: Path,
                                                           count_folder: Callable[..., Any]) -> None:
    trace = read_trace(_write(tmp_path, _otlp(*spans)))[0]
    assert trace.problems == problems
    summary = export_trace(trace, tmp_path / "out")
    assert summary.spans == len(spans) == count_folder(tmp_path / "out").spans  # nothing dropped
    assert summary.orphans == 1
    assert (tmp_path / "out" / "_orphans").is_dir()
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    assert "## Could not place" in errors and problems[0] in errors


def test_binary_and_huge_attributes_are_bounded_and_lossless(tmp_path: Path) -> None:
    huge = "x" * 50_000 + "END"
    span = _span("a" * 16, name="big", attributes=[
        {"key": "blob", "value": {"bytesValue": "AAECAwQFBgcICQ=="}},
        {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
        {"key": "gen_ai.tool.call.result", "value": {"stringValue": huge}},
        {"key": "payload", "value": {"stringValue": "y" * 5000}}])
    stack = "Traceback (most recent call last):\n" + "  File \"x.py\", line 1, in f\n" * 100
    span["events"] = [{"name": "exception", "timeUnixNano": "1700000000500000000",
                       "attributes": [{"key": "exception.stacktrace", "value": {"stringValue": stack}}]}]
    export_trace(read_trace(_write(tmp_path, _otlp(span)))[0], tmp_path / "out")
    folder = tmp_path / "out" / "001-tool-big"
    span_yaml = (folder / "span.yaml").read_text(encoding="utf-8")
    assert 'blob: "[binary: 10 bytes, base64] AAECAwQFBgcICQ=="' in span_yaml
    assert "[truncated: 4600 bytes, rest in span.json]" in span_yaml
    full = json.loads((folder / "span.json").read_text(encoding="utf-8"))
    assert full["attributes"]["payload"] == "y" * 5000
    assert full["events"][0]["attributes"]["exception.stacktrace"] == stack
    head = (folder / "tool" / "result.txt").read_text(encoding="utf-8")
    rest = (folder / "tool" / "result.rest.txt").read_text(encoding="utf-8")
    assert head.endswith("[truncated: 30004 bytes, rest in result.rest.txt]\n")
    assert head.split("\n\n[truncated")[0] + rest == huge + "\n"


def test_torn_last_line_of_json_lines_is_reported_not_fatal(tmp_path: Path) -> None:
    lines = _otlp(_span("a" * 16)) + "\n" + _otlp(_span("b" * 16, parent="a" * 16)) + "\n" + '{"resourceSpans": [{"re'
    trace = read_trace(_write(tmp_path, lines, "trace.jsonl"))[0]
    assert len(trace.spans) == 2
    assert trace.problems == [("line 3 is not complete JSON (Unterminated string starting at): skipped, "
                              "the file may be truncated")]


def test_control_characters_never_reach_the_files(tmp_path: Path) -> None:
    span = _span("a" * 16, name="evil\x1b[31mred\x07", attributes=[
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
            [{"role": "user\r\n../../x", "parts": [{"type": "text", "content": "hi\x00there\x1b[2J"}]}])}}])
    export_trace(read_trace(_write(tmp_path, _otlp(span)))[0], tmp_path / "out")
    for path in (tmp_path / "out").rglob("*"):
        assert path.name.isprintable()
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not any(ord(c) < 32 and c not in "\n\t" for c in text), path
    message = next((tmp_path / "out").rglob("messages/000-*.md"))
    assert message.name == "000-user-x.md"
    assert "hithere[2J" in message.read_text(encoding="utf-8")


def test_index_and_json_files_are_never_cut(tmp_path: Path) -> None:
    doc = {"id": "t1", "name": "big", "timestamp": "2025-01-01T00:00:00Z", "input": "q" * 60_000,
           "observations": [{"id": "o1", "type": "SPAN", "name": "step", "startTime": "2025-01-01T00:00:00Z"}]}
    export_trace(read_trace(_write(tmp_path, json.dumps(doc)))[0], tmp_path / "out")
    assert json.loads((tmp_path / "out" / "trace.json").read_text(encoding="utf-8"))["metadata"]["input"] == "q" * 60_000
    assert not list((tmp_path / "out").glob("*.rest.*"))


def test_refusal_of_an_unknown_file_is_bounded_and_inert(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """The keys a refusal quotes are the file's: control characters go, each is cut, the message stays short."""
    source = tmp_path / "odd.json"
    source.write_text(json.dumps({"\x1b]0;pwned\x07" + "k" * 100_000: 1, "second": 2}), encoding="utf-8")
    result = run_cli("trace", "export", source, tmp_path / "out")
    assert result.code == 3
    assert "unknown trace format" in result.err and "second" in result.err
    assert "\x1b" not in result.err and "pwned" in result.err and len(result.err) < 3000

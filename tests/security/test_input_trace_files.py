"""Attacks through a trace file, which anyone may have written (a system's output, a ticket's attachment, a
backtest's runs). A trace nested deeper than Python's stack (200,000 brackets, or 5,000 inside a span's
attribute text, which the exporter decodes as JSON) crashed `trace export` with a RecursionError (exit 70,
a traceback), and `backtest import` with it. Span names that are paths, device names, NUL bytes, bidi
overrides or 5,000 characters long stay short, safe names inside the export (this held)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def _span(n: int, name: str, attributes: dict[str, str] | None = None) -> dict[str, object]:
    return {"traceId": TRACE_ID, "spanId": f"{n:016x}", "name": name, "startTimeUnixNano": "1",
            "endTimeUnixNano": "2",
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in (attributes or {}).items()]}


def _otlp(spans: list[dict[str, object]], extra: str = "") -> str:
    doc = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    return doc[:-1] + extra + "}" if extra else doc


@pytest.mark.parametrize("where", ["document", "attribute"])
def test_a_trace_nested_past_pythons_stack_is_an_error_not_a_crash(run_cli: Cli, tmp_path: Path, where: str) -> None:
    trace = tmp_path / "deep.json"
    if where == "document":
        trace.write_text(_otlp([_span(1, "x")], ', "x": ' + "[" * 200_000 + "]" * 200_000))
    else:  # an attribute's text the exporter reads as JSON
        deep = "[" * 5000 + "]" * 5000
        trace.write_text(_otlp([_span(1, "x", {"input.value": deep, "gen_ai.prompt": deep})]))
    result = run_cli("trace", "export", trace, tmp_path / "out")
    assert "Traceback" not in result.err and result.code != 70, result.err[-1500:]
    if where == "document":
        assert result.code == 3 and "nested too deep to read" in result.err
    else:  # the text stays text
        assert result.code == 0 and (tmp_path / "out" / "README.md").is_file()


def test_span_names_stay_names_inside_the_export(run_cli: Cli, tmp_path: Path) -> None:
    names = ["../../../../etc/passwd", "/etc/shadow", "a\x00b", "CON", "..", ".", "x" * 5000, "\u202egpj.exe",
             f"{tmp_path}/outside/owned"]
    trace = tmp_path / "names.json"
    trace.write_text(_otlp([_span(n + 1, name) for n, name in enumerate(names)]))
    out = tmp_path / "out"
    result = run_cli("trace", "export", trace, out)
    assert result.code == 0, result.err
    assert not (tmp_path / "outside").exists()
    written = [p.relative_to(out) for p in out.rglob("*") if p.name != ".agentbook-trace"]  # the export's marker
    assert all(len(part) <= 64 and not part.startswith(".") and part.isascii() for p in written for part in p.parts)
    assert len([p for p in written if len(p.parts) == 1 and (out / p).is_dir()]) == len(names)


def _run_bounded(args: list[str], memory: int) -> subprocess.CompletedProcess[str]:
    """`agentbook ARGS` with its address space capped at `memory` bytes: the runner a host can afford."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "agentbook", *args], capture_output=True, text=True, check=False,
                          timeout=600, preexec_fn=cap)


@pytest.mark.parametrize("shape", ["document", "line", "streamed-attribute"])
def test_a_trace_that_parses_to_many_times_its_size_is_refused(tmp_path: Path, shape: str) -> None:
    """A trace is parsed in the runner's process, outside any jail: `[[],[],...]` costs Python ~25 times
    its size (64 MiB took 1.7 GB, so a 1 GiB file ~26 GB, the host's memory). The runner now counts what
    could start a value before it parses (a document, JSON Lines) and refuses past
    `AGENTBOOK_TRACE_MAX_VALUES`; under 1.5 GiB of address space this 64 MiB trace crashed `trace summary`
    (MemoryError, exit 70) and is refused now (exit 3). The same text as an attribute of a large OTLP file
    (read span by span) held: it is not parsed as JSON."""
    bomb = "[" + "[]," * ((64 << 20) // 3) + "[]]"
    trace = tmp_path / "bomb.json"
    if shape == "document":
        trace.write_text(bomb)
    elif shape == "line":
        trace.write_text(json.dumps({"event": "session_start", "session": "s"}) + "\n" + bomb + "\n")
    else:  # one large OTLP document (read span by span) whose attribute text the reader decodes as JSON
        trace.write_text(_otlp([_span(1, "x", {"input.value": bomb})]))
    result = _run_bounded(["trace", "summary", str(trace)], 3 << 29)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-1500:]
    if shape == "streamed-attribute":  # held before: its text stays text
        assert result.returncode == 0, result.stderr[-1500:]
    else:
        assert result.returncode == 3 and "more than 20,000,000 JSON values" in result.stderr, result.stderr[-800:]


def test_a_line_past_its_cap_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON Lines trace's line was read whole, however long: one line of 1 GiB held 2 GiB before parsing."""
    from agentbook.errors import FatalError
    from agentbook.traces import load

    monkeypatch.setattr(load, "MAX_LINE_BYTES", 1000)
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"a": 1}\n' + '"' + "x" * 5000 + '"\n')
    with pytest.raises(FatalError, match="a line longer than"):
        load._lines_from_file(trace)

"""Attacks through a trace file, which anyone may have written (a system's output, a ticket's attachment, a
backtest's runs). A trace nested deeper than Python's stack (200,000 brackets, or 5,000 inside a span's
attribute text, which the exporter decodes as JSON) crashed `trace export` with a RecursionError (exit 70,
a traceback), and `backtest import` with it. Span names that are paths, device names, NUL bytes, bidi
overrides or 5,000 characters long stay short, safe names inside the export (this held)."""

from __future__ import annotations

import json
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

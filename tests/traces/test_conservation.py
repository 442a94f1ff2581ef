"""Conservation: no content is dropped silently. Every string of 20+ characters, every shorter one that is
not one of the format's own words (a tool argument, a name, a short answer), and every number of two or
more digits in an input file is findable in its export (whatever the reader understood is rendered;
whatever it did not is kept verbatim), for every fixture, every third-party sample in `fixtures/wild/`
and `data/<source>/`, and the interop samples (`$AGENTBOOK_INTEROP/<tool>/*`, one folder per source).
How strings are counted and found: `agentbook.traces.conservation`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace

HERE = Path(__file__).parent
SUFFIXES = (".json", ".jsonl", ".ndjson", ".eval")


def _sources() -> list[Path]:
    mine = sorted(p for d in (HERE / "fixtures", HERE / "fixtures" / "wild") if d.is_dir()
                  for p in d.iterdir() if p.suffix in SUFFIXES)
    mine += sorted(p for p in (HERE / "data").rglob("*") if p.suffix in SUFFIXES)
    interop = sorted(p for p in INTEROP.glob("*/*") if p.suffix in SUFFIXES) if INTEROP.is_dir() else []
    return mine + interop


def missing(source: Path, out: Path) -> list[str]:
    return measure(source, out).lost


@pytest.mark.parametrize("source", _sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_input_string_reaches_the_export(source: Path, tmp_path: Path) -> None:
    export_many(read_trace(source), tmp_path / "out")
    lost = missing(source, tmp_path / "out")
    assert not lost, f"{len(lost)} string(s) of {source.name} are nowhere in the export, e.g. {lost[:3]}"


def _lost_after_editing(source: Path, out: Path, edits: dict[str, str]) -> list[str]:
    """What the check reports once every file of the export has had `edits` made to it."""
    export_many(read_trace(source), out)
    assert missing(source, out) == []
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for old, new in edits.items():
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")
    return missing(source, out)


def test_the_check_catches_a_dropped_string(tmp_path: Path) -> None:
    """The conservation check itself fails when an export lacks a string of its input."""
    source = HERE / "fixtures" / "wild" / "codex_rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"
    lost = _lost_after_editing(source, tmp_path / "out", {"find . -maxdepth 1": "(gone)"})
    assert lost == ["find . -maxdepth 1 -type f"]


def test_the_check_catches_a_dropped_number(tmp_path: Path) -> None:
    """Numbers count too: a duration the export no longer holds is reported."""
    source = HERE / "data" / "claude-agent-sdk-gleam" / "basic_query.ndjson"
    in_json, in_yaml = '"duration_api_ms": 2325', '\\"duration_api_ms\\": 2325'
    edits = {in_json: in_json.replace("2325", "0"), in_yaml: in_yaml.replace("2325", "0")}
    assert _lost_after_editing(source, tmp_path / "out", edits) == ["2325"]


def test_the_check_catches_a_dropped_short_argument(tmp_path: Path) -> None:
    """A short value counts too: a tool argument ("errror", 6 characters) the export no longer holds is
    reported, while a format's own words (a role, a part type) are not asked for."""
    source = HERE / "fixtures" / "pydantic_ai_messages.json"
    lost = _lost_after_editing(source, tmp_path / "out", {"errror": "gone"})
    assert lost == ["errror"]


def test_a_torn_last_line_is_measured_as_the_reader_reads_it(tmp_path: Path) -> None:
    """A JSON Lines file whose writer was killed mid-line: the reader skips the torn line (and says so),
    and the check counts the lines before it instead of failing on it."""
    source = tmp_path / "torn.jsonl"
    lines = (HERE / "fixtures" / "agentbook_transcript.jsonl").read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join(lines) + '\n{"event": "note", "sess', encoding="utf-8")
    export_many(read_trace(source), tmp_path / "out")
    result = measure(source, tmp_path / "out")
    assert result.lost == [] and result.total > 20


def test_json_text_escaped_as_dotnet_writes_it_is_found_where_kept_verbatim(tmp_path: Path) -> None:
    """A C# agent's tool schema, JSON text inside an attribute, escapes quotes and backquotes as .NET's
    System.Text.Json does (\\u0022, \\u0060); the export keeps that text verbatim, and the check finds
    the description in it rather than reporting it lost."""
    schema = ('{"description": "Dates are inclusive.\\r\\nSay \\u0022last 7 days\\u0022 for a week; '
              'put notes in the \\u0060comment\\u0060 field."}')
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat",
            "startTimeUnixNano": "1732000000000000000", "endTimeUnixNano": "1732000001000000000",
            "attributes": [{"key": "app.tool_schema", "value": {"stringValue": schema}}]}
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}), encoding="utf-8")
    export_many(read_trace(source), tmp_path / "out")
    assert missing(source, tmp_path / "out") == []

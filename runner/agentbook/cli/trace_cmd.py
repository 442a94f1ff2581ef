"""`agentbook trace export|summary`: a trace file as a folder an agent can navigate, or one screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.traces import FORMATS, read_trace, summarize, summary_text
from agentbook.traces.export import (
    BYTES_PER_INPUT_BYTE,
    INPUT_BYTES_PER_FILE,
    MIN_MAX_BYTES,
    MIN_MAX_FILES,
    Limits,
    export_many,
    pick_traces,
)
from agentbook.traces.layout import COMPACT_MIN, LAYOUTS
from agentbook.traces.names import one_line

# A plain string, checked by read_trace: plugins add formats, and listing them would import every reader.
format_option = click.option("--format", "fmt", default="auto", show_default=True,
                             help="Trace format; auto detects it from the content. Built in: " + ", ".join(FORMATS[1:]))
trace_id_option = click.option("--trace-id", default=None, help="Only the trace with this id.")
JSON_TRACES = 20  # traces a --json answer lists by default: an Inspect log of 814 samples printed 245 KB (dogfood)
limit_option = click.option("--limit", type=click.IntRange(min=0), default=JSON_TRACES, show_default=True,
                            help="--json: traces to list (0: all); the totals always count every one.")


def _listed(items: list[dict[str, Any]], limit: int, more: str) -> dict[str, Any]:
    """The first `limit` items (0: all), with how many there are and how to see the rest."""
    shown = items if limit <= 0 else items[:limit]
    out: dict[str, Any] = {"total": len(items), "listed": len(shown), "omitted": len(items) - len(shown)}
    if len(shown) < len(items):
        out["more"] = more
    return out | {"traces": shown}


@click.group(name="trace")
def command() -> None:
    """Read traces (OTLP/JSON, OpenInference, Langfuse, LangSmith, ATIF, Claude Code, Codex, Gemini CLI, agentbook)."""


@command.command(name="export")
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@format_option
@trace_id_option
@click.option("--layout", "layout_name", type=click.Choice(LAYOUTS), default="auto", show_default=True,
              help="folders: a folder per span; compact: a file per agent subtree; auto: compact above "
                   f"{COMPACT_MIN:,} spans.")
@click.option("--max-files", type=click.IntRange(min=1), default=None,
              help=f"Most files the export may write [default: FILE's size / {INPUT_BYTES_PER_FILE}, "
                   f"at least {MIN_MAX_FILES:,}].")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None,
              help=f"Most bytes the export may write [default: {BYTES_PER_INPUT_BYTE} x FILE's size, "
                   f"at least {MIN_MAX_BYTES >> 20} MiB].")
@limit_option
@json_option
def export_cmd(file: Path, out: Path, fmt: str, trace_id: str | None, layout_name: str, max_files: int | None,
               max_bytes: int | None, limit: int, as_json: bool) -> None:
    """Export FILE as a folder at OUT (a file with several traces: one folder per trace inside OUT)."""
    traces = pick_traces(read_trace(file, fmt), trace_id)
    limits = Limits.for_input(file.stat().st_size, max_files, max_bytes)
    limits.source = one_line(str(file), 200)
    summaries = export_many(traces, out, layout_name, limits)
    if as_json:
        rows = [s.to_json() for s in summaries]
        totals = {k: sum(int(r.get(k) or 0) for r in rows) for k in ("spans", "errors", "flagged", "orphans", "files")}
        emit_json({"out": str(out), "totals": totals,
                   **_listed(rows, limit, f"every trace: {out}/README.md, or --limit 0")})
        return
    for s in summaries[:20]:  # a trace id is the trace's to choose, of any length: shown cut (--json has it whole)
        click.echo(f"exported trace {one_line(s.trace_id, 80)} ({s.format}): {s.spans} spans, {s.messages} messages, "
                   f"{s.tool_calls} tool calls, {s.errors} failed, {s.flagged} flagged, {s.orphans} orphans "
                   f"-> {s.out_dir}")
    if len(summaries) > 20:
        click.echo(f"... and {len(summaries) - 20} more traces: see {out}/README.md")
    click.echo(f"next: read {summaries[0].out_dir}/README.md, then errors.md and tree.txt")


@command.command(name="summary")
@click.argument("file", type=click.Path(path_type=Path))
@format_option
@trace_id_option
@limit_option
@json_option
def summary_cmd(file: Path, fmt: str, trace_id: str | None, limit: int, as_json: bool) -> None:
    """One screen about each trace in FILE: counts, errors, tokens, cost, slowest spans."""
    traces = pick_traces(read_trace(file, fmt), trace_id)
    data = [summarize(t) for t in traces]
    if as_json:
        emit_json(_listed(data, limit, "one trace: --trace-id ID; every trace: --limit 0"))
        return
    for item in data[:5]:
        click.echo(summary_text(item))
    if len(data) > 5:
        click.echo(f"... {len(data) - 5} more traces; pick one with --trace-id, or use --json "
                   f"(the first {JSON_TRACES}; --limit 0 for all)")

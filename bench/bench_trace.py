"""Benchmark: read and export a generated OTLP trace of 100,000 spans (~115 MB), against `json.load`.

Prints, as ratios against merely `json.load`ing the same file in the same run (the floor any reader
pays): reading (target at most 3x), reading + writing the folder (at most 10x), the exporting
process's peak RSS against the input size (at most 2x), the files written, and how many files an agent
reads to get from the README to the failure (README -> errors.md -> the span), in the per-span folder
layout and in the compact layout large traces get. Each measurement runs in its own subprocess, so
peak RSS is that job's alone.

Then a file of many tiny traces (an Inspect AI log of N empty samples, each a trace of its own: the shape a
few bytes per trace make pathological): its export with the bounds raised, as a ratio against copying the
same files into a new folder (json.load of the input included) in the same run (was quadratic in the traces:
each one globbed its growing parent for stale exports), and the refusal under the default bounds.

Then, on the real third-party samples (`tests/traces/data/`, `tests/traces/fixtures/wild/`, and the
interop samples in `$AGENTBOOK_INTEROP/<source>/` or `../shared/interop/<source>/` when present): each file's
export CPU time against a floor measured in the same run (`json.load` of the file and a walk over every
leaf), and the conservation ratio per format (strings and numbers of the input found in the export /
those in the input, as `agentbook.traces.conservation` counts them; a file no reader recognises counts
0 found).

    .venv/bin/python bench/bench_trace.py              # 100,000 spans, then the samples
    .venv/bin/python bench/bench_trace.py --spans 5000 # a quick run
    .venv/bin/python bench/bench_trace.py --samples-only
    .venv/bin/python bench/bench_trace.py --spans 0 --many 10000 --samples-only   # only the many traces
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".eval")
NOT_TRACES = {"promptfoo", "agent-failures"}  # interop folders of eval suites and backtest data, not traces

SYSTEM = ("You are the incident assistant. Read the alert, query the logs with the tools given, and answer "
          "with the root cause and the evidence. " * 2)
WORDS = ["alert", "latency", "error", "pod", "restart", "loki", "query", "timeout", "upstream", "database", "disk", "cache", "deploy"]


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _text(n: int, words: int) -> str:
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(words))


def _span(n: int, parent: str, start: int) -> dict[str, object]:
    """Every 100th span is a sub-agent; the rest alternate chat and tool calls, 1% fail."""
    span_id = f"{n + 1:016x}"
    kind = "agent" if n % 100 == 1 else ("chat" if n % 2 == 0 else "tool")
    attrs: list[dict[str, object]]
    if kind == "agent":
        attrs = [_attr("gen_ai.operation.name", "invoke_agent"), _attr("gen_ai.agent.name", f"worker-{n}")]
    elif kind == "chat":
        messages = [{"role": "user", "parts": [{"type": "text", "content": _text(n, 20)}]},
                    {"role": "assistant", "parts": [{"type": "tool_call", "id": f"c{n}", "name": "loki_query",
                                                     "arguments": {"query": _text(n, 6)}}]}]
        attrs = [_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.request.model", "claude-sonnet-4-5"),
                 _attr("gen_ai.system_instructions", json.dumps([{"type": "text", "content": SYSTEM}])),
                 _attr("gen_ai.input.messages", json.dumps(messages)),
                 _attr("gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [
                     {"type": "text", "content": _text(n + 1, 15)}], "finish_reason": "end_turn"}])),
                 _attr("gen_ai.usage.input_tokens", 1200 + n % 500), _attr("gen_ai.usage.output_tokens", 80)]
    else:
        attrs = [_attr("gen_ai.operation.name", "execute_tool"), _attr("gen_ai.tool.name", "loki_query"),
                 _attr("gen_ai.tool.call.arguments", json.dumps({"query": _text(n, 6)})),
                 _attr("gen_ai.tool.call.result", _text(n, 30))]
    span: dict[str, object] = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id,
                               "parentSpanId": parent, "name": f"{kind} {n}", "kind": 1,
                               "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1_000_000 + n),
                               "attributes": attrs}
    if n % 100 == 37:
        span["status"] = {"code": 2, "message": "upstream timeout"}
    return span


def generate(path: Path, spans: int) -> None:
    """Write the document span by span (never holding it whole)."""
    start = 1_700_000_000_000_000_000
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":'
                 '"bench"}}]},"scopeSpans":[{"scope":{"name":"bench"},"spans":[')
        root = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"{1:016x}", "name": "invoke_agent root",
                "kind": 1, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**12),
                "attributes": [_attr("gen_ai.operation.name", "invoke_agent")]}
        fh.write(json.dumps(root))
        agent = f"{1:016x}"
        for n in range(1, spans):
            if n % 100 == 1:
                parent = f"{1:016x}"
                agent = f"{n + 1:016x}"
            else:
                parent = agent
            fh.write("," + json.dumps(_span(n, parent, start + n * 1000)))
        fh.write("]}]}]}\n")


def _measure(code: str, *args: str) -> tuple[float, float, str]:
    """CPU seconds (user + system, all threads), peak RSS in MB, and stdout of `python -c code args...` in a
    fresh process. CPU time, not wall time: the machine is shared, and wall time swings with its load."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {code[:60]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


LOAD = "import json,sys; json.load(open(sys.argv[1], 'rb'))"
IDLE = "import agentbook.traces"
READ = "import sys; from agentbook.traces import read_trace; read_trace(sys.argv[1])"
EXPORT = ("import sys; from agentbook.traces import read_trace, export_trace; "
          "s = export_trace(read_trace(sys.argv[1])[0], sys.argv[2], sys.argv[3]); print(s.spans, s.files)")
EXPORT_ALL = ("import sys; from agentbook.traces import read_trace; from agentbook.traces.export import Limits, "
              "export_many; print(len(export_many(read_trace(sys.argv[1]), sys.argv[2], 'auto', Limits(10**9, 10**15))))")
REFUSE = ("import contextlib, io, sys; from agentbook.cli import main\nwith contextlib.redirect_stderr(io.StringIO()):\n"
          "    code = main(['trace', 'export', sys.argv[1], sys.argv[2]])\nsys.exit(0 if code == 3 else 1)")
COPY = ("import json, os, sys; json.load(open(sys.argv[1], 'rb')); src, dst = sys.argv[2], sys.argv[3]; n = 0\n"
        "for folder, _, names in os.walk(src):\n"
        "    into = os.path.join(dst, os.path.relpath(folder, src)); os.makedirs(into, exist_ok=True)\n"
        "    for name in names:\n"
        "        with open(os.path.join(folder, name), 'rb') as fh, open(os.path.join(into, name), 'wb') as out:\n"
        "            out.write(fh.read()); n += 1\n"
        "print(n)")


def reads_to_failure(out: Path) -> int:
    """Files an agent reads following the export's README to the first failure in errors.md, until it
    has seen the failed span's status message, arguments and result (what it needs to debug it)."""
    reads = 2  # README.md, which sends it to errors.md; errors.md
    errors = (out / "errors.md").read_text(encoding="utf-8")
    ref = re.search(r"^- `([^`]+)` tool", errors, re.MULTILINE)
    if ref is None:
        raise SystemExit("no tool error in errors.md")
    target = ref.group(1)
    if not target.endswith("/"):  # compact: file:line, the whole span is there
        file, _, line = target.rpartition(":")
        section = (out / file).read_text(encoding="utf-8").splitlines()[int(line) - 1:][:80]
        assert any(line.startswith("### tool result") for line in section)
        return reads + 1
    folder = out / target
    needed = {"status_message", "args", "result"}
    for name in ("span.yaml", "input.md", "output.md", "tool/args.json", "tool/result.txt"):  # README's order
        if not (folder / name).is_file():
            continue
        reads += 1
        text = (folder / name).read_text(encoding="utf-8")
        needed -= {"status_message"} if "status_message:" in text else set()
        needed -= {"args"} if name == "tool/args.json" else set()
        needed -= {"result"} if name == "tool/result.txt" else set()
        if not needed:
            return reads
    raise SystemExit(f"the failure's content is not in {folder}")


def sample_files() -> list[Path]:
    interop = Path(os.environ.get("AGENTBOOK_INTEROP") or REPO.parent / "shared" / "interop")  # a folder per source
    folders = [REPO / "tests" / "traces" / "data", REPO / "tests" / "traces" / "fixtures" / "wild", interop]
    return [p for folder in folders if folder.is_dir() for p in sorted(folder.rglob("*"))
            if p.suffix in SAMPLE_SUFFIXES and not NOT_TRACES.intersection(p.relative_to(folder).parts[:1])]


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values()) + len(value)
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 1


def _floor(path: Path) -> None:
    from agentbook.traces.conservation import documents

    _leaves(documents(path))


def _cpu(step: Callable[[], object], repeat: int) -> float:
    """The least CPU time (all threads of this process) of `repeat` runs of `step`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        step()
        best = min(best, time.process_time() - start)
    return best


def bench_samples(repeat: int) -> None:
    """Export speed against the floor, and conservation per format, on every real sample."""
    from agentbook.errors import FatalError
    from agentbook.traces.conservation import documents, measure, numbers, strings
    from agentbook.traces.export import export_many
    from agentbook.traces.read import read_trace

    per_format: dict[str, list[int]] = {}
    print(f"\nreal samples: CPU ms of the export (read + write) vs the floor (json.load + walk every leaf), "
          f"least of {repeat} runs; conservation = input strings and numbers found in the export / in the input")
    print(f"{'file':64} {'format':16} {'KB':>6} {'export':>8} {'floor':>7} {'ratio':>6}  conservation")
    with tempfile.TemporaryDirectory(prefix="bench-trace-samples-") as tmp:
        for path in sample_files():
            name = f"{path.parent.name}/{path.name}"[:64]
            out = Path(tmp) / "out"
            try:
                fmt = read_trace(path)[0].format
            except FatalError:
                docs = documents(path)
                total = len({s for d in docs for s in strings(d)}) + len({n for d in docs for n in numbers(d)})
                per_format.setdefault("(refused)", [0, 0])[1] += total
                print(f"{name:64} {'refused':16} {path.stat().st_size / 1024:6.1f}  -- no reader: 0/{total}")
                continue
            export_s = _cpu(lambda p=path, o=out: export_many(read_trace(p), o), repeat)
            floor_s = _cpu(lambda p=path: _floor(p), repeat)
            kept = measure(path, out)
            counts = per_format.setdefault(fmt, [0, 0])
            counts[0], counts[1] = counts[0] + kept.found, counts[1] + kept.total
            print(f"{name:64} {fmt:16} {path.stat().st_size / 1024:6.1f} {export_s * 1000:8.1f} "
                  f"{floor_s * 1000:7.2f} {export_s / max(floor_s, 1e-6):5.0f}x  {kept.found}/{kept.total}")
    print("conservation per format:")
    for fmt, (found, total) in sorted(per_format.items()):
        print(f"  {fmt:16} {found}/{total} = {found / total if total else 1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000, help="spans in the generated trace")
    parser.add_argument("--sample", type=int, default=2_000, help="spans of the trace exported both ways "
                        "to count reads to the failure (the per-span layout of the full trace takes long)")
    parser.add_argument("--samples-only", action="store_true", help="only the real third-party samples")
    parser.add_argument("--repeat", type=int, default=5, help="runs per sample (the least CPU time counts)")
    parser.add_argument("--many", type=int, default=5_000, help="traces in the file of many tiny traces (0: skip)")
    args = parser.parse_args()
    if not args.samples_only and args.spans:
        bench_generated(args)
    if args.many:
        bench_many_traces(args.many)
    if not args.samples_only or not args.many:
        bench_samples(args.repeat)


def bench_many_traces(count: int) -> None:
    """An Inspect log of `count` empty samples: one trace each, ~7 files each, from ~26 bytes each; and one of a
    quarter as many, to show the cost per trace does not grow with the traces (it did: quadratic)."""
    work = Path(tempfile.mkdtemp(prefix="bench-trace-many-"))
    try:
        per_trace, figures = {}, {}
        for n in (count // 4, count):
            src = work / f"empty-{n}.json"
            src.write_text(json.dumps({"version": 2, "status": "success", "plan": {},
                                       "eval": {"task": "t", "run_id": "r", "model": "m"},
                                       "samples": [{"id": i, "epoch": 1} for i in range(n)]}))
            export_s = copy_s = float("inf")
            for k in range(2):  # alternated, least of each: file creation's system time swings with the load
                export_s = min(export_s, _measure(EXPORT_ALL, str(src), str(work / f"out-{n}"))[0])
                took, _, out = _measure(COPY, str(src), str(work / f"out-{n}"), str(work / f"copy-{n}-{k}"))
                copy_s = min(copy_s, took)
            per_trace[n] = export_s / n
            figures[n] = (export_s, copy_s, int(out), src.stat().st_size)
        export_s, copy_s, files, size = figures[count]
        refuse_s, _, _ = _measure(REFUSE, str(work / f"empty-{count}.json"), str(work / "refused"))
        load_s, _, _ = _measure(LOAD, str(work / f"empty-{count}.json"))
        print(f"\n{count:,} tiny traces in one file ({size / 1024:.0f} KB, {files:,} files exported), CPU seconds of "
              "each step's own process, least of 2")
        print(f"export, bounds raised: {export_s:.2f}s = {export_s / copy_s:.1f}x copying its files "
              f"({copy_s:.2f}s, json.load of the input included)")
        print(f"cost per trace at {count:,} traces / at {count // 4:,}: {per_trace[count] / per_trace[count // 4]:.2f}x "
              f"(1.0: linear; {per_trace[count] * 1000:.2f} ms vs {per_trace[count // 4] * 1000:.2f} ms)")
        print(f"export, default bounds: refused before writing in {refuse_s:.2f}s = {refuse_s / load_s:.1f}x json.load "
              f"({load_s:.2f}s, interpreter start included in both)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_generated(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    try:
        src, sample = work / "trace.json", work / "sample.json"
        generate(src, args.spans)
        generate(sample, min(args.sample, args.spans))
        size_mb = src.stat().st_size / 2**20
        load_s, load_rss, _ = _measure(LOAD, str(src))
        _, idle_rss, _ = _measure(IDLE)
        read_s, read_rss, _ = _measure(READ, str(src))
        export_s, export_rss, out = _measure(EXPORT, str(src), str(work / "out"), "auto")
        spans, files = (int(x) for x in out.split())
        _, _, out = _measure(EXPORT, str(sample), str(work / "folders"), "folders")
        sample_spans, sample_files = (int(x) for x in out.split())
        _measure(EXPORT, str(sample), str(work / "compact"), "compact")
        before, after = reads_to_failure(work / "folders"), reads_to_failure(work / "out")
        print(f"input: {spans} spans, {size_mb:.1f} MB OTLP/JSON (one document)")
        print("times are CPU seconds (user + system) of each step's own process")
        print(f"json.load alone: {load_s:.2f}s, peak RSS {load_rss:.0f} MB ({load_rss / size_mb:.2f}x input)")
        print(f"read_trace: {read_s:.2f}s = {read_s / load_s:.1f}x json.load (target <= 3x); "
              f"peak RSS {read_rss / size_mb:.2f}x input")
        print(f"export (read + write): {export_s:.2f}s = {export_s / load_s:.1f}x json.load (target <= 10x), "
              f"{spans / export_s:,.0f} spans/s, {files:,} files written "
              f"({'compact' if spans > 2000 else 'folders'} layout)")
        print(f"export peak RSS: {export_rss:.0f} MB = {export_rss / size_mb:.2f}x input (target <= 2x; interpreter "
              f"+ imports alone: {idle_rss:.0f} MB, so {(export_rss - idle_rss) / size_mb:.2f}x without them)")
        print(f"per-span folder layout on a {sample_spans:,}-span sample: {sample_files:,} files "
              f"({sample_files / sample_spans:.1f} per span; {files / spans:.3f} per span in the compact layout)")
        print(f"reads to the failure (README, errors.md, the span): per-span folders {before}, compact {after} "
              f"(same failure, same trace; the sample's compact export needs {reads_to_failure(work / 'compact')})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What the trace itself shows of a failure, as terms that do not depend on how its analyst writes.

Failures of one cause share what their traces record: the same failing span (tool, step) and the same
error text once ids, numbers and quoted values are masked; failures with no common cause do not.
Analysts word a cause in many ways and blame different files for it, the trace does not. So beside the
analyst's words (features.py) each failure gets the errors its exported trace lists in `errors.md`
(the exporter's own summary, traces/findings.py): for each failed span or tool error, its kind and
name and its masked message. A trace with no error gives no term: having no error is not something
two failures share; nor does a span marked failed without a message (NO_MESSAGE), which a tracer sets
on the run's own span whenever the run failed.

Opt-in (`backtest cluster --trace-errors`, cluster.TRACE_ERRORS): measured by bench_cluster_quality.py it
joins causes templated analysts word apart (dev-ledger, the support agent, two held-out generators), but
on the held-out coding agent it split and mixed causes for analysts that quote each run's error. On
dev_ledger.py the same split shows with its quoting analysts once the trace's calls bind a cause
(tracecalls.py): a cause whose runs word one error four ways (each database driver its own) split by
wording, the quoted words counted twice, the trace's TRACE_WEIGHT times; features.already_written
now weighs a word of the trace's errors by the share of its failures whose analyst did not write it.

Bounded: at most TRACE_BYTES of each `errors.md` (and of at most TRACE_FILES of them, when one
investigation holds several traces) and ENTRIES_PER_FAILURE entries are read, so clustering 1,000
failures reads at most a few MB. The file is data written from an attacker's trace: it is read
without following symlinks, only ever becomes lower-cased masked tokens, and is never shown as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agentbook.backtest.folder import TRACE_DIR
from agentbook.fsutil import open_regular

TRACE_BYTES = 16_000  # of each errors.md read: the errors are listed first (traces/findings.py SECTIONS)
TRACE_FILES = 4  # errors.md files read per investigation (one per trace it holds)
ENTRIES_PER_FAILURE = 8  # error entries kept per failure: a trace failing in 200 places is one failure
ERROR_SECTIONS = ("## Failed spans", "## Tool errors")  # errors, not the merely suspicious (retries, warnings)
# What the exporter writes for a span marked failed with no message (traces/findings.py): no error text,
# only "this span failed"; a run's own span is marked so whenever the run failed, whatever the cause.
NO_MESSAGE = "status ERROR, no message"
_ENTRY = re.compile(r"^- `[^`]*` (\w+) `([^`]*)`: (.*)$")


@dataclass(frozen=True)
class TraceError:
    """One error the trace records: the span's kind and name, and its message, as written."""

    kind: str
    name: str
    message: str


def read_capped(path: Path, limit: int = TRACE_BYTES) -> str:
    """The first `limit` bytes of a regular file, "" for anything else (a symlink, a fifo, nothing)."""
    try:
        with open_regular(path, follow=False) as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:  # NotRegular included
        return ""


def trace_folders(trace: Path) -> list[Path]:
    """The exported trace, or each trace an investigation with several holds (numbered subfolders)."""
    if trace.is_symlink() or not trace.is_dir():
        return []  # an imported trace is a folder of its own: a link may lead anywhere
    if (trace / "errors.md").is_file() or (trace / "index.tsv").is_file():
        return [trace]
    subs = sorted(p for p in trace.iterdir() if p.is_dir() and not p.is_symlink() and p.name[:1].isdigit())
    return subs[:TRACE_FILES]


def parse_errors(text: str) -> list[TraceError]:
    """The entries of errors.md's error sections (failed spans, tool errors), in order."""
    out: list[TraceError] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.startswith(ERROR_SECTIONS)
        elif inside and (m := _ENTRY.match(line)) and m.group(3) != NO_MESSAGE:
            out.append(TraceError(kind=m.group(1), name=m.group(2), message=m.group(3)))
    return out


def trace_errors(investigation: Path) -> list[TraceError]:
    """The errors an investigation's exported trace lists, at most ENTRIES_PER_FAILURE, each distinct once."""
    seen: dict[tuple[str, str, str], TraceError] = {}
    for folder in trace_folders(investigation / TRACE_DIR):
        for error in parse_errors(read_capped(folder / "errors.md")):
            seen.setdefault((error.kind, error.name, error.message), error)
            if len(seen) >= ENTRIES_PER_FAILURE:
                return list(seen.values())
    return list(seen.values())

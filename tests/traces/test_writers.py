"""The exporter's writer threads: shared by every export of a process, and never holding up its exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "otlp_events.json"


def test_exports_share_writer_threads_that_hold_no_exit(tmp_path: Path) -> None:
    """Three exports in one process start one set of writer threads, and none of them is a thread an
    exit waits for: the warm worker's child joins every non-daemon thread before it exits, so an idle
    pool thread there hung each `agentbook trace export` a gate or an agent ran until it was killed."""
    code = f"""
import threading
from agentbook.traces import read_trace
from agentbook.traces.export import export_trace
trace = read_trace({str(FIXTURE)!r})[0]
for n in range(3):
    export_trace(trace, {str(tmp_path)!r} + f"/out{{n}}")
others = [t for t in threading.enumerate() if t is not threading.main_thread()]
print(len(others), sorted(t.name for t in others if not t.daemon))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60).stdout
    count, waited = out.split(" ", 1)
    assert int(count) <= 4 and waited.strip() == "[]"
    assert all((tmp_path / f"out{n}" / "README.md").is_file() for n in range(3))

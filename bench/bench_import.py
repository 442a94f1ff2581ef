"""Backtest import benchmark: N generated investigations (default 60) imported into a fresh folder.

Prints, against a floor measured in the same run on the same disk:
  wall / floor   floor = writing the very files the import produced (its output tree copied file by
                 file by shutil.copytree): what creating those bytes costs here, with no trace reading,
                 rendering or syncing
  fsyncs         calls to os.fsync during the import (counted by wrapping it in this process)
  syncs          file-system syncs (fsutil.sync_filesystem) during the import
  threads        threads started during the import
Serial (--jobs 1) so every call happens in this process; each figure is the median of R runs.

    .venv/bin/python bench/bench_import.py [--count 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

from loader import load_module

from agentbook.backtest import importer

GENERATOR = Path(__file__).resolve().parent.parent / "examples" / "incident-assistant" / "backtest" / "generate.py"


class Counts:
    """os.fsync, fsutil.sync_filesystem and Thread.start, counted while installed."""

    def __init__(self) -> None:
        self.fsyncs = self.syncs = self.threads = 0
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Self:
        def wrap(owner: Any, name: str, field: str) -> None:
            original = getattr(owner, name, None)
            if original is None:  # an agentbook without it: nothing to count
                return

            def counted(*args: Any, **kwargs: Any) -> Any:
                setattr(self, field, getattr(self, field) + 1)
                return original(*args, **kwargs)

            self._saved.append((owner, name, original))
            setattr(owner, name, counted)

        wrap(os, "fsync", "fsyncs")
        wrap(importer, "sync_filesystem", "syncs")
        wrap(threading.Thread, "start", "threads")
        return self

    def __exit__(self, *_exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    gen = load_module(GENERATOR, "backtest_generate")
    load_before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        gen.generate(work / "src", seed=7, count=args.count, accounts=max(20, args.count // 10))
        for n in range(args.repeat):
            out = work / f"bt{n}"
            with Counts() as counts:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                importer.import_backtest(work / "src" / "manifest.jsonl", out, jobs=1)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            started = time.perf_counter()
            shutil.copytree(out, work / f"copy{n}")
            floor = time.perf_counter() - started
            files = sum(1 for p in out.rglob("*") if p.is_file())
            rows.append({"wall": wall, "cpu": cpu, "floor": floor, "files": files, "fsyncs": counts.fsyncs,
                         "syncs": counts.syncs, "threads": counts.threads})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"backtest import of {args.count} investigations ({med['files']:.0f} files), serial, median of "
          f"{args.repeat}; 1-min load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"  wall {med['wall']:.2f}s  cpu {med['cpu']:.2f}s  floor (copy of its files) {med['floor']:.2f}s  "
          f"wall / floor {med['wall'] / med['floor']:.2f}x")
    print(f"  fsyncs {med['fsyncs']:.0f}  file-system syncs {med['syncs']:.0f}  threads started {med['threads']:.0f}")


if __name__ == "__main__":
    main()

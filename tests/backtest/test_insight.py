"""bench/bench_insight.py's checks on a held-out generator (heldout_claims.py, an insurance claims agent,
read here as data only): what `cluster`, `report` and `compare` tell a reader holds against the plant.
Cohorts are defined by their medoid, listed locations exist in the code, only the one-account cause is
account-specific (with its p-value), and `compare` on a re-run with a partial fix, a whole fix, a merge,
a split and an account's two new failures says each (none of them "gone" while a member fails)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench.loader import load_module

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.usefixtures("default_meaning")
def test_what_the_report_and_compare_say_holds_on_heldout_claims(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench imports its siblings as a script does
    bench = load_module(BENCH / "bench_insight.py", "bench_insight_test")
    built = bench.QUALITY.GENERATORS["heldout-claims"](tmp_path, 0)
    for name, (folder, src) in built.items():
        row = bench.measure(name, folder, src, tmp_path, None)
        assert not row.failures, (name, row.failures)
        assert sum(row.medoid_main) >= 0.8 * row.cohorts, (name, row.medoid_main)
        assert row.listed > 0
        assert all("(us-dates;" in f for f in row.flagged), row.flagged  # the plant's one-account cause only
        said = "\n".join(row.compare)
        assert " -> " in row.compare[0] and "gone" not in row.compare[0], said
        assert re.search(r"^all \d+ fixed: gone$", said, re.MULTILINE), said
        assert re.search(r"^account \S+ \(2 broke\): 2 broke, accuracy", said, re.MULTILINE), said
        assert "NOT said" not in said, said

"""The ninth held-out backtest (heldout_firstday.py: a multi-agent HR onboarding assistant recorded as Inspect
AI eval logs), written apart from the clustering work and never tuned on. These tests check the plant only
(what was planted, that the same seed writes the same bytes, that agentbook reads every log as Inspect's);
how well `backtest cluster` recovers it is bench/bench_cluster_quality.py's heldout-firstday row."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.folder import BacktestFolder

from .heldout_firstday import HOME, generate
from .heldout_invoice import digest, read_planted, regenerated
from .support import imported_with_analyses

SEED = 291


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("firstday-src")
    generate(out, seed=SEED)
    return out


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_same_seed_same_bytes(source: Path, tmp_path: Path) -> None:
    again, other = regenerated(generate, tmp_path, SEED)
    assert again == digest(source)
    assert other != digest(source)


def test_generator_plants_uneven_causes_a_local_one_and_causeless_failures(source: Path) -> None:
    planted = read_planted(source)
    assert len(planted) == 180 and len({p["account"] for p in planted}) == 6
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"group-prefix": 26, "pay-schedule": 19, "welcome-bounce": 14, "alias-reactivate": 11,
                      "handoff-loop": 8, "site-badge": 6}
    assert {p["account"] for p in planted if p["cause"] == "site-badge"} == {"lindqvist-bygg"}
    failed = [p for p in planted if p["style"] is not None]
    assert 0.15 <= sum(1 for p in failed if p["cause"] is None) / len(failed) <= 0.2
    assert sum(1 for p in planted if p["style"] is None and p["errors"]) >= 10  # harmless retries pass too
    assert sum(1 for p in failed if p["cause"] is None and p["errors"]) >= 3  # and causeless failures carry them
    assert all(p["errors"] == 0 for p in planted if p["cause"] == "pay-schedule")
    assert HOME["group-prefix"] == HOME["alias-reactivate"]  # one stage and file, two ways of going wrong
    assert len({p["style"] for p in failed}) == 6
    assert {p["quoted"] for p in failed} == {"decisive", "first-error", "note"}
    for kind in ("quoting", "templated"):
        verdicts = {str(r["id"]): r["verdict"] for r in _jsonl(source / f"{kind}.jsonl")}
        assert {i for i, v in verdicts.items() if v == "wrong"} == {p["id"] for p in failed}


def test_causeless_failures_are_written_as_confidently_as_the_rest(source: Path) -> None:
    planted = {str(p["id"]): p for p in read_planted(source)}
    for kind in ("quoting", "templated"):
        rows = [r for r in _jsonl(source / f"{kind}.jsonl") if r["verdict"] == "wrong"]
        causeless = [r for r in rows if planted[str(r["id"])]["cause"] is None]
        assert all(r["suspected"] and r["proposed_change"] for r in causeless), kind
        assert min(float(str(r["confidence"])) for r in causeless if planted[str(r["id"])]["style"] != "hedged") >= 0.6


def test_agentbook_reads_every_log_and_the_causes_are_in_it(source: Path, tmp_path: Path) -> None:
    imported_with_analyses(source, tmp_path / "bt")  # both analysts' records pass agentbook's analysis schema
    planted = {str(p["id"]): p for p in read_planted(source)}
    investigations = list(BacktestFolder(tmp_path / "bt").investigations())
    assert {i.id for i in investigations} == set(planted)
    for inv in investigations:
        p, trace = planted[inv.id], inv.path / "trace"
        readme, tree = (trace / "README.md").read_text(), (trace / "tree.txt").read_text()
        assert "(inspect)" in readme and "agent identity_agent" in tree, inv.id
        if p["cause"] == "pay-schedule":  # no error text at all: nothing failed, retried or warned
            assert "errors 0;" in readme and " !! " not in tree, inv.id
        if p["cause"] == "handoff-loop":
            assert "limit reached" in readme and "comms_agent" not in tree, inv.id
        if p["cause"] in ("alias-reactivate", "welcome-bounce"):
            errors = (trace / "errors.md").read_text()
            assert ("409 Conflict" if p["cause"] == "alias-reactivate" else "550 5.1.1") in errors, inv.id

"""Groups written alike whose stages and files agree: one cause worded apart, or two causes at one place?

Developed on dev_ledger.py and the example backtest (never on the held-out generators). The clustering's
own view (words and WordLlama) already kept such groups apart, so it cannot tell. By default
(`join_marks`) the traces can: groups that carry one trace mark (`cluster.share_mark`: a term from what
the traces did that most of each group carries and few other failures) are one cause. Opt-in (`join`),
`cluster.joined` asks a second encoder (MiniLM), read only for those groups: fragments of one cause are
each other's nearest group there and more alike than the backtest's typical pair of failures. Two causes
at one place whose findings mean nearly alike are joined too (test_compare.py's re-run, where half the
"anchors on the first error" failures are re-analysed as "blamed a deploy that came after it"), which is
why MiniLM's join is not the default; those halves share no trace mark."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from bench.loader import load_module

from agentbook.backtest import cluster, embeddings
from agentbook.backtest.cluster import NO_CAUSE, Failure, cluster_labels, collect_failures
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import cohorts_of, score

from .conftest import planted
from .dev_ledger import generate

REPO = Path(__file__).resolve().parents[2]


def _second_view_usable() -> str:
    try:
        embeddings.load(embeddings.MINILM)
        embeddings.load(embeddings.WORDLLAMA)
    except embeddings.Unavailable as e:
        return str(e)
    return ""


def _wordllama_usable() -> str:
    try:
        embeddings.load(embeddings.WORDLLAMA)
    except embeddings.Unavailable as e:
        return str(e)
    return ""


WHY = _second_view_usable()
needs_both = pytest.mark.skipif(bool(WHY), reason=f"the encoders are not usable here: {WHY}")
WHY_DEFAULT = _wordllama_usable()
needs_default = pytest.mark.skipif(bool(WHY_DEFAULT), reason=f"the default encoder is not usable here: {WHY_DEFAULT}")


def _quoting(tmp_path: Path, seed: int, benign: bool = False) -> tuple[list[Failure], dict[str, str | None]]:
    """dev_ledger.py's runs of `seed`, imported, with the quoting analysts' findings; the failures and their causes.
    Without the benign content by default: measured before it (test_cluster_content.py)."""
    src, folder = tmp_path / "src", tmp_path / "bt"
    generate(src, seed=seed, benign=benign)
    import_backtest(src / "manifest.jsonl", folder)
    load_module(REPO / "examples" / "support-agent" / "generate.py", "join_support").write_analyses(
        folder, src / "quoting.jsonl")
    plant = {r["id"]: r["cause"] for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    failures, _ = collect_failures(BacktestFolder(folder))
    return failures, {f.inv.id: plant[f.inv.id] for f in failures}


@needs_default
def test_fragments_that_carry_one_trace_mark_are_one_cohort(tmp_path: Path) -> None:
    """dev_ledger.py's fiscal-quarter, seed 32, quoting analysts: they quote the reviewer's note, worded
    several ways, so the cause falls into fragments written alike at one stage and file; what the answer
    model said (it summed a calendar quarter) is in most of each fragment and in no other failure. By
    default the fragments are one cohort; without the mark join they are not, and nothing else moves."""
    failures, truth = _quoting(tmp_path, 32)
    q = score(cohorts_of(failures, cluster_labels(failures)), truth)
    unmarked = score(cohorts_of(failures, cluster_labels(failures, join_marks=False)), truth)
    print(f"\ndev-ledger seed 32 quoting: {q.to_json()}\nwithout the mark join: {unmarked.to_json()}")
    assert q.recall["fiscal-quarter"] >= 0.8 > unmarked.recall["fiscal-quarter"], (q.to_json(), unmarked.to_json())
    assert q.cause_purity["fiscal-quarter"] >= 0.8 and q.purity == unmarked.purity and q.ari > unmarked.ari, q.to_json()
    assert ({c: r for c, r in q.recall.items() if c != "fiscal-quarter"}
            == {c: r for c, r in unmarked.recall.items() if c != "fiscal-quarter"})


@needs_default
def test_fragments_that_carry_one_trace_mark_need_their_fields_agree_less(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """dev_ledger.py's fiscal-quarter, seed 31, quoting analysts (the bench's row, benign content on): two fragments
    at one place, one quoting the pool timeout, one the reviewer's note, both carrying the calendar-quarter mark;
    their analysts' stages agree 0.75 (one fragment's analysts said "other" or "infrastructure"), under the 0.8 the
    fields alone must show (BRIDGE_FIELDS). A shared trace mark is a second signal of one cause, so such groups
    need their fields agree BRIDGE_MARKED (0.7): recall 0.46 -> 0.77, ARI 0.835 -> 0.882, purity unchanged."""
    failures, truth = _quoting(tmp_path, 31, benign=True)
    q = score(cohorts_of(failures, cluster_labels(failures)), truth)
    monkeypatch.setattr(cluster, "BRIDGE_MARKED", cluster.BRIDGE_FIELDS)
    apart = score(cohorts_of(failures, cluster_labels(failures)), truth)
    print(f"\ndev-ledger seed 31 quoting: {q.to_json()}\nfields bar as without a mark: {apart.to_json()}")
    assert q.recall["fiscal-quarter"] >= 0.75 and apart.recall["fiscal-quarter"] < 0.5, (q.to_json(), apart.to_json())
    assert q.cause_purity["fiscal-quarter"] == 1.0 and q.purity == apart.purity and q.ari > apart.ari, q.to_json()


@needs_both
@pytest.mark.parametrize("seed", [32, 33])
def test_a_cause_whose_error_is_quoted_in_two_wordings_is_one_cohort(tmp_path: Path, seed: int) -> None:
    """dev_ledger.py's stale-fx: the run reports either `StaleRateWarning: rate EUR/SEK older than 24h` or
    `fx cache last refreshed 19 days ago`, and the quoting analyst copies it; the two wordings share no
    word that weighs and WordLlama puts them further apart than a typical pair, so by default they are two
    pure cohorts at one stage and file (data, fx_cache.py). Joined, they are one, and nothing else moves."""
    failures, truth = _quoting(tmp_path, seed)
    q = score(cohorts_of(failures, cluster_labels(failures, join=True)), truth)
    plain = score(cohorts_of(failures, cluster_labels(failures)), truth)
    print(f"\ndev-ledger seed {seed} quoting, joined: {q.to_json()}\ndefault: {plain.to_json()}")
    assert q.recall["stale-fx"] >= 0.8 > plain.recall["stale-fx"], (q.to_json(), plain.to_json())
    assert q.cause_purity["stale-fx"] == 1.0 and q.purity == plain.purity and q.ari > plain.ari, q.to_json()
    assert {c: r for c, r in q.recall.items() if c != "stale-fx"} == {c: r for c, r in plain.recall.items() if c != "stale-fx"}


@needs_both
def test_two_causes_at_one_place_written_alike_stay_apart(analysed: Path, generated: Path) -> None:
    """The example backtest's logql parser and umbrella app label: one prompt, one stage, one analyst's
    wording; their fields agree as fully as a split cause's, and the second view keeps them apart."""
    failures, _ = collect_failures(BacktestFolder(analysed))
    truth = planted(generated)
    labels = cluster_labels(failures, join=True)
    cohorts: dict[int, Counter[str]] = {}
    for f, label in zip(failures, labels, strict=True):
        if label != NO_CAUSE:
            cohorts.setdefault(label, Counter())[str(truth[f.inv.id]["cause"])] += 1
    holding = {cause: [n for n, c in cohorts.items() if cause in c] for cause in ("logql-missing-parser", "umbrella-app-label")}
    assert all(len(where) == 1 for where in holding.values()), cohorts
    assert holding["logql-missing-parser"] != holding["umbrella-app-label"], cohorts
    assert all(len(c) == 1 for c in cohorts.values()), cohorts

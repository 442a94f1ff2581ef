"""The views' consensus (ensemble.py): every view of cluster.py clusters the same failures and the cohorts are
those the views agree on (co-association, average linkage, AGREE). Measured on the development rows only
(bench_cluster_quality.py --seeds 3; never tuned on the held-out generators); figures per seed in the docstrings,
floors a little under them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentbook.backtest import ensemble
from agentbook.backtest.cluster import NO_CAUSE, cluster_labels, collect_failures
from agentbook.backtest.ensemble import consensus, held_by
from agentbook.backtest.folder import BacktestFolder

from . import dev_ledger
from .support import (
    PARAPHRASES,
    analysed,
    clustered_quality,
    support_generator,
    support_noises,
    write_paraphrased,
)
from .test_cluster_join import needs_default

B = NO_CAUSE


def test_a_join_two_views_make_holds_and_one_view_alone_does_not() -> None:
    # five views of six failures: two put 0-1 with 2-3 (a paraphrased cause the trace view and words alone join),
    # one alone puts 4 with 5 (the trace view mixing two causes), four bucket failure 5
    views = [[0, 0, 1, 1, 2, B], [0, 0, 0, 0, 2, 2], [0, 0, 0, 0, B, B], [0, 0, 1, 1, 2, B], [0, 0, 1, 1, 2, B]]
    assert consensus(views, 0.35) == [0, 0, 0, 0, B, B]
    assert consensus(views, 0.5) == [0, 0, 1, 1, B, B]  # three of five: the join is lost
    assert held_by([0, 0, 0, 0, B, B], {"a": views[0], "b": views[1]}) == {0: {"a": 0.5, "b": 1.0}}


def test_a_failure_most_views_bucket_stays_out_and_labels_are_deterministic() -> None:
    views = [[B, 0, 0, 1, 1], [0, 0, 0, 1, 1], [B, 0, 0, 1, 1]]
    assert consensus(views) == [B, 0, 0, 1, 1]
    assert consensus([list(reversed(v)) for v in views]) == [0, 0, 1, 1, B]  # numbered by first appearance
    assert consensus([[B, B, B]] * 3) == [B, B, B]


@pytest.fixture
def ensemble_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ensemble, "ENSEMBLE", True)


@needs_default
def test_paraphrased_causes_joined_where_two_views_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """support-agent seed 11, paraphrasing analysts (support.py): by default pure but split (ARI 0.477, min
    recall 0.55); the consensus joins what the trace view and words alone both join (0.998, every cause's
    recall and purity 1.00). Each cohort's evidence says which views hold it."""
    src = tmp_path / "src"
    support_generator().generate(src, seed=11)
    write_paraphrased(src, 11, PARAPHRASES, support_noises(support_generator()))
    analysed(tmp_path, lambda root, seed: None, 11, ("paraphrased",))
    default = clustered_quality(tmp_path, "paraphrased")
    assert default.ari < 0.6, default.to_json()
    monkeypatch.setattr(ensemble, "ENSEMBLE", True)
    agreed = clustered_quality(tmp_path, "paraphrased")
    assert agreed.ari >= 0.95 and agreed.causeless_kept_out == 1.0, agreed.to_json()
    for cause in agreed.main_causes():
        assert agreed.recall[cause] >= 0.9 and agreed.cause_purity[cause] >= 0.9, (cause, agreed.to_json())
    index = json.loads((tmp_path / "paraphrased" / "cohorts" / "index.json").read_text())
    views = [c["evidence"]["views"] for c in index["cohorts"]]
    assert all(list(v) == [view.name for view in ensemble.VIEWS] for v in views), views
    assert all(sum(j >= ensemble.HELD for j in v.values()) >= 2 for v in views), views  # two views hold each cohort
    page = (tmp_path / "paraphrased" / "cohorts" / f"{index['cohorts'][0]['slug']}.md").read_text()
    assert "- views that agree: " in page and "trace view" in page, page


@needs_default
def test_quoting_analysts_mixed_cohorts_split_where_the_views_disagree(tmp_path: Path, ensemble_on: None) -> None:
    """dev_ledger.py seed 32, quoting analysts: by default 0.741 (min cause purity 0.50, causeless kept out
    0.53); the consensus 0.946 (purity 1.00, kept out 0.84)."""
    analysed(tmp_path, dev_ledger.generate, 32, ("quoting",))
    q = clustered_quality(tmp_path, "quoting")
    assert q.ari >= 0.9, q.to_json()
    assert min(q.cause_purity[c] for c in q.main_causes()) >= 0.95, q.to_json()
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.8, q.to_json()


def test_each_view_clusters_as_it_does_alone(tmp_path: Path) -> None:
    """The views share their reads (`cluster.shared_reads`: trace errors, calls, the passing runs' list);
    each view's labels are what `cluster_labels` gives with that view's setting, outside the ensemble."""
    analysed(tmp_path, dev_ledger.generate, 31, ("quoting",))
    failures, _ = collect_failures(BacktestFolder(tmp_path / "quoting"))
    agreed = ensemble.ensemble(failures, meaning=False)
    assert set(agreed.views) == {view.name for view in ensemble.VIEWS}
    for view in ensemble.VIEWS:
        with ensemble.flags_on(view.flags):
            alone = cluster_labels(failures, **{"meaning": False, **view.options})
        assert agreed.views[view.name] == alone, view.name
    assert agreed.labels == consensus(list(agreed.views.values()))

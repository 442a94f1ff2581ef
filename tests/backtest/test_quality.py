"""Partitions scored by agentbook.backtest.quality: a clustering's labels as cohorts, and the fingerprint
partition, the baseline the clustering is measured against."""

from __future__ import annotations

from pathlib import Path

from agentbook.backtest.cluster import NO_CAUSE, Failure
from agentbook.backtest.folder import Investigation
from agentbook.backtest.quality import cohorts_of, fingerprint_partition, score


def _failure(id_: str, stage: str, path: str, error: str) -> Failure:
    inv = Investigation(id=id_, account="a", path=Path("investigations/a") / id_, verdict="wrong", score=0.0, meta={})
    return Failure(inv, {"stage": stage, "suspected": [{"path": path}], "error_signature": error})


def test_one_cohort_per_stage_file_and_masked_error() -> None:
    failures = [
        _failure("i1", "retrieval", "src/Search.py:10", "Timeout after 30s for doc 4f3a9c1e"),
        _failure("i2", "retrieval", "src/search.py:88", "timeout after 45s for doc 0b7d2e55"),  # same, masked
        _failure("i3", "retrieval", "src/rank.py:3", "timeout after 30s for doc 4f3a9c1e"),  # another file
        _failure("i4", "answer", "src/search.py:10", "timeout after 30s for doc 4f3a9c1e"),  # another stage
        _failure("i5", "retrieval", "src/search.py:10", "KeyError: 'title'"),  # another error
    ]
    assert sorted(map(sorted, fingerprint_partition(failures))) == [["i1", "i2"], ["i3"], ["i4"], ["i5"]]


def test_it_scores_like_any_partition() -> None:
    failures = [_failure(f"i{n}", "retrieval", "src/search.py", f"timeout after {n}s") for n in range(4)]
    quality = score(fingerprint_partition(failures), {"i0": "slow", "i1": "slow", "i2": "slow", "i3": None})
    assert quality.cohorts == 1 and quality.recall == {"slow": 1.0} and quality.causeless_kept_out == 0.0


def test_labels_become_cohorts_and_the_bucket_none() -> None:
    failures = [_failure(f"i{n}", "retrieval", "src/search.py", "timeout") for n in range(5)]
    assert cohorts_of(failures, [1, NO_CAUSE, 0, 1, NO_CAUSE]) == [["i0", "i3"], ["i2"]]

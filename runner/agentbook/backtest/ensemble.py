"""Cohorts the views of the failures agree on: a cluster ensemble over cluster.py's views.

cluster.py has several opt-in views of what the analysts found (ARCHITECTURE.md, "Cohorts by meaning"):
the trace view binds findings its analysts paraphrase by what their traces did; reading only what the
word weights keep stops benign content and style from binding; codes told apart and framing left out
split two causes at one place. Each wins on some backtests and loses on others, and nothing in a
backtest without labels says which to trust. So every view clusters the same failures (VIEWS), and the
cohorts are those the views agree on: the co-association of two failures is the share of views that
put them in one cohort (a bucketed failure is with nobody), and average linkage on it cut at AGREE
keeps groups whose pairs the views put together on average more often than that (Strehl and Ghosh's
cluster-based similarity partitioning). A failure half the views bucket stays in the bucket; a member the
views put with the rest of its group less often than AGREE on average leaves it, as `cluster._tight`
does. The five views (VIEWS): the default, the trace view, reads kept, codes+framing, and words alone (no
meaning model). Views that join (the trace view, words alone) and views that split (codes) are weighed alike:
two views that join a pair join it, and a split holds only where four of five views make it. The views
share the trace reads and the list of passing runs (`cluster.shared_reads`). Each cohort records which views hold it (`Agreed.held`: per
view, the Jaccard of the cohort with that view's nearest cohort). Opt-in (ENSEMBLE): measured once on the
held-out generators it helped four rows and lowered two (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentbook.backtest import features
from agentbook.backtest.cluster import NO_CAUSE, Clustering, Failure, cluster, shared_reads
from agentbook.backtest.deps import need
from agentbook.backtest.embeddings import Choice, Meaning
from agentbook.backtest.features import FeatureSpace

ENSEMBLE = False  # cohorts from the views' consensus (`ensemble`) in `backtest cluster`? Opt-in: see ARCHITECTURE.md
AGREE = 0.35  # failures are one cause when more than this share of the views put them in one cohort (on average):
# two of five. Tuned on the dev rows (bench_cluster_quality.py): at 0.5 (three of five) a join only the trace view and
# words alone make is lost (support paraphrased ARI min 0.952 -> 0.62), at 0.19 (any one view) every view's joins count
BUCKETED = 0.5  # a failure this share of the views buckets stays in the bucket
KEPT_FLAGS = ("MEANING_READS_KEPT", "CONTENT_CONTRAST", "CORE_FIELDS_KEPT")  # "reads kept" (features.py)
CODE_FLAGS = ("KEEP_NUMBERS", "STRIP_FRAMING")  # "codes+framing" (features.py)
HELD = 0.8  # a view holds a cohort when one of its cohorts has at least this Jaccard with it


@contextmanager
def flags_on(names: Sequence[str]) -> Iterator[None]:
    """The `features` flags named on for the duration (cluster.py reads them when it runs)."""
    saved = {name: getattr(features, name) for name in names}
    try:
        for name in names:
            setattr(features, name, True)
        yield
    finally:
        for name, value in saved.items():
            setattr(features, name, value)


@dataclass(frozen=True)
class View:
    name: str
    flags: tuple[str, ...] = ()  # features flags on
    options: dict[str, Any] = field(default_factory=dict)  # cluster() keywords


VIEWS = (View("default"), View("trace view", options={"traced": True}), View("reads kept", KEPT_FLAGS),
         View("codes+framing", CODE_FLAGS), View("words", options={"meaning": False}))


@dataclass
class Agreed:
    """The consensus labels (NO_CAUSE for the bucket), each view's labels, and per consensus cohort (by
    label) which views hold it: view name -> Jaccard with that view's nearest cohort."""

    labels: list[int]
    views: dict[str, list[int]]
    held: dict[int, dict[str, float]]
    space: FeatureSpace  # the first view's (the default's) feature space
    meaning: Meaning


def view_labels(failures: Sequence[Failure], views: Sequence[View] = VIEWS, *, seed: int = 0,
                meaning: Choice = True, **options: Any) -> tuple[dict[str, list[int]], FeatureSpace, Meaning]:
    """Each view's labels (at least one view); the first view's space and meaning note."""
    out: dict[str, list[int]] = {}
    first: Clustering | None = None
    with shared_reads():
        for view in views:
            with flags_on(view.flags):
                done = cluster(failures, seed=seed, **{"meaning": meaning, **options, **view.options})
            out[view.name] = done.labels
            first = first or done
    if first is None:
        raise ValueError("an ensemble needs at least one view")
    return out, first.space, first.meaning


def coassociation(partitions: Sequence[Sequence[int]]) -> Any:
    """Share of the partitions that put each pair in one cohort (NO_CAUSE is with nobody, itself included)."""
    np = need("numpy", "clustering")
    labels = np.array(partitions)
    together = (labels[:, :, None] == labels[:, None, :]) & (labels[:, :, None] != NO_CAUSE)
    return together.mean(axis=0)


def consensus(partitions: Sequence[Sequence[int]], agree: float = AGREE) -> list[int]:
    """One partition from several: average linkage on 1 - co-association cut at 1 - `agree`, a failure
    most partitions bucket left in the bucket, members the others hold less than `agree` on average
    dropped, groups of one bucketed. Labels numbered by first appearance (deterministic)."""
    np = need("numpy", "clustering")
    n = len(partitions[0])
    if n < 2:
        return [NO_CAUSE] * n
    co = coassociation(partitions)
    bucketed = (np.array(partitions) == NO_CAUSE).mean(axis=0) >= BUCKETED
    from sklearn.cluster import AgglomerativeClustering

    dist = 1.0 - co
    np.fill_diagonal(dist, 0.0)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=1.0 - agree, metric="precomputed",
                                    linkage="average")
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(model.fit_predict(dist)):
        if not bucketed[row]:
            groups.setdefault(int(label), []).append(row)
    raw = [NO_CAUSE] * n
    for rows in groups.values():
        rows = _held(rows, co, agree, np)
        for row in rows:
            raw[row] = rows[0]
    renumber: dict[int, int] = {}
    return [NO_CAUSE if x == NO_CAUSE else renumber.setdefault(x, len(renumber)) for x in raw]


def _held(rows: list[int], co: Any, agree: float, np: Any) -> list[int]:
    """The members the views put with the rest of the group more than `agree` of the time on average."""
    while len(rows) >= 2:
        block = co[np.ix_(rows, rows)]
        mean = (block.sum(axis=1) - 1) / (len(rows) - 1)
        worst = int(np.argmin(mean))
        if mean[worst] > agree:
            return rows
        rows = rows[:worst] + rows[worst + 1:]
    return []


def held_by(labels: Sequence[int], views: dict[str, list[int]]) -> dict[int, dict[str, float]]:
    """Per consensus cohort, per view, the Jaccard of the cohort with the view's nearest cohort."""
    out: dict[int, dict[str, float]] = {}
    for label in sorted({x for x in labels if x != NO_CAUSE}):
        members = {i for i, x in enumerate(labels) if x == label}
        out[label] = {}
        for name, theirs in views.items():
            best = 0.0
            for other in {theirs[i] for i in members if theirs[i] != NO_CAUSE}:
                group = {i for i, x in enumerate(theirs) if x == other}
                best = max(best, len(members & group) / len(members | group))
            out[label][name] = round(best, 2)
    return out


def ensemble(failures: Sequence[Failure], views: Sequence[View] = VIEWS, *, seed: int = 0, meaning: Choice = True,
             agree: float = AGREE, **options: Any) -> Agreed:
    """The cohorts `views` agree on (module doc); `options` go to every view's `cluster.cluster`."""
    labels, space, note = view_labels(failures, views, seed=seed, meaning=meaning, **options)
    agreed = consensus(list(labels.values()), agree) if failures else []
    return Agreed(agreed, labels, held_by(agreed, labels), space, note)


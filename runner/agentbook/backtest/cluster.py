"""`backtest cluster`: group the failures of a backtest into cohorts (causes).

Deterministic first: each failure is normalised into a fingerprint (stage, component file, error
signature with numbers, ids and quoted values masked); failures with the same fingerprint always share
a cohort. Fingerprint groups are then merged by agglomerative clustering (scikit-learn) over TF-IDF
vectors of the analysts' failure descriptions plus the stage and component. An optional model pass
(`refine.py`) names, merges and splits the candidates. Stability is measured, not assumed: the
clustering is repeated with a second seed (another order and a 90% subsample) and the adjusted Rand
index between the two labelings is reported.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from agentbook.backtest.deps import need
from agentbook.backtest.features import FeatureSpace, build_features, describe_failure, normalise_error
from agentbook.backtest.folder import BacktestFolder, Investigation

SUBSAMPLE = 0.9  # share of failures the stability run keeps
DISTANCE = 0.9  # cosine distance under which groups merge (average linkage)
MEMBER_SIMILARITY = 0.12  # a member less similar than this to the rest of its group on average is bucketed
PAIR_SIMILARITY = 0.6  # two failures alone make a cohort only when this similar
NO_CAUSE = -1
SYSTEMIC_ACCOUNTS = 3  # a cohort spread over at least this many accounts (and not account-specific)

@dataclass
class Failure:
    inv: Investigation
    analysis: dict[str, Any]

    @property
    def stage(self) -> str:
        return str(self.analysis.get("stage") or "other")

    @property
    def component(self) -> str:
        """The primary suspected file, without line, lower-cased: the unit a fix lands in."""
        suspected = self.analysis.get("suspected") or []
        return str(PurePosixPath(suspected[0]["path"].split(":")[0])).lower() if suspected else "unknown"

    @property
    def signature(self) -> str:
        return normalise_error(self.analysis.get("error_signature") or "")


@dataclass
class Cohort:
    key: str  # stable id of the candidate (c01, c02, ...) or the model's slug
    members: list[Failure]
    name: str = ""
    slug: str = ""
    definition: str = ""
    proposed_change: str = ""
    sources: list[str] = field(default_factory=list)  # candidate keys it came from
    medoid: Failure | None = None  # the most representative member (evidence.py)
    evidence: dict[str, Any] = field(default_factory=dict)  # what binds it (evidence.py)
    account_test: dict[str, Any] = field(default_factory=dict)  # is one account over-represented?
    locations: list[dict[str, Any]] = field(default_factory=list)  # cited code, checked against --code

    @property
    def accounts(self) -> Counter[str]:
        return Counter(f.inv.account for f in self.members)

    @property
    def scope(self) -> str:
        if self.account_test.get("specific"):
            return "account-specific"
        if len(self.accounts) >= SYSTEMIC_ACCOUNTS:
            return "systemic"
        return "few-accounts"

    def suspected(self) -> list[tuple[str, int]]:
        """Code locations (path[:line]) with how many members point at each, most cited first."""
        counts: Counter[str] = Counter()
        for f in self.members:
            for s in (f.analysis.get("suspected") or [])[:3]:
                counts[f"{s['path']}:{s['line']}" if s.get("line") else s["path"]] += 1
        return counts.most_common()


def collect_failures(folder: BacktestFolder) -> tuple[list[Failure], list[Investigation]]:
    """Failed investigations with an analysis, and failed ones still lacking one."""
    failures, missing = [], []
    for inv in folder.iter_investigations():
        if inv.correct:
            continue
        analysis = inv.analysis()
        if analysis is None:
            missing.append(inv)
        else:
            failures.append(Failure(inv, analysis))
    return failures, missing


@dataclass
class Clustering:
    """Labels per failure (NO_CAUSE for the no-common-cause bucket) and the space they were made in."""

    labels: list[int]
    space: FeatureSpace


def cluster(failures: Sequence[Failure], *, seed: int = 0, distance: float | None = None) -> Clustering:
    """Average-linkage clustering of the failures' feature vectors (cosine distance under `distance`).

    A group too loose to be a cause goes to the bucket: a single failure, a pair less similar than
    PAIR_SIMILARITY, and any member whose mean similarity to the rest of its group is under
    MEMBER_SIMILARITY. Labels are numbered by first appearance in `failures`; the seed shuffles the
    order the clustering sees, which must not decide the result."""
    np = need("numpy", "clustering")
    from sklearn.cluster import AgglomerativeClustering

    order = list(range(len(failures)))
    random.Random(seed).shuffle(order)
    space = build_features([describe_failure(failures[i].analysis) for i in order])
    if len(failures) < 2:
        return Clustering([NO_CAUSE] * len(failures), space)
    sim = space.similarity()
    # a term every failure has weighs 0, so failures described alike are zero rows, which cosine cannot
    # place: all of them zero is one cause; a few zero among others share nothing that binds (bucket)
    nonzero = [row for row in range(len(order)) if space.matrix[row].any()]
    groups: dict[int, list[int]] = {}
    if not nonzero:
        groups[0] = list(range(len(order)))
        sim = np.ones((len(order), len(order)))
    elif len(nonzero) == 1:
        pass
    else:
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance or DISTANCE, metric="cosine",
                                        linkage="average")
        for row, label in zip(nonzero, model.fit_predict(space.matrix[nonzero]), strict=True):
            groups.setdefault(int(label), []).append(row)
    raw = [NO_CAUSE] * len(failures)
    for rows in groups.values():
        for row in _tight(rows, sim, np):
            raw[order[row]] = rows[0] + 1  # any id unique to the group
    renumber: dict[int, int] = {}
    labels = [NO_CAUSE if x == NO_CAUSE else renumber.setdefault(x, len(renumber)) for x in raw]
    inverse = [0] * len(order)
    for row, i in enumerate(order):
        inverse[i] = row
    return Clustering(labels, FeatureSpace(space.matrix[inverse], space.terms))


def _tight(rows: list[int], sim: Any, np: Any) -> list[int]:
    """The members of a group that make a cause: the rest go to the no-common-cause bucket."""
    while len(rows) > 2:
        block = sim[np.ix_(rows, rows)]
        mean = (block.sum(axis=1) - 1) / (len(rows) - 1)
        worst = int(np.argmin(mean))
        if mean[worst] >= MEMBER_SIMILARITY:
            return rows
        rows = rows[:worst] + rows[worst + 1:]
    if len(rows) == 2 and sim[rows[0], rows[1]] >= PAIR_SIMILARITY:
        return rows
    return []


def cluster_labels(failures: Sequence[Failure], *, seed: int = 0, distance: float | None = None) -> list[int]:
    """A cohort label per failure, NO_CAUSE (-1) for the bucket; labels numbered by first appearance."""
    return cluster(failures, seed=seed, distance=distance).labels


def _named(labels: list[int], ids: Sequence[int]) -> list[str]:
    """Labels for the adjusted Rand index: every bucketed failure is a group of its own."""
    return [f"b{i}" if label == NO_CAUSE else f"c{label}" for i, label in zip(ids, labels, strict=True)]


def stability(failures: Sequence[Failure], seeds: tuple[int, int] = (0, 1)) -> float:
    """Adjusted Rand index between the full clustering (seed A) and a 90% subsample in another order
    (seed B), over the failures both contain. 1.0 means the same partition."""
    from sklearn.metrics import adjusted_rand_score

    if len(failures) < 3:
        return 1.0
    full = cluster_labels(failures, seed=seeds[0])
    rng = random.Random(seeds[1])
    kept = sorted(rng.sample(range(len(failures)), max(2, int(len(failures) * SUBSAMPLE))))
    sub = cluster_labels([failures[i] for i in kept], seed=seeds[1])
    return float(adjusted_rand_score(_named([full[i] for i in kept], kept), _named(sub, kept)))


@dataclass
class Candidates:
    cohorts: list[Cohort]  # biggest first, keyed c01, c02, ...
    unassigned: list[Failure]  # the no-common-cause bucket
    space: FeatureSpace
    rows: dict[str, int]  # investigation id -> row of `space`


def candidate_cohorts(failures: Sequence[Failure], *, seed: int = 0) -> Candidates:
    """Deterministic cohorts and the failures that share a cause with none of them."""
    result = cluster(failures, seed=seed)
    by_label: dict[int, list[Failure]] = {}
    for f, label in zip(failures, result.labels, strict=True):
        by_label.setdefault(label, []).append(f)
    bucket = by_label.pop(NO_CAUSE, [])
    ordered = sorted(by_label.values(), key=lambda ms: (-len(ms), ms[0].inv.id))
    cohorts = [Cohort(key=f"c{n:02d}", members=members, sources=[f"c{n:02d}"])
               for n, members in enumerate(ordered, 1)]
    rows = {f.inv.id: i for i, f in enumerate(failures)}
    return Candidates(cohorts=cohorts, unassigned=bucket, space=result.space, rows=rows)

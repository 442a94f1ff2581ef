"""How well cohorts recover known causes: for a backtest whose causes were planted (or labelled by hand).

`truth` maps an investigation id to its cause, or None for a failure with no common cause. Cohort
members are investigation ids; whatever no cohort holds is in the no-common-cause bucket.

- ARI: adjusted Rand index between the cohorts and the causes, where every causeless failure and
  every bucketed one counts as its own group (it shares a cause with nothing);
- purity: the share of cohort members (bucket excluded) in their cohort's majority cause, a causeless
  member counting against it;
- recall per cause: the largest share of the cause's failures that one cohort holds, and that
  cohort's purity (the share of its members with this cause);
- causeless kept out: the share of causeless failures in no cohort.

`fingerprint_partition` is the baseline the clustering is measured against (bench/bench_cluster_quality.py,
bench/bench_cluster_real.py, tests/backtest/test_real_failures.py): the partition the pipeline used
before it clustered, one cohort per stage | suspected file | masked error text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentbook.backtest.cluster import Failure


@dataclass
class Quality:
    ari: float
    purity: float
    recall: dict[str, float]
    sizes: dict[str, int]
    causeless_kept_out: float | None  # None when there is no causeless failure
    cohorts: int
    bucketed: int
    cause_purity: dict[str, float] = field(default_factory=dict)  # purity of the cohort holding most of a cause

    def to_json(self) -> dict[str, object]:
        return {"ari": round(self.ari, 4), "purity": round(self.purity, 4),
                "recall": {k: round(v, 4) for k, v in self.recall.items()}, "sizes": self.sizes,
                "cause_purity": {k: round(v, 4) for k, v in self.cause_purity.items()},
                "causeless_kept_out": None if self.causeless_kept_out is None else round(self.causeless_kept_out, 4),
                "cohorts": self.cohorts, "bucketed": self.bucketed}

    def main_causes(self, min_size: int = 5) -> list[str]:
        return sorted(c for c, n in self.sizes.items() if n >= min_size)


def score(cohorts: Sequence[Sequence[str]], truth: Mapping[str, str | None]) -> Quality:
    from sklearn.metrics import adjusted_rand_score

    failures = sorted(truth)
    where = {m: n for n, members in enumerate(cohorts) for m in members}
    predicted = [f"c{where[i]}" if i in where else f"alone:{i}" for i in failures]
    planted = [f"cause:{truth[i]}" if truth[i] else f"none:{i}" for i in failures]
    ari = float(adjusted_rand_score(planted, predicted))
    held = [m for members in cohorts for m in members if m in truth]
    majority = sum(Counter(truth[m] or f"none:{m}" for m in members if m in truth).most_common(1)[0][1]
                   for members in cohorts if any(m in truth for m in members))
    sizes = Counter(c for c in truth.values() if c)
    recall = {cause: max((sum(1 for m in members if truth.get(m) == cause) for members in cohorts), default=0) / n
              for cause, n in sorted(sizes.items())}
    cause_purity = {}
    for cause in sizes:
        counts = [sum(1 for m in members if truth.get(m) == cause) for members in cohorts]
        best = max(range(len(cohorts)), key=lambda n: counts[n], default=None)
        cause_purity[cause] = counts[best] / len(cohorts[best]) if best is not None and counts[best] else 0.0
    causeless = [i for i in failures if not truth[i]]
    kept = sum(1 for i in causeless if i not in where) / len(causeless) if causeless else None
    return Quality(ari=ari, purity=majority / len(held) if held else 1.0, recall=recall, sizes=dict(sizes),
                   causeless_kept_out=kept, cohorts=len(cohorts), bucketed=len(failures) - len(where),
                   cause_purity=dict(sorted(cause_purity.items())))


def cohorts_of(failures: Sequence[Failure], labels: Sequence[int]) -> list[list[str]]:
    """The cohorts (member ids) that a clustering's labels make, the no-common-cause bucket left out:
    what `score` takes."""
    from agentbook.backtest.cluster import NO_CAUSE

    groups: dict[int, list[str]] = {}
    for f, label in zip(failures, labels, strict=True):
        if label != NO_CAUSE:
            groups.setdefault(label, []).append(f.inv.id)
    return list(groups.values())


def fingerprint_partition(failures: Sequence[Failure]) -> list[list[str]]:
    """One cohort per stage | suspected file | masked error text (its first 80 characters), causeless or not."""
    groups: dict[str, list[str]] = {}
    for f in failures:
        groups.setdefault(f"{f.stage}|{f.component}|{f.signature[:80]}", []).append(f.inv.id)
    return list(groups.values())

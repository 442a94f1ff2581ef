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
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from agentbook.backtest.deps import need
from agentbook.backtest.folder import BacktestFolder, Investigation

if TYPE_CHECKING:
    import numpy as np

SUBSAMPLE = 0.9  # share of failures the stability run keeps
DISTANCE = 0.6  # cosine distance under which fingerprint groups merge (average linkage)
STAGE_WEIGHT, COMPONENT_WEIGHT = 0.3, 0.5  # relative to the unit-length TF-IDF text vector
SPECIFIC_SHARE = 0.8  # a cohort this concentrated in one account is account-specific
SYSTEMIC_ACCOUNTS = 3  # ... and one spread over at least this many accounts is systemic

_MASKS = [
    (re.compile(r"\b[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?(z|[+-]\d{2}:\d{2})?", re.IGNORECASE), "<time>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\"[^\"]*\"|'[^']*'"), "<str>"),
    (re.compile(r"\{[^}]*\}"), "<sel>"),
    (re.compile(r"\s+"), " "),
]


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
        return normalise_signature(self.analysis.get("error_signature") or "")

    @property
    def fingerprint(self) -> str:
        return f"{self.stage}|{self.component}|{self.signature[:80]}"

    def document(self) -> str:
        step = self.analysis.get("first_wrong_step") or {}
        return " ".join(str(x) for x in (self.analysis.get("failure_mode") or "", self.signature,
                                          step.get("description", ""), self.component) if x)


def normalise_signature(text: str) -> str:
    text = text.strip().lower()
    for rx, repl in _MASKS:
        text = rx.sub(repl, text)
    return text.strip()


@dataclass
class Cohort:
    key: str  # stable id of the candidate (c01, c02, ...) or the model's slug
    members: list[Failure]
    name: str = ""
    slug: str = ""
    definition: str = ""
    proposed_change: str = ""
    sources: list[str] = field(default_factory=list)  # candidate keys it came from

    @property
    def accounts(self) -> Counter[str]:
        return Counter(f.inv.account for f in self.members)

    @property
    def scope(self) -> str:
        accounts = self.accounts
        top = accounts.most_common(1)[0][1] if accounts else 0
        if len(self.members) >= 2 and top / len(self.members) >= SPECIFIC_SHARE:
            return "account-specific"
        if len(accounts) >= SYSTEMIC_ACCOUNTS:
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


def _features(failures: Sequence[Failure]) -> np.ndarray:
    np = need("numpy", "clustering")
    need("sklearn", "clustering")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    docs = [f.document() for f in failures]
    text = TfidfVectorizer(sublinear_tf=True, stop_words="english", ngram_range=(1, 2),
                           token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_.]+\b").fit_transform(docs)
    stages = sorted({f.stage for f in failures})
    components = sorted({f.component for f in failures})
    cat = np.zeros((len(failures), len(stages) + len(components)))
    for i, f in enumerate(failures):
        cat[i, stages.index(f.stage)] = STAGE_WEIGHT
        cat[i, len(stages) + components.index(f.component)] = COMPONENT_WEIGHT
    dense = np.hstack([normalize(text).toarray(), cat])
    return np.asarray(normalize(dense))


def cluster_labels(failures: Sequence[Failure], *, seed: int = 0, distance: float = DISTANCE) -> list[int]:
    """A cohort label per failure. Same fingerprint -> same label; labels numbered by first appearance."""
    np = need("numpy", "clustering")
    from sklearn.cluster import AgglomerativeClustering

    if not failures:
        return []
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(failures):
        groups.setdefault(f.fingerprint, []).append(i)
    keys = list(groups)
    random.Random(seed).shuffle(keys)  # the input order must not decide the result; the seed varies it
    features = _features(failures)
    centroids = np.array([features[groups[k]].mean(axis=0) for k in keys])
    if len(keys) == 1:
        group_label = [0]
    else:
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                        linkage="average")
        group_label = [int(x) for x in model.fit_predict(centroids)]
    raw = [0] * len(failures)
    for key, label in zip(keys, group_label, strict=True):
        for i in groups[key]:
            raw[i] = label
    renumber: dict[int, int] = {}
    return [renumber.setdefault(label, len(renumber)) for label in raw]


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
    return float(adjusted_rand_score([full[i] for i in kept], sub))


def candidate_cohorts(failures: Sequence[Failure], *, seed: int = 0) -> list[Cohort]:
    """Deterministic cohorts, biggest first, keyed c01, c02, ... in that order."""
    labels = cluster_labels(failures, seed=seed)
    by_label: dict[int, list[Failure]] = {}
    for f, label in zip(failures, labels, strict=True):
        by_label.setdefault(label, []).append(f)
    ordered = sorted(by_label.values(), key=lambda ms: (-len(ms), ms[0].inv.id))
    cohorts = []
    for n, members in enumerate(ordered, 1):
        cohort = Cohort(key=f"c{n:02d}", members=members, sources=[f"c{n:02d}"])
        cohort.name, cohort.definition = describe(members)
        cohort.proposed_change = _most_common([f.analysis.get("proposed_change") or "" for f in members])
        cohorts.append(cohort)
    return cohorts


def _most_common(values: list[str]) -> str:
    present = [v for v in values if v]
    return Counter(present).most_common(1)[0][0] if present else ""


def _words(text: str, limit: int) -> str:
    """`text` cut at a word boundary to about `limit` characters."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def describe(members: Sequence[Failure]) -> tuple[str, str]:
    """A deterministic name and definition: the dominant stage, component and error signature."""
    stage = Counter(f.stage for f in members).most_common(1)[0][0]
    component = Counter(f.component for f in members).most_common(1)[0][0]
    signature = _most_common([f.signature for f in members])
    mode = _most_common([f.analysis.get("failure_mode") or "" for f in members])
    name = f"{stage}: {PurePosixPath(component).name}" + (f" ({_words(signature, 60)})" if signature else "")
    definition = f"Failures first going wrong at the {stage} stage, pointing at `{component}`"
    definition += f", with errors like `{signature[:160]}`." if signature else "."
    if mode:
        definition += f" Typical analyst finding: {mode}"
    return name, definition

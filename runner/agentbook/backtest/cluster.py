"""`backtest cluster`: group the failures of a backtest into cohorts (causes).

Deterministic first, in two views of what the analysts found (features.py):

1. Groups: average-linkage agglomerative clustering (scikit-learn) of the failures' TF-IDF vectors
   (findings, normalised errors and error classes, stage / file / tool as features, and with
   `trace=True` the errors each failure's trace records, traceterms.py, with `calls=True` the calls and
   argument identifiers it records that tell failures from passing runs, tracecalls.py), blended with
   what the findings mean (embeddings.py: a word-embedding model, when installed), cut at a cosine
   distance; a member too unlike the rest of its group goes to the no-common-cause bucket. Beside
   them, opt-in, what the traces did (`trace_view`, `traced=True`): two failures whose traces carry the same
   marks (the column their SQL names, what their model said, kept where failures carry it clearly more
   often than passing runs, symptoms left out) are at least TRACE_VIEW_SHARE times as alike as those
   marks, so one cause its analysts paraphrase (synonyms, another angle, another language) stays whole.
2. Cores: the same clustering in the corroborated view, where a term counts in a failure only when
   other evidence backs it, so framing and boilerplate that analysts repeat everywhere bind nothing.
   A group is a cause only if at least CORE_SIZE of its members also share a core; a group held
   together only by wording that failures with nothing else in common share goes to the bucket. So does a
   member of a cause's group that no core holds, unless a second signal vouches for it (`within_reach`):
   its words reach a core (relative to the core's own similarity), its trace carries the core's mark, or
   its stage and file are a cored member's; framing the group shares held causeless failures in it.
3. Bridges: groups whose members' stages and files agree (`bridge`) are one cause written in styles or
   languages whose words never meet (English notes and another language's shorthand), and merge.
   Groups written alike whose stages and files agree are two causes at one place, or one cause worded
   apart where a second view agrees: both carry one trace mark (`share_mark`, the default; their fields then
   need agree less, BRIDGE_MARKED), or, opt-in
   (`join`), a second encoder, MiniLM, finds them each other's nearest and more alike than a typical
   pair (`joined`).

4. Codes (opt-in, features.KEEP_NUMBERS): a group whose members quote rival codes
   (`features.code_conflicts`: numbers that fill one slot,
   "returned 409" / "returned 422", and that the backtest's numbers say are constants, not values,
   `features.numbers_kept`) is split by code (`split_codes`), and groups quoting rival codes are never
   bridged: two causes at one place whose errors differ only in a number.

Groups come from the plain view because it keeps one cause worded several ways whole (the words
the wordings share, the framing around them, and their meaning add up; meaning joins wordings that
share no content word, "timed out" / "deadline exceeded"); cores come from the corroborated view
because it keeps failures that share only framing apart. An optional model pass (`refine.py`)
names, merges and splits the candidates. Stability is measured, not assumed: the clustering is
repeated with a second seed (another order and a 90% subsample) and the adjusted Rand index between
the two labelings is reported.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from agentbook.backtest import features
from agentbook.backtest.deps import need
from agentbook.backtest.embeddings import MINILM, Choice, Meaning, MeaningUnavailable, embedder
from agentbook.backtest.features import (
    FRAMING_FIELDS,
    Described,
    FeatureSpace,
    analyst_texts,
    bound_codes,
    build_features,
    call_enriched,
    class_conflicts,
    classes_of,
    code_conflicts,
    corroborated,
    describe_failure,
    field_values,
    framing_presence,
    framing_stripped,
    is_call,
    normalise_error,
    numbers_kept,
    trace_terms,
)
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.tracecalls import OUTPUTS, call_terms
from agentbook.backtest.traceterms import trace_errors
from agentbook.redaction import process_redactor

SUBSAMPLE = 0.9  # share of failures the stability run keeps
DISTANCE = 0.9  # cosine distance under which groups merge (average linkage)
MEMBER_SIMILARITY = 0.12  # a member less similar than this to the rest of its group on average is bucketed
PAIR_SIMILARITY = 0.6  # two failures alone make a cohort only when this similar
CORE_SIZE = 2  # a group is a cause only if this many of its members share a core (corroborated view)
CORE_REACH = 0.45  # a member no core holds, less like a core than this share of its own similarity, is bucketed ...
REACH_ELSEWHERE = 0.5  # ... unless it carries a trace mark of the core (at most this times as common outside), or
# shares a cored member's stage and file (`within_reach`); 0 turns the test off
BRIDGE_FIELDS = 0.8  # two groups written differently whose stages and files agree this much (Bhattacharyya) ...
BRIDGE_MARKED = 0.7  # ... and groups that carry one trace mark (`share_mark`) this much
BRIDGE_STYLE = 0.5  # ... are one cause; written alike (framing profiles' cosine at least this), they are not
# With meaning (embeddings.py) the plain view lifts the words' cosine by the meaning's (features.FeatureSpace.similarity):
# every pair more alike in meaning than the backtest's typical pair comes nearer than on words alone, so
# groups are cut closer. With the default blend a member must be more like the rest of its group; with
# features.MEANING_READS_KEPT (opt-in) meaning only adds to what words give, and a member is tested as on words alone.
MEANING_DISTANCE = 0.85
MEANING_MEMBER_SIMILARITY = 0.2  # the blend's
WORDS_ONLY = Meaning(False, "words only: meaning turned off")
NO_CAUSE = -1
TRACE_ERRORS = False  # read the errors each failure's trace records (traceterms.py)? Opt-in: see ARCHITECTURE.md
TRACE_CALLS = True  # read the calls and argument identifiers each trace records (tracecalls.py)? See ARCHITECTURE.md
TRACE_MARKS = False  # move members to the group whose trace mark they carry (`by_marks`)? Opt-in: see ARCHITECTURE.md
MARK_SHARE = 0.8  # of a group's members that carry a term for it to be the group's mark ...
MARK_ELSEWHERE = 0.1  # ... and at most this share of the other failures
JOIN_MARKS = True  # bridge groups written alike that carry one trace mark (`share_mark`)? See ARCHITECTURE.md
JOIN_MARK_SHARE = 0.5  # more than this share of each group carries the mark ... (MARK_ELSEWHERE of the others at most)
JOIN_SPLITS = False  # bridge groups written alike when a second encoder agrees (`joined`)? Opt-in: see ARCHITECTURE.md
JOIN_ENCODER = MINILM  # the second view that must agree before groups written alike are bridged (`joined`)
TRACE_VIEW = False  # bind failures whose traces carry the same marks (`trace_view`)? Opt-in: see ARCHITECTURE.md
TRACE_VIEW_SHARE = 0.5  # a pair's similarity is at least this times its cosine in the trace view
SYMPTOM_TOUCH = 0.2  # a term carried by this share of another's carriers touches it (`symptoms`) ...
SYMPTOM_INSIDE = 0.8  # ... unless this share of its own carriers carry the other (it is part of it);
SYMPTOM_APART = 0.1  # a term touching two terms that at most this share of either's carriers share is a symptom
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
    # agentbook's own words beside an analyst's definition: what binds it, as [label, [thing, ...]] pairs
    # (evidence.summarise), kept apart so the analyst's backticks never pair with ours (report_md.definition)
    bound_by: list[list[Any]] = field(default_factory=list)
    proposed_change: str = ""
    sources: list[str] = field(default_factory=list)  # candidate keys it came from
    medoid: Failure | None = None  # the most representative member (evidence.py)
    evidence: dict[str, Any] = field(default_factory=dict)  # what binds it (evidence.py)
    account_test: dict[str, Any] = field(default_factory=dict)  # is one account over-represented?
    locations: list[dict[str, Any]] = field(default_factory=list)  # cited code, checked against --code
    views: dict[str, float] = field(default_factory=dict)  # which views hold it (ensemble.py): name -> Jaccard

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
            # redacted as read: a folder analysed before analyses were written redacted, or written by
            # anyone, may quote a key this process holds, and every page is rendered from these
            failures.append(Failure(inv, process_redactor().json(analysis)))
    return failures, missing


@dataclass
class Clustering:
    """Labels per failure (NO_CAUSE for the no-common-cause bucket) and the space they were made in."""

    labels: list[int]
    space: FeatureSpace
    meaning: Meaning = WORDS_ONLY


def cluster(failures: Sequence[Failure], *, seed: int = 0, distance: float | None = None,
            meaning: Choice = True, trace: bool = TRACE_ERRORS, calls: bool = TRACE_CALLS,
            outputs: bool = OUTPUTS, marks: bool = TRACE_MARKS, join: bool = JOIN_SPLITS,
            join_marks: bool = JOIN_MARKS, traced: bool = TRACE_VIEW) -> Clustering:
    """Groups in the plain view that hold a core of the corroborated view (see the module doc).

    A group too loose to be a cause goes to the bucket: a single failure, a pair less similar than
    PAIR_SIMILARITY, any member whose mean similarity to the rest of its group is under
    MEMBER_SIMILARITY, and a group fewer than CORE_SIZE of whose members share a core. Labels are
    numbered by first appearance in `failures`; the seed shuffles the order the clustering sees,
    which must not decide the result. `meaning` chooses the encoder (embeddings.py: True is `auto`,
    a name one encoder); `meaning=False` clusters on words alone, as when no encoder is installed.
    With `calls`, `outputs` also reads what the traces' models said and tools returned (tracecalls.py);
    `traced` binds failures whose traces carry the same marks (`trace_view`, with `calls` only);
    `marks` moves a member to the group whose trace mark it carries (`by_marks`); `join_marks` bridges
    groups written alike that carry one trace mark (`share_mark`), `join` those a second encoder finds
    one (`joined`)."""
    np = need("numpy", "clustering")
    order = list(range(len(failures)))
    random.Random(seed).shuffle(order)
    quoted = features.QUOTED_CONTRAST  # the errors are read for the analysts' words that name them too
    errors = [_errors_of(failures[i].inv.path) if trace or quoted else [] for i in order]
    called = [_calls_of(failures[i].inv.path, outputs) if calls else [] for i in order]
    keep = (numbers_kept([" ".join(analyst_texts(f.analysis)) for f in failures]) if features.KEEP_NUMBERS
            else frozenset())  # constants of this backtest (codes, limits): see `features.numbers_kept`
    described = [describe_failure(failures[i].analysis, errors[row] if trace else (), called[row], errors[row], keep)
                 for row, i in enumerate(order)]
    passing = passing_traces(failures, trace or quoted, calls, outputs, keep) if trace or calls or quoted else None
    space = build_features(described, passing=passing)
    # what the traces did, read with the calls (`--no-trace-calls` turns both off)
    carried = trace_marks([trace_terms((), c) for c in called], passing) if traced and calls and passing else None
    view = _cosines(carried, np) if carried is not None else None
    if view is not None:  # two failures whose analysts name unlike errors (a timeout, a parse error) stay apart
        view = view * ~class_conflicts([classes_of(d) for d in described])
    model, note = embedder(meaning)
    if len(failures) < 2:
        return Clustering([NO_CAUSE] * len(failures), space, note)
    # a term every failure has weighs 0: failures all described alike are all zero rows, one cause
    if not space.matrix.any():
        return Clustering([0] * len(failures), space, note)
    cores = _groups(corroborated(space).similarity(), distance or DISTANCE, MEMBER_SIMILARITY, np)
    core_of = {row: n for n, rows in enumerate(cores) for row in rows}
    if model is not None:
        texts = space.meaning_texts(described)  # less what the word weights take down, and framing
        space.meaning = model.embed(framing_stripped(described, texts) if features.STRIP_FRAMING else texts)
        space.classes = [classes_of(d) for d in described]
    blend = model is not None and not features.MEANING_READS_KEPT
    cut, member = (MEANING_DISTANCE if model is not None else DISTANCE,
                   MEANING_MEMBER_SIMILARITY if blend else MEMBER_SIMILARITY)
    raw = [NO_CAUSE] * len(failures)
    kept = []
    sim = space.similarity()
    codes = bound_codes(described, passing)
    conflicts = code_conflicts(codes)
    if view is not None:  # what the traces did binds failures however their analysts word it
        sim = np.maximum(sim, TRACE_VIEW_SHARE * view)
    marked = call_presence(space.matrix, space.terms) if CORE_REACH else None
    if marked is not None:  # a symptom (what failures of several causes carry) vouches for no member
        marked = marked[:, ~symptoms(marked)]
    places = [(failures[i].stage, failures[i].component) for i in order]
    for rows in _groups(sim, distance or cut, member, np):
        shared = Counter(core_of[row] for row in rows if row in core_of)
        if shared and shared.most_common(1)[0][1] >= CORE_SIZE:
            kept.append(within_reach(rows, core_of, sim, marked, places) if CORE_REACH else rows)
    groups = bridge(split_codes(kept, codes, conflicts, sim), described,
                    second_view(described) if join and model is not None else None,
                    call_presence(space.matrix, space.terms) if join_marks else None, conflicts)
    for rows in by_marks(groups, space.matrix, space.terms) if marks else groups:
        for row in rows:
            raw[order[row]] = rows[0] + 1  # any id unique to the group
    renumber: dict[int, int] = {}
    labels = [NO_CAUSE if x == NO_CAUSE else renumber.setdefault(x, len(renumber)) for x in raw]
    inverse = [0] * len(order)
    for row, i in enumerate(order):
        inverse[i] = row
    return Clustering(labels, space.reordered(inverse), note)


_SHARED: dict[tuple[str, Path, bool], Any] | None = None  # reads kept while `shared_reads` is open


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within it each investigation's trace errors and calls, and which investigations went right, are read
    once, however many clusterings ask (ensemble.py clusters the same failures in several views)."""
    global _SHARED
    outer = _SHARED
    _SHARED = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED = outer


def _errors_of(path: Path) -> Any:
    if _SHARED is None:
        return trace_errors(path)
    key = ("errors", path, False)
    if key not in _SHARED:
        _SHARED[key] = trace_errors(path)
    return _SHARED[key]


def _calls_of(path: Path, outputs: bool) -> Any:
    if _SHARED is None:
        return call_terms(path, outputs)
    key = ("calls", path, outputs)
    if key not in _SHARED:
        _SHARED[key] = call_terms(path, outputs)
    return _SHARED[key]


def passing_traces(failures: Sequence[Failure], errors: bool = True, calls: bool = False,
                   outputs: bool = OUTPUTS, keep: frozenset[str] = frozenset()) -> list[frozenset[str]]:
    """The trace terms (`features.trace_terms`: errors, and calls with `calls`) of the runs that went right,
    in the backtests the failures come from (DIR/investigations/<account>/<id>): what any run records,
    cause or not (numbers in `keep` kept, as in the failures' terms)."""
    roots = {f.inv.path.parents[2] for f in failures}
    return [trace_terms(_errors_of(path) if errors else (), _calls_of(path, outputs) if calls else (), keep)
            for root in sorted(roots) for path in _passing_of(root)]


def _passing_of(root: Path) -> list[Path]:
    """The folders of the investigations of the backtest at `root` that went right (read once in `shared_reads`)."""
    if _SHARED is None or ("passing", root, False) not in _SHARED:
        paths = [inv.path for inv in BacktestFolder(root).iter_investigations() if inv.correct]
        if _SHARED is None:
            return paths
        _SHARED[("passing", root, False)] = paths
    return list(_SHARED[("passing", root, False)])


def _alike(a: Any, b: Any, np: Any) -> float:
    """Cosine of two groups' framing profiles; 1 when either has no framing (nothing says they differ)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na and nb else 1.0


def _profiles(rows: list[int], fields: list[list[str]]) -> list[Counter[str]]:
    return [Counter(values[row] for row in rows if values[row]) for values in fields]


def _overlap(a: Counter[str], b: Counter[str]) -> float | None:
    """Bhattacharyya coefficient of two value distributions (1: the same), None if either gives none."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return None
    return sum((a[v] / na * b[v] / nb) ** 0.5 for v in a.keys() & b.keys())


def trace_marks(runs: Sequence[frozenset[str]], passing: Sequence[frozenset[str]]) -> Any:
    """Which failure (row) carries which trace mark (column): what the traces recorded that tells failures
    from passing runs; None where nothing does.

    `runs` per failure, `passing` per passing run: their trace terms (`features.trace_terms`; the failures'
    from what tracecalls.py reads: calls, arguments, model words, tool results; not the errors, where a
    random share of failed runs records one that passing runs do not, which binds across causes). A term counts
    only when failures carry it clearly more often than passing runs (`features.call_enriched`), at most
    MARK_ELSEWHERE times as often in passing runs as in failures, and it is no symptom (`symptoms`).
    Analysts who paraphrase word one cause apart ("the lookup hung", "no profile came back before the
    deadline", "Kundendaten fehlten"), so words and meaning split it into pure fragments; its traces
    still carry the same mark (the column its SQL names, what its model said)."""
    np = need("numpy", "clustering")
    terms = sorted({t for run in runs for t in run})
    if not terms or not passing:
        return None
    column = {t: n for n, t in enumerate(terms)}
    present = np.zeros((len(runs), len(terms)), dtype=bool)
    for row, run in enumerate(runs):
        present[row, [column[t] for t in run]] = True
    seen: Counter[str] = Counter()
    for run in passing:
        seen.update(t for t in run if t in column)
    in_passing = np.array([seen[t] for t in terms], dtype=float)
    kept = call_enriched(present.sum(axis=0), in_passing, len(runs), len(passing))
    # a mark is what passing runs (nearly) never do: a term they do now and then (a retry, a stock phrase)
    # is more common in failures without telling causes apart
    kept &= in_passing / len(passing) <= MARK_ELSEWHERE * present.mean(axis=0)
    present = present[:, kept]
    if present.shape[1]:
        present = present[:, ~symptoms(present)]
    return present if present.shape[1] else None


def trace_view(runs: Sequence[frozenset[str]], passing: Sequence[frozenset[str]]) -> Any:
    """Failures' cosines over their trace marks (`trace_marks`), each weighed by how rare it is among
    failures (log n/df); None where there is no mark. `cluster(traced=True)` counts a pair at least
    TRACE_VIEW_SHARE times as alike as this says, unless its analysts name unlike error classes."""
    np = need("numpy", "clustering")
    marks = trace_marks(runs, passing)
    return None if marks is None else _cosines(marks, np)


def _cosines(present: Any, np: Any) -> Any:
    weighted = present * np.log(present.shape[0] / present.sum(axis=0))
    norm = np.linalg.norm(weighted, axis=1)
    unit = weighted / np.where(norm > 0, norm, 1.0)[:, None]
    return unit @ unit.T


def symptoms(present: Any) -> Any:
    """Per term (column), is it a symptom: does it touch two terms that are apart, where it touches a term
    whose carriers (failures that carry it) share at least SYMPTOM_TOUCH of theirs (two at least) and not
    SYMPTOM_INSIDE of its own, and two terms are apart when at most SYMPTOM_APART of either's carriers
    carry the other?

    A check that flags wrong totals, a retry every failing run makes: failures of several causes carry
    it, each cause also carrying its own mark, which never meet. A mark of one cause touches no other
    cause's mark; two of its failures alike only in a symptom are not one cause."""
    np = need("numpy", "clustering")
    p = present.astype(float)
    both = p.T @ p  # carriers of term a and of term b
    total = np.diag(both)
    out = np.zeros(present.shape[1], dtype=bool)
    for k in range(present.shape[1]):
        touched = [u for u in np.flatnonzero((both[k] >= np.maximum(2, SYMPTOM_TOUCH * total))
                                             & (both[k] < SYMPTOM_INSIDE * total[k])) if u != k]
        out[k] = any(both[u, v] <= SYMPTOM_APART * min(total[u], total[v])
                     for a, u in enumerate(touched) for v in touched[a + 1:])
    return out


def second_view(described: Sequence[Described]) -> Callable[[], Any] | None:
    """The findings' cosines under JOIN_ENCODER, computed when first asked for (most backtests never ask),
    or None where that encoder cannot be used."""
    try:
        model, _ = embedder(JOIN_ENCODER)
    except MeaningUnavailable:
        return None
    if model is None:
        return None
    cached: list[Any] = []

    def sim() -> Any:
        if not cached:
            vectors = model.embed([d.text for d in described])
            cached.append(vectors @ vectors.T)
        return cached[0]
    return sim


def joined(groups: list[list[int]], i: int, j: int, sim: Any, np: Any) -> bool:
    """Do groups i and j mean one thing in the second view: each the other's nearest group, and more
    alike than the backtest's typical pair of failures?

    Two groups written alike whose stages and files agree are either one cause worded apart (an error
    quoted in two wordings) or two causes at one place (two bugs in one prompt, written by one analyst).
    The clustering's own view already kept them apart, so it cannot say which; a second encoder, read
    only here, sometimes can: dev_ledger.py's stale-fx, whose run reports its error in two wordings that
    the quoting analyst copies, is more alike in MiniLM (0.33) than a typical pair (0.14-0.22) and than
    either fragment is to any other group (0.12-0.13), where the example's LogQL parser and stream label
    causes (one prompt, one stage) are not (0.43 against 0.43-0.47). Not always: two causes at one place
    that mean nearly alike (an answer anchored on the first error, one blaming a deploy that came after
    it) are more alike still (0.66 against 0.46), so this is opt-in (JOIN_SPLITS); the traces' marks
    (`share_mark`) tell those apart and are the default."""
    def cross(a: int, b: int) -> float:
        return float(sim[np.ix_(groups[a], groups[b])].mean())

    typical = float(np.median(sim[np.triu_indices(sim.shape[0], 1)]))
    here = cross(i, j)
    if here <= typical:
        return False
    others = [k for k in range(len(groups)) if k not in (i, j)]
    return all(cross(i, k) < here and cross(j, k) < here for k in others)


def call_presence(matrix: Any, terms: Sequence[str]) -> Any | None:
    """Which failure (row) carries which term from what the traces did (`features.is_call`, kept by the
    passing-run test: a column that weighs in some row), or None where no such term weighs."""
    cols = [i for i, t in enumerate(terms) if is_call(t) and matrix[:, i].max() > 0]
    return matrix[:, cols] > 0 if cols else None


def share_mark(groups: list[list[int]], i: int, j: int, present: Any) -> bool:
    """Do groups i and j carry one trace mark: a term from what the traces did that more than
    JOIN_MARK_SHARE of each group's members carry and at most MARK_ELSEWHERE of the other failures
    (the bucket's too)?

    Analysts' words split dev_ledger.py's fiscal-quarter (templated) into fragments written alike at one
    stage and file; what its answer model said (`trace:said_calendar`) is in most of each fragment and in
    no other failure. Two causes at one place written alike (the example's LogQL parser and stream label,
    test_compare.py's re-run where half of one cause's failures are re-analysed as another) leave no such
    shared mark, where MiniLM (`joined`) finds the re-run's halves alike."""
    inside = set(groups[i] + groups[j])
    rest = [row for row in range(present.shape[0]) if row not in inside]
    outside = present[rest].mean(axis=0) if rest else present[:0].sum(axis=0)  # no other failure: 0 each
    return bool(((present[groups[i]].mean(axis=0) > JOIN_MARK_SHARE)
                 & (present[groups[j]].mean(axis=0) > JOIN_MARK_SHARE) & (outside <= MARK_ELSEWHERE)).any())


Codes = Sequence[frozenset[tuple[str, str]]]  # per failure, the codes it quotes with their slots (`features.codes_of`)


def _code_parts(rows: list[int], codes: Codes) -> list[list[int]]:
    """`rows` that quote a code, in parts whose members are linked by a code value they share (in any slot)."""
    parts: list[tuple[list[int], set[str]]] = []
    for row in (r for r in rows if codes[r]):
        values = {v for _, v in codes[row]}
        linked = [p for p in parts if values & p[1]]
        members, seen = [row], set(values)
        for p in linked:
            members += p[0]
            seen |= p[1]
        parts = [p for p in parts if not any(p is q for q in linked)] + [(sorted(members), seen)]
    return [members for members, _ in parts]


def split_codes(groups: list[list[int]], codes: Codes, conflicts: Any, sim: Any) -> list[list[int]]:
    """Each group split where its members quote unlike codes in one slot (`features.code_conflicts`): into
    parts of at least CORE_SIZE members linked by a code they share, where two such parts conflict; each
    other member to the part it is most like and conflicts with none of (none: to the bucket).

    Two causes at one place whose errors differ only in a number (the carrier's 409 and 422 on one call,
    dev_parcel.py) share every other word, file and stage, so average linkage joins them however unlike
    the codes make each pair; the codes, kept where the backtest's numbers say they are constants
    (`features.numbers_kept`), tell them apart."""
    out = []
    for rows in groups:
        parts = [p for p in _code_parts(rows, codes) if len(p) >= CORE_SIZE]
        if not any(conflicts[_ix(a, b)].any() for n, a in enumerate(parts) for b in parts[n + 1:]):
            out.append(rows)
            continue
        placed = [list(p) for p in parts]
        for row in (r for r in rows if not any(r in p for p in parts)):
            fits = [k for k, p in enumerate(parts) if not conflicts[row, p].any()]
            if fits:
                placed[max(fits, key=lambda k: float(sim[row, parts[k]].mean()))].append(row)
        out += [sorted(p) for p in placed]
    return out


def _ix(a: list[int], b: list[int]) -> tuple[Any, Any]:
    """The block of rows `a` and columns `b` of a matrix, as numpy's `ix_` indexes it."""
    return ([[r] for r in a], b)


def _unlike_codes(groups: list[list[int]], i: int, j: int, conflicts: Any | None) -> bool:
    """Do groups i and j quote unlike codes in one slot (`split_codes`)?"""
    return conflicts is not None and bool(conflicts[_ix(groups[i], groups[j])].any())


def bridge(groups: list[list[int]], described: Sequence[Described],
           second: Callable[[], Any] | None = None, marked: Any | None = None,
           conflicts: Any | None = None) -> list[list[int]]:
    """Groups (rows of `described`) whose stages and files agree (every varying field's distribution
    over the groups' members at least BRIDGE_FIELDS alike) merged, most alike first.

    One cause written in two styles or languages (English notes and a shorthand in another language)
    can share no word that weighs, so words and an English meaning model keep it apart; what analysts
    put in the fields does not depend on how they write. Groups only, never a bucketed failure: a
    causeless failure sharing a cause's file and stage stays out. Not where fewer than FRAMING_FIELDS
    fields vary (one field, such as the blamed agent alone, says too little about where). Groups written
    alike (framing profiles' cosine at least BRIDGE_STYLE) merge only when they carry one trace mark
    (`share_mark`, in `marked`, `call_presence`) or `second` (the findings' cosines in a second encoder,
    `second_view`) says they are one (`joined`); without either, never. Groups that carry one trace mark need
    their fields agree only BRIDGE_MARKED: the mark is a second signal of one cause (dev_ledger.py seed 31's
    fiscal-quarter fragments, quoting analysts, whose stages agree 0.75)."""
    fields = [values for values in field_values(described) if len({v for v in values if v}) >= 2]
    if len(fields) < FRAMING_FIELDS or len(groups) < 2:
        return groups
    np = need("numpy", "clustering")
    framing = framing_presence(described)
    groups = [list(g) for g in groups]
    while True:
        best, pair = 0.0, None  # how far the pair's fields agree beyond its bar
        profiles = [_profiles(g, fields) for g in groups]
        styles = [framing[g].mean(axis=0) for g in groups]
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                overlaps = [o for a, b in zip(profiles[i], profiles[j], strict=True) if (o := _overlap(a, b)) is not None]
                if len(overlaps) < FRAMING_FIELDS or min(overlaps) - BRIDGE_MARKED < best or _unlike_codes(
                        groups, i, j, conflicts):
                    continue
                mark = marked is not None and share_mark(groups, i, j, marked)
                if min(overlaps) - (BRIDGE_MARKED if mark else BRIDGE_FIELDS) < best:
                    continue
                # written alike, different words mean different causes, unless a second view says one
                if _alike(styles[i], styles[j], np) >= BRIDGE_STYLE and not (
                        mark or (second is not None and joined(groups, i, j, second(), np))):
                    continue
                best, pair = min(overlaps) - (BRIDGE_MARKED if mark else BRIDGE_FIELDS), (i, j)
        if pair is None:
            return groups
        i, j = pair
        groups[i] = sorted(groups[i] + groups[j])
        del groups[j]


def within_reach(rows: list[int], core_of: dict[int, int], sim: Any, marked: Any | None,
                 places: Sequence[tuple[str, str]]) -> list[int]:
    """The members of a group with a core (`rows`) that a second signal vouches for; the rest go to the bucket.

    A member in one of the group's cores (a core of the corroborated view that at least CORE_SIZE of its members
    share) stays. A member in none stays where its words reach a core: its mean similarity to that core's members
    at least CORE_REACH times the core's own mean (`sim`, the plain view); or where the traces or the fields vouch
    for it: it carries a trace mark of the cored members (`marked`, `call_presence` less symptoms: a term more than
    JOIN_MARK_SHARE of them carry, and failures outside the group at most REACH_ELSEWHERE times as often), or its
    stage and file (`places`) are those of a cored member.

    Average linkage holds a failure in a group by its mean similarity to all the members, so framing that a
    group's members share ("Reviewer note: ...", "I read file X; the reviewer wrote: ...") holds causeless
    failures there, each as unlike the cause's core as any failure outside: dev_ledger.py's quoting analysts
    (seed 32: six causeless failures beside six fiscal-quarter ones, at 0.17-0.42 of the core's own
    similarity, where the cause's members that no core holds reach 0.45-0.97 or carry its mark), dev_parcel.py's
    framed analyst (twelve causeless failures with the return-window's three). Relative to the core, not a fixed
    floor: a core of a cause worded alike is tighter than one worded several ways."""
    np = need("numpy", "clustering")
    shared = Counter(core_of[row] for row in rows if row in core_of)
    cores = [[row for row in rows if core_of.get(row) == c] for c, n in sorted(shared.items()) if n >= CORE_SIZE]
    cored = sorted(row for core in cores for row in core)
    inner = [float((sim[np.ix_(c, c)].sum() - len(c)) / (len(c) * (len(c) - 1))) for c in cores]
    where = {places[row] for row in cored}
    carries = np.zeros(len(places), dtype=bool)  # per failure: does it carry a mark of the cored members?
    if marked is not None:
        outside = np.ones(marked.shape[0], dtype=bool)
        outside[rows] = False
        inside = marked[cored].mean(axis=0)
        elsewhere = marked[outside].mean(axis=0) if outside.any() else np.zeros(marked.shape[1])
        carries = (marked & ((inside > JOIN_MARK_SHARE) & (elsewhere <= REACH_ELSEWHERE * inside))).any(axis=1)

    def vouched(row: int) -> bool:
        return (row in core_rows or places[row] in where or bool(carries[row])
                or any(float(sim[row, c].mean()) >= CORE_REACH * i for c, i in zip(cores, inner, strict=True)))

    core_rows = set(cored)
    return [row for row in rows if vouched(row)]


def _groups(sim: Any, distance: float, member: float, np: Any) -> list[list[int]]:
    """Average-linkage groups under cosine `distance`, each tightened (`_tight`); rows in none are loose.
    Precomputed distances: a row of zeros (a failure with no term that weighs, or none backed in the
    corroborated view) is at distance 1 from every other."""
    from sklearn.cluster import AgglomerativeClustering

    dist = np.clip(1.0 - sim, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="precomputed",
                                    linkage="average")
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(model.fit_predict(dist)):
        groups.setdefault(int(label), []).append(row)
    return [kept for rows in groups.values() if (kept := _tight(rows, sim, member, np))]


def _tight(rows: list[int], sim: Any, member: float, np: Any) -> list[int]:
    """The members of a group that make a cause: the rest go to the no-common-cause bucket."""
    while len(rows) > 2:
        block = sim[np.ix_(rows, rows)]
        mean = (block.sum(axis=1) - 1) / (len(rows) - 1)
        worst = int(np.argmin(mean))
        if mean[worst] >= member:
            return rows
        rows = rows[:worst] + rows[worst + 1:]
    if len(rows) == 2 and sim[rows[0], rows[1]] >= PAIR_SIMILARITY:
        return rows
    return []


def cluster_labels(failures: Sequence[Failure], *, seed: int = 0, distance: float | None = None,
                   meaning: Choice = True, trace: bool = TRACE_ERRORS, calls: bool = TRACE_CALLS,
                   outputs: bool = OUTPUTS, marks: bool = TRACE_MARKS, join: bool = JOIN_SPLITS,
                   join_marks: bool = JOIN_MARKS, traced: bool = TRACE_VIEW) -> list[int]:
    """A cohort label per failure, NO_CAUSE (-1) for the bucket; labels numbered by first appearance."""
    return cluster(failures, seed=seed, distance=distance, meaning=meaning, trace=trace, calls=calls,
                   outputs=outputs, marks=marks, join=join, join_marks=join_marks, traced=traced).labels


def by_marks(groups: list[list[int]], matrix: Any, terms: Sequence[str]) -> list[list[int]]:
    """The groups with each member that carries another group's trace mark, and none of its own, moved there.

    A group's mark is a term from what the traces did (`features.is_call`, kept by the passing-run test)
    that at least MARK_SHARE of its members carry and at most MARK_ELSEWHERE of the other failures do:
    the renamed column in a cause's SQL, the calendar quarter its model says it summed. Analysts who word
    a cause apart split it into fragments, or file a few of its failures with another cause's written
    alike; the trace does not. A member moves only to a single group whose mark it carries, never out
    of the bucket (a causeless failure is not pulled in), and an empty group is dropped. Tuned on
    dev_ledger.py (ARCHITECTURE.md); opt-in (TRACE_MARKS): on the held-out sets it changed one row of 27,
    for the worse."""
    np = need("numpy", "clustering")
    present = call_presence(matrix, terms)
    if present is None or len(groups) < 2:
        return groups
    label = np.full(matrix.shape[0], -1)
    for g, rows in enumerate(groups):
        label[rows] = g
    marks = []
    for g in range(len(groups)):
        inside = label == g
        outside = present[~inside].mean(axis=0) if (~inside).any() else np.zeros(present.shape[1])
        marks.append((present[inside].mean(axis=0) >= MARK_SHARE) & (outside <= MARK_ELSEWHERE))
    moved = [list(rows) for rows in groups]
    for g, rows in enumerate(groups):
        for row in rows:
            if (present[row] & marks[g]).any():
                continue
            to = [h for h in range(len(groups)) if h != g and (present[row] & marks[h]).any()]
            if len(to) == 1:
                moved[g].remove(row)
                moved[to[0]].append(row)
    return [sorted(rows) for rows in moved if rows]


def _named(labels: list[int], ids: Sequence[int]) -> list[str]:
    """Labels for the adjusted Rand index: every bucketed failure is a group of its own."""
    return [f"b{i}" if label == NO_CAUSE else f"c{label}" for i, label in zip(ids, labels, strict=True)]


def stability(failures: Sequence[Failure], seeds: tuple[int, int] = (0, 1), *, meaning: Choice = True,
              trace: bool = TRACE_ERRORS, calls: bool = TRACE_CALLS) -> float:
    """Adjusted Rand index between the full clustering (seed A) and a 90% subsample in another order
    (seed B), over the failures both contain. 1.0 means the same partition. The views' consensus
    (ensemble.py) when it makes the cohorts (`ensemble.ENSEMBLE`)."""
    from sklearn.metrics import adjusted_rand_score

    if len(failures) < 3:
        return 1.0
    labelled = _labeller()
    full = labelled(failures, seed=seeds[0], meaning=meaning, trace=trace, calls=calls)
    rng = random.Random(seeds[1])
    kept = sorted(rng.sample(range(len(failures)), max(2, int(len(failures) * SUBSAMPLE))))
    sub = labelled([failures[i] for i in kept], seed=seeds[1], meaning=meaning, trace=trace, calls=calls)
    return float(adjusted_rand_score(_named([full[i] for i in kept], kept), _named(sub, kept)))


@dataclass
class Candidates:
    cohorts: list[Cohort]  # biggest first, keyed c01, c02, ...
    unassigned: list[Failure]  # the no-common-cause bucket
    space: FeatureSpace
    rows: dict[str, int]  # investigation id -> row of `space`
    meaning: Meaning = WORDS_ONLY  # whether the clustering used meaning, or why not


def candidate_cohorts(failures: Sequence[Failure], *, seed: int = 0, meaning: Choice = True,
                      trace: bool = TRACE_ERRORS, calls: bool = TRACE_CALLS) -> Candidates:
    """Deterministic cohorts and the failures that share a cause with none of them; with `ensemble.ENSEMBLE`
    the cohorts the views agree on (ensemble.py), each recording which views hold it (`Cohort.views`)."""
    from agentbook.backtest import ensemble  # it builds on this module

    held: dict[int, dict[str, float]] = {}
    if ensemble.ENSEMBLE:
        agreed = ensemble.ensemble(failures, seed=seed, meaning=meaning, trace=trace, calls=calls)
        labels, space, note, held = agreed.labels, agreed.space, agreed.meaning, agreed.held
    else:
        result = cluster(failures, seed=seed, meaning=meaning, trace=trace, calls=calls)
        labels, space, note = result.labels, result.space, result.meaning
    by_label: dict[int, list[Failure]] = {}
    for f, label in zip(failures, labels, strict=True):
        by_label.setdefault(label, []).append(f)
    bucket = by_label.pop(NO_CAUSE, [])
    ordered = sorted(by_label.items(), key=lambda kv: (-len(kv[1]), kv[1][0].inv.id))
    cohorts = [Cohort(key=f"c{n:02d}", members=members, sources=[f"c{n:02d}"], views=held.get(label, {}))
               for n, (label, members) in enumerate(ordered, 1)]
    rows = {f.inv.id: i for i, f in enumerate(failures)}
    return Candidates(cohorts=cohorts, unassigned=bucket, space=space, rows=rows, meaning=note)


def _labeller() -> Callable[..., list[int]]:
    """`cluster_labels`, or the views' consensus when it makes the cohorts (`ensemble.ENSEMBLE`)."""
    from agentbook.backtest import ensemble  # it builds on this module

    if not ensemble.ENSEMBLE:
        return cluster_labels
    return lambda failures, **options: ensemble.ensemble(failures, **options).labels

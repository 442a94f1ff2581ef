"""What a failure means, as a vector: the analysts' findings, normalised, plus fields as features.

A failure is described by what its analyst found (failure mode, summary, first wrong step, proposed
change, why a location is suspected) and the error it quotes. Three steps make failures of one cause
land together however they are worded, and keep failures that share nothing apart:

- error wording is normalised: ids, numbers, quoted values and times are masked, and the common ways
  of saying one failure class ("timed out", "deadline exceeded", "504 Gateway Timeout") become one
  token (`ERROR_CLASSES`);
- text is weighted by TF-IDF over this backtest's failures, on words and word pairs seen in at least
  two failures (a word only one failure uses cannot bind two failures); words that analysts put in
  nearly every finding ("the agent", "failed") weigh little;
- stage, the suspected file and the failing tool are features beside the text, not a partition:
  failures at one stage with different findings stay apart, one cause seen at two stages stays whole;
- what the trace itself records (with `cluster --trace-errors`) is a part of its own, apart from the
  analyst's words: each error its errors.md lists (traceterms.py), as the failing span
  (`span_<kind>_<name>`) and its masked message, every term prefixed `trace:` and weighted TRACE_WEIGHT
  and by how much more often failures record it than passing runs (`passing_contrast`), so a cause
  whose analysts word it apart and blame different files is still bound by the error its runs share;
  a trace with no error adds nothing, and its terms are never counted as a writing style's framing;
  a word of the trace's errors that analysts quote weighs only by the share of its failures whose
  analyst did not write it (`already_written`), so quoting analysts do not make an error's wording
  outweigh everything else;
- what the trace did (by default; `cluster --no-trace-calls` turns it off): its calls and the identifiers their arguments name
  (tracecalls.py), `trace:call_...` and `trace:arg_...`, and what its models said and its tools returned,
  `trace:said_...` and `trace:got_...`, weighted CALL_WEIGHT and kept only where
  failures carry them clearly more often than passing runs (`call_enriched`: a one-sided Fisher test,
  Benjamini-Hochberg corrected), so a cause that leaves no error but a mark in what the run did (the SQL
  names a renamed column, joins a line table) is bound by that mark;
- an analyst's word, word pair or error class that names an error the failures' traces record weighs by
  how much more often failures' traces record it than passing runs' (`quoted_contrast`, the same
  Fisher test as the calls), whether or not the traces' errors are features: an analyst that quotes a
  run's first error quotes a harmless one (a timeout retried with success) in a causeless failure as
  in a cause's, and it must bind neither; a failure's meaning counts as far as its words are not such
  terms (`Unbound.kept`), and each cohort's evidence says what binds nothing (evidence.py); opt-in
  (CONTENT_CONTRAST), the same for a word naming what the failure's own trace did, said or returned
  (`content_cells`), where analysts write it where their trace carries it (`written_where_carried`), and
  a clause describing such content is left out of what the meaning model reads (`meaning_text`);
- opt-in (MEANING_READS_KEPT), the meaning model reads only what the word weights keep: a finding less its
  clauses describing benign content and its words that framing or a contrast weighs under MUTED_UNDER
  of their own (`muted_words`, `meaning_text`), and the meaning only lifts the words' cosine, as far
  as both findings' words are kept (`FeatureSpace.similarity`): an encoder reading the whole finding
  bound failures by the benign content their analysts described, the harmless error they quoted, or
  their style (French shorthand, read by an English encoder); and opt-in (CORE_FIELDS_KEPT) the
  corroborated view counts a failure's fields as far as its words are kept (`corroborated`);
- opt-in (KEEP_NUMBERS), numbers the backtest's analysts write as constants (a status code, an error code,
  a limit) are told from values (`numbers_kept`), and the codes a failure's quoted error names, with the
  word before each (`error_codes`), split groups whose members quote rival codes (`code_conflicts`,
  cluster.split_codes); opt-in (STRIP_FRAMING), word runs most findings share that bind no stage or file
  (an analyst's fixed framing) are left out of what the meaning model reads (`framing_stripped`);
- words an analyst's writing style puts around every finding weigh nothing: a term counts as far as
  the failures using it agree on those fields beyond chance (`field_agreement`), which a style's
  framing ("Finding: ... Impact: ...", "I traced the run ...", a shorthand's function words) never
  does, being spread over failures whatever their cause, and a cause's words do, however noisily
  analysts fill the fields. Causeless failures written in one style then share nothing that weighs.

`similarity()` is the cosine between two failures' vectors, blended with the cosine of what their
findings mean when the meaning model is installed (embeddings.py, `above_typical`); `top_terms()`
says which terms bind a group (its evidence).

`corroborated()` is a second view of the same vectors for telling causes from boilerplate: a term
counts in a failure only as far as that failure resembles, on its other terms, the other failures
using the term. Analysts' framing ("Root cause: ... Impact: the customer got a wrong answer", "Add an
eval case for this ticket") is spread over failures that share nothing else, so it counts for none
of them; a cause's words are shared by failures that also share other words, files or error
classes, so they keep their weight. Terms that always occur together (one phrase) are left out of
each other's check, else a phrase would vouch for itself; but failures that say little besides
that phrase are alike in what they say and back each other as far as the phrase is their whole
description.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from agentbook.backtest.deps import need
from agentbook.backtest.traceterms import TraceError

if TYPE_CHECKING:
    import numpy as np

CORROBORATION_ROUNDS = 2  # reweight, then check again in the reweighted space
PHRASE_COVER = 0.75  # a failure this much of whose weight is one phrase says little else
MATE_JACCARD = 0.8  # terms whose failure sets overlap this much are one phrase: neither vouches for the other
CLASS_WEIGHT = 3.0  # an error class token (errclass_timeout) against one word of the finding
FIELD_WEIGHT = 1.0  # a stage/file/tool token against one word of the finding
SPAN_WEIGHT = 1.0  # the failing span a trace records, against one word of its message
TRACE_WEIGHT = 3.0  # a term from the trace (traceterms.py) against one of the analyst's words: tuned on dev_ledger
CALL_WEIGHT = 3.0  # a call or argument identifier from the trace (tracecalls.py) against one of the analyst's words
CALL_SUPPORT = 3  # failures that must carry a call term before it is tested at all
CALL_FDR = 0.05  # false discovery rate (Benjamini-Hochberg) over the call terms' Fisher tests
QUOTED_CONTRAST = True  # weigh the analysts' words naming a trace's error by passing runs' traces (`quoted_contrast`)
CONTENT_CONTRAST = False  # ... and those naming what a trace did, said or returned (`content_cells`)? Opt-in
CONTENT_COMMON = 0.8  # a word this share of passing runs' traces carry is the system's vocabulary, not an observation
MEANING_WEIGHT = 0.5  # the meaning's cosine against the words' in the plain view (the corroborated one is words)
MEANING_READS_KEPT = False  # meaning reads only what the weights keep, and only adds (`FeatureSpace.similarity`)? Opt-in
MUTED_UNDER = 0.5  # a word framing or a contrast weighs under this share of its own is not read for meaning
CORE_FIELDS_KEPT = False  # in the corroborated view a failure's fields count as far as its words are kept (`corroborated`)
FRAMING_MIN_DF = 3  # a term is tested for framing only when this many failures use it
FRAMING_FULL = 0.3  # field agreement (kappa) among a term's failures from which it counts in full
FRAMING_STYLE = 0.1  # a term weighed under this by field agreement is framing: it says how, not what
FRAMING_FIELDS = 2  # fields that must vary for the test: one field alone is too thin a view of where


_MASKS = [
    (re.compile(r"\b[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?(z|[+-]\d{2}:\d{2})?", re.IGNORECASE), "<time>"),
    (re.compile(r"\b\w*\d\w*\b"), "<n>"),  # numbers and words with digits (ids, sizes, versions)
    (re.compile(r"\"[^\"]*\"|'[^']*'"), "<str>"),
    (re.compile(r"\{[^}]*\}"), "<sel>"),
    (re.compile(r"\s+"), " "),
]
_NUMBER = _MASKS[2][0]
_BEFORE = re.compile(r"([a-z_]+)[^a-z0-9_]*$")  # the word a number follows: the slot it fills
KEEP_NUMBERS = False  # tell codes apart (`numbers_kept`, `cluster.split_codes`)? Opt-in: see ARCHITECTURE.md
KEEP_DF = 3  # a number is a constant only when this many failures' analysts write it ...
CONSTANT_SLOT = 0.5  # ... and this share of the numbers written after the same word are such constants


# How systems and analysts word the same failure class. Each pattern becomes one token, so "read timed
# out" and "deadline exceeded" share a feature. Generic failure vocabulary, not any one system's.
ERROR_CLASSES: list[tuple[str, re.Pattern[str]]] = [(token, re.compile(rx, re.IGNORECASE)) for token, rx in [
    ("errclass_timeout", (r"time[ds]?[ -]?out|deadline|did not respond|no response within|took too long|"
                         r"\b504\b|time limit|too slow|\bslow\b")),
    ("errclass_ratelimit", r"rate[ -]?limit|too many requests|\b429\b|quota|throttl"),
    ("errclass_auth", (r"unauthori[sz]ed|forbidden|permission|access denied|\b40[13]\b|expired token|"
                      r"invalid api key")),
    ("errclass_notfound", (r"not found|\b404\b|no such|does not exist|doesn't exist|unknown \w+|"
                          r"non-?existent|no \w+ named")),
    ("errclass_parse", (r"pars(e|ing) error|syntax error|unexpected (token|identifier|character|end)|"
                       r"decode ?error|invalid json|malformed|expecting value")),
    ("errclass_connection", (r"connection (refused|reset|closed|aborted)|econnre|unreachable|broken pipe|"
                            r"name resolution|dns")),
    ("errclass_server", r"\b50[023]\b|internal server error|bad gateway|service unavailable|overloaded"),
    ("errclass_stale", (r"stale|outdated|out of date|obsolete|superseded|archived|deprecated|legacy|"
                       r"no longer (valid|current)")),
    ("errclass_truncated", r"truncat|cut off|cut short|max(imum)? tokens|token limit"),
    ("errclass_empty", (r"empty result|no results?\b|returned nothing|nothing (was )?returned|no rows|"
                       r"no (log )?lines|no streams")),
    ("errclass_invented", r"invent|hallucinat|made[ -]up|fabricat|non-?existent"),
]]
_WORD = re.compile(r"(?u)\b[a-zA-Z_][a-zA-Z0-9_./-]*[a-zA-Z0-9_]\b")


@dataclass(frozen=True)
class Described:
    """The parts of one failure the features are built from, each a text of its own."""

    parts: dict[str, str]
    stage: str
    component: str
    tool: str
    text: str = ""  # what the analyst wrote, as written: what the meaning model reads (embeddings.py)
    seen: frozenset[str] = frozenset()  # the `trace:` terms of the errors its trace records (`quoted_contrast`)
    codes: frozenset[tuple[str, str]] = frozenset()  # its quoted error's codes, with their slots (`error_codes`)


def normalise_error(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Error text with volatile parts masked and lower-cased: the same error reads the same. A number in
    `keep` (`numbers_kept`: a constant of the backtest, a status or error code) stays, as a word (`n409`)."""
    text = text.strip().lower()
    for rx, repl in _MASKS:
        if rx is _NUMBER and keep:
            text = rx.sub(lambda m: _kept_number(m.group(), keep), text)
        else:
            text = rx.sub(repl, text)
    return text.strip()


def _kept_number(token: str, keep: frozenset[str]) -> str:
    if token not in keep:
        return "<n>"
    return f"n{token}" if token[0].isdigit() else token


def _slotted(text: str) -> set[tuple[str, str]]:
    """The numbers (and words with digits) in `text`, lower-cased, each with the word before it ("" for none);
    ids and times masked first, as `normalise_error` masks them."""
    text = text.lower()
    for rx, repl in _MASKS[:2]:
        text = rx.sub(repl, text)
    out = set()
    for m in _NUMBER.finditer(text):
        before = _BEFORE.search(text[max(0, m.start() - 40):m.start()])
        out.add((m.group(), before.group(1) if before else ""))
    return out


def numbers_kept(texts: Sequence[str]) -> frozenset[str]:
    """The numbers of these texts (one per failure) that are constants of the backtest, not values.

    Masking every number makes two causes whose errors differ only in a number one ("returned 409" /
    "returned 422", "code 7011" / "code 7014"). A number at least KEEP_DF failures' analysts write is a
    constant when the slot it fills (the word before it, its most common) holds such constants in at
    least CONSTANT_SLOT of its failures: "limit 2500" where most limits written are 2500. A value differs
    from one run to the next (an order number, an amount, a duration): written by one failure or two, or
    in a slot where most numbers are so, it stays masked, whatever it is by chance."""
    df: Counter[str] = Counter()
    slots: dict[str, Counter[str]] = {}
    for text in texts:
        pairs = _slotted(text)
        df.update({number for number, _ in pairs})
        for number, slot in pairs:
            slots.setdefault(slot, Counter())[number] += 1
    common = {n for n, count in df.items() if count >= KEEP_DF}
    share = {slot: sum(c for n, c in counts.items() if n in common) / sum(counts.values())
             for slot, counts in slots.items()}
    main = {n: max((s for s in slots if n in slots[s]), key=lambda s: (slots[s][n], s)) for n in common}
    return frozenset(n for n in common if share[main[n]] >= CONSTANT_SLOT)


def analyst_texts(analysis: dict[str, Any]) -> tuple[str, str, str]:
    """What the analyst wrote, as `describe_failure` reads it: the finding, the change (and why each
    location is suspected), the error quoted."""
    step = analysis.get("first_wrong_step") or {}
    finding = " ".join(str(x or "") for x in (analysis.get("failure_mode"), analysis.get("summary"),
                                               step.get("description")))
    change = " ".join([str(analysis.get("proposed_change") or "")]
                      + [str(s.get("why") or "") for s in (analysis.get("suspected") or [])[:3]])
    return finding, change, str(analysis.get("error_signature") or "")


def error_classes(text: str) -> list[str]:
    return [token for token, rx in ERROR_CLASSES if rx.search(text)]


def classes_of(d: Described) -> frozenset[str]:
    return frozenset(t for t in d.parts["error"].split() if t.startswith("errclass_"))


_CODE = re.compile(r"\bn\d+\b")  # a number `numbers_kept` kept, as `normalise_error` writes it


def error_codes(error: str, keep: frozenset[str]) -> frozenset[tuple[str, str]]:
    """The numbers in `keep` (`numbers_kept`: codes, limits) an error names, each with its slot (the word
    before it: "returned", "code"), as `normalise_error` writes them (`n409`); one with no word before it
    is left out."""
    text = normalise_error(error, keep) if keep else ""
    out = set()
    for m in _CODE.finditer(text):  # a number no word comes before (a line's start, "8.0") fills no slot
        if before := _BEFORE.search(text[max(0, m.start() - 40):m.start()]):
            out.add((before.group(1), m.group()))
    return frozenset(out)


def bound_codes(items: Sequence[Described],
                passing: Sequence[frozenset[str]] | None) -> list[frozenset[tuple[str, str]]]:
    """Each failure's codes (`error_codes`) less those passing runs' traces record as often as failures'
    (weighed under UNBOUND_UNDER as `quoted_contrast` weighs a word): a harmless error's pool size and
    timeout, which analysts quote from causeless failures as from any cause's."""
    failing = Counter(t for d in items for t in d.seen)
    passed = Counter(t for run in passing or () for t in run)

    def bound(value: str) -> bool:
        f, p = failing[f"trace:{value}"] / max(len(items), 1), passed[f"trace:{value}"] / max(len(passing or ()), 1)
        return not (f and p) or 1.0 - p / f >= UNBOUND_UNDER
    return [frozenset(c for c in d.codes if bound(c[1])) for d in items]


def code_conflicts(codes: Sequence[frozenset[tuple[str, str]]]) -> np.ndarray:
    """Pairs that name unlike codes and no code alike, where some code of one and some of the other are
    rivals: both fill one slot ("returned 409" / "returned 422") in the backtest's failures and no failure
    names both. Two errors then differ in what the backtest's numbers say is a constant of each, not a
    value, whatever words each wraps it in ("returned 409" / "responded 422"). Numbers that never fill one
    slot ("after 8.0s" / "within 8000 ms": one timeout worded by two systems) are no conflict."""
    import numpy as np

    values = sorted({v for c in codes for _, v in c})
    if len(values) < 2:
        return np.zeros((len(codes), len(codes)), dtype=bool)
    column = {v: k for k, v in enumerate(values)}
    has = np.zeros((len(codes), len(values)))
    for i, c in enumerate(codes):
        has[i, [column[v] for _, v in c]] = 1.0
    slots: dict[str, set[str]] = {}
    for c in codes:
        for slot, v in c:
            slots.setdefault(slot, set()).add(v)
    rivals = np.zeros((len(values), len(values)))
    for members in slots.values():
        cols = [column[v] for v in members]
        rivals[np.ix_(cols, cols)] = 1.0
    rivals *= (has.T @ has) == 0  # named together by one failure: parts of one error, not rivals
    return ((has @ rivals @ has.T) > 0) & ((has @ has.T) == 0)


def _tool_of(analysis: dict[str, Any]) -> str:
    """The failing tool, from the first wrong step's span folder (NNN-tool-NAME), if it is a tool span."""
    step = analysis.get("first_wrong_step") or {}
    leaf = PurePosixPath(str(step.get("span_path") or "")).name
    match = re.match(r"\d+-tool-(.+)", leaf)
    return match.group(1).lower() if match else ""


def component_of(analysis: dict[str, Any]) -> str:
    suspected = analysis.get("suspected") or []
    return str(PurePosixPath(str(suspected[0]["path"]).split(":")[0])).lower() if suspected else ""


def describe_failure(analysis: dict[str, Any], trace: Sequence[TraceError] = (), calls: Sequence[str] = (),
                     seen: Sequence[TraceError] = (), keep: frozenset[str] = frozenset()) -> Described:
    """The parts of a failure: what its analyst wrote, its fields, the errors its trace records
    (traceterms.py), each masked as `normalise_error` masks error text (numbers in `keep` kept), and the
    calls and argument identifiers its trace records (tracecalls.py), as they are. `seen`: the errors its
    trace records, not as features but to tell which of the analyst's words name them (`quoted_contrast`)."""
    finding, change, error = analyst_texts(analysis)
    stage, component, tool = str(analysis.get("stage") or "other"), component_of(analysis), _tool_of(analysis)
    classes = error_classes(f"{error} {finding} {change}")
    where = [f"stage_{stage}"] + ([f"file_{component}"] if component else []) + ([f"tool_{tool}"] if tool else [])
    parts = {"finding": normalise_error(finding), "change": normalise_error(change),
             "error": " ".join([normalise_error(error), *classes]), "where": " ".join(where),
             "trace": trace_part(trace), "calls": " ".join(calls)}
    text = " ".join(x for x in (finding, str(analysis.get("proposed_change") or ""), error) if x.strip())
    return Described(parts=parts, stage=stage, component=component, tool=tool, text=text,
                     seen=frozenset(_trace_tokens(trace_part(seen, keep))), codes=error_codes(error, keep))


def trace_part(trace: Sequence[TraceError], keep: frozenset[str] = frozenset()) -> str:
    """The trace's errors as one text: per error, the failing span (`span_<kind>_<name>`), its masked
    message and its error classes, each error on a line of its own (word pairs never span two)."""
    lines = []
    for e in trace:
        name = re.sub(r"\W+", "_", normalise_error(f"{e.kind} {e.name}")).strip("_")
        message = normalise_error(e.message, keep)
        lines.append(" ".join([f"span_{name}", message, *error_classes(message)]))
    return "\n".join(lines)


@dataclass
class FeatureSpace:
    matrix: np.ndarray  # one unit-length row per failure
    terms: list[str]  # one per column, "part:term"
    meaning: np.ndarray | None = None  # one unit-length embedding per failure (embeddings.py), if any
    classes: list[frozenset[str]] | None = None  # each failure's error classes, where meaning is used
    unbound: Unbound | None = None  # the analysts' words passing runs' traces record as often (`quoted_contrast`)
    muted: list[frozenset[str]] | None = None  # per failure, its words weighed under MUTED_UNDER (`muted_words`)

    def similarity(self) -> np.ndarray:
        """The cosine of the word vectors, with MEANING_READS_KEPT (opt-in) lifted by the meaning's (above the
        typical pair's) where the meaning says more: per pair, MEANING_WEIGHT of what the meaning's cosine exceeds the words', as far as both
        findings' words are not what passing runs' traces record as often (`Unbound.kept`), and nothing for
        a finding the meaning model reads nothing of (`meaning_text`: every word framing or a contrast weighs
        down).

        The meaning share joins wordings that share no word ("timed out" / "deadline exceeded"); it never
        pulls apart what the words bind, since what an encoder reads as unlike may be a language it does
        not know (one cause's English notes and French shorthand, whose identifiers the words match) or
        framing. With MEANING_READS_KEPT off (the default: see docs/ARCHITECTURE.md), a plain blend, the
        meaning scaled by both findings' kept shares: a finding whose words bind nothing (a harmless error
        quoted) comes out half as similar to everything, its own cause too."""
        import numpy as np

        words = self.matrix @ self.matrix.T  # rows are unit length: the cosine
        if self.meaning is None:
            return words
        meaning = above_typical(self.meaning @ self.meaning.T)
        if self.classes is not None:
            meaning = meaning * ~class_conflicts(self.classes)
        kept = self.unbound.kept if self.unbound is not None else np.ones(len(words))
        if not MEANING_READS_KEPT:
            meaning = meaning * np.outer(kept, kept)
            np.fill_diagonal(meaning, 1.0)
            return (1 - MEANING_WEIGHT) * words + MEANING_WEIGHT * meaning
        read = kept * (np.linalg.norm(self.meaning, axis=1) > 0)
        out = words + MEANING_WEIGHT * np.outer(read, read) * np.maximum(meaning - words, 0.0)
        np.fill_diagonal(out, 1.0)
        return out

    def meaning_texts(self, described: Sequence[Described]) -> list[str]:
        """What the meaning model reads of each failure (`meaning_text`), in this space's order."""
        u = self.unbound
        return [meaning_text(d.text, u.described[i] if u is not None and u.described is not None else frozenset(),
                             self.muted[i] if self.muted is not None and MEANING_READS_KEPT else frozenset())
                for i, d in enumerate(described)]

    def reordered(self, rows: Sequence[int]) -> FeatureSpace:
        """The same space with its failures in the order `rows` gives."""
        meaning = None if self.meaning is None else self.meaning[list(rows)]
        classes = None if self.classes is None else [self.classes[r] for r in rows]
        unbound = None if self.unbound is None else self.unbound.reordered(rows)
        muted = None if self.muted is None else [self.muted[r] for r in rows]
        return FeatureSpace(self.matrix[list(rows)], self.terms, meaning, classes, unbound, muted)


@dataclass
class Unbound:
    """The analysts' words (and word pairs, error classes) that name an error their failures' traces record
    and passing runs' traces record as often, weighed down by `quoted_contrast`: what each weighs now,
    the share of failures' and of passing runs' traces recording it, which failures' analysts wrote it,
    and per failure the share of its words' weight kept (what its meaning counts for)."""

    terms: list[str]
    weight: np.ndarray  # per term, in [0, 1)
    failing: np.ndarray  # per term, the share of failures whose trace records it
    passing: np.ndarray  # per term, the share of passing runs whose trace records it
    written: np.ndarray  # failures x terms: whose analyst wrote it
    kept: np.ndarray  # per failure, in [0, 1]
    described: list[frozenset[str]] | None = None  # per failure, its words naming benign trace content (`content_cells`)

    def reordered(self, rows: Sequence[int]) -> Unbound:
        described = None if self.described is None else [self.described[r] for r in rows]
        return Unbound(self.terms, self.weight, self.failing, self.passing, self.written[list(rows)],
                       self.kept[list(rows)], described)


_CLAUSE = re.compile(r"[^.;!?()\n]+")  # a sentence or a parenthesised aside
DESCRIBED_WORDS = 2  # a clause naming this many words of benign trace content is a description of it


def meaning_text(text: str, described: frozenset[str], muted: frozenset[str] = frozenset()) -> str:
    """What the meaning model reads of a finding: its clauses (sentences, parenthesised asides) less those
    that name DESCRIBED_WORDS or more of `described`, the words `content_cells` found it writes of
    benign content its trace carries (a cache that answered, a default applied), and less its `muted`
    words (`muted_words`: framing, a harmless error quoted, benign content named in passing); "" where
    no word but stop words is left (with no muted words, the whole finding where every clause went). Such a clause or word means the same in every failure that has it,
    so two causeless failures describing it, or two failures of one style, read alike to the encoder;
    the word vectors already weigh them down."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    if not described and not muted:
        return text
    out = text
    for clause in reversed(list(_CLAUSE.finditer(text))):  # from the end: earlier spans stay put
        if len({w for w in _WORD.findall(normalise_error(clause.group())) if w in described}) >= DESCRIBED_WORDS:
            out = out[:clause.start()] + out[clause.end():]
    if not muted:  # the clauses alone (MEANING_READS_KEPT off): the whole finding where every clause went
        return out.strip() if out.strip(" .;!?()\n") else text
    for word in reversed(list(_WORD.finditer(out))):
        if word.group().lower() in muted:
            out = out[:word.start()] + out[word.end():]
    left = [w for w in _WORD.findall(out.lower()) if w not in ENGLISH_STOP_WORDS]
    return " ".join(out.split()) if left else ""


STRIP_FRAMING = False  # leave shared framing out of what the meaning model reads (`framing_stripped`)? Opt-in
FRAMING_SHARE = 0.5  # a run of FRAMING_RUN words that this share of the findings write is framing
FRAMING_RUN = 3
_TOKEN = re.compile(r"\S+")


def _run_key(tokens: Sequence[str]) -> str:
    return " ".join(re.sub(r"\W+", "", t.lower()) for t in tokens)


def framing_stripped(items: Sequence[Described], texts: Sequence[str]) -> list[str]:
    """The texts (one per failure of `items`) less every word in a run of FRAMING_RUN words (lower-cased,
    punctuation left out) that at least FRAMING_SHARE of them contain and whose failures agree on their
    stage and file no more than chance (`field_agreement` under FRAMING_STYLE): what an analyst with a
    fixed framing wraps around each finding ("I read file ...; the error was: ... Nothing else in the run
    looked wrong to me"). An encoder that averages a finding's words reads the framing as most of its
    meaning, so every finding of that analyst, a cause's or a causeless one's, means alike; the word
    vectors already weigh it down (idf). A cause that is half the failures is not framing: its failures
    agree on where. A text left with nothing is read whole."""
    np = need("numpy", "clustering")
    spans = [list(_TOKEN.finditer(t)) for t in texts]
    runs = [{_run_key([m.group() for m in ms[k:k + FRAMING_RUN]]) for k in range(len(ms) - FRAMING_RUN + 1)}
            for ms in spans]
    df = Counter(r for rs in runs for r in rs)
    common = sorted(r for r, n in df.items() if n >= FRAMING_SHARE * len(texts) and n >= FRAMING_MIN_DF and r.strip())
    if not common:
        return list(texts)
    present = np.array([[r in rs for r in common] for rs in runs], dtype=bool)
    framing = {r for r, w in zip(common, field_agreement(present, items), strict=True) if w < FRAMING_STYLE}
    if not framing:
        return list(texts)
    out = []
    for text, ms in zip(texts, spans, strict=True):
        covered: set[int] = set()
        for k in range(len(ms) - FRAMING_RUN + 1):
            if _run_key([m.group() for m in ms[k:k + FRAMING_RUN]]) in framing:
                covered.update(range(k, k + FRAMING_RUN))
        left = " ".join(m.group() for k, m in enumerate(ms) if k not in covered)
        out.append(left if _WORD.search(left) else text)
    return out


def class_conflicts(classes: Sequence[frozenset[str]]) -> np.ndarray:
    """Pairs that each name an error class and share none (a timeout and a parse error): different
    failures however alike their prose, so meaning does not bring them together."""
    import numpy as np

    names = sorted(set().union(*classes)) if classes else []
    has = np.array([[name in c for name in names] for c in classes], dtype=float).reshape(len(classes), len(names))
    named = has.any(axis=1)
    return np.outer(named, named) & ((has @ has.T) == 0)


def above_typical(sim: np.ndarray) -> np.ndarray:
    """Meaning's cosine, counted only above the backtest's median pair, rescaled to [0, 1].

    Any two findings of one backtest share its domain and its analysts' manner (two failures of a log
    assistant are both about log queries), so a typical pair is already well above zero; only what is
    more alike than the typical pair says two failures share a cause. The median adapts this to each
    backtest, where a fixed floor would merge the causes of a narrow domain or none of a broad one."""
    import numpy as np

    n = sim.shape[0]
    if n < 2:
        return sim
    floor = float(np.median(sim[np.triu_indices(n, 1)]))
    out = np.clip((sim - floor) / max(1.0 - floor, 1e-9), 0.0, 1.0)
    np.fill_diagonal(out, 1.0)
    return out



def _tokens(d: Described) -> list[str]:
    """Words and word pairs of each prose part (pairs never span two parts), then the class and field
    tokens as they are."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out: list[str] = []
    for part in ("finding", "change", "error"):
        words = [w for w in _WORD.findall(d.parts[part])
                 if w not in ENGLISH_STOP_WORDS and not w.startswith("errclass_")]
        out += words + [f"{a} {b}" for a, b in pairwise(words)]
    out += [t for t in d.parts["error"].split() if t.startswith("errclass_")] + d.parts["where"].split()
    return out + _trace_tokens(d.parts.get("trace", "")) + [f"trace:{t}" for t in d.parts.get("calls", "").split()]


def _trace_tokens(part: str) -> list[str]:
    """Per error line of a `trace_part`: its span, its words and word pairs and its classes, each `trace:`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out: list[str] = []
    for line in part.splitlines():
        span, _, message = line.partition(" ")
        words = [w for w in _WORD.findall(message) if w not in ENGLISH_STOP_WORDS and not w.startswith("errclass_")]
        out += [f"trace:{span}"] + [f"trace:{w}" for w in words] + [f"trace:{a} {b}" for a, b in pairwise(words)]
        out += [f"trace:{t}" for t in message.split() if t.startswith("errclass_")]
    return out


def _block(items: Sequence[Described]) -> tuple[Any, list[str]]:
    """Binary term presence weighted by log(n/df): a word every failure has weighs 0."""
    np = need("numpy", "clustering")
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(binary=True, analyzer=_tokens)
    try:
        counts = vec.fit_transform(items)
    except ValueError:  # no words at all
        return np.zeros((len(items), 0)), []
    df = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log((len(items) + 1) / (df + 1))
    return counts.multiply(idf).toarray(), [str(t) for t in vec.get_feature_names_out()]


def is_call(term: str) -> bool:
    """A term from what the trace did (tracecalls.py), not from its errors."""
    return term.startswith(("trace:call_", "trace:arg_", "trace:said_", "trace:got_"))


def _weight(term: str, field: bool) -> float:
    if is_call(term):
        return CALL_WEIGHT
    trace = term.startswith("trace:")
    term = term.removeprefix("trace:")
    base = CLASS_WEIGHT if term.startswith("errclass_") else SPAN_WEIGHT if term.startswith("span_") else \
        FIELD_WEIGHT if field else 1.0
    return base * (TRACE_WEIGHT if trace else 1.0)


def build_features(items: Sequence[Described], *, framing: bool = True,
                   passing: Sequence[frozenset[str]] | None = None) -> FeatureSpace:
    """Unit-length rows over one vocabulary: the finding's words, the error's words and classes, and the
    where-tokens (stage_X, file_X, tool_X), each column weighted by log(n/df) and its kind's weight, and
    each word and class by how far the fields of the failures using it agree (`field_agreement`); each
    term from the trace by how much more often failures' traces have it than `passing` runs' (their
    `trace_terms`; `passing_contrast`)."""
    np = need("numpy", "clustering")
    need("sklearn", "clustering")
    from sklearn.preprocessing import normalize

    if not items:  # nothing analysed yet: no rows (normalize refuses an empty matrix)
        return FeatureSpace(matrix=np.zeros((0, 0)), terms=[])
    block, terms = _block(items)
    fields = np.array([t.startswith(("stage_", "file_", "tool_")) for t in terms], dtype=bool)
    weights = np.array([_weight(t, f) for t, f in zip(terms, fields, strict=True)])
    agreement = np.ones(len(terms))
    if framing and terms:
        agreement = np.where(fields, 1.0, field_agreement(block > 0, items))
        weights = weights * agreement
    if passing is not None and terms:
        weights = weights * passing_contrast(block > 0, terms, passing)
    unbound = None
    seen, passed = [d.seen for d in items], list(passing or [])
    contrast, cells = np.ones(len(terms)), np.ones(block.shape)
    if passing is not None and terms and QUOTED_CONTRAST and any(seen):
        contrast = quoted_contrast(terms, seen, passing)
    if passing is not None and terms and CONTENT_CONTRAST and any(d.parts.get("calls") for d in items):
        content = [content_words(d.parts.get("calls", "").split()) for d in items]
        passed_content = [content_words(run) for run in passing]
        cells = content_cells(block > 0, terms, content, passed_content)
        seen = [s | c for s, c in zip(seen, content, strict=True)]
        passed = [s | c for s, c in zip(passed, passed_content, strict=True)]
    if (contrast < 1).any() or (cells < 1).any():
        unbound = _unbound(block, terms, contrast, seen, passed, cells)
        weights = weights * contrast
    matrix = block * weights * already_written(block > 0, terms) * cells if terms else block
    return FeatureSpace(matrix=np.asarray(normalize(matrix)), terms=terms, unbound=unbound,
                        muted=muted_words(block, terms, agreement * contrast * cells))


def muted_words(block: Any, terms: Sequence[str], survives: Any) -> list[frozenset[str]]:
    """Per failure, its analyst's words (single words; not fields, classes or trace terms) that `survives`
    (per term or per failure and term: field agreement, `quoted_contrast`, `content_cells`) keeps under
    MUTED_UNDER of: what the meaning model does not read of it (`meaning_text`)."""
    np = need("numpy", "clustering")
    if not terms:
        return [frozenset() for _ in range(block.shape[0])]
    word = np.array([" " not in t and not t.startswith(("trace:", "stage_", "file_", "tool_", "errclass_"))
                     for t in terms], dtype=bool)
    low = (block > 0) & word[None, :] & (np.broadcast_to(survives, block.shape) < MUTED_UNDER)
    return [frozenset(terms[j] for j in np.flatnonzero(row)) for row in low]


_PARTS = re.compile(r"[_./-]+")


def content_words(terms: Iterable[str]) -> frozenset[str]:
    """The words of what a trace did, said and returned (its `call_`, `arg_`, `said_`, `got_` terms,
    tracecalls.py), each as `trace:<word>`: the identifier as it is and its parts of 3 letters or more
    (`got_served_from` names "served_from", "served" and "from"), as an analyst might write them."""
    out: set[str] = set()
    for term in terms:
        term = term.removeprefix("trace:")
        kind, _, ident = term.partition("_")
        if kind not in ("call", "arg", "said", "got") or not ident:
            continue
        out.add(ident)
        out.update(p for p in _PARTS.split(ident) if len(p) >= 3)
    return frozenset(f"trace:{w}" for w in out)


def written_where_carried(written: Any, carries: Any) -> Any:
    """Per term: do failures' analysts write it where their trace carries it, clearly more often than
    where it does not? One-sided Fisher exact test (writers among the carrying failures, against all its
    writers), Benjamini-Hochberg at CALL_FDR over the terms CALL_SUPPORT carrying failures' analysts wrote.

    What tells an analyst describing what the run did from one naming a cause in words a trace happens to
    carry: a cause's words are written whether or not the run's trace carries them (a fiscal-quarter
    failure's analyst writes "april" whichever months the model said it summed)."""
    np = need("numpy", "clustering")
    from scipy.stats import hypergeom

    written, carries = np.asarray(written, dtype=bool), np.asarray(carries, dtype=bool)
    both = (written & carries).sum(axis=0).astype(float)
    writers = written.sum(axis=0).astype(float)
    tested = np.flatnonzero(both >= CALL_SUPPORT)
    out = np.zeros(written.shape[1], dtype=bool)
    if not len(tested):
        return out
    p = hypergeom.sf(both[tested] - 1, written.shape[0], writers[tested], carries.sum(axis=0)[tested])
    out[tested[_discoveries(p, np)]] = True
    return out


def content_cells(present: Any, terms: Sequence[str], content: Sequence[frozenset[str]],
                  passing: Sequence[frozenset[str]]) -> Any:
    """Per failure and term, in [0, 1]: an analyst's word that names what this failure's own trace did,
    said or returned (`content_words`) weighs, in this failure, as `quoted_contrast` weighs a word naming
    an error: 1 - (share of passing runs' traces carrying it) / (share of failures' traces carrying it),
    0 where at least CALL_SUPPORT failures carry it and `call_enriched` finds it not enriched. A word
    CONTENT_COMMON of passing runs carry (the system's vocabulary: its tools, tables, columns) is left
    alone, as is the same word in a failure whose trace does not carry it; a word pair weighs no more
    than its words; 1 everywhere else.

    Analysts describe what they saw the run do, not only its errors: a cache that answered, a default
    the model applied, a note a tool returned. Runs that went right do it as often, so it says nothing of
    a cause, yet failures whose analysts describe it share its words: causeless failures bound to each
    other and to causes. Per failure, not per term, because the same word is a cause's where the trace
    does not carry it (a stale exchange-rate cache, written of a run that never saw the result cache)."""
    np = need("numpy", "clustering")
    present = np.asarray(present, dtype=bool)
    cells = np.ones(present.shape)
    if not passing or not any(content):
        return cells
    in_passing_all: Counter[str] = Counter()
    for run in passing:
        in_passing_all.update(run)
    common = {w for w, n in in_passing_all.items() if n >= CONTENT_COMMON * len(passing)}
    in_failures_all: Counter[str] = Counter()
    for run in content:
        in_failures_all.update(run)
    analyst = [i for i, t in enumerate(terms) if " " not in t
               and not t.startswith(("trace:", "stage_", "file_", "tool_", "errclass_"))
               and f"trace:{t}" not in common]
    if not analyst:
        return cells
    in_failures = np.array([in_failures_all[f"trace:{terms[i]}"] for i in analyst], dtype=float)
    in_passing = np.array([in_passing_all[f"trace:{terms[i]}"] for i in analyst], dtype=float)
    named = (in_failures > 0) & (in_passing > 0)
    lift = np.clip(1.0 - (in_passing / len(passing)) / np.maximum(in_failures / len(content), 1e-12), 0.0, 1.0)
    kept = call_enriched(np.where(named, in_failures, 0.0), in_passing, len(content), len(passing))
    weight = np.where((in_failures >= CALL_SUPPORT) & ~kept, 0.0, lift)
    carries = np.array([[f"trace:{terms[i]}" in run for i in analyst] for run in content], dtype=bool)
    described = written_where_carried(present[:, analyst], carries) & named & (weight < 1)
    for k, i in enumerate(analyst):
        if described[k]:
            cells[carries[:, k] & present[:, i], i] = weight[k]
    column = {t: i for i, t in enumerate(terms)}
    for i, term in enumerate(terms):  # a pair weighs no more than its words, in each failure
        if " " in term and not term.startswith("trace:"):
            a, _, b = term.partition(" ")
            for j in (column.get(a), column.get(b)):
                if j is not None:
                    cells[:, i] = np.minimum(cells[:, i], cells[:, j])
    return cells


def quoted_contrast(terms: Sequence[str], seen: Sequence[frozenset[str]], passing: Sequence[frozenset[str]]) -> Any:
    """Per term, in [0, 1]: for an analyst's word, word pair or error class that names an error the
    failures' traces record (`seen`, their `trace:` error terms), 1 - (share of passing runs whose trace
    records it) / (share of failures whose trace does), and 0 where enough failures record it to test
    (CALL_SUPPORT) and they do not record it clearly more often than passing runs (`call_enriched`:
    Fisher, Benjamini-Hochberg); 1 for every other term, and for one no passing run's trace records. A
    word pair weighs no more than either of its words (a pair may join the end of one quoted part to
    the start of the next, which no trace records).

    An analyst that quotes the run's first error quotes whatever the run hit first, and that is often
    a harmless error every run may hit (a timeout retried with success). Failures that quote it, a
    cause's and a causeless one's alike, share its words and what they mean, so they bound into one
    cohort, mixed, and pulled causeless failures in. The error's words then say nothing about a cause
    however often analysts quote them, as an error term from the trace itself says nothing
    (`passing_contrast`): the same test, on the analysts' words that name what traces record."""
    np = need("numpy", "clustering")
    out = np.ones(len(terms))
    if not passing or not seen:
        return out
    analyst = [i for i, t in enumerate(terms) if not t.startswith(("trace:", "stage_", "file_", "tool_"))]
    failing, counted = _counted(seen), _counted(passing)
    in_failures = np.array([failing[f"trace:{terms[i]}"] for i in analyst], dtype=float)
    in_passing = np.array([counted[f"trace:{terms[i]}"] for i in analyst], dtype=float)
    named = (in_failures > 0) & (in_passing > 0)
    if not named.any():
        return out
    lift = np.clip(1.0 - (in_passing / len(passing)) / np.maximum(in_failures / len(seen), 1e-12), 0.0, 1.0)
    tested = in_failures >= CALL_SUPPORT
    kept = call_enriched(np.where(named, in_failures, 0.0), in_passing, len(seen), len(passing))
    weight = np.where(tested & ~kept, 0.0, lift)
    cols = np.array(analyst, dtype=int)
    out[cols[named]] = weight[named]
    column = {t: i for i, t in enumerate(terms)}
    for i in analyst:  # a word pair weighs no more than its words: "timeout queuepool" joins two quotes' ends
        if " " in terms[i]:
            a, _, b = terms[i].partition(" ")
            out[i] = min(out[i], out[column[a]] if a in column else 1.0, out[column[b]] if b in column else 1.0)
    return out


UNBOUND_UNDER = 0.5  # a term weighed under this by `quoted_contrast` is listed as unbound (evidence.py)


def _unbound(block: Any, terms: Sequence[str], contrast: Any, seen: Sequence[frozenset[str]],
             passing: Sequence[frozenset[str]], cells: Any = None) -> Unbound:
    """What `quoted_contrast` and `content_cells` weighed down, for a cohort's evidence, and each
    failure's kept share: of its words' TF-IDF weight, what they leave (other weights aside: an error
    quoted by analysts of every kind of failure is spread over the fields as a style's framing is, so
    `field_agreement` may have weighed its words down already, but what it means still binds). A term
    `content_cells` weighs down is listed at its lowest weight in a failure that wrote it."""
    np = need("numpy", "clustering")
    cells = np.ones(block.shape) if cells is None else cells
    analyst = np.array([not t.startswith(("trace:", "stage_", "file_", "tool_")) for t in terms], dtype=bool)
    words = analyst & np.array([" " not in t for t in terms], dtype=bool)  # a pair may join two parts' ends
    before = np.linalg.norm(block * words, axis=1)
    after = np.linalg.norm(block * (words * contrast) * cells, axis=1)
    kept = np.where(before > 0, after / np.maximum(before, 1e-12), 1.0)
    contrast = np.minimum(contrast, np.where(block > 0, cells, 1.0).min(axis=0))
    cols = np.flatnonzero(analyst & (contrast < UNBOUND_UNDER) & (block > 0).any(axis=0))
    names = [terms[i] for i in cols]
    failing, counted = _counted(seen), _counted(passing)

    def runs(counter: Counter[str], term: str) -> int:  # a pair no trace records as such: its rarer word
        return counter[f"trace:{term}"] or min(counter[f"trace:{w}"] for w in term.split())

    share = np.array([runs(failing, t) for t in names], dtype=float) / max(len(seen), 1)
    in_passing = np.array([runs(counted, t) for t in names], dtype=float) / max(len(passing), 1)
    single = np.array([" " not in t for t in terms], dtype=bool)
    low = (cells < UNBOUND_UNDER) & (block > 0) & (analyst & single)[None, :]
    described = [frozenset(terms[j] for j in np.flatnonzero(row)) for row in low]
    return Unbound(names, contrast[cols], share, in_passing, block[:, cols] > 0, kept, described)


def _counted(runs: Sequence[frozenset[str]]) -> Counter[str]:
    """Per error term (calls left out), the runs whose trace records it."""
    out: Counter[str] = Counter()
    for run in runs:
        out.update(t for t in run if not is_call(t))
    return out


def already_written(present: Any, terms: Sequence[str]) -> Any:
    """Per term, in [0, 1]: for a word of the trace's errors, the share of the failures recording it whose
    analyst did not write it too; 1 for every other term.

    An analyst that quotes the run's error puts its words in the finding already; counting them again
    from the trace, TRACE_WEIGHT times, only makes the error's wording weigh more than anything else the
    failures share. One cause whose runs report several wordings of its error (a column missing, said
    by each database driver its own way) then splits by wording (dev_ledger.py's renamed-column with
    its quoting analysts). Per term over the backtest, not per failure: a failure whose analyst quoted
    the error and one whose analyst did not still share the trace's term, at the same weight."""
    np = need("numpy", "clustering")
    present = np.asarray(present, dtype=bool)
    column = {t: i for i, t in enumerate(terms)}
    out = np.ones(len(terms))
    for i, term in enumerate(terms):
        twin = column.get(term.removeprefix("trace:")) if term.startswith("trace:") and not is_call(term) else None
        if twin is not None and present[:, i].any():
            out[i] = 1.0 - float((present[:, i] & present[:, twin]).sum()) / float(present[:, i].sum())
    return out


def trace_terms(trace: Sequence[TraceError] = (), calls: Sequence[str] = (),
                keep: frozenset[str] = frozenset()) -> frozenset[str]:
    """The `trace:` terms a run's trace gives (its errors, `trace_part`, and its calls), as `_tokens` makes them."""
    return frozenset(_trace_tokens(trace_part(trace, keep)) + [f"trace:{t}" for t in calls])


def passing_contrast(present: Any, terms: Sequence[str], passing: Sequence[frozenset[str]]) -> Any:
    """Per term, in [0, 1]: for a term from the trace, 1 - (share of passing runs whose trace has it) /
    (share of failures whose trace has it); 1 for the analysts' terms. An error that runs which went
    right record as often (a timeout retried, a check that always warns) says nothing about a cause.
    A call term (`is_call`) must also pass `call_enriched`, and counts for nothing without passing runs
    to tell it from what every run does."""
    np = need("numpy", "clustering")
    out = np.ones(len(terms))
    present = np.asarray(present, dtype=bool)
    calls = np.array([is_call(t) for t in terms], dtype=bool)
    if not passing:
        return np.where(calls, 0.0, out)
    seen: Counter[str] = Counter()
    for run in passing:
        seen.update(run)
    in_passing = np.array([seen[t] for t in terms], dtype=float)
    rate = present.mean(axis=0)
    traced = np.array([t.startswith("trace:") for t in terms], dtype=bool) & (in_passing > 0) & (rate > 0)
    lift = 1.0 - (in_passing / len(passing)) / np.maximum(rate, 1e-12)
    out = np.where(traced, np.clip(lift, 0.0, 1.0), out)
    kept = call_enriched(present.sum(axis=0), in_passing, present.shape[0], len(passing))
    return np.where(calls & ~kept, 0.0, out)


def call_enriched(in_failures: Any, in_passing: Any, failures: int, passing: int) -> Any:
    """Per term: do failures carry it clearly more often than passing runs? One-sided Fisher exact test
    (the hypergeometric tail: this many failures or more among the runs carrying it, were failing
    unrelated to it), Benjamini-Hochberg at CALL_FDR over the terms CALL_SUPPORT failures carry.

    Fisher because the counts are small (a cause of 5 failures, a term no passing run has) and exact
    matters there; a false discovery rate because a trace gives hundreds of terms, so a fixed p-value
    would keep a few by chance in every backtest, and a family-wise bound (Bonferroni) would drop a
    small cause's whole evidence. Runs that fail more on some questions than others make their words
    enriched too; that is the backtest's own contrast, and the analysts' words still decide groups."""
    np = need("numpy", "clustering")
    from scipy.stats import hypergeom

    in_failures = np.asarray(in_failures, dtype=float)
    tested = np.flatnonzero(in_failures >= CALL_SUPPORT)
    kept = np.zeros(len(in_failures), dtype=bool)
    if not len(tested) or not passing:
        return kept
    carrying = in_failures[tested] + np.asarray(in_passing, dtype=float)[tested]
    p = hypergeom.sf(in_failures[tested] - 1, failures + passing, carrying, failures)
    kept[tested[_discoveries(p, np)]] = True
    return kept


def _discoveries(p: Any, np: Any) -> Any:
    """Indexes into `p` that Benjamini-Hochberg keeps at CALL_FDR (the step-up: every p-value up to the
    largest rank whose p * n / rank passes)."""
    order = np.argsort(p, kind="stable")
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    passed = np.flatnonzero(ranked <= CALL_FDR)
    return order[: passed.max() + 1] if len(passed) else order[:0]


def framing_presence(items: Sequence[Described]) -> Any:
    """Per failure, which framing terms it uses (terms FRAMING_MIN_DF failures use that field agreement
    weighs under FRAMING_STYLE): how it is written rather than what it says. No rows' columns where no
    term is framing or fewer than FRAMING_FIELDS fields vary."""
    np = need("numpy", "clustering")
    block, terms = _block(items)
    if not terms:
        return np.zeros((len(items), 0))
    present = block > 0
    fields = np.array([t.startswith(("stage_", "file_", "tool_")) for t in terms], dtype=bool)
    traced = np.array([t.startswith("trace:") for t in terms], dtype=bool)  # the trace's words are not a style's
    framing = (field_agreement(present, items) < FRAMING_STYLE) & (present.sum(axis=0) >= FRAMING_MIN_DF) & ~fields & ~traced
    return present[:, framing].astype(float)


def field_values(items: Sequence[Described]) -> list[list[str]]:
    """Per field (stage, file, tool), each failure's value, "" where the analyst gave none."""
    return [[d.stage if d.stage not in ("other", "none") else "" for d in items],
            [d.component for d in items], [d.tool for d in items]]


def field_agreement(present: Any, items: Sequence[Described]) -> Any:
    """Per term, in [0, 1]: how far the failures using it agree on their fields beyond chance.

    Framing that an analyst style puts around every finding ("Finding: ... Impact: ...", "I traced the
    run ...", a shorthand's function words) is spread over failures whatever their cause, so the stage,
    file and tool of the failures using it agree no more than two failures picked at random; a cause's
    words are used by failures that tend to share a stage or file, however noisily analysts fill them.
    Per field, among pairs of a term's failures that both give a value: the share that agree, as Cohen's
    kappa against the share among all such pairs (0: chance, 1: all agree); averaged over the fields
    that vary, weighted by those pairs. A term counts in full from FRAMING_FULL; terms fewer than
    FRAMING_MIN_DF failures use, and every term when no field varies, are not tested (weight 1)."""
    np = need("numpy", "clustering")
    present = np.asarray(present, dtype=float)
    df = present.sum(axis=0)
    agree_sum, pair_sum = np.zeros(present.shape[1]), np.zeros(present.shape[1])
    varying = [values for values in field_values(items) if len({v for v in values if v}) >= 2]
    if len(varying) < FRAMING_FIELDS:
        return np.ones(present.shape[1])
    for values in varying:
        names = sorted({v for v in values if v})
        onehot = np.array([[v == name for name in names] for v in values], dtype=float)
        known = onehot.sum(axis=1)
        all_pairs = known.sum() * (known.sum() - 1)
        chance = float((onehot.sum(axis=0) * (onehot.sum(axis=0) - 1)).sum() / max(all_pairs, 1.0))
        if chance >= 1.0:
            continue
        counts = present.T @ onehot  # per term and value: failures using the term with that value
        m = present.T @ known
        pairs = m * (m - 1)
        agree = (counts * (counts - 1)).sum(axis=1) / np.maximum(pairs, 1.0)
        agree_sum += pairs * (agree - chance) / (1.0 - chance)
        pair_sum += pairs
    kappa = agree_sum / np.maximum(pair_sum, 1.0)
    weight = np.clip(kappa / FRAMING_FULL, 0.0, 1.0)
    return np.where((df >= FRAMING_MIN_DF) & (pair_sum > 0), weight, 1.0)


def corroborated(space: FeatureSpace) -> FeatureSpace:
    """The space with each failure's terms weighted by how far other evidence backs them (see module
    doc). A failure whose every term is unbacked becomes a zero row: it resembles nothing. A failure's
    fields (stage, file, tool) count here as far as its analyst's words are kept (`Unbound.kept`): the
    analysts of causeless failures that quote only a harmless error, their words weighed to nothing,
    still name a stage and a file, and a generic file (the agent loop) made them a core of their own
    (dev_ledger.py seed 32 quoting, harmless error alone: 6 of 19 causeless failures in two cohorts);
    a cause's failure whose analyst quoted only that error still joins its cause in the plain view,
    by its fields and its trace's marks."""
    np = need("numpy", "clustering")
    from sklearn.preprocessing import normalize

    base = space.matrix
    if CORE_FIELDS_KEPT and space.unbound is not None and space.terms:
        fields = np.array([t.startswith(("stage_", "file_", "tool_")) for t in space.terms], dtype=bool)
        base = base * np.where(fields[None, :], space.unbound.kept[:, None], 1.0)
    present = base > 0
    weighted = base
    for _ in range(CORROBORATION_ROUNDS):
        weighted = base * _backing(weighted, present, np)
    return FeatureSpace(matrix=np.asarray(normalize(weighted)), terms=space.terms)


def _backing(matrix: Any, present: Any, np: Any) -> Any:
    """Per failure and term, in [0, 1]: the failure's mean cosine (mates left out) to the other failures
    with the term, over the mean cosine of all pairs of failures; 1 at twice that mean or more."""
    n = matrix.shape[0]
    gram = matrix @ matrix.T
    norms = np.sqrt(np.maximum(np.diag(gram), 1e-12))
    pairs = np.triu_indices(n, 1)
    background = float((gram / np.outer(norms, norms))[pairs].mean()) if n > 1 else 0.0
    df = present.sum(axis=0)
    backing = np.ones(matrix.shape)
    if background <= 0:
        return backing
    for t in np.nonzero(df >= 2)[0]:
        rows = np.nonzero(present[:, t])[0]
        shared = present[rows].sum(axis=0)  # per term, how many of these failures also have it
        mates = np.nonzero(shared >= MATE_JACCARD * (df[t] + df - shared))[0]
        part = matrix[np.ix_(rows, mates)]
        sub = gram[np.ix_(rows, rows)] - part @ part.T
        rest = np.diag(sub)
        left = np.sqrt(np.maximum(rest, 1e-12))
        cos = sub / np.outer(left, left)
        cover = 1.0 - rest / np.maximum(np.diag(gram)[rows], 1e-12)  # how much of each failure the phrase is
        said = np.nonzero(cover >= PHRASE_COVER)[0]  # failures that say little besides the phrase
        cos[np.ix_(said, said)] = 1.0  # are alike in what they say
        mean = (cos.sum(axis=1) - np.diag(cos)) / (len(rows) - 1)
        backing[rows, t] = np.clip(mean / background - 1.0, 0.0, 1.0)
    return backing


SAID = ("trace:said_", "trace:got_", "said_", "got_")  # what a trace's models said and tools returned (tracecalls.py)
SAID_EVIDENCE = 3  # of a group's trace terms at most this many such words


def top_terms(space: FeatureSpace, rows: Sequence[int], k: int = 6, *, trace: bool = False) -> list[str]:
    """The terms that bind `rows`: highest mean weight inside the group, minus the mean outside it; the
    analyst's terms, or with `trace` those from the trace (without their `trace:` prefix)."""
    np = need("numpy", "clustering")
    if not space.terms or not rows:
        return []
    inside = space.matrix[list(rows)].mean(axis=0)
    mask = np.ones(space.matrix.shape[0], dtype=bool)
    mask[list(rows)] = False
    outside = space.matrix[mask].mean(axis=0) if mask.any() else 0 * inside
    score = inside - outside
    # Ties are common (the words of one sentence all members share score alike) and argsort ordered them
    # by whatever SIMD sort the CPU has, so a cohort's terms and name changed from one machine to the
    # next. Ties go to phrases before single words (a phrase says more), then by name; scores are
    # rounded past the last bits another summation order can move.
    # (only the terms that bind at all are sorted: a backtest has tens of thousands, a group a few dozen)
    order = sorted(np.flatnonzero(score > 0).tolist(),
                   key=lambda i: (-round(float(score[i]), 9), -space.terms[i].count(" "), space.terms[i]))
    picked: list[str] = []
    for i in order:
        if score[i] <= 0 or len(picked) >= k:
            break
        if space.terms[i].startswith(("stage_", "file_", "tool_")) or space.terms[i].startswith("trace:") != trace:
            continue  # fields are reported as fields, the trace's terms apart from the analyst's
        if space.terms[i].startswith(SAID) and sum(p.startswith(SAID) for p in picked) >= SAID_EVIDENCE:
            continue  # a model's reply is many words of one sentence: the errors and calls still show
        term = space.terms[i].removeprefix("trace:").replace("errclass_", "class:")
        if not any(term in p.split() or p in term.split() for p in picked):  # "crm" and "crm timeout": one
            picked.append(term)
    return picked

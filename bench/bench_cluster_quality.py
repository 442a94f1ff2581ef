#!/usr/bin/env python3
"""How well `backtest cluster` recovers planted causes, on two unlike generators, over several seeds.

For each seed: generate, import, analyse, cluster, then score the cohorts against the plant
(`agentbook.backtest.quality`): adjusted Rand index, purity, recall and purity of the cohort holding
each cause with >= 5 failures, and the share of causeless failures kept out of cause cohorts.

  support-agent  / file-reading: the scripted analyst that reads each trace (on_result turns)
  support-agent  / templated:    analyses in three writing styles, several phrasings per cause
  support-agent  / paraphrased:  the same runs told by paraphrasing analysts (tests/backtest/support.py,
                                 write_paraphrased): a cause's findings share almost no word (synonyms,
                                 other angles, German/Spanish/Dutch), stage and file disputed, nothing quoted
  dev-ledger     / templated:    the development generator (tests/backtest/dev_ledger.py, a text-to-SQL
                                 assistant): five analyst styles with framing words (one French
                                 shorthand), causeless failures in every style, fields sometimes off
  dev-ledger     / quoting:      the same runs, analyses quoting each run's first error or reviewer note; a
                                 third of all runs, right or wrong, first hit a retried connection pool
                                 timeout, which these analysts quote (causeless failures' too)
  dev-ledger     / paraphrased:  the same runs told by paraphrasing analysts (write_paraphrased, as above)
  dev-ledger-noisy / all three:  the same plant with noisy traces: errors that are no cause (a retried
                                 timeout in any run, a totals check flagging several causes alike)
  dev-parcel     / templated:    a development generator (tests/backtest/dev_parcel.py, a returns agent) whose
                                 cause pairs differ in their errors only by a number (carrier 409 / 422,
                                 refund code 7011 / 7014), four styles (one Italian shorthand)
  dev-parcel     / framed:       the same runs, an analyst with one fixed framing ("I read file X; the error
                                 was: `...`") around each run's error, else the reviewer's note
  dev-parcel     / unreliable:   the same runs, analysts in four manners: confident (causeless failures pinned on a
                                 cause's place as surely), misblaming the step before or after, hedging between the
                                 cause and its sibling at the same place (leaning wrong a third of the time), German
                                 shorthand
  incident-assistant / scripted: the example backtest's own analyst
  heldout-coding / quoting:      held-out generator (tests/backtest/heldout_coding.py, a coding agent),
                                 analyses quoting each run's own error or reviewer note
  heldout-coding / templated:    the same runs, three framings around a few phrasings per cause
  heldout-atlas / templated:     held-out generator (tests/backtest/heldout_atlas.py, a retrieval Q&A
                                 bot), four writing styles, phrasings of a cause that share few words
  heldout-voice / quoting:       held-out generator (tests/backtest/heldout_voice.py, a phone booking
                                 agent), analyses quoting the span that went wrong, verbatim
  heldout-voice / templated:     the same calls: bullet notes, narratives, questions, German/English shorthand
  heldout-claims / quoting:      held-out generator (tests/backtest/heldout_claims.py, an insurance claims agent
                                 traced with Langfuse), analyses quoting the run's error or the reviewer's note
  heldout-claims / templated:    the same claims: hedged essays naming what they ruled out, ticket lines, a
                                 markdown checklist, Spanish shorthand; the stage and file often off
  heldout-dispatch / quoting:    held-out generator (tests/backtest/heldout_dispatch.py, four dispatch agents handing
                                 off, OpenAI Agents SDK traces), analyses quoting the run's first error, else the span
  heldout-dispatch / templated:  the same runs: root-cause trees, bug reports, one-liners, Dutch shorthand, analysts
                                 blaming a neighbouring agent, analysts listing three candidate causes
  heldout-invoice / scripted:    held-out generator (tests/backtest/heldout_invoice.py, an accounts-payable pipeline
                                 reading supplier invoices, LangSmith run exports), its scripted analyst run through
                                 `analyze`: quotes the run's first error (often a harmless retry), else the PO
                                 match's block reason, else the clerk's correction
  heldout-invoice / templated:   the same invoices: AP-desk ticket lines, five-whys chains, Polish shorthand, hedgers
                                 weighing two causes, misblamers naming the wrong component, hashtag notes
  heldout-triage / quoting:      held-out generator (tests/backtest/heldout_triage.py, a symptom-triage chat agent in
                                 English and Portuguese, Pydantic AI message histories), a reviewer quoting the
                                 part of the chat she finds decisive, else the first retried error, else the nurse
  heldout-triage / templated:    the same chats: SOAP notes, Portuguese shorthand, incident forms, probabilities over
                                 two or three causes, analysts blaming the model or the patient, team-chat messages
  heldout-querydesk / quoting:   held-out generator (tests/backtest/heldout_querydesk.py, a SQL data-analyst agent
                                 traced with Arize Phoenix), a reviewer quoting the SQL or table she finds decisive,
                                 else the run's first error (often a harmless retried one), else her re-check
  heldout-querydesk / templated: the same runs: ticket lines, postmortems, Danish shorthand, hedgers weighing two
                                 causes, analysts blaming the question or the warehouse, findings as SQL comments
  heldout-firstday / quoting:    held-out generator (tests/backtest/heldout_firstday.py, a multi-agent HR onboarding
                                 assistant recorded as Inspect AI eval logs), an auditor quoting the log line she finds
                                 decisive, else the run's first error (often a harmless retried one), else her audit note
  heldout-firstday / templated:  the same hires: commit messages, long hedged prose, numbered hypotheses with one
                                 chosen, Swedish shorthand, stand-up updates, analysts filing it under the wrong file

The clustering may be tuned on support-agent, dev-ledger and the hand-annotated real failures
(bench_cluster_real.py); the held-out generators are never tuned on: they say whether the figures hold on a backtest the
clustering was not shaped by.

Two peers, measured in the same run on the same analyses: the same clustering on words alone (what
runs when the meaning model, backtest/embeddings.py, is not installed), and the fingerprint partition
the pipeline used before (stage | suspected file | masked error text, each distinct fingerprint one
cohort). Then each installed meaning model's pair AUC on the same findings (how often two failures
of one cause are more alike than a pair that is not; backtest/embeddings.py picks the first), and the
cost of meaning: embedding 1,000 failures' findings with each model, and `cluster` on them with and
without meaning. Beside them, the same clustering with the other setting of `--trace-errors` (the errors
each failure's trace records, backtest/traceterms.py, read as terms beside the analysts' words), and
what reading them costs on about 1,000 dev-ledger failures: the reads, and `cluster` with and without.
Last, two joins of groups written alike whose stages and files agree. "+MiniLM join (opt-in)" is the default
plus `cluster_labels(join=True)` (cluster.joined): such groups also bridged where a second encoder (MiniLM)
finds them each other's nearest group and more alike than a typical pair (one cause whose error is quoted in
two wordings); not the default because it also joins two causes at one place whose findings mean nearly
alike. "mark join off" is the default without its join of such groups that carry one trace mark
(`cluster_labels(join_marks=False)`, cluster.share_mark): the figures before that join, in the same run. "reach
test off" is the default without its test of a group's members that no core holds (cluster.within_reach, CORE_REACH
0): such a member stays only where its words reach a core, its trace carries the core's mark, or its stage and file
are a cored member's; the figures before that test, in the same run. "+trace
view (opt-in)" is the default plus `cluster_labels(traced=True)` (cluster.trace_view): failures whose traces carry
the same marks are at least half as alike as those marks, however their analysts word them; not the default
because it mixed causes of a held-out set (tests/backtest/test_heldout_claims.py fails with it).
"reads kept (opt-in)" is the default with features.MEANING_READS_KEPT, CONTENT_CONTRAST and CORE_FIELDS_KEPT on:
the meaning model reads only what the word weights keep and only lifts the words' cosine, the analysts' words
describing benign trace content weigh by passing runs' traces, and the corroborated view counts a failure's
fields as far as its words are kept.
"codes+framing (opt-in)" is the default with features.KEEP_NUMBERS and STRIP_FRAMING on: numbers the backtest's
analysts write as constants (codes, limits) kept, groups quoting rival codes in one slot split (cluster.split_codes),
and word runs most findings share that bind no stage or file left out of what the meaning model reads.
"ensemble" (the summary's last columns but the peer's) is the views' consensus (backtest/ensemble.py): the
default, the trace view, reads kept, codes+framing and words alone, each clustered once here, and the cohorts
those five agree on (co-association cut at ensemble.AGREE); the cost line says what it costs against the default.
Targets (issue 14): recall and purity >= 0.8 per cause, causeless kept out >= 0.7, ARI >= 0.8 with
file-reading analysts and >= 0.6 with templated ones.

    .venv/bin/python bench/bench_cluster_quality.py [--seeds 5] [--only support-agent,dev-ledger]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from loader import load_module

from agentbook.backtest import cluster as clustering
from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.cluster import TRACE_CALLS, TRACE_ERRORS, Failure, cluster_labels, collect_failures
from agentbook.backtest.embeddings import Model, embedder, models
from agentbook.backtest.ensemble import CODE_FLAGS, KEPT_FLAGS, VIEWS, consensus, ensemble, flags_on
from agentbook.backtest.features import describe_failure
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import Quality, cohorts_of, fingerprint_partition, score
from agentbook.backtest.tracecalls import call_terms
from agentbook.backtest.traceterms import TRACE_BYTES, trace_errors

REPO = Path(__file__).resolve().parents[1]
SUPPORT = REPO / "examples" / "support-agent"
INCIDENT = REPO / "examples" / "incident-assistant" / "backtest"
PARAPHRASING = REPO / "tests" / "backtest" / "support.py"  # the paraphrasing analysts (write_paraphrased)
HELDOUT = REPO / "tests" / "backtest" / "heldout_coding.py"
ATLAS = REPO / "tests" / "backtest" / "heldout_atlas.py"
VOICE = REPO / "tests" / "backtest" / "heldout_voice.py"
DEV = REPO / "tests" / "backtest" / "dev_ledger.py"
PARCEL = REPO / "tests" / "backtest" / "dev_parcel.py"
CLAIMS = REPO / "tests" / "backtest" / "heldout_claims.py"
DISPATCH = REPO / "tests" / "backtest" / "heldout_dispatch.py"
INVOICE = REPO / "tests" / "backtest" / "heldout_invoice.py"
TRIAGE = REPO / "tests" / "backtest" / "heldout_triage.py"
QUERYDESK = REPO / "tests" / "backtest" / "heldout_querydesk.py"
FIRSTDAY = REPO / "tests" / "backtest" / "heldout_firstday.py"
class Measured(NamedTuple):
    ours: Quality  # with meaning: what `cluster` does
    words: Quality  # words alone (no meaning model)
    peer: Quality  # the fingerprint partition
    aucs: dict[str, float]  # each installed meaning model's pair AUC
    other: Quality  # with meaning, the traces' errors read if `cluster` does not by default, else not (traceterms.py)
    calls: Quality  # with meaning, the other setting of the traces' calls (tracecalls.py)
    both: Quality  # with meaning, the traces' errors and calls read
    join: Quality  # plus the opt-in join of groups written alike that a second encoder says are one (cluster.joined)
    unmarked: Quality  # without the default join of groups written alike that carry one trace mark (cluster.share_mark)
    unreached: Quality  # without the default test of members no core holds (cluster.within_reach, CORE_REACH 0)
    traced: Quality  # plus the opt-in trace view (cluster.trace_view): failures whose traces carry the same marks bound
    kept: Quality  # with the opt-in reading of what the weights keep (features.MEANING_READS_KEPT and its companions)
    coded: Quality  # with the opt-in codes and framing (features.KEEP_NUMBERS, STRIP_FRAMING)
    agreed: Quality  # the views' consensus (ensemble.py: default, trace view, reads kept, codes+framing, words)


def _truth(source: Path, failures: list[Failure]) -> dict[str, str | None]:
    import json

    rows = {r["id"]: r["cause"] for r in map(json.loads, (source / "planted.jsonl").read_text().splitlines())}
    return {f.inv.id: rows[f.inv.id] for f in failures}


def pair_auc(model: Model, texts: list[str], causes: list[str | None]) -> float:
    """How often a pair of failures of one cause is more alike than a pair that is not (two causes, or
    a cause and a causeless failure, or two causeless ones); ties count half."""
    import numpy as np

    vectors = model.embed(texts)
    sim = vectors @ vectors.T
    upper = np.triu_indices(len(texts), 1)
    ids = {c: n for n, c in enumerate(sorted({c for c in causes if c is not None}))}
    label = np.array([-1 if c is None else ids[c] for c in causes])
    same = (label[upper[0]] == label[upper[1]]) & (label[upper[0]] != -1)
    pos, neg = np.sort(sim[upper][same]), np.sort(sim[upper][~same])
    if not len(pos) or not len(neg):
        return float("nan")
    below = np.searchsorted(neg, pos, side="left") + np.searchsorted(neg, pos, side="right")
    return float(below.sum() / (2 * len(pos) * len(neg)))


_MODELS: dict[str, Model | str] = {}


def measure(folder: Path, source: Path) -> Measured:
    failures, _ = collect_failures(BacktestFolder(folder))
    truth = _truth(source, failures)
    default, bare = cluster_labels(failures), cluster_labels(failures, meaning=False)
    ours, words = score(cohorts_of(failures, default), truth), score(cohorts_of(failures, bare), truth)
    if not _MODELS:
        _MODELS.update(models())
    texts = [describe_failure(f.analysis).text for f in failures]
    causes = [truth[f.inv.id] for f in failures]
    aucs = {name: pair_auc(m, texts, causes) for name, m in _MODELS.items() if not isinstance(m, str)}
    other = score(cohorts_of(failures, cluster_labels(failures, trace=not TRACE_ERRORS)), truth)
    calls = score(cohorts_of(failures, cluster_labels(failures, calls=not TRACE_CALLS)), truth)
    both = score(cohorts_of(failures, cluster_labels(failures, trace=True, calls=True)), truth)
    join = score(cohorts_of(failures, cluster_labels(failures, join=True)), truth)
    unmarked = score(cohorts_of(failures, cluster_labels(failures, join_marks=False)), truth)
    unreached = score(cohorts_of(failures, unreached_labels(failures)), truth)
    # the views ensemble.py agrees over, each clustered once here (ensemble.view_labels runs the same)
    views = {"default": default, "trace view": cluster_labels(failures, traced=True),
             "reads kept": flagged(failures, KEPT_FLAGS), "codes+framing": flagged(failures, CODE_FLAGS), "words": bare}
    assert list(views) == [v.name for v in VIEWS]
    return Measured(ours, words, score(fingerprint_partition(failures), truth), aucs, other, calls, both, join,
                    unmarked, unreached, *(score(cohorts_of(failures, views[name]), truth)
                                for name in ("trace view", "reads kept", "codes+framing")),
                    score(cohorts_of(failures, consensus(list(views.values()))), truth))


def unreached_labels(failures: list[Failure]) -> list[int]:
    """`cluster_labels` without the test of a group's members no core holds (`cluster.within_reach`)."""
    saved = clustering.CORE_REACH
    clustering.CORE_REACH = 0.0
    try:
        return cluster_labels(failures)
    finally:
        clustering.CORE_REACH = saved


def flagged(failures: list[Failure], flags: tuple[str, ...]) -> list[int]:
    """`cluster_labels` with the opt-in `features` flags named on (KEPT_FLAGS: the reading of what the word
    weights keep; CODE_FLAGS: codes told apart and framing left out of what the meaning model reads)."""
    with flags_on(flags):
        return cluster_labels(failures)


# One seed's analysed backtests: row name -> (the analysed backtest folder, the generator's folder with the plant).
# bench_encoders.py builds the same backtests to score its encoders on.
Built = dict[str, tuple[Path, Path]]


def _support(work: Path, n: int) -> Built:
    support = load_module(SUPPORT / "generate.py", "bench_support_generate")
    seed = 11 + n
    src = work / f"sa-src-{seed}"
    support.generate(src, seed=seed)
    read, tpl, para = work / f"sa-read-{seed}", work / f"sa-tpl-{seed}", work / f"sa-para-{seed}"
    import_backtest(src / "manifest.jsonl", read)
    shutil.copytree(read, tpl)
    shutil.copytree(read, para)
    analyze_backtest(read, AnalyzeOptions(model=f"scripted:{SUPPORT / 'analyst.script.yaml'}", progress=False))
    support.write_analyses(tpl, src / "templated.jsonl")
    paraphrasing = load_module(PARAPHRASING, "bench_support_paraphrasing")
    support.write_analyses(para, paraphrasing.write_paraphrased(src, seed, paraphrasing.PARAPHRASES,
                                                                 paraphrasing.support_noises(support)))
    return {"support-agent/file-reading": (read, src), "support-agent/templated": (tpl, src),
            "support-agent/paraphrased": (para, src)}


def _dev(work: Path, n: int, noisy: bool = False) -> Built:
    seed, name = 31 + n, "dev-ledger-noisy" if noisy else "dev-ledger"
    src = work / f"{name}-src-{seed}"
    dev = load_module(DEV, "bench_dev_ledger")
    dev.generate(src, seed=seed, noisy_traces=noisy)
    support = load_module(SUPPORT / "generate.py", "bench_support_generate")
    paraphrasing = load_module(PARAPHRASING, "bench_support_paraphrasing")
    paraphrasing.write_paraphrased(src, seed, paraphrasing.LEDGER_PARAPHRASES, paraphrasing.ledger_noises(dev))
    out = {}
    for kind in ("templated", "quoting", "paraphrased"):
        folder = work / f"{name}-{kind}-{seed}"
        import_backtest(src / "manifest.jsonl", folder)
        support.write_analyses(folder, src / f"{kind}.jsonl")
        out[f"{name}/{kind}"] = (folder, src)
    return out


def _parcel(work: Path, n: int) -> Built:
    """dev-parcel (tests/backtest/dev_parcel.py): its templated, framed and unreliable analysts."""
    return _heldout(work, "dev-parcel", PARCEL, 201 + n, ("templated", "framed", "unreliable"))


def _incident(work: Path, n: int) -> Built:
    seed = 7 + n
    src = work / f"ia-src-{seed}"
    load_module(INCIDENT / "generate.py", "bench_incident_generate").generate(src, seed=seed, count=200, accounts=20)
    folder = work / f"ia-{seed}"
    import_backtest(src / "manifest.jsonl", folder)
    analyze_backtest(folder, AnalyzeOptions(model=f"scripted:{INCIDENT / 'analyst.script.yaml'}", progress=False))
    return {"incident-assistant/scripted": (folder, src)}


def _heldout(work: Path, name: str, path: Path, seed: int, kinds: tuple[str, ...]) -> Built:
    src = work / f"{name}-src-{seed}"
    load_module(path, f"bench_{name.replace('-', '_')}").generate(src, seed=seed)
    support = load_module(SUPPORT / "generate.py", "bench_support_generate")
    out = {}
    for kind in kinds:
        folder = work / f"{name}-{kind}-{seed}"
        import_backtest(src / "manifest.jsonl", folder)
        support.write_analyses(folder, src / f"{kind}.jsonl")
        out[f"{name}/{kind}"] = (folder, src)
    return out


def _invoice(work: Path, n: int) -> Built:
    """heldout-invoice: its own scripted analyst run through `analyze` (the script is in the generator's
    output), and the templated analyses."""
    seed = 141 + n
    src = work / f"heldout-invoice-src-{seed}"
    load_module(INVOICE, "bench_heldout_invoice").generate(src, seed=seed)
    read, tpl = work / f"heldout-invoice-scripted-{seed}", work / f"heldout-invoice-templated-{seed}"
    import_backtest(src / "manifest.jsonl", read)
    shutil.copytree(read, tpl)
    analyze_backtest(read, AnalyzeOptions(model=f"scripted:{src / 'analyst.script.yaml'}", progress=False))
    load_module(SUPPORT / "generate.py", "bench_support_generate").write_analyses(tpl, src / "templated.jsonl")
    return {"heldout-invoice/scripted": (read, src), "heldout-invoice/templated": (tpl, src)}


GENERATORS: dict[str, Callable[[Path, int], Built]] = {  # name -> one seed's backtests (n: 0, 1, ...)
    "support-agent": _support,
    "dev-ledger": _dev,
    "dev-ledger-noisy": lambda work, n: _dev(work, n, noisy=True),
    "dev-parcel": _parcel,
    "incident-assistant": _incident,
    "heldout-coding": lambda work, n: _heldout(work, "heldout-coding", HELDOUT, 5 + n, ("quoting", "templated")),
    "heldout-atlas": lambda work, n: _heldout(work, "heldout-atlas", ATLAS, 100 + n, ("templated",)),
    "heldout-voice": lambda work, n: _heldout(work, "heldout-voice", VOICE, 21 + n, ("quoting", "templated")),
    "heldout-claims": lambda work, n: _heldout(work, "heldout-claims", CLAIMS, 61 + n, ("quoting", "templated")),
    "heldout-dispatch": lambda work, n: _heldout(work, "heldout-dispatch", DISPATCH, 81 + n, ("quoting", "templated")),
    "heldout-invoice": _invoice,
    "heldout-triage": lambda work, n: _heldout(work, "heldout-triage", TRIAGE, 171 + n, ("quoting", "templated")),
    "heldout-querydesk": lambda work, n: _heldout(work, "heldout-querydesk", QUERYDESK, 231 + n,
                                                  ("quoting", "templated")),
    "heldout-firstday": lambda work, n: _heldout(work, "heldout-firstday", FIRSTDAY, 291 + n, ("quoting", "templated")),
}


def runs(work: Path, seeds: int, only: list[str] | None = None) -> dict[str, list[Measured]]:
    out: dict[str, list[Measured]] = {}
    for n in range(seeds):
        for name, run in GENERATORS.items():
            if only is None or name in only:
                for row, (folder, src) in run(work, n).items():
                    out.setdefault(row, []).append(measure(folder, src))
        print(f"seed {n + 1}/{seeds} done", file=sys.stderr)
    return out


def _worst(q: Quality) -> tuple[float, float]:
    main = q.main_causes()
    return min(q.recall[c] for c in main), min(q.cause_purity[c] for c in main)


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


TARGETS = {"support-agent/file-reading": 0.8, "support-agent/templated": 0.6, "support-agent/paraphrased": 0.6,
           "dev-ledger/templated": 0.6,
           "dev-ledger/quoting": 0.8, "dev-ledger-noisy/templated": 0.6, "dev-ledger-noisy/quoting": 0.8,
           "dev-ledger/paraphrased": 0.6, "dev-ledger-noisy/paraphrased": 0.6,
           "dev-parcel/templated": 0.6, "dev-parcel/framed": 0.8,
           "dev-parcel/unreliable": 0.6, "incident-assistant/scripted": 0.8,
           "heldout-coding/quoting": 0.8, "heldout-coding/templated": 0.6, "heldout-atlas/templated": 0.6,
           "heldout-voice/quoting": 0.8, "heldout-voice/templated": 0.6,
           "heldout-claims/quoting": 0.8, "heldout-claims/templated": 0.6,
           "heldout-dispatch/quoting": 0.8, "heldout-dispatch/templated": 0.6,
           "heldout-invoice/scripted": 0.8, "heldout-invoice/templated": 0.6,
           "heldout-triage/quoting": 0.8, "heldout-triage/templated": 0.6,
           "heldout-querydesk/quoting": 0.8, "heldout-querydesk/templated": 0.6,
           "heldout-firstday/quoting": 0.8, "heldout-firstday/templated": 0.6}


def _cell(qs: list[Quality]) -> str:
    """ARI min/median, min recall, min purity and causeless kept out (min) over seeds."""
    aris, worst = [q.ari for q in qs], [_worst(q) for q in qs]
    out = [q.causeless_kept_out for q in qs if q.causeless_kept_out is not None]
    return (f"{min(aris):6.3f}/{statistics.median(aris):6.3f} {min(r for r, _ in worst):5.2f} "
            f"{min(p for _, p in worst):5.2f} {_fmt(min(out) if out else None)}")


def report(results: dict[str, list[Measured]]) -> None:
    other, short = ("no trace", "(no tr)") if TRACE_ERRORS else ("trace", "(trace)")
    print(f"ARI and the rest with meaning{' and the traces errors' if TRACE_ERRORS else ''}"
          f"{' and the traces calls' if TRACE_CALLS else ''}; 'words' is the same "
          f"clustering on words alone, '{other}' with meaning {'without' if TRACE_ERRORS else 'and with'} the errors "
          "the failures' traces record (--trace-errors), 'calls' with the other setting of --trace-calls (the calls "
          "and argument identifiers traces record, tracecalls.py), 'both' with errors and calls, 'peer' the "
          "fingerprint partition")
    print(f"{'generator / analysts':32} {'seed':>4} {'ARI':>6} {'words':>6} {other:>8} {'peer':>6} {'purity':>6} "
          f"{'min rec':>7} {'(words)':>7} {short:>7} {'min pur':>7} {'kept out':>8} {'cohorts':>7} "
          f"{'calls':>6} {'rec':>5} {'pur':>5} {'both':>6} {'rec':>5} {'pur':>5}")
    for name, rows in results.items():
        for n, m in enumerate(rows):
            q, w = m.ours, m.words
            rec, pur = _worst(q)
            print(f"{name:32} {n + 1:4d} {q.ari:6.3f} {w.ari:6.3f} {m.other.ari:8.3f} {m.peer.ari:6.3f} "
                  f"{q.purity:6.3f} {rec:7.2f} {_worst(w)[0]:7.2f} {_worst(m.other)[0]:7.2f} {pur:7.2f} "
                  f"{_fmt(q.causeless_kept_out):>8} {q.cohorts:7d} {m.calls.ari:6.3f} {_worst(m.calls)[0]:5.2f} "
                  f"{_worst(m.calls)[1]:5.2f} {m.both.ari:6.3f} {_worst(m.both)[0]:5.2f} {_worst(m.both)[1]:5.2f}")
    print()
    print(f"{'summary over seeds':32} {'ARI min/median':>15} {'words':>6} {other:>8} {'x peer':>7} {'min recall':>10} "
          f"{'(words)':>7} {short:>7} {'min purity':>10} {'kept out min':>12}  target{'':22} "
          f"{'ensemble ARI min/med rec pur out':>34} {'peer ARI min/med':>16}")
    for name, rows in results.items():
        aris = [m.ours.ari for m in rows]
        peer = statistics.median(m.peer.ari for m in rows)
        worst = [_worst(m.ours) for m in rows]
        kept = [m.ours.causeless_kept_out for m in rows if m.ours.causeless_kept_out is not None]
        short = [what for what, ok in (("ARI", min(aris) >= TARGETS[name]),
                                       ("recall", min(r for r, _ in worst) >= 0.8),
                                       ("purity", min(p for _, p in worst) >= 0.8),
                                       ("kept out", not kept or min(kept) >= 0.7)) if not ok]
        print(f"{name:32} {min(aris):6.3f}/{statistics.median(aris):6.3f} {min(m.words.ari for m in rows):6.3f} "
              f"{min(m.other.ari for m in rows):8.3f} {statistics.median(aris) / max(peer, 1e-9):6.2f}x "
              f"{min(r for r, _ in worst):10.2f} {min(_worst(m.words)[0] for m in rows):7.2f} "
              f"{min(_worst(m.other)[0] for m in rows):7.2f} {min(p for _, p in worst):10.2f} "
              f"{_fmt(min(kept) if kept else None):>12}  ARI>={TARGETS[name]}: "
              + f"{'all met' if not short else 'NOT met: ' + ', '.join(short):27} "
              + f"{_cell([m.agreed for m in rows]):>34} {min(m.peer.ari for m in rows):6.3f}/{peer:6.3f}")
    print()
    print(f"{'other trace settings':32} " + "   ".join(f"{what:>34}" for what in (
        f"calls ({'off' if TRACE_CALLS else 'on'}) ARI min/med rec pur out", "errors+calls ARI min/med rec pur out",
        "+MiniLM join (opt-in) ARI min/med rec pur out", "mark join off ARI min/med rec pur out",
        "reach test off ARI min/med rec pur out",
        "+trace view (opt-in) ARI min/med rec pur out", "reads kept (opt-in) ARI min/med rec pur out",
        "codes+framing (opt-in) ARI min/med rec pur out")))
    for name, rows in results.items():
        cells = []
        for pick in (lambda m: m.calls, lambda m: m.both, lambda m: m.join, lambda m: m.unmarked, lambda m: m.unreached,
                     lambda m: m.traced, lambda m: m.kept, lambda m: m.coded):
            cells.append(_cell([pick(m) for m in rows]))
        print(f"{name:32} " + "   ".join(f"{c:>34}" for c in cells))
    used = embedder()[1].encoder
    names = sorted({m for rows in results.values() for row in rows for m in row.aucs}, key=lambda m: (m != used, m))
    if names:
        print()
        print("pair AUC of each installed meaning model (min / median over seeds; the first is the one clustering used)")
        for name, rows in results.items():
            cells = []
            for model in names:
                vals = [row.aucs[model] for row in rows if model in row.aucs]
                cells.append(f"{model}: {min(vals):.3f}/{statistics.median(vals):.3f}" if vals else f"{model}: n/a")
            print(f"{name:32} " + "   ".join(cells))


def cost(work: Path, count: int = 1000) -> None:
    """What meaning costs on `count` failures (atlas-qa analyses, the wordiest): the embedding step alone,
    and `cluster` with and without it."""
    atlas = load_module(ATLAS, "bench_heldout_atlas_cost")
    support = load_module(SUPPORT / "generate.py", "bench_support_generate_cost")
    src, folder = work / "cost-src", work / "cost"
    causes = atlas.FAILURE_RATE * sum(atlas.SHARES.values())  # its causeless failures are capped (len(NOISE))
    atlas.generate(src, seed=1, count=round((count - len(atlas.NOISE)) / causes))
    import_backtest(src / "manifest.jsonl", folder)
    support.write_analyses(folder, src / "templated.jsonl")
    failures, _ = collect_failures(BacktestFolder(folder))
    _, meaning = embedder()
    print()
    if not meaning.used:
        print(f"cost: not measured ({meaning.note})")
        return
    texts = [describe_failure(f.analysis).text for f in failures]
    t0 = time.perf_counter()
    fresh = models()  # what the first clustering in a process pays: SHA-256 checks, then the files
    load = time.perf_counter() - t0
    embed = {}
    for name, model in fresh.items():
        if not isinstance(model, str):
            t0 = time.perf_counter()
            model.embed(texts)  # a fresh model: nothing embedded yet
            embed[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster_labels(failures, meaning=False)
    words = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster_labels(failures)
    both = time.perf_counter() - t0
    t0 = time.perf_counter()
    ensemble(failures)
    agreed = time.perf_counter() - t0
    each = ", ".join(f"{name} {seconds:.3f}s" for name, seconds in embed.items())
    print(f"cost on {len(failures)} failures: loading the models {load:.3f}s once; embedding: {each}; cluster {both:.2f}s with meaning, "
          f"{words:.2f}s on words alone ({both / max(words, 1e-9):.2f}x; {meaning.note}); the ensemble of "
          f"{len(VIEWS)} views (ensemble.py) {agreed:.2f}s, {agreed / max(both, 1e-9):.2f}x the default")


def trace_cost(work: Path, count: int = 1000) -> None:
    """What the traces' errors cost on about `count` failures (dev-ledger, whose traces record an error in
    about half of them): reading every failure's errors.md, and `cluster` (words alone, so that meaning's
    cost does not hide it) with and without the terms they give."""
    dev = load_module(DEV, "bench_dev_ledger_cost")
    src, folder = work / "trace-cost-src", work / "trace-cost"
    dev.generate(src, seed=1, count=round(count / dev.FAILURE_RATE))
    import_backtest(src / "manifest.jsonl", folder)
    load_module(SUPPORT / "generate.py", "bench_support_generate_cost").write_analyses(folder, src / "templated.jsonl")
    failures, _ = collect_failures(BacktestFolder(folder))
    t0 = time.perf_counter()
    errors = [trace_errors(f.inv.path) for f in failures]
    read = time.perf_counter() - t0
    size = sum(min(TRACE_BYTES, (f.inv.path / "trace" / "errors.md").stat().st_size) for f in failures)
    t0 = time.perf_counter()
    cluster_labels(failures, meaning=False, trace=False)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster_labels(failures, meaning=False, trace=True)
    traced = time.perf_counter() - t0
    t0 = time.perf_counter()
    calls = [call_terms(f.inv.path) for f in failures]
    read_calls = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster_labels(failures, meaning=False, trace=True, calls=True)
    both = time.perf_counter() - t0
    print(f"traces' errors on {len(failures)} failures ({sum(1 for e in errors if e)} with an error): reading them "
          f"{read:.3f}s ({size / 1e6:.2f} MB); cluster on words {traced:.2f}s with them, {bare:.2f}s without "
          f"({traced / max(bare, 1e-9):.2f}x)")
    print(f"traces' calls on the same failures ({sum(len(c) for c in calls) / max(len(calls), 1):.1f} terms each): "
          f"reading them {read_calls:.3f}s; cluster on words with errors and calls {both:.2f}s (passing runs' traces "
          f"read too), {both / max(bare, 1e-9):.2f}x of without")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", help=f"comma-separated generators, of: {', '.join(GENERATORS)}")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else None
    if only and (unknown := set(only) - set(GENERATORS)):
        parser.error(f"unknown generator(s): {', '.join(sorted(unknown))}")
    print(f"clustering on: {embedder()[1].note}")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        report(runs(Path(tmp), args.seeds, only))
        if only is None:
            cost(Path(tmp))
            trace_cost(Path(tmp))


if __name__ == "__main__":
    main()

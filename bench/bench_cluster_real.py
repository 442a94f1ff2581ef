#!/usr/bin/env python3
"""How well `backtest cluster` recovers what people found, on failures annotated by hand (not planted).

Datasets (tests/backtest/real_failures.py; a small MIT extract in tests/backtest/data/agent-failures
with its PROVENANCE): AgentRx's tau-bench retail and Magentic-One
failures (reason + category per failure), and Who&When's reasons for the same Magentic-One failures.
Each failure is one failed investigation whose analysis is the annotator's text; the clustering is
scored (`agentbook.backtest.quality`) against the annotators' categories at two levels: the category
alone, and blamed agent + category (nearer to a cause: one thing to change in one place).

Beside it, in the same run on the same analyses, the two peers bench_cluster_quality.py prints: the
same clustering on words alone (no meaning model), and the fingerprint partition the pipeline used
before (stage | suspected file | masked error text); and with meaning and the traces' evidence
(`--trace-errors --trace-calls`), which on these one-span traces without errors, tool calls or
passing runs must change nothing. Per category: its failures, the recall of the
cohort holding most of them, and that cohort's purity. Last, each installed meaning model's pair AUC
(bench_cluster_quality.pair_auc: how often two failures with one label are more alike than two without).

The peer sees no stage and no error text here (the annotations have neither), so it is the partition
by blamed agent: the annotators' own agent label, which is why it does well on agent + category and on
the per-step data, where one label (WebSurfer / instruction adherence) holds 196 of 295 failures and
lumping wins ARI.

The per-step data is not a set of independent failures: annotators repeat one sentence for every
step of a loop (295 steps, 113 distinct findings; "Was not able to search for historical stock prices
of apple ..." dozens of times in one run) and a few steps carry only the category's own name as the
reason; its cohorts are mostly one run's repeated step, which says little about causes across runs.

Read the figures against what the labels are: a taxonomy category ("Misinterpretation of Tool
Output") holds unrelated causes, so a clustering that groups by cause splits it (low recall) without
being wrong; the categories are the coarsest truth a cohort could be scored against.

    .venv/bin/python bench/bench_cluster_real.py [--cohorts]   # --cohorts: each cohort's label mix
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from bench_cluster_quality import pair_auc
from loader import load_module

from agentbook.backtest.cluster import cluster_labels, collect_failures
from agentbook.backtest.embeddings import embedder, models
from agentbook.backtest.ensemble import ensemble
from agentbook.backtest.features import describe_failure
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import Quality, cohorts_of, fingerprint_partition, score

REPO = Path(__file__).resolve().parents[1]
METHODS = ("meaning", "words", "peer", "trace", "ensemble")


REAL = load_module(REPO / "tests" / "backtest" / "real_failures.py", "bench_real_failures")
SUPPORT = load_module(REPO / "examples" / "support-agent" / "generate.py", "bench_real_support")


def build(work: Path, dataset: str, data: Path) -> tuple[Path, dict[str, dict[str, str | None]], int]:
    """Generate, import and store the annotators' analyses; returns the folder, the truth per level and
    how many distinct findings there are (annotators repeat a sentence for every step of a loop)."""
    src, folder = work / f"{dataset}-src", work / dataset
    rows = REAL.generate(src, dataset, data)
    distinct = len({a.finding for a in rows})
    import_backtest(src / "manifest.jsonl", folder)
    SUPPORT.write_analyses(folder, src / "analyses.jsonl")
    planted = [json.loads(line) for line in (src / "planted.jsonl").read_text().splitlines()]
    return folder, {level: {r["id"]: r[level] for r in planted} for level in REAL.LEVELS}, distinct


def pair_aucs(folder: Path, truth: dict[str, dict[str, str | None]]) -> dict[str, dict[str, float]]:
    """Each installed meaning model's pair AUC against each level of truth (bench_cluster_quality.pair_auc)."""
    failures, _ = collect_failures(BacktestFolder(folder))
    texts = [describe_failure(f.analysis).text for f in failures]
    return {name: {level: pair_auc(model, texts, [truth[level][f.inv.id] for f in failures])
                   for level in REAL.LEVELS}
            for name, model in models().items() if not isinstance(model, str)}


def partitions(folder: Path) -> dict[str, list[list[str]]]:
    failures, _ = collect_failures(BacktestFolder(folder))
    return {"meaning": cohorts_of(failures, cluster_labels(failures)),
            "words": cohorts_of(failures, cluster_labels(failures, meaning=False)),
            "peer": fingerprint_partition(failures),
            "trace": cohorts_of(failures, cluster_labels(failures, trace=True, calls=True)),
            "ensemble": cohorts_of(failures, ensemble(failures).labels)}


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.2f}"


def report_dataset(dataset: str, parts: dict[str, list[list[str]]], truth: dict[str, dict[str, str | None]],
                   distinct: int, show_cohorts: bool) -> dict[str, dict[str, Quality]]:
    scored = {level: {m: score(parts[m], truth[level]) for m in METHODS} for level in REAL.LEVELS}
    n = len(truth["category"])
    causeless = sum(1 for c in truth["category"].values() if c is None)
    print(f"\n== {dataset}: {n} failures ({distinct} distinct findings), {causeless} without a category")
    for level in REAL.LEVELS:
        q = scored[level]
        big = q["meaning"].main_causes()
        print(f"  truth = {level}: {len(q['meaning'].sizes)} labels, {len(big)} with >= 5 failures")
        print(f"    {'':8} {'ARI':>6} {'purity':>6} {'cohorts':>7} {'bucketed':>8} {'kept out':>8} "
              f"{'med rec>=5':>10} {'med pur>=5':>10}")
        for m in METHODS:
            s = q[m]
            rec = statistics.median(s.recall[c] for c in big) if big else None
            pur = statistics.median(s.cause_purity[c] for c in big) if big else None
            print(f"    {m:8} {s.ari:6.3f} {s.purity:6.3f} {s.cohorts:7d} {s.bucketed:8d} {_fmt(s.causeless_kept_out):>8} "
                  f"{_fmt(rec):>10} {_fmt(pur):>10}")
        print(f"    {'label':44} {'n':>3}  recall/purity: {'meaning':>11} {'words':>11} {'peer':>11} {'trace':>11} {'ensemble':>11}")
        for cause, size in sorted(q["meaning"].sizes.items(), key=lambda kv: -kv[1]):
            cells = " ".join(f"{q[m].recall[cause]:5.2f}/{q[m].cause_purity[cause]:4.2f}" for m in METHODS)
            print(f"    {cause[:44]:44} {size:3d}  {'':14} {cells}")
    if show_cohorts:
        for k, members in enumerate(sorted(parts["meaning"], key=len, reverse=True), 1):
            mix = Counter(truth["agent-category"][m] or "(none)" for m in members)
            print(f"    cohort {k} ({len(members)}): " + ", ".join(f"{c} x{v}" for c, v in mix.most_common()))
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cohorts", action="store_true", help="print each cohort's mix of labels")
    args = parser.parse_args()
    data = REAL.data_dir()
    if data is None:
        print(f"not measured: no annotated failures at {REAL.DATA} (set AGENTBOOK_FAILURES)")
        return
    print(f"clustering on: {embedder()[1].note}; data: {data}")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-real-") as tmp:
        summary, aucs = {}, {}
        for dataset in REAL.DATASETS:
            folder, truth, distinct = build(Path(tmp), dataset, data)
            summary[dataset] = report_dataset(dataset, partitions(folder), truth, distinct, args.cohorts)
            aucs[dataset] = pair_aucs(folder, truth)
    same, total = REAL.teams_agree(data)
    print(f"\nWho&When and AgentRx blame the same agent for {same} of {total} Magentic-One failures")
    print(f"\n{'summary: ARI with meaning, w words, p peer':36} {'category':>26} {'agent-category':>26}")
    for dataset, scored in summary.items():
        cells = []
        for level in REAL.LEVELS:
            q = scored[level]
            cells.append(f"{q['meaning'].ari:6.3f} w{q['words'].ari:6.3f} p{q['peer'].ari:6.3f}")
        print(f"{dataset:36} {cells[0]:>26} {cells[1]:>26}")
    if any(aucs.values()):
        print("\npair AUC of each installed meaning model (category / agent-category; the first is the one clustering used)")
        for dataset, by_model in aucs.items():
            print(f"{dataset:36} " + "   ".join(f"{name}: {v['category']:.3f}/{v['agent-category']:.3f}"
                                                 for name, v in by_model.items()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The meaning encoders side by side (`backtest cluster --meaning`, backtest/embeddings.py): one table,
per encoder x set, as ratios against WordLlama (the default) measured in the same run.

Per set (the generators bench_cluster_quality.py knows, one backtest per seed; the annotated real
failures of bench_cluster_real.py where they are on this machine):

  pair AUC   how often two failures of one cause are more alike, by the encoder alone, than a pair
             that is not (two causes, a cause and a causeless failure); median over seeds
  ARI min    `cluster` with that encoder (words blended with its meaning), adjusted Rand index against
             the plant, the worst seed; `none` (words alone) is the floor

Then cross-language pairs (held-out voice generator: German/English shorthand against the English
findings of the same cause and of others): how often a German note is nearer an English finding of its
own cause than one of another cause (AUC), and the mean cosines. Then the cost of each encoder, each in
a process of its own: load (SHA-256 checks and files), encoding N findings of the wordiest generator
(atlas) from cold, given per 1,000 findings, its files' size and the process's peak RSS above the same
process without the encoder.

The held-out generators are measured here, never tuned on. The default run is short (2 seeds, 300
findings for the cost): the machine is shared.

    .venv/bin/python bench/bench_encoders.py [--seeds 2] [--sets support,atlas,...] [--cost-findings 300] [--cost-only]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from loader import load_module

from agentbook.backtest import embeddings
from agentbook.backtest.cluster import NO_CAUSE, Failure, cluster_labels, collect_failures
from agentbook.backtest.features import describe_failure
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import score

REPO = Path(__file__).resolve().parents[1]
SUPPORT = REPO / "examples" / "support-agent"
TESTS = REPO / "tests" / "backtest"
QUALITY = load_module(REPO / "bench" / "bench_cluster_quality.py", "bench_encoders_quality")
REAL = load_module(TESTS / "real_failures.py", "bench_encoders_real")
GEN = load_module(SUPPORT / "generate.py", "bench_encoders_support")
BASE = embeddings.WORDLLAMA
# one backtest: (failures, cause per failure id)
Built = tuple[list[Failure], dict[str, str | None]]


def _read(folder: Path, src: Path, level: str = "cause") -> Built:
    failures, _ = collect_failures(BacktestFolder(folder))
    rows = {r["id"]: r[level] for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    return failures, {f.inv.id: rows[f.inv.id] for f in failures}


def _planted(generator: str) -> Callable[[Path, int], dict[str, Built]]:
    """One seed of a generator's backtests, built as bench_cluster_quality.py builds them."""
    def build(work: Path, n: int) -> dict[str, Built]:
        return {row: _read(folder, src) for row, (folder, src) in QUALITY.GENERATORS[generator](work, n).items()}
    return build


def _real(work: Path, n: int) -> dict[str, Built]:
    """The annotated failures (no seeds: the same data each time, so only seed 0 builds them)."""
    data = REAL.data_dir()
    if data is None or n:
        return {}
    out = {}
    for dataset in ("agentrx-tau", "agentrx-magentic", "whowhen-magentic"):
        src, folder = work / f"{dataset}-src", work / dataset
        REAL.generate(src, dataset, data)
        import_backtest(src / "manifest.jsonl", folder)
        GEN.write_analyses(folder, src / "analyses.jsonl")
        out[f"real/{dataset}"] = _read(folder, src, "category")
    return out


SETS: dict[str, Callable[[Path, int], dict[str, Built]]] = {
    "support": _planted("support-agent"),
    "example": _planted("incident-assistant"),
    "dev": _planted("dev-ledger"),
    "coding": _planted("heldout-coding"),
    "atlas": _planted("heldout-atlas"),
    "voice": _planted("heldout-voice"),
    "real": _real,
}


def _groups(failures: list[Failure], labels: list[int]) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for f, label in zip(failures, labels, strict=True):
        if label != NO_CAUSE:
            groups.setdefault(label, []).append(f.inv.id)
    return list(groups.values())


def usable() -> dict[str, embeddings.Model]:
    """Each installed encoder, loaded as `cluster` loads it (so its vectors are kept for the clustering too)."""
    out = {}
    for name in embeddings.ENCODERS:
        try:
            model, _ = embeddings.embedder(name)
        except embeddings.MeaningUnavailable as e:
            print(f"{name}: not measured ({e.message})")
            continue
        assert model is not None
        out[name] = model
    return out


def quality(work: Path, seeds: int, sets: list[str], models: dict[str, embeddings.Model]
            ) -> dict[str, dict[str, dict[str, list[float]]]]:
    """set -> encoder (or none) -> {"auc": per seed, "ari": per seed}."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for n in range(seeds):
        for key in sets:
            for row, (failures, truth) in SETS[key](work, n).items():
                texts = [describe_failure(f.analysis).text for f in failures]
                causes = [truth[f.inv.id] for f in failures]
                cells = out.setdefault(row, {})
                for name in (*models, embeddings.NONE):
                    cell = cells.setdefault(name, {"auc": [], "ari": []})
                    if name in models:
                        cell["auc"].append(QUALITY.pair_auc(models[name], texts, causes))
                    cell["ari"].append(score(_groups(failures, cluster_labels(failures, meaning=name)), truth).ari)
        print(f"seed {n + 1}/{seeds} done", file=sys.stderr)
    return out


def cross_language(models: dict[str, embeddings.Model]) -> dict[str, tuple[float, float, float]]:
    """Voice generator: each German/English shorthand note against every English finding; (AUC of its own
    cause's findings over other causes', mean cosine to its own, mean cosine to others)."""
    import numpy as np

    voice = load_module(TESTS / "heldout_voice.py", "bench_encoders_voice_phrases")
    german = [(cause, note) for cause, notes in voice.SHORTHAND.items() for note in notes]
    english = [(cause, p.finding) for cause, phrases in voice.PHRASES.items() for p in phrases]
    out = {}
    for name in models:
        fresh = embeddings.load(name)  # its own memo: these sentences are not the backtests'
        g = fresh.embed([t for _, t in german])
        e = fresh.embed([t for _, t in english])
        sim = g @ e.T
        same = np.array([[cg == ce for ce, _ in english] for cg, _ in german])
        pos, neg = np.sort(sim[same]), np.sort(sim[~same])
        below = np.searchsorted(neg, pos, side="left") + np.searchsorted(neg, pos, side="right")
        out[name] = (float(below.sum() / (2 * len(pos) * len(neg))), float(pos.mean()), float(neg.mean()))
    return out


def _peak_kb() -> int:
    """This process's peak resident set (VmHWM): getrusage's ru_maxrss would carry the parent's over exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(name: str, texts_file: Path) -> None:
    """One encoder's cost, alone in this process: printed as JSON for the parent."""
    import numpy as np  # noqa: F401  (the baseline holds what every encoder needs anyway)
    import tokenizers  # noqa: F401

    texts = json.loads(texts_file.read_text())
    base = _peak_kb()
    t0 = time.perf_counter()
    model = embeddings.load(name) if name != embeddings.NONE else None
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    if model is not None:
        model.embed(texts)
    embed = time.perf_counter() - t0
    peak = _peak_kb()
    print(json.dumps({"load": load, "embed": embed, "rss_mb": (peak - base) / 1024, "texts": len(texts)}))


def cost(work: Path, models: dict[str, embeddings.Model], count: int) -> dict[str, dict[str, float]]:
    atlas = load_module(TESTS / "heldout_atlas.py", "bench_encoders_atlas_cost")
    src, folder = work / "cost-src", work / "cost"
    causes = atlas.FAILURE_RATE * sum(atlas.SHARES.values())
    atlas.generate(src, seed=1, count=max(50, round((count - len(atlas.NOISE)) / causes)))
    import_backtest(src / "manifest.jsonl", folder)
    GEN.write_analyses(folder, src / "templated.jsonl")
    failures, _ = collect_failures(BacktestFolder(folder))
    texts_file = work / "cost-texts.json"
    texts_file.write_text(json.dumps([describe_failure(f.analysis).text for f in failures[:count]]))
    out = {}
    for name in models:
        run = subprocess.run([sys.executable, __file__, "--child", name, str(texts_file)], capture_output=True,
                             text=True, check=True)
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        encoder = embeddings.ENCODERS[name]
        root = embeddings.package_root(encoder.package.replace("-", "_"))
        figures["size_mb"] = sum((root / rel).stat().st_size for rel, _ in encoder.files) / 1e6
        out[name] = figures
    return out


def _ratio(x: float, base: float) -> str:
    return f"{x / base:5.2f}x" if base > 0 else "   n/a"


def report(results: dict[str, dict[str, dict[str, list[float]]]], models: dict[str, embeddings.Model],
           seeds: int) -> None:
    names = list(models)
    print(f"\npair AUC (median over {seeds} seed(s)) and ARI min over seeds, each encoder; x = ratio to {BASE}")
    head = " ".join(f"{n + ' AUC':>12} {'x':>6} {n + ' ARI':>12} {'x':>6}" for n in names)
    print(f"{'set':28} {head} {'words ARI':>10}")
    for row, cells in results.items():
        base_auc = statistics.median(cells[BASE]["auc"]) if BASE in cells else float("nan")
        base_ari = min(cells[BASE]["ari"]) if BASE in cells else float("nan")
        line = []
        for name in names:
            auc, ari = statistics.median(cells[name]["auc"]), min(cells[name]["ari"])
            line.append(f"{auc:12.3f} {_ratio(auc, base_auc):>6} {ari:12.3f} {_ratio(ari, base_ari):>6}")
        print(f"{row:28} {' '.join(line)} {min(cells[embeddings.NONE]['ari']):10.3f}")


def report_cross(cross: dict[str, tuple[float, float, float]]) -> None:
    print("\ncross-language (voice: German/English shorthand vs English findings): AUC own cause over others, "
          "mean cosine own / others")
    for name, (auc, same, other) in cross.items():
        print(f"  {name:12} AUC {auc:.3f} ({_ratio(auc, cross[BASE][0]) if BASE in cross else ''})  "
              f"cosine own {same:.3f}, others {other:.3f}")


def report_cost(figures: dict[str, dict[str, float]]) -> None:
    if not figures:
        return
    n = int(next(iter(figures.values()))["texts"])
    print(f"\ncost, each encoder alone in a process, {n} atlas findings from cold; x = ratio to {BASE}")
    print(f"  {'encoder':12} {'load s':>7} {'s / 1,000 findings':>19} {'x':>6} {'files MB':>9} {'x':>6} "
          f"{'peak RSS +MB':>12} {'x':>6}")
    base = figures.get(BASE)
    for name, f in figures.items():
        per = f["embed"] * 1000 / f["texts"]
        bper = base["embed"] * 1000 / base["texts"] if base else 0.0
        print(f"  {name:12} {f['load']:7.2f} {per:19.2f} {_ratio(per, bper):>6} {f['size_mb']:9.1f} "
              f"{_ratio(f['size_mb'], base['size_mb'] if base else 0):>6} {f['rss_mb']:12.0f} "
              f"{_ratio(f['rss_mb'], base['rss_mb'] if base else 0):>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--sets", help=f"comma-separated, of: {', '.join(SETS)} (default: all)")
    parser.add_argument("--cost-findings", type=int, default=300)
    parser.add_argument("--cost-only", action="store_true", help="only the cross-language pairs and the cost")
    parser.add_argument("--child", nargs=2, metavar=("ENCODER", "TEXTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sets = args.sets.split(",") if args.sets else list(SETS)
    if unknown := set(sets) - set(SETS):
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    models = usable()
    if BASE not in models:
        print(f"not measured: {BASE}, the peer every figure is a ratio to, is not usable")
        return
    if "real" in sets and REAL.data_dir() is None:
        print(f"real: not measured (no annotated failures at {REAL.DATA}; set AGENTBOOK_FAILURES)")
    for name in models:
        print(embeddings.ENCODERS[name].describe())
    with tempfile.TemporaryDirectory(prefix="bench-encoders-") as tmp:
        if not args.cost_only:
            report(quality(Path(tmp), args.seeds, sets, models), models, args.seeds)
        report_cross(cross_language(models))
        report_cost(cost(Path(tmp), models, args.cost_findings))


if __name__ == "__main__":
    main()

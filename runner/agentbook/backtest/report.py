"""`backtest report`: report.md with accuracy overall, by account and by cohort, the top cohorts by
impact with their code pointers and proposed change, the cost of the analysis, and two PNG charts.

Cohort names, definitions and proposed changes are analysts' words about traces anyone may have
written, and account names come from the traces' manifest: they are shown as literal prose
(`gitops/inert.py`), so none makes a link, an image, HTML or a section of the report, which may be
committed and shown in a pull request."""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.cohorts import read_index, scope_reason
from agentbook.backtest.deps import need
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.report_md import definition, prose, write_page
from agentbook.fsutil import atomic_write_bytes
from agentbook.gitops.inert import plain, span
from agentbook.redaction import process_redactor

_AT_SUFFIX = re.compile(r" \(at `([^`]*)`(, not checked: no --code)?\)$")  # evidence.annotate, UNCHECKED
TOP_COHORTS = 5
ACCOUNT_ROWS = 30
DISPUTED_SHOWN = 10


@dataclass
class ReportSummary:
    path: str
    total: int
    correct: int
    accounts: dict[str, dict[str, Any]]
    cohorts: list[dict[str, Any]]
    analysed: int
    cost_usd: float
    cost_by_mode: dict[str, float]
    disputed: list[str] = field(default_factory=list)  # investigation folders, relative
    charts: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "total": self.total, "correct": self.correct,
                "accuracy": round(self.accuracy, 4), "accounts": self.accounts,
                "cohorts": [{k: c[k] for k in ("slug", "name", "count", "scope", "impact_pp")}
                            for c in self.cohorts],
                "analysed": self.analysed, "cost_usd": round(self.cost_usd, 6),
                "cost_by_mode": {k: round(v, 6) for k, v in self.cost_by_mode.items()},
                "disputed": self.disputed, "charts": self.charts}


def account_accuracy(invs: list[Investigation]) -> dict[str, dict[str, Any]]:
    totals: Counter[str] = Counter(i.account for i in invs)
    right: Counter[str] = Counter(i.account for i in invs if i.correct)
    return {a: {"total": n, "correct": right[a], "accuracy": round(right[a] / n, 4)}
            for a, n in sorted(totals.items(), key=lambda kv: (right[kv[0]] / kv[1], kv[0]))}


def _analyses(invs: list[Investigation]) -> tuple[int, dict[str, float], list[Investigation]]:
    """How many are analysed, their cost by mode, and those whose analyst disputes the backtest's verdict
    (the scorer may be wrong: worth a look before trusting the accuracy)."""
    analysed, by_mode, disputed = 0, defaultdict[str, float](float), []
    for inv in invs:
        analysis = inv.analysis()
        if analysis:
            analysed += 1
            meta = analysis.get("meta") or {}
            by_mode[str(meta.get("mode", "live"))] += float(meta.get("cost_usd") or 0)
            if (analysis.get("verdict") == "correct") != inv.correct and analysis.get("verdict") != "unclear":
                disputed.append(inv)
    return analysed, dict(by_mode), disputed


def _charts(folder: BacktestFolder, accounts: dict[str, dict[str, Any]], cohorts: list[dict[str, Any]],
            overall: float, bucket: int = 0) -> list[str]:
    plt = pyplot()
    out = []
    fig = account_figure(plt, accounts, overall)
    out.append(_save(fig, folder.root / "charts" / "accuracy-by-account.png"))
    plt.close(fig)
    if cohorts or bucket:
        fig = cohort_figure(plt, cohorts, bucket)
        out.append(_save(fig, folder.root / "charts" / "cohort-sizes.png"))
        plt.close(fig)
    return out


def pyplot() -> Any:
    """matplotlib's pyplot, drawing to files only."""
    # matplotlib caches fonts under $HOME/.cache; in a runner worktree HOME is the repo, and the cache
    # must not end up in a commit
    os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "agentbook-matplotlib"))
    matplotlib = need("matplotlib", "the report's charts (or pass --no-charts)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def account_figure(plt: Any, accounts: dict[str, dict[str, Any]], overall: float) -> Any:
    """Accuracy per account, worst first (the worst ACCOUNTS_CHARTED: a bar per account of thousands made
    an image tens of thousands of pixels wide that took minutes to draw), correct/total on each bar, the
    overall accuracy a dashed line explained above the axes (inside, its legend covered the counts of
    bars near 100%)."""
    names = list(accounts)[:ACCOUNTS_CHARTED]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names) + 2), 4.5), layout="constrained")
    ax.axhline(overall * 100, color="#333333", linestyle="--", linewidth=1, label=f"overall {overall:.0%}", zorder=1)
    bars = ax.bar(names, [accounts[a]["accuracy"] * 100 for a in names], color="#4c72b0", zorder=2)
    labels = ax.bar_label(bars, labels=[f"{accounts[a]['correct']}/{accounts[a]['total']}" for a in names],
                          fontsize=7, padding=2, zorder=3)
    for label in labels:  # the overall line passes behind a count, never through it
        label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    fig.legend(loc="outside upper right", fontsize=8, frameon=False)
    ax.set_ylabel("accuracy (%); labels: correct/total")
    ax.set_ylim(0, 110)
    more = f": the worst {len(names)} of {len(accounts)}" if len(accounts) > len(names) else ""
    ax.set_title(f"Accuracy by account (worst first){more}", loc="left")
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    return fig


SCOPE_COLOURS = {"systemic": "#c44e52", "account-specific": "#dd8452", "few-accounts": "#8c8c8c"}
SCOPE_MEANING = {"systemic": "systemic (3+ accounts)", "account-specific": "account-specific (binomial test)",
                 "few-accounts": "few accounts (1-2, not unusual)"}
COHORTS_CHARTED = 15
ACCOUNTS_CHARTED = 40


def cohort_figure(plt: Any, cohorts: list[dict[str, Any]], bucket: int) -> Any:
    """Horizontal bars, biggest cause on top, the no-common-cause bucket last; integer ticks, full
    names wrapped over two lines, the count on each bar and a legend for the colours below the
    axes' label (placed by the layout, so it meets neither the label nor a bar however many there are)."""
    import textwrap

    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    shown = cohorts[:COHORTS_CHARTED]
    labels = [textwrap.shorten(c["slug"], 80, placeholder="...") for c in shown]
    labels = ["\n".join(textwrap.wrap(label, 42, break_on_hyphens=True)) for label in labels]
    counts = [c["count"] for c in shown]
    colours = [SCOPE_COLOURS.get(c["scope"], "#8c8c8c") for c in shown]
    hatches = [""] * len(shown)
    if bucket:
        labels.append("no common cause\n(not a cause: each failure alone)")
        counts.append(bucket)
        colours.append("#e5e5e5")
        hatches.append("//")
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(labels) + 2.2), layout="constrained")
    y = list(range(len(labels)))[::-1]
    bars = ax.barh(y, counts, color=colours, edgecolor="#555555", linewidth=0.5)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(counts) * 1.15 + 1)
    ax.set_xlabel("failed investigations")
    title = "Failures by cause (cohort)"
    if len(cohorts) > len(shown):
        title += f": top {len(shown)} of {len(cohorts)}"
    ax.set_title(title)
    handles = [Patch(color=SCOPE_COLOURS[k], label=v) for k, v in SCOPE_MEANING.items()
               if any(c["scope"] == k for c in shown)]
    if bucket:
        handles.append(Patch(facecolor="#e5e5e5", edgecolor="#555555", hatch="//", label="no common cause"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return fig


def _save(fig: Any, path: Path) -> str:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None}, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return path.name


def build_report(root: str, *, charts: bool = True) -> ReportSummary:
    folder = BacktestFolder(root).require()
    invs = folder.investigations()
    correct = sum(1 for i in invs if i.correct)
    accounts = account_accuracy(invs)
    # redacted before it is rendered too: Markdown escapes and cuts could hide a key from the page's pass
    index = process_redactor().json(read_index(folder) or {"cohorts": [], "unanalysed": []})
    cohorts = [dict(c, impact_pp=round(100 * c["count"] / max(1, len(invs)), 2)) for c in index["cohorts"]]
    analysed, by_mode, disputed = _analyses(invs)
    summary = ReportSummary(path=str(folder.root / "report.md"), total=len(invs), correct=correct,
                            accounts=accounts, cohorts=cohorts, analysed=analysed,
                            cost_usd=sum(by_mode.values()), cost_by_mode=by_mode,
                            disputed=[inv.rel for inv in disputed])
    if charts:
        bucket = int((index.get("no_common_cause") or {}).get("count", 0))
        summary.charts = [f"charts/{name}" for name in _charts(folder, accounts, cohorts, summary.accuracy, bucket)]
    write_page(folder.root / "report.md", render(summary, index))
    return summary


def _change(text: str) -> str:
    """A proposed change as prose (what the analyst quoted in backticks as code), and the location
    agentbook checked and appended (` (at `file:line`)`, backtest/evidence.py) as code."""
    where = _AT_SUFFIX.search(text)
    if where is None:
        return prose(text)
    return f"{prose(text[:where.start()])} (at {span(where.group(1))}{where.group(2) or ''})"


def render(s: ReportSummary, index: dict[str, Any]) -> str:
    wrong = s.total - s.correct
    lines = ["# Backtest report", "",
             f"**Accuracy: {s.accuracy:.1%}** ({s.correct} of {s.total} investigations correct, {wrong} not), "
             f"over {len(s.accounts)} accounts. {s.analysed} investigations analysed"
             f" for ${s.cost_usd:.2f} (" + ", ".join(f"{m} ${c:.2f}" for m, c in sorted(s.cost_by_mode.items()))
             + ").", ""]
    if index.get("unanalysed"):
        lines += [(f"{len(index['unanalysed'])} failed investigations have no analysis yet and are in no "
                  "cohort: run `agentbook backtest analyze` again."), ""]
    bucket = (index.get("no_common_cause") or {}).get("count", 0)
    if bucket:
        lines += [(f"{bucket} failures share no cause with any other failure: they are in no cohort "
                   "([cohorts/no-common-cause.md](cohorts/no-common-cause.md)); each may still be worth a look."), ""]
    lines += ["## Top causes by impact", ""]
    if not s.cohorts:
        lines += ["No cohorts yet: run `agentbook backtest cluster` first.", ""]
    for n, c in enumerate(s.cohorts[:TOP_COHORTS], 1):
        where = ", ".join(span(x["location"]) + (" (not checked: no --code)" if x.get("exists") is None else "")
                          for x in c["suspected"][:3]) or "no code location named"
        lines += [f"### {n}. {prose(c['name'])} ({c['count']} failures, {c['scope']})", "",
                  definition(c["definition"], c.get("bound_by") or []), "",
                  f"- impact: fixing it would lift accuracy by up to {c['impact_pp']:.1f} points",
                  f"- scope: {c['scope']} (" + scope_reason(c["scope"], c.get("account_test") or {}, len(c["accounts"]),
                                                           max(c["accounts"].values(), default=0)) + ")",
                  f"- accounts: {len(c['accounts'])} (" + ", ".join(plain(a) for a in list(c["accounts"])[:6])
                  + (", ..." if len(c["accounts"]) > 6 else "") + ")",
                  f"- code: {where}",
                  f"- proposed change: {_change(c['proposed_change']) if c['proposed_change'] else 'none proposed yet'}",
                  f"- details: [cohorts/{c['slug']}.md](cohorts/{c['slug']}.md)", ""]
    lines += ["## Accuracy by cohort", "", "| cohort | scope | failures | accounts | accuracy if fixed |",
              "| --- | --- | ---: | ---: | ---: |"]
    for c in s.cohorts:
        fixed = (s.correct + c["count"]) / max(1, s.total)
        lines.append(f"| [{c['slug']}](cohorts/{c['slug']}.md) | {c['scope']} | {c['count']} | "
                     f"{len(c['accounts'])} | {fixed:.1%} |")
    if s.disputed:
        lines += ["", "## Verdicts the analysts dispute", "",
                  (f"{len(s.disputed)} investigations where the analyst's verdict differs from the backtest's "
                  "score: check the scorer before trusting the accuracy."), ""]
        lines += [f"- [{Path(rel).name}]({rel}/analysis.md)" for rel in s.disputed[:DISPUTED_SHOWN]]
        if len(s.disputed) > DISPUTED_SHOWN:
            lines.append(f"- ... {len(s.disputed) - DISPUTED_SHOWN} more (`backtest report --json`)")
    lines += ["", "## Accuracy by account (worst first)", "", "| account | correct | total | accuracy |",
              "| --- | ---: | ---: | ---: |"]
    for account, row in list(s.accounts.items())[:ACCOUNT_ROWS]:
        lines.append(f"| {plain(account)} | {row['correct']} | {row['total']} | {row['accuracy']:.0%} |")
    if len(s.accounts) > ACCOUNT_ROWS:
        lines.append(f"| ... {len(s.accounts) - ACCOUNT_ROWS} more accounts | | | |")
    if s.charts:
        lines += ["", "## Charts", ""] + [f"![{Path(c).stem}]({c})" for c in s.charts]
    lines += ["", (f"Cohort agreement between two clustering runs (adjusted Rand index): "
                  f"{index.get('agreement_ari', 1.0):.2f}.")]
    if meaning := index.get("meaning"):
        pinned = f" (weights SHA-256 {meaning['sha256']}, `--meaning {meaning['chosen']}`)" if meaning.get("sha256") else ""
        lines.append(f"Cohorts clustered on {meaning['note']}{pinned}.")
    return "\n".join(lines) + "\n"

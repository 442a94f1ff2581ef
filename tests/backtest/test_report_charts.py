"""The report's two charts as a reader sees them: each drawn as `backtest report` draws it, then what is
written on it read back and every box measured. Counts tick as integers, each bar says its count, a
cohort's slug is whole (wrapped at its hyphens, never cut), a legend explains every colour, and no text
box meets another: one cohort, forty, the longest slug `slugify` makes, only causeless failures, forty
accounts, accounts all near 100% (where a legend inside the axes covered the counts)."""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any

import pytest

from agentbook.backtest.cohorts import slugify
from agentbook.backtest.report import (
    ACCOUNTS_CHARTED,
    COHORTS_CHARTED,
    SCOPE_MEANING,
    account_figure,
    cohort_figure,
    pyplot,
)

SCOPES = list(SCOPE_MEANING)
LONGEST = slugify("tool-execution " + " ".join(["reconciliation"] * 10))  # 60 characters, cut at a word's end


def _cohort(n: int, count: int, slug: str | None = None) -> dict[str, Any]:
    return {"slug": slug or f"stage-{n}-component-{'x' * (n % 7)}-words", "count": count, "scope": SCOPES[n % 3]}


def _drawn(fig: Any) -> Any:
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _overlap(a: Any, b: Any) -> bool:
    return bool(a.width and b.width and a.overlaps(b) and a.intersection(a, b).width * a.intersection(a, b).height > 1)


def _texts(ax: Any) -> list[Any]:
    return [t for t in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels(),
                        *ax.texts] if t.get_visible() and t.get_text()]


def _legends(fig: Any, ax: Any) -> list[Any]:
    return [*fig.legends, *([ax.get_legend()] if ax.get_legend() else [])]


def _no_overlaps(fig: Any, ax: Any) -> None:
    renderer = _drawn(fig)
    rotated = {id(t) for t in ax.get_xticklabels() if t.get_rotation()}  # their boxes are not their glyphs
    boxes = [(t.get_text(), t.get_window_extent(renderer), id(t) in rotated) for t in _texts(ax)]
    boxes += [(f"legend {n}", legend.get_window_extent(renderer), False) for n, legend in enumerate(_legends(fig, ax))]
    clashes = [(x, y) for (x, a, p), (y, b, q) in combinations(boxes, 2) if not (p and q) and _overlap(a, b)]
    assert not clashes
    frame = ax.get_window_extent(renderer)
    for n, legend in enumerate(_legends(fig, ax)):  # never over the bars
        assert not _overlap(legend.get_window_extent(renderer), frame), f"legend {n}"


CASES = {"one cohort": ([_cohort(0, 18)], 0),
         "forty cohorts": ([_cohort(n, 40 - n) for n in range(40)], 25),
         "longest slug": ([_cohort(0, 1000, LONGEST), _cohort(2, 3)], 7),
         "causeless only": ([], 9)}


@pytest.mark.parametrize("case", list(CASES))
def test_cohort_chart_reads_whole(case: str) -> None:
    plt = pyplot()
    cohorts, bucket = CASES[case]
    fig = cohort_figure(plt, cohorts, bucket)
    try:
        ax = fig.axes[0]
        _no_overlaps(fig, ax)
        assert all(re.fullmatch(r"\d+", t.get_text()) for t in ax.get_xticklabels() if t.get_text())
        shown = cohorts[:COHORTS_CHARTED]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert ["".join(label.split("\n")) for label in labels[:len(shown)]] == [c["slug"] for c in shown]
        assert [t.get_text() for t in ax.texts] == [str(c["count"]) for c in shown] + ([str(bucket)] if bucket else [])
        legend = [t.get_text() for t in _legends(fig, ax)[0].get_texts()]
        assert legend == [SCOPE_MEANING[s] for s in SCOPES if any(c["scope"] == s for c in shown)] \
            + (["no common cause"] if bucket else [])
        if len(cohorts) > COHORTS_CHARTED:
            assert ax.get_title().endswith(f"top {COHORTS_CHARTED} of {len(cohorts)}")
    finally:
        plt.close(fig)


def _accounts(rates: list[tuple[int, int]]) -> dict[str, dict[str, Any]]:
    rows = {f"account-{n:03d}": {"correct": c, "total": t, "accuracy": c / t} for n, (c, t) in enumerate(rates)}
    return dict(sorted(rows.items(), key=lambda kv: (kv[1]["accuracy"], kv[0])))


@pytest.mark.parametrize("rates", [[(10, 16)], [(n % 5, 4) for n in range(40)], [(24, 25), (50, 50), (99, 100)]],
                         ids=["one account", "forty accounts", "all near 100%"])
def test_account_chart_reads_whole(rates: list[tuple[int, int]]) -> None:
    plt = pyplot()
    accounts = _accounts(rates)
    overall = sum(c for c, _ in rates) / sum(t for _, t in rates)
    fig = account_figure(plt, accounts, overall)
    try:
        ax = fig.axes[0]
        _no_overlaps(fig, ax)
        shown = list(accounts.values())[:ACCOUNTS_CHARTED]
        assert [t.get_text() for t in ax.texts] == [f"{r['correct']}/{r['total']}" for r in shown]
        assert [t.get_text() for t in _legends(fig, ax)[0].get_texts()] == [f"overall {overall:.0%}"]
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("name", "slug"), [
    ("Zeitüberschreitung beim CRM-Aufruf für Rechnungen", "zeituberschreitung-beim-crm-aufruf-fur-rechnungen"),
    ("Prazo de validação excedido na chamada", "prazo-de-validacao-excedido-na-chamada"),
    ("Straße Øresund Łódź", "strasse-oresund-lodz"),
    ("超时 CRM", "crm"),
])
def test_slugs_keep_accented_words_whole(name: str, slug: str) -> None:
    """A model may name a cohort in the analysts' language: its slug (the page's file name, the chart's
    label) keeps each word whole, not "zeit-berschreitung"."""
    assert slugify(name) == slug


def test_thousands_of_accounts_chart_the_worst_and_say_so() -> None:
    """A bar per account of 300 made a 137-inch-wide image (1,500: 677 inches, over a minute and a half
    to draw); the chart shows the worst ACCOUNTS_CHARTED and its title says of how many."""
    plt = pyplot()
    accounts = _accounts([(n % 3, 3) for n in range(300)])
    fig = account_figure(plt, accounts, 0.33)
    try:
        ax = fig.axes[0]
        assert fig.get_size_inches()[0] <= 0.45 * ACCOUNTS_CHARTED + 2
        assert [t.get_text() for t in ax.get_xticklabels()] == list(accounts)[:ACCOUNTS_CHARTED]
        assert ax.get_title(loc="left") == f"Accuracy by account (worst first): the worst {ACCOUNTS_CHARTED} of 300"
        _no_overlaps(fig, ax)
    finally:
        plt.close(fig)

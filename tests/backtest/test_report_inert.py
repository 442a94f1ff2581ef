"""Attack on `backtest report` through what analysts wrote: their findings restate traces anyone may have
written, so a cohort's name, definition and proposed change (and an account's name) may carry
Markdown. report.md is committed by the analyze-backtest runbook and shown in a pull request, where
that Markdown would add an image from the attacker's server, a link dressed as something else, HTML,
or a heading of its own. The report is parsed as GitHub parses it (CommonMark with tables,
markdown-it-py): the analysts' words are in it, as text, and make none of those."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.report import build_report

from .conftest import copy_backtest, rewrite

HOSTILE = (" ATTACK ![beacon](https://attacker.example/b.png) [approve](https://attacker.example/x) "
           "<img src=x onerror=alert(1)> <!-- hidden --> `code` | cell | **bold** \n# Heading")


def _hostile_backtest(analysed: Path, tmp_path: Path) -> Path:
    folder = copy_backtest(analysed, tmp_path / "bt")
    for path in folder.glob("investigations/*/*/analysis.json"):
        analysis = json.loads(path.read_text())
        for key in ("failure_mode", "proposed_change", "error_signature"):
            analysis[key] = str(analysis.get(key) or "") + HOSTILE
        rewrite(path, json.dumps(analysis))
    cluster_backtest(str(folder))
    return folder


def test_analysts_markdown_is_text_in_the_report(analysed: Path, tmp_path: Path) -> None:
    folder = _hostile_backtest(analysed, tmp_path)
    build_report(str(folder), charts=False)
    _assert_inert((folder / "report.md").read_text())


def test_analysts_markdown_is_text_in_the_cohort_pages(analysed: Path, tmp_path: Path) -> None:
    """The cohort pages (cohorts/<slug>.md) are committed beside report.md and linked from it."""
    folder = _hostile_backtest(analysed, tmp_path)
    pages = sorted((folder / "cohorts").glob("*.md"))
    assert pages
    for page in pages:
        _assert_inert(page.read_text())


def _assert_inert(text: str) -> None:
    assert "ATTACK" in text and "attacker.example" in text  # the analysts' words are reported

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    children = [c for t in tokens for c in (t.children or [])]
    assert not [t for t in tokens if t.type == "html_block"]
    assert not [c for c in children if c.type in ("html_inline", "image")]
    links = [c.attrs.get("href") for c in children if c.type == "link_open"]
    assert links and all(not str(href).startswith("http") for href in links)  # only the report's own pages
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not [h for h in headings if h.startswith("Heading")]  # the attacker's "# Heading" made none

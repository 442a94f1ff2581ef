"""What an analyst quoted in backticks shows as code in report.md and the cohort pages, never as
backslash-escaped backticks, and the rest of their words stay literal text (no HTML, link or image).

The report is parsed as GitHub parses it (CommonMark, markdown-it-py): the quoted parts are code spans
holding exactly what the analyst quoted, backticks inside them included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.report import ReportSummary, render
from agentbook.backtest.report_md import bound_by, prose

from .conftest import copy_backtest, rewrite

FINDING = ("Parser failed on `KeyError: 'id'` after ``a `tick` here``;\n"
           "<script>alert(1)</script> [x](http://evil) `[x](http://evil)`")
RENDERED = ("Parser failed on `KeyError: 'id'` after ``a `tick` here``; \\<script\\>alert\\(1\\)\\</script\\> "
            "\\[x\\]\\(http://evil\\) `[x](http://evil)`")


@pytest.mark.parametrize(("text", "markdown"), [
    (FINDING, RENDERED),
    ("fails in `parse_invoice` on row_id", "fails in `parse_invoice` on row\\_id"),
    ("a run of two ``x ` y`` quotes one", "a run of two ``x ` y`` quotes one"),
    ("`` `tick` ``", "`` `tick` ``"),  # a quoted text that starts and ends with a backtick is padded
    ("a lone ` stays text", "a lone \\` stays text"),  # no partner of its length: literal
    ("``` never closed `", "\\`\\`\\` never closed \\`"),
    ("` `", "` `"),
    ("*bold* # not a heading | cell", "\\*bold\\* \\# not a heading \\| cell"),
])
def test_quoted_parts_are_code_spans_and_the_rest_literal(text: str, markdown: str) -> None:
    assert prose(text) == markdown


def _inline(markdown: str) -> list[tuple[str, str]]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [(c.type, c.content) for t in tokens for c in (t.children or [])]


def test_github_reads_the_quotes_as_code_and_nothing_else_as_markup() -> None:
    assert _inline(prose(FINDING)) == [
        ("text", "Parser failed on "), ("code_inline", "KeyError: 'id'"), ("text", " after "),
        ("code_inline", "a `tick` here"), ("text", "; <script>alert(1)</script> [x](http://evil) "),
        ("code_inline", "[x](http://evil)")]


def _report(cohort: dict[str, Any]) -> str:
    summary = ReportSummary(path="report.md", total=10, correct=6, accounts={}, cohorts=[cohort], analysed=4,
                            cost_usd=0.0, cost_by_mode={})
    return render(summary, {"cohorts": [cohort], "unanalysed": []})


def test_a_cohorts_name_definition_and_change_keep_the_analysts_code_spans() -> None:
    cohort = {"slug": "keyerror-in-parse", "name": "`KeyError` in parse_invoice", "count": 4, "scope": "systemic",
              "impact_pp": 40.0, "accounts": {"acme": 2, "globex": 2}, "account_test": {}, "suspected": [],
              "definition": f"Failures like inv-1, the most representative member: {FINDING}",
              "bound_by": [["the terms", ["keyerror", "invoice_id"]]],
              "proposed_change": "Guard `row['id']` before the lookup (at `app/parse.py:12`)"}
    text = _report(cohort)
    section = text.split("## Top causes by impact\n\n", 1)[1].split("\n## Accuracy by cohort", 1)[0]
    assert section == (
        "### 1. `KeyError` in parse\\_invoice (4 failures, systemic)\n\n"
        f"Failures like inv-1, the most representative member: {RENDERED} Bound by the terms `keyerror`, "
        "`invoice_id`.\n\n"
        "- impact: fixing it would lift accuracy by up to 40.0 points\n"
        "- scope: systemic (spread over 2 accounts, at most 2 in one)\n"
        "- accounts: 2 (acme, globex)\n"
        "- code: no code location named\n"
        "- proposed change: Guard `row['id']` before the lookup (at `app/parse.py:12`)\n"
        "- details: [cohorts/keyerror-in-parse.md](cohorts/keyerror-in-parse.md)\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    children = [c for t in tokens for c in (t.children or [])]
    assert not [t for t in tokens if t.type == "html_block"]
    assert not [c for c in children if c.type in ("html_inline", "image")]
    assert [c.attrs.get("href") for c in children if c.type == "link_open"] == [
        "cohorts/keyerror-in-parse.md", "cohorts/keyerror-in-parse.md"]
    assert [c.content for c in children if c.type == "code_inline"] == [
        "KeyError", "KeyError: 'id'", "a `tick` here", "[x](http://evil)", "keyerror", "invoice_id",
        "row['id']", "app/parse.py:12"]


def test_an_unpaired_backtick_in_the_finding_leaves_agentbooks_own_sentence_whole() -> None:
    """The analyst's words and agentbook's "Bound by ..." are rendered apart: a backtick the analyst left
    unpaired stays literal and cannot pair with the first backtick of agentbook's sentence."""
    cohort = {"slug": "quote", "name": "lost quote", "count": 2, "scope": "systemic", "impact_pp": 20.0,
              "accounts": {"acme": 1, "globex": 1}, "account_test": {}, "suspected": [], "proposed_change": "",
              "definition": "Failures like inv-2, the most representative member: the `status field is empty",
              "bound_by": [["the terms", ["status", "a`b"]], ["the traces", ["keyerror"]],
                           ["stage", ["investigate (2/2)"]]]}
    section = _report(cohort).split("## Top causes by impact\n\n", 1)[1].split("\n- impact:", 1)[0]
    assert section == (
        "### 1. lost quote (2 failures, systemic)\n\n"
        "Failures like inv-2, the most representative member: the \\`status field is empty Bound by the terms "
        "`status`, ``a`b`` and the traces `keyerror` and stage `investigate (2/2)`.\n")
    assert [c.content for c in MarkdownIt("commonmark").parseInline(section.split("\n\n", 1)[1])[0].children
            if c.type == "code_inline"] == ["status", "a`b", "keyerror", "investigate (2/2)"]


def test_cohort_pages_keep_agentbooks_sentence_whole_after_an_unpaired_backtick(analysed: Path,
                                                                                 tmp_path: Path) -> None:
    """Through `backtest cluster`: every analyst's finding ends with an unpaired backtick; each cohort page's
    definition still shows agentbook's "Bound by" sentence with its terms as code, and the analyst's
    backtick as a literal one."""
    folder = copy_backtest(analysed, tmp_path / "bt")
    for path in folder.glob("investigations/*/*/analysis.json"):
        analysis = json.loads(path.read_text())
        analysis["failure_mode"] = str(analysis.get("failure_mode") or "") + " the `status field"
        rewrite(path, json.dumps(analysis))
    cluster_backtest(str(folder))
    cohorts = [c for c in json.loads((folder / "cohorts" / "index.json").read_text())["cohorts"] if c["bound_by"]]
    assert cohorts
    for cohort in cohorts:
        line = next(line for line in (folder / "cohorts" / f"{cohort['slug']}.md").read_text().splitlines()
                    if line.startswith("**Definition.** "))
        assert line.endswith(" the \\`status field " + bound_by(cohort["bound_by"]))
        spans = [c.content for c in MarkdownIt("commonmark").parseInline(line)[0].children or []
                 if c.type == "code_inline"]
        assert spans[-len([t for _, things in cohort["bound_by"] for t in things]):] == [
            t for _, things in cohort["bound_by"] for t in things]

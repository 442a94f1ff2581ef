"""A backtest's pages quote what its traces said: the report, the cohort pages, fixes.md and the fix
tickets. A trace is attacker-written and its error text can hold a key this process holds; an analysis
written before analyses were redacted (or by anyone: the folder is data) quotes it as is, and a ticket
quotes the recorded answer itself. Every page is written through the process's redactor, each form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.fixes import write_fixes
from agentbook.backtest.report import build_report

from .conftest import EVAL_MODEL

KEY = "Zq7Rm2Xv9Lp4Wt6Kc1Nb8Hd3Fs5Gj0Yw"  # a held value shaped like no known key: only the held list finds it
FORMS = {"plain": KEY, "percent-encoded": "".join(f"%{b:02X}" for b in KEY.encode())}


def _leak(bt: Path, slug: str) -> list[str]:
    """Each member of cohort `slug` fails with a tool error quoting the key: in its trace, its recorded
    answer and an analysis that quotes the error (plain, in backticks, and percent-encoded)."""
    index = json.loads((bt / "cohorts" / "index.json").read_text())
    members = next(c["members"] for c in index["cohorts"] if c["slug"] == slug)
    error = f"401 Unauthorized: key `{KEY}` rejected (sent as {FORMS['percent-encoded']})"
    for inv_id in members:
        inv = next(bt.glob(f"investigations/*/{inv_id}"))
        (inv / "trace").mkdir(exist_ok=True)
        (inv / "trace" / "errors.md").write_text(f"## Tool errors\n\n- loki_query: {error}\n")
        with (inv / "outcome.md").open("a") as fh:
            fh.write(f"\nThe query tool failed: {error}\n")
        analysis = json.loads((inv / "analysis.json").read_text())
        analysis["failure_mode"] = f"{analysis['failure_mode']} The tool said {error}"
        analysis["summary"] = f"{analysis.get('summary') or ''} {error}"
        analysis["error_signature"] = f"401 {KEY}"
        (inv / "analysis.json").write_text(json.dumps(analysis))
    return members


def test_the_report_cohort_pages_and_tickets_hold_no_held_key(example_repo: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    bt = example_repo / "backtests" / "2026-11"
    before = write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL)
    slug = next(f.slug for f in before.fixes if f.location == "prompts/logql.md:10")
    _leak(bt, slug)
    shutil.rmtree(bt / "cohorts")
    cluster_backtest(str(bt), code=str(example_repo))
    build_report(str(bt), charts=False)
    fixes = write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL)
    ticket = next(example_repo / f.ticket for f in fixes.fixes if f.ticket and f.location == "prompts/logql.md:10")
    cohort_page = max((bt / "cohorts").glob("*.md"), key=lambda p: p.read_text().count("[REDACTED]"))
    pages = {"report.md": bt / "report.md", "cohort page": cohort_page, "index.json": bt / "cohorts" / "index.json",
             "fixes.md": bt / "fixes.md", "ticket": ticket}
    for name, path in pages.items():
        text = path.read_text()
        assert [form for form, value in FORMS.items() if value in text] == [], name
    for name in ("report.md", "cohort page", "ticket"):
        assert "[REDACTED]" in pages[name].read_text(), name  # the key was there to redact

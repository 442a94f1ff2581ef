"""report.md says why each top cause has its scope (the account test's figures) and where its
proposed change lands: a file:line that exists in --code, the line found from the finding when the
analyst cited the file alone."""

from __future__ import annotations

import re
from pathlib import Path

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.report import build_report
from agentbook.backtest.report_md import prose

from .conftest import copy_backtest

EXAMPLE_CODE = Path(__file__).resolve().parents[2] / "examples" / "incident-assistant"


def test_report_says_why_each_scope_and_where_each_change_lands(analysed: Path, tmp_path: Path) -> None:
    folder = copy_backtest(analysed, tmp_path / "bt")
    summary = cluster_backtest(str(folder), code=str(EXAMPLE_CODE))
    build_report(str(folder), charts=False)
    text = (folder / "report.md").read_text()
    sections = text.split("\n### ")[1:]
    for n, c in enumerate(summary.cohorts[:5], 1):
        section = next(x for x in sections if x.startswith(f"{n}. {prose(c['name'])} ({c['count']} failures, {c['scope']})"))
        line = next(x for x in section.splitlines() if x.startswith("- scope: "))
        assert line.startswith(f"- scope: {c['scope']} (")
        if c["scope"] == "account-specific":
            test = c["account_test"]
            assert f"in account `{test['account']}`" in line and f"p = {test['p_adjusted']:.2g}" in line
            assert "one-sided binomial, Bonferroni" in line
        else:
            assert "not unusual" in line
    for c in summary.cohorts:
        where = re.search(r"\(at `([^`:]+)(?::(\d+))?`\)$", c["proposed_change"])
        assert where, c["proposed_change"]
        path = EXAMPLE_CODE / where.group(1)
        assert path.is_file()
        if where.group(2):
            assert 1 <= int(where.group(2)) <= len(path.read_text().splitlines())
    # the analysts cite assistant/accounts.py without a line; the finding names the window it shifts
    skew = next(c for c in summary.cohorts if "accounts.py" in c["proposed_change"])
    lines = (EXAMPLE_CODE / "assistant" / "accounts.py").read_text().splitlines()
    window = next(n for n, x in enumerate(lines, 1) if x.strip().startswith("def window("))
    assert skew["proposed_change"].endswith(f"(at `assistant/accounts.py:{window}`)")


def test_without_code_every_location_says_it_was_not_checked(analysed: Path, tmp_path: Path) -> None:
    """Clustered without --code nothing is looked up: the page, report.md's code line and the proposed
    change's location say so, never state a file:line as where to fix; `fixes` still reads the change."""
    from agentbook.backtest.fixes import _AT_SUFFIX

    folder = copy_backtest(analysed, tmp_path / "bt")
    summary = cluster_backtest(str(folder))
    build_report(str(folder), charts=False)
    text = (folder / "report.md").read_text()
    changes = [c["proposed_change"] for c in summary.cohorts if "(at `" in c["proposed_change"]]
    assert changes and all(x.endswith(", not checked: no --code)") for x in changes), changes
    assert all(_AT_SUFFIX.search(x) for x in changes)
    code_lines = [x for x in text.splitlines() if x.startswith("- code: `")]
    change_lines = [x for x in text.splitlines() if x.startswith("- proposed change: ") and "(at `" in x]
    assert code_lines and all(x.count("`") == 2 * x.count("(not checked: no --code)") for x in code_lines), code_lines
    assert change_lines and all(x.endswith(", not checked: no --code)") for x in change_lines), change_lines

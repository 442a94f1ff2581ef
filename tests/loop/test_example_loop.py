"""Done-when on the example, offline and with no API key: from a fresh copy of the incident assistant,
`agentbook demo --act loop` runs its own backtest (backtest run -> import -> analyze -> cluster), writes
the fix tickets, and closes the loop on the LogQL ticket twice: the right fix shrinks its cohort and is
ready, a wrong fix (the rule put into another prompt) is caught and is not, with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git

from agentbook.session.sandbox import bwrap_works

pytestmark = [pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here"),
              pytest.mark.slow]


def test_the_example_closes_its_own_loop(tmp_path: Path, run_cli: Callable[..., CliResult],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # scripted models only: nothing needs a key
    res = run_cli("demo", "--workdir", tmp_path, "--act", "loop", "--json")
    assert res.code == 0, res.out[-3000:] + res.err[-3000:]
    loop = json.loads(res.out)["loop"]
    cohorts = {c["slug"]: c["count"] for c in loop["baseline"]["cohorts"]}
    assert loop["baseline"]["total"] == 60 and sum(cohorts.values()) == 60 - loop["baseline"]["correct"]
    # one ticket per prompt cohort; the causes in code get none, with the reason
    tickets = [f for f in loop["fixes"] if f["ticket"]]
    assert sorted(f["location"].partition(":")[0] for f in tickets) == ["prompts/logql.md", "prompts/root-cause.md"]
    assert all("not a prompt" in f["no_ticket"] for f in loop["fixes"] if not f["ticket"])
    right, wrong = loop["right"], loop["wrong"]
    check = right["check"]
    assert right["ready"] and right["run"]["status"] == "completed"
    assert check["before"] == cohorts[check["target"]] and check["after"] < check["before"]
    assert check["accuracy_after"] > check["accuracy_before"] and not check["grew"] and not check["broken"]
    repo = tmp_path / "incident-assistant"
    assert '(?i)' in git(repo, "show", f"{right['run']['branch']}:prompts/logql.md")
    assert not wrong["ready"] and wrong["run"]["status"] == "blocked"
    assert wrong["reasons"][0].startswith("the fix run ended blocked: check `agentbook eval run evals/logql/suite.yaml")
    report = Path(wrong["report"]).read_text()
    assert "0 ready, 1 not ready" in report and "NOT ready" in report
    text = run_cli("backtest", "compare", repo / "backtests" / "baseline", right["rerun"]["backtest"],
                   "--ticket", repo / loop["ticket"])
    assert text.code == 0 and f": {check['before']} -> {check['after']} (" in text.out, text.out

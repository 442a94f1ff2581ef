"""Done-when on the example, offline and with no API key: from a fresh copy of the incident assistant,
`agentbook demo --act loop` runs its own backtest (backtest run -> import -> analyze -> cluster), writes
the fix tickets (one per prompt cohort) and closes the loop on each of them with the right fix: every
targeted cohort shrinks and the fix is ready. A wrong fix of the LogQL ticket (the rule put into
another prompt) is caught and is not ready, with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git

from agentbook.session.sandbox import bwrap_works

pytestmark = [pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here"),
              pytest.mark.slow]

# prompt a ticket fixes -> what its branch must state (the rule the scripted production model keys on)
RULES = {"prompts/logql.md": "(?i)", "prompts/root-cause.md": "earliest error"}


def test_the_example_closes_its_own_loop(tmp_path: Path, run_cli: Callable[..., CliResult],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # scripted models only: nothing needs a key
    res = run_cli("demo", "--workdir", tmp_path, "--act", "loop", "--json")
    assert res.code == 0, res.out[-3000:] + res.err[-3000:]
    loop = json.loads(res.out)["loop"]
    cohorts = {c["slug"]: c["count"] for c in loop["baseline"]["cohorts"]}
    assert loop["baseline"]["total"] == 60 and sum(cohorts.values()) == 60 - loop["baseline"]["correct"]
    # one ticket per prompt cohort; the causes in code get none, with the reason
    tickets = {f["ticket"]: f for f in loop["fixes"] if f["ticket"]}
    assert sorted(f["location"].partition(":")[0] for f in tickets.values()) == list(RULES)
    assert all("not a prompt" in f["no_ticket"] for f in loop["fixes"] if not f["ticket"])
    assert sorted(loop["tickets"]) == sorted(tickets)
    repo = tmp_path / "incident-assistant"
    accuracy = loop["baseline"]["correct"] / 60
    # each targeted cohort shrinks, by the right fix of its own ticket, and nothing else moves for the worse
    assert sorted(fix["ticket"] for fix in loop["right"]) == sorted(tickets)
    for fix in loop["right"]:
        proposed, check = tickets[fix["ticket"]], fix["check"]
        assert fix["ready"] and fix["run"]["status"] == "completed", fix
        assert check["target"] == proposed["slug"] and check["before"] == cohorts[proposed["slug"]] == proposed["count"]
        assert check["after"] < check["before"], check
        assert check["accuracy_before"] == pytest.approx(accuracy) and check["accuracy_after"] > accuracy
        assert not check["grew"] and not check["broken"]
        prompt = proposed["location"].partition(":")[0]
        assert RULES[prompt] in git(repo, "show", f"{fix['run']['branch']}:{prompt}")
        text = run_cli("backtest", "compare", repo / "backtests" / "baseline", fix["rerun"]["backtest"],
                       "--ticket", repo / fix["ticket"])
        assert text.code == 0 and f": {check['before']} -> {check['after']} (" in text.out, text.out
    wrong = loop["wrong"]
    assert wrong["ticket"] == loop["ticket"] and tickets[loop["ticket"]]["location"].startswith("prompts/logql.md")
    assert not wrong["ready"] and wrong["run"]["status"] == "blocked"
    assert wrong["reasons"][0].startswith("the fix run ended blocked: check `agentbook eval run evals/logql/suite.yaml")
    report = Path(wrong["report"]).read_text()
    assert "0 ready, 1 not ready" in report and "NOT ready" in report
    assert "2 ready, 0 not ready" in Path(loop["right"][0]["report"]).read_text()

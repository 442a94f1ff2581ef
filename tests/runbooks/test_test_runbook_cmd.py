"""`agentbook test-runbook`: finds specs, rejects bad ones clearly, and really fails when a runbook
does not do what its spec says."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT, CliResult

SPECS = REPO_ROOT / "tests" / "runbooks"


def test_unknown_name_lists_the_known_ones(run_cli: Callable[..., CliResult]) -> None:
    res = run_cli("test-runbook", "nope", "--dir", SPECS)
    assert res.code == 3
    assert res.err.startswith("agentbook: error: no runbook test named 'nope'")
    assert "known: add-eval, analyze-backtest, consolidate-prompt, consolidate-prompt-inline, fix-prompt" in res.err


def test_a_name_or_all_is_required(run_cli: Callable[..., CliResult]) -> None:
    res = run_cli("test-runbook")
    assert res.code == 2
    assert "name one runbook test or pass --all" in res.err


def test_list_reads_the_given_folder(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    shutil.copy(SPECS / "add-eval.test.yaml", tmp_path / "mine.test.yaml")
    res = run_cli("test-runbook", "--list", "--dir", tmp_path, "--json")
    assert json.loads(res.out) == [{"name": "mine", "spec": str(tmp_path / "mine.test.yaml")}]


@pytest.mark.parametrize(("text", "message"), [
    ("runbook: x\nfixture: {copy: .\nticket: t.md\n", "invalid YAML"),
    ("- a list\n", "a runbook test is a mapping (runbook, script, fixture, ticket, expect)"),
    ("runbook: add-eval\nticket: t.md\n", "fixture.copy is required"),
    ("runbook: add-eval\nfixture: {copy: .}\n", "scripted session not found"),
])
def test_bad_specs_are_clear_errors(text: str, message: str, tmp_path: Path,
                                    run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "bad.test.yaml").write_text(text)
    res = run_cli("test-runbook", "bad", "--dir", tmp_path)
    assert res.code == 3, res.err
    assert message in res.err
    assert str(tmp_path / "bad.test.yaml") in res.err


@pytest.mark.slow
def test_a_runbook_that_does_not_meet_its_spec_fails(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS / "add-eval.yaml", specs / "add-eval.yaml")
    spec = (SPECS / "add-eval.test.yaml").read_text()
    spec = spec.replace("../../examples/incident-assistant", str(REPO_ROOT / "examples" / "incident-assistant"))
    spec = spec.replace("branch: agentbook/add-eval/inc-150", "branch: agentbook/add-eval/somewhere-else")
    spec = spec.replace("contains: ['id: warnings-per-pod-inventory'", "contains: ['id: a-case-never-written'")
    (specs / "add-eval.test.yaml").write_text(spec)
    res = run_cli("test-runbook", "add-eval", "--dir", specs, "--workdir", tmp_path / "work", "--json")
    data = json.loads(res.out)
    assert res.code == 1 and data["ok"] is False
    failed = {c["check"]: c["detail"] for c in data["checks"] if not c["ok"]}
    assert failed == {
        "branch": "agentbook/add-eval/inc-150 (expected agentbook/add-eval/somewhere-else)",
        "file evals/logql/cases/warnings-per-pod-inventory.yaml": "lacks 'id: a-case-never-written'",
    }
    assert data["outcome"] == "completed"

"""Done-when of the loop, end to end on a small system (tests/loop/data/mini: a real git repo in tmp,
its scripted production model depending on its prompt, the real bubblewrap jail, the scripted agent
as the fixer): backtest run -> import -> analyze -> cluster -> fix tickets -> close-loop (fix run,
re-run, compare). The right fix shrinks its cohort and gets a ready pull request; a wrong one (a rule
that passes the suite but breaks incidents whose cause comes first) is caught: a draft that says why.
Also: kill -9 in the middle, then the same command finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import git
from tests.github_api import TOKEN, github_origin

from agentbook.session.sandbox import bwrap_works
from agentbook.workflows.fixture import make_repo

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")

DATA = Path(__file__).parent / "data"
ANALYST = "scripted:backtest/analyst.script.yaml"
EVAL_MODEL = "scripted:evals/model.script.yaml"
GOOD = f"scripted:{DATA / 'fixer-good.script.yaml'}"
WRONG = f"scripted:{DATA / 'fixer-wrong.script.yaml'}"


@pytest.fixture
def mini(tmp_path: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The mini system as a repo, its baseline backtest run, analysed and clustered, and its fix tickets
    committed (runs start from a commit); the ticket to fix."""
    repo = make_repo(DATA / "mini", tmp_path / "mini")
    monkeypatch.chdir(repo)  # the specs' relative script paths are the repo's, as for a user in it
    for args in (("run", "backtest/run.yaml", "backtests/base-run"),
                 ("import", "backtests/base-run/manifest.jsonl", "backtests/base"),
                 ("analyze", "backtests/base", "--model", ANALYST, "--code", "."),
                 ("cluster", "backtests/base", "--code", ".")):
        res = run_cli("backtest", *args, "--json")
        assert res.code == 0, (args, res.out[-2000:], res.err)
    res = run_cli("backtest", "fixes", "backtests/base", "--code", ".", "--eval-model", EVAL_MODEL, "--json")
    fixes = json.loads(res.out)
    tickets = fixes["tickets"]
    assert len(tickets) == 1 and [f["no_ticket"] is None for f in fixes["fixes"]] == [True, False]
    git(repo, "add", "tickets")
    git(repo, "commit", "-q", "-m", "fix tickets from backtest base")
    github_origin(repo, tmp_path / "mini.git")
    return repo, tickets[0]


def close_loop(run_cli: Callable[..., Any], ticket: str, fixer: str, out: str, *extra: str) -> Any:
    return run_cli("backtest", "close-loop", ticket, "--spec", "backtest/run.yaml", "--model", fixer,
                   "--analyst-model", ANALYST, "--out", out, *extra)


def test_the_right_fix_shrinks_its_cohort_and_gets_a_ready_pr(mini: tuple[Path, str], run_cli: Callable[..., Any],
                                                              github: list[dict[str, Any]]) -> None:
    repo, ticket = mini
    res = close_loop(run_cli, ticket, GOOD, ".agentbook/loop-good", "--push", "origin", "--open-pr", "--json")
    assert res.code == 0, res.out[-3000:] + res.err
    fix = json.loads(res.out)["fixes"][0]
    check = fix["check"]
    assert fix["ready"] and fix["run"]["status"] == "completed"
    assert (check["before"], check["after"], check["fixed"]) == (8, 0, 8) and not check["grew"] and not check["broken"]
    assert (check["accuracy_before"], check["accuracy_after"]) == (0.5714, 0.8571)
    assert [r["body"]["draft"] for r in github] == [False] and github[0]["body"]["head"] == fix["run"]["branch"]
    assert "8 -> 0" in github[0]["body"]["body"]
    assert fix["pull_request"] == {"opened": True, "number": 17, "url": "https://github.com/acme/widgets/pull/17",
                                   "draft": False}
    # the fix is on its branch; main is untouched
    assert "often a symptom" in git(repo, "show", f"{fix['run']['branch']}:prompts/triage.md")
    assert "often a symptom" not in (repo / "prompts" / "triage.md").read_text()
    report = (repo / ".agentbook" / "loop-good" / "report.md").read_text()
    assert "1 fixes: 1 ready, 0 not ready" in report and ": 8 -> 0 (" in report
    assert TOKEN not in res.out + report


def test_a_wrong_fix_is_caught_and_only_gets_a_draft(mini: tuple[Path, str], run_cli: Callable[..., Any],
                                                    github: list[dict[str, Any]]) -> None:
    repo, ticket = mini
    res = close_loop(run_cli, ticket, WRONG, ".agentbook/loop-wrong", "--push", "origin", "--open-pr")
    assert res.code == 1, res.out[-3000:] + res.err
    # its own gates passed (the suite has no incident whose cause comes first): only the re-run sees it
    state = json.loads(next((repo / ".agentbook" / "loop-wrong").glob("*/state.json")).read_text())
    assert state["run"]["status"] == "completed" and not state["ready"]
    check = state["check"]
    assert (check["before"], check["after"]) == (8, 0)
    assert [(g["a"], g["b"], g["status"]) for g in check["grew"]] == [(0, 4, "new")]
    assert len(check["broken"]) == 4 and len(check["regressed_accounts"]) == 4
    assert [r["body"]["draft"] for r in github] == [True]
    body = github[0]["body"]["body"]
    assert "Not ready: 1 other cohort(s) grew" in body and "that were correct are now wrong" in body
    assert "verdict: NOT ready: 1 other cohort(s) grew" in res.out and "0 -> 4" in res.out


def test_a_fix_run_that_could_not_start_starts_when_asked_again(
        mini: tuple[Path, str], run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`backtest fixes`' next: line, `close-loop TICKET --spec ... --analyst-model ...`, typed without
    --model or an API key: the fix run could not start (exit 1, "needs an API key"). The same command
    with `--model` then printed the same verdict in 0.0 s and never started the run: the ticket's state
    said done, and only deleting it (said nowhere) let it go again."""
    _, ticket = mini
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    res = close_loop(run_cli, ticket, "anthropic:claude-sonnet-4-5", ".agentbook/loop")
    assert res.code == 1 and "the fix run could not start: model anthropic:claude-sonnet-4-5 needs an API key" in res.out
    res = close_loop(run_cli, ticket, GOOD, ".agentbook/loop", "--json")
    assert res.code == 0, res.out[-3000:] + res.err
    fix = json.loads(res.out)["fixes"][0]
    assert fix["ready"] and fix["run"]["status"] == "completed" and fix["check"]["after"] == 0


def test_bad_input_is_refused_before_any_work(mini: tuple[Path, str], run_cli: Callable[..., Any]) -> None:
    repo, ticket = mini
    res = close_loop(run_cli, ticket, GOOD, ".agentbook/x", "--open-pr")
    assert res.code == 2 and "--open-pr needs --push" in res.err
    plain = repo / "plain.md"
    plain.write_text("---\nid: X-1\nrunbook: fix-prompt\n---\nno cohort here\n")
    res = close_loop(run_cli, str(plain), GOOD, ".agentbook/x")
    assert res.code == 3 and "names no target cohort" in res.err and "plain.md" in res.err
    res = close_loop(run_cli, ticket, GOOD, ".agentbook/x", "--baseline", "backtests/base-run")
    assert res.code == 3 and "not a clustered backtest" in res.err
    assert not (repo / ".agentbook" / "runs").exists()  # nothing ran
    assert "Traceback" not in res.err


def test_kill_9_mid_loop_then_the_same_command_finishes(mini: tuple[Path, str]) -> None:
    repo, ticket = mini
    argv = [sys.executable, "-m", "agentbook", "backtest", "close-loop", ticket, "--spec", "backtest/run.yaml",
            "--model", GOOD, "--analyst-model", ANALYST, "--json"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "runner")}
    proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    loop = repo / ".agentbook" / "loop"
    deadline = time.monotonic() + 240
    try:  # kill it once the re-run has started: the fix run is recorded, the re-run half done
        while time.monotonic() < deadline and not list(loop.glob("*/run/runs/*/result.json")):
            assert proc.poll() is None, "close-loop ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    first = json.loads(next(loop.glob("*/state.json")).read_text())
    assert first["phase"] == "rerun" and first["run"]["status"] == "completed"
    done = subprocess.run(argv, check=False, cwd=repo, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    fix = json.loads(done.stdout)["fixes"][0]
    assert fix["run"]["run_id"] == first["run"]["run_id"]  # the same fix run, not a second one
    assert (fix["check"]["before"], fix["check"]["after"]) == (8, 0) and fix["ready"]
    assert len(git(repo, "branch", "--list", "agentbook/fix-prompt/*").split()) == 1

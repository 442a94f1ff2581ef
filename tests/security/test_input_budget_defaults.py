"""Spend and time without a flag: a runbook or ticket that names no `max_usd` or `timeout` (and a bot's
workflow that passes no `--max-usd`) ran with no bound on the runner's key, and `--max-usd nan` or a
runbook's `max_usd: .nan` bounded nothing either (NaN compares false with everything). Now both have
a default, shown in `--dry-run --json`, the session's `--json` and the run's records, and absurd values
are refused before anything runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import RUNBOOK, agent, cli, git, make_repo, run, write

DEFAULT_MAX_USD, DEFAULT_WALL_SECONDS = 10.0, 7200.0  # session/config.py's, as docs/SECURITY.md states them

# a priced model name: every turn bills a million output tokens of claude-sonnet-4-5, $15
EXPENSIVE = """\
version: 1
model: claude-sonnet-4-5
default:
  after_last: repeat_last
  turns:
    - tool_use: {name: glob, input: {pattern: "*"}}
      usage: {input_tokens: 10, output_tokens: 1000000}
"""


def _repo(tmp_path: Path, limits: str) -> Path:
    repo = make_repo(tmp_path)
    (repo / "runbooks" / "attack.md").write_text(RUNBOOK.replace("limits: {max_turns: 30, timeout: 5m}", limits))
    git(repo, "commit", "-qam", "a runbook without spend or time limits")
    return repo


def test_a_runbook_without_limits_gets_the_default_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, plan, out = run(_repo(tmp_path, "limits: {max_turns: 30}"), agent(tmp_path), "--dry-run", capsys=capsys)
    assert code == 0, out
    assert plan["limits"]["max_usd"] == DEFAULT_MAX_USD and plan["limits"]["wall_seconds"] == DEFAULT_WALL_SECONDS


def test_a_session_without_max_usd_stops_at_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The agent asks for turn after turn at $15 each; with no --max-usd it went on to the turn limit."""
    (tmp_path / "root").mkdir()
    (tmp_path / "spend.script.yaml").write_text(EXPENSIVE)
    code, data, out = cli(capsys, "session", "--model", f"scripted:{tmp_path / 'spend.script.yaml'}", "--root",
                          str(tmp_path / "root"), "--tools", "glob", "--out", str(tmp_path / "out"), "--json",
                          "spend")
    assert code == 12, out  # budget_exhausted
    assert data["outcome"]["reason"] == "usd" and data["turns"] == 1
    assert data["budgets"]["max_usd"] == DEFAULT_MAX_USD


@pytest.mark.parametrize("flag", [("--max-usd", "nan"), ("--max-usd", "inf"), ("--max-usd", "-1"), ("--max-usd", "0"),
                                  ("--max-usd", "1e9"), ("--timeout", "999999h")])
def test_absurd_flags_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: tuple[str, str]) -> None:
    repo = _repo(tmp_path, "limits: {max_turns: 30}")
    code, _, out = run(repo, agent(tmp_path), "--dry-run", *flag, capsys=capsys)
    assert code != 0 and "Traceback" not in out, out
    assert "must be above 0" in out or "at most" in out, out
    assert not list((repo / ".agentbook").glob("runs/*"))


@pytest.mark.parametrize("limits", ["limits: {max_usd: .nan}", "limits: {max_usd: .inf}", "limits: {timeout: .inf}",
                                    "limits: {timeout: .nan}"])
def test_absurd_runbook_limits_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], limits: str) -> None:
    code, _, out = run(_repo(tmp_path, limits), agent(tmp_path), "--dry-run", capsys=capsys)
    assert code != 0 and "Traceback" not in out, out
    assert "max_usd must be a number above 0" in out or "must be finite" in out, out


def test_the_run_record_keeps_the_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data, out = run(_repo(tmp_path, "limits: {max_turns: 30}"), agent(tmp_path, write("done.txt", "done\n")),
                          capsys=capsys)
    assert code == 0, out
    budgets = json.loads((Path(data["run_dir"]) / "run.json").read_text())["budgets"]
    assert budgets["max_usd"] == DEFAULT_MAX_USD and budgets["wall_seconds"] == DEFAULT_WALL_SECONDS

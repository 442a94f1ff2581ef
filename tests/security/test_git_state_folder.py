"""The runner keeps its runs and worktrees in the repository's `.agentbook/`, and the repository is the
ticket author's to write. A committed `.agentbook -> ../elsewhere` (or any host folder) had the runner, as
root, write its run records (transcripts, checkpoints, locks) and check the run's worktree out there; a
committed `.agentbook/runs/ID/run.json` was a run `runs list` showed and `run --resume ID` took its options
from (`sandbox: none-i-accept-the-risk`). Both are refused before anything is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, cli, commit_files, git, make_repo, run, write


def test_a_committed_state_link_is_not_followed(tmp_path: Path, capsys) -> None:
    repo = make_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / ".agentbook").symlink_to("../elsewhere")
    git(repo, "add", ".agentbook")
    git(repo, "commit", "-qm", "state elsewhere")
    code, _data, out = run(repo, agent(tmp_path, write("a.txt", "x\n")), capsys=capsys)
    assert code == 3 and "Traceback" not in out, out
    assert "the repository commits .agentbook/" in out
    assert list(elsewhere.iterdir()) == []


def test_a_state_link_left_in_the_checkout_is_not_followed(tmp_path: Path, capsys) -> None:
    """Not committed (an untracked link in the checkout): every reader and writer of the runs refuses it."""
    repo = make_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "runs" / "forged").mkdir(parents=True)
    (elsewhere / "runs" / "forged" / "run.json").write_text(json.dumps({"run_id": "forged", "status": "failed"}))
    (repo / ".agentbook").symlink_to(elsewhere)
    code, _data, out = run(repo, agent(tmp_path, write("a.txt", "x\n")), capsys=capsys)
    assert code == 3 and ".agentbook is a link" in out, out
    assert sorted(p.name for p in elsewhere.iterdir()) == ["runs"]
    code, _data, out = cli(capsys, "runs", "list", "--repo", str(repo), "--json")
    assert code == 3 and ".agentbook is a link" in out and "forged" not in out.replace(str(elsewhere), ""), out


def test_committed_run_records_are_refused(tmp_path: Path, capsys) -> None:
    forged = {"run_id": "20260101-000000-attack-000000", "status": "interrupted",
              "options": {"sandbox": "none-i-accept-the-risk", "protected": []}}
    repo = commit_files(make_repo(tmp_path), {".agentbook/runs/20260101-000000-attack-000000/run.json":
                                              json.dumps(forged)}, "a run")
    code, _data, out = run(repo, agent(tmp_path, write("a.txt", "x\n")), capsys=capsys)
    assert code == 3 and "the repository commits .agentbook/runs/" in out, out

"""An agent that changes many files: the run's report (the pull request's body, the git note on the
branch head, what `runs show` prints) listed every one of them, 5.7 MB for 100,000 empty files. It
lists the first ones and says how many changed in all."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, bash, make_repo, run, set_secrets

from agentbook.gitops.commits import STAT_FILES


def test_the_report_lists_a_bounded_number_of_changed_files(tmp_path: Path, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    many = STAT_FILES * 3
    code, data, out = run(repo, agent(tmp_path, bash(f"mkdir many && cd many && seq 1 {many} | xargs touch")),
                          capsys=capsys)
    assert code == 0, out
    report = (Path(data["run_dir"]) / "report.md").read_text()
    listed = [line for line in report.splitlines() if line.startswith(" many/")]
    assert len(listed) == STAT_FILES
    assert f" {many} files changed" in report

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


def test_a_diff_whose_cost_grows_faster_than_its_size_does_not_hold_the_report(tmp_path: Path, monkeypatch,
                                                                               capsys) -> None:
    """The report's `git diff --stat` counted the lines of every changed file, and git's line diff costs far more
    than the file's size when its lines match each other in many ways: a 4 MB file of `a`/`b` lines, rewritten
    in another order, took 18 s of CPU (a 40 MB one ten minutes, a 400 MB one hours and gigabytes), after every
    step had ended. A file over `LINE_COUNT_MAX` is shown by its size, as git shows a binary one."""
    from gitkit import commit_files

    from agentbook.gitops.commits import LINE_COUNT_MAX

    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    lines = LINE_COUNT_MAX // 2 + 1000  # two bytes a line: just past the size whose lines are counted
    commit_files(repo, {"data/ab.txt": "ab"[0] + "\n" + "".join("ab"[i % 3 % 2] + "\n" for i in range(lines))},
                 "a large text file")
    rewrite = f"python3 -c \"import sys; sys.stdout.write(''.join('ab'[i % 5 % 2] + chr(10) for i in range({lines})))\""
    code, data, out = run(repo, agent(tmp_path, bash(f"{rewrite} > data/ab.txt")), capsys=capsys)
    assert code == 0, out
    report = (Path(data["run_dir"]) / "report.md").read_text()
    assert " data/ab.txt | Bin " in report, report  # by its size: its lines were never diffed


def test_a_stat_past_its_clock_names_the_files_without_counting_lines(tmp_path: Path, monkeypatch, capsys) -> None:
    """Files under the size whose lines are counted add up too (a base holding a thousand of them): past its wall
    clock the stat is stopped and the report names the changed files and says their lines were not counted."""
    from agentbook.gitops import commits

    set_secrets(monkeypatch)
    monkeypatch.setattr(commits, "STAT_SECONDS", 1e-9)  # every stat is past it: git cannot start that fast
    repo = make_repo(tmp_path)
    code, data, out = run(repo, agent(tmp_path, bash("echo changed >> src/app.py && echo new > src/new.py")),
                          capsys=capsys)
    assert code == 0, out
    report = (Path(data["run_dir"]) / "report.md").read_text()
    assert " M\tsrc/app.py" in report and " A\tsrc/new.py" in report, report
    assert "2 files changed (lines not counted: the diff took over 1e-09s)" in report

"""A suite's `tests:` globs, written by whoever wrote the suite, matched by agentbook outside any jail.

`eval list`/`run`/`show` and the in-process `eval` tool (which runs in the runner's process) globbed a pattern
as Python's `glob` does, following links to folders: five links to `.` and a pattern twelve folders deep read
5^12 folders, and the command never returned; `file:///*/*/*.yaml` listed the host's folders from its `/`.
The run's protection of a suite's case files (`protected: ["{inputs.suite}"]`) matched `**` with a regular
expression that backtracked without end on `**/**/**/...`, before the run began."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.gitops.git import Git

SUITE = "prompts: ['Say {{q}}']\ntests: file://{pattern}\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                          capture_output=True, text=True).stdout


def _eval_list(suite: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "agentbook", "eval", "list", str(suite)], cwd=suite.parent,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.timeout(180)
def test_a_glob_through_links_back_into_its_folder_is_refused_not_walked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in "abcdefgh":
        (repo / name).symlink_to(".")
    (repo / "c1.yaml").write_text("- vars: {q: hi}\n")
    pattern = "a/" + "*/" * 12 + "*.yaml"
    (repo / "suite.yaml").write_text(SUITE.replace("{pattern}", pattern))
    try:
        r = _eval_list(repo / "suite.yaml")
    except subprocess.TimeoutExpired:
        raise AssertionError("eval list walked 8^12 folders through links to '.'") from None
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"suite.yaml:2: case file pattern file://{pattern} reads more than 100,000 folder entries" in r.stderr


def test_a_glob_from_the_hosts_root_is_refused_before_it_lists_anything(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "suite.yaml").write_text(SUITE.replace("{pattern}", "/*/*/*.yaml"))
    r = _eval_list(repo / "suite.yaml")
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "suite.yaml:2: case file file:///*/*/*.yaml is outside the repository" in r.stderr


def test_an_ordinary_glob_still_lists_its_cases(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "cases" / "more").mkdir(parents=True)
    (repo / "cases" / "one.yaml").write_text("vars: {q: one}\n")
    (repo / "cases" / "more" / "two.yaml").write_text("vars: {q: two}\n")
    (repo / "cases" / ".hidden.yaml").write_text("vars: {q: hidden}\n")
    (repo / "suite.yaml").write_text(SUITE.replace("{pattern}", "cases/*.yaml"))
    r = _eval_list(repo / "suite.yaml")
    assert r.returncode == 0, r.stderr
    assert "1 of 1 cases" in r.stdout, r.stdout  # one.yaml: not the folder below, not the hidden file


@pytest.mark.timeout(120)
def test_protecting_a_suites_case_files_matches_many_double_stars_at_once(tmp_path: Path) -> None:
    """`protected: ["{inputs.suite}"]` protects the case files the base's suite reads, matched against every
    path of the base's tree: ten `**` took 33 s against one path 30 folders deep, each more multiplying it."""
    from agentbook.runbooks.suitepaths import suite_files

    repo = tmp_path / "repo"
    deep = repo.joinpath("evals", *["a"] * 30)  # below the suite: where its pattern starts
    deep.mkdir(parents=True)
    (deep / "b.txt").write_text("x\n")
    (repo / "evals" / "cases").mkdir(parents=True)
    (repo / "evals" / "cases" / "one.yaml").write_text("vars: {q: one}\n")
    (repo / "evals" / "suite.yaml").write_text("prompts: ['Say {{q}}']\ntests:\n  - file://" + "**/" * 40
                                               + "z.yaml\n  - file://cases/*.yaml\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    sha = _git(repo, "rev-parse", "HEAD").strip()
    assert suite_files(Git(repo), sha, "evals/suite.yaml") == ["evals/cases/one.yaml"]

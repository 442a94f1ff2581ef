"""gitops on real repositories: worktrees, unique branches, trailers, notes, push, remote parsing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.gitops import Git, GitError
from agentbook.gitops.branches import unique_branch
from agentbook.gitops.commits import (
    StepTrailers,
    add_note,
    commit_all,
    commit_message,
    read_note,
    trailers_of,
)
from agentbook.gitops.github import repo_from_remote
from agentbook.gitops.push import push_branch
from agentbook.gitops.repo import check_clean, identity, open_repo, resolve_base
from agentbook.gitops.worktree import create_worktree, has_changes


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_git_error_quotes_command_and_stderr(git_repo: Path) -> None:
    with pytest.raises(GitError) as exc:
        Git(git_repo).run("rev-parse", "--verify", "no-such-ref")
    assert str(exc.value).startswith("git rev-parse --verify no-such-ref failed (exit 128): fatal: Needed a single revision")


def test_worktree_branch_commit_with_trailers_and_note(git_repo: Path) -> None:
    repo = open_repo(git_repo)
    _, base = resolve_base(repo, None)
    wt, branch = create_worktree(repo, "r1", "agentbook/x/1", base)
    assert branch == "agentbook/x/1"
    assert wt == git_repo / ".agentbook" / "worktrees" / "r1"
    assert git(git_repo, "status", "--porcelain") == ""  # state dir is excluded, main is clean
    (wt / "a.txt").write_text("a\n")
    assert has_changes(wt)
    msg = commit_message("Step 1/2: add a", "", StepTrailers("r1", "rb@abc", "1/2 add a", "scripted:x",
                                                              ["Ann <ann@example.com>"]))
    sha = commit_all(wt, msg)
    assert sha and not has_changes(wt)
    assert commit_all(wt, msg) is None  # nothing changed, no empty commit
    t = trailers_of(Git(wt), sha)
    assert t == {"Agentbook-Run": ["r1"], "Agentbook-Runbook": ["rb@abc"], "Agentbook-Step": ["1/2 add a"],
                 "Agentbook-Model": ["scripted:x"], "Co-authored-by": ["Ann <ann@example.com>"]}
    assert git(git_repo, "log", "-1", "--format=%an <%ae>", sha).strip() == "Test User <test@example.com>"
    add_note(repo, sha, "# report\n")
    assert read_note(Git(git_repo), sha) == "# report"
    assert git(git_repo, "rev-parse", "main").strip() == base  # main untouched
    assert not (git_repo / "a.txt").exists()


def test_unique_branch_appends_counter(git_repo: Path) -> None:
    repo = open_repo(git_repo)
    git(git_repo, "branch", "agentbook/x/1")
    git(git_repo, "branch", "agentbook/x/1-2")
    assert unique_branch(repo, "agentbook/x/1") == "agentbook/x/1-3"
    with pytest.raises(FatalError, match="'bad..name' is not a valid branch name"):
        unique_branch(repo, "bad..name")


def test_preflight_errors(git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = open_repo(git_repo)
    with pytest.raises(FatalError, match="base ref 'nope' does not exist"):
        resolve_base(repo, "nope")
    (git_repo / "README.md").write_text("changed\n")
    with pytest.raises(FatalError, match="the main checkout has uncommitted changes: README.md"):
        check_clean(repo)
    git(git_repo, "checkout", "-q", "README.md")
    git(git_repo, "checkout", "-q", "--detach")
    with pytest.raises(FatalError, match="HEAD is detached in the main checkout"):
        resolve_base(repo, None)
    git(git_repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "none"))
    monkeypatch.delenv("GIT_AUTHOR_EMAIL", raising=False)
    with pytest.raises(FatalError, match="no git identity: user.email is not set"):
        identity(repo)


def test_open_repo_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="not a git repository"):
        open_repo(tmp_path)


def test_push_only_the_run_branch(git_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(git_repo, "remote", "add", "origin", str(bare))
    git(git_repo, "branch", "other")
    git(git_repo, "branch", "agentbook/run")
    repo = open_repo(git_repo)
    push_branch(repo, "origin", "agentbook/run")
    heads = git(bare, "for-each-ref", "--format=%(refname)").split()
    assert heads == ["refs/heads/agentbook/run"]
    with pytest.raises(FatalError, match="no remote named 'upstream'"):
        push_branch(repo, "upstream", "agentbook/run")


@pytest.mark.parametrize("url, slug", [
    ("https://github.com/acme/widgets.git", "acme/widgets"),
    ("https://x-access-token:abc@github.com/acme/widgets", "acme/widgets"),
    ("git@github.com:acme/widgets.git", "acme/widgets"),
    ("ssh://git@github.example.com:2222/acme/widgets.git", "acme/widgets"),
])
def test_repo_from_remote(url: str, slug: str) -> None:
    assert repo_from_remote(url).slug == slug


def test_repo_from_remote_rejects_local_path() -> None:
    with pytest.raises(FatalError, match="cannot tell the GitHub repository from remote URL '/tmp/x.git'"):
        repo_from_remote("/tmp/x.git")


def test_gate_runs_sandboxed_with_this_agentbook_on_path(tmp_path: Path) -> None:
    import sys

    from agentbook.runbooks.gates import run_gate

    (tmp_path / "keep.txt").write_text("x\n")
    schema_probe = f"{sys.executable} -c 'from agentbook.shipped import load_schema; load_schema(\"script\")'"
    r = run_gate("command -v agentbook; echo $ANTHROPIC_API_KEY; touch /etc/agentbook-gate || echo ro; "
                 f"echo hi > out.txt; {schema_probe} && echo schemas-visible", tmp_path, protected=[])
    lines = r.output.splitlines()
    assert r.exit_code == 0
    assert lines[0] == str(Path(sys.executable).parent / "agentbook")
    assert lines[1] == ""  # no API keys in a gate's environment
    assert "ro" in lines  # the system is read-only in the sandbox
    assert (tmp_path / "out.txt").read_text() == "hi\n"  # the worktree is writable
    assert "schemas-visible" in lines  # agentbook's own files too, even when installed under /tmp
    failed = run_gate("echo boom >&2; exit 3", tmp_path, protected=[])
    assert (failed.exit_code, failed.output.strip()) == (3, "boom")


def test_reopen_worktree_recreates_what_a_kill_left_out(git_repo: Path) -> None:
    from agentbook.gitops.worktree import reopen_worktree, worktree_path

    repo = open_repo(git_repo)
    _, base = resolve_base(repo, None)
    # killed after the run recorded its branch name, before git created branch and worktree
    path = reopen_worktree(repo, "r9", "agentbook/new", base)
    assert path == worktree_path(repo, "r9") and (path / "README.md").exists()
    assert git(git_repo, "rev-parse", "agentbook/new").strip() == base
    # the worktree folder was deleted by hand: recreated on the existing branch
    import shutil

    shutil.rmtree(path)
    assert reopen_worktree(repo, "r9", "agentbook/new", base) == path and (path / ".git").exists()

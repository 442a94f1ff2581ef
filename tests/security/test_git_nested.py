"""Attacks on the runner's own git through nested repositories: what the agent builds below the
worktree must never run as the runner (which holds the tokens, outside the sandbox), never be
committed as a gitlink, and never crash a run or its resume."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, bash, branch_files, git, make_repo, run, set_secrets


def _pwn(tmp_path: Path) -> Path:
    """Where a command the runner's git ran would write: outside the root, so the agent's own
    (sandboxed, read-only there) bash cannot create it; the runner's unconfined git could."""
    return tmp_path / "pwned"


def _payload(tmp_path: Path) -> str:
    return f"sh -c 'env > {_pwn(tmp_path)}; exit 1'"


NESTED_ATTACKS = {
    # the reproduction: a nested repo whose fsmonitor hook is any command
    "fsmonitor": "git init -q n && git -C n config core.fsmonitor \"{payload}\" && echo x > n/f",
    # the same with a commit inside, so git would record it as a gitlink
    "fsmonitor-committed": ("git init -q n && git -C n config core.fsmonitor \"{payload}\" && echo x > n/f && "
                            "git -C n add f && git -C n -c user.name=a -c user.email=a@b commit -qm x"),
    "hooks": ("git init -q n && mkdir -p n/.git/hooks && printf '#!/bin/sh\\n{payload}\\n' > n/.git/hooks/pre-commit"
              " && cp n/.git/hooks/pre-commit n/.git/hooks/post-checkout && chmod +x n/.git/hooks/* && echo x > n/f"),
    "hookspath": ("git init -q n && mkdir hk && printf '#!/bin/sh\\n{payload}\\n' > hk/pre-commit && chmod +x "
                  "hk/pre-commit && git -C n config core.hooksPath \"$PWD/hk\" && echo x > n/f"),
    "includeif": ("git init -q n && printf '[core]\\n\\tfsmonitor = \"{payload}\"\\n' > inc.cfg && "
                  "git -C n config includeIf.gitdir:/.path \"$PWD/inc.cfg\" && echo x > n/f"),
    "filter-driver": ("git init -q n && git -C n config filter.ev.clean \"{payload}\" && "
                      "git -C n config diff.ev.textconv \"{payload}\" && echo '* filter=ev diff=ev' > n/.gitattributes"
                      " && echo x > n/f"),
    "deep": "mkdir -p a/b/c && git init -q a/b/c/n && git -C a/b/c/n config core.fsmonitor \"{payload}\"",
    "empty-repo": "git init -q emptyrepo",
    # a nested checkout of the main repository itself: the runner's add would record it as a gitlink
    "gitdir-file": "mkdir s && printf 'gitdir: {common}\\n' > s/.git && echo x > s/f",
    "symlinked-git": "mkdir s && ln -s {common} s/.git && echo x > s/f",
    "uppercase-git": "mkdir -p s/.GIT && echo '[core] fsmonitor = true' > s/.GIT/config && echo x > s/f",
    "bare-layout": "git init -q --bare b.git && mkdir w && mv b.git w/.git && echo x > w/f",
}


@pytest.mark.parametrize("attack", sorted(NESTED_ATTACKS))
def test_nested_repository_is_refused_and_never_runs(attack: str, tmp_path: Path, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    command = NESTED_ATTACKS[attack].format(payload=_payload(tmp_path), common=repo / ".git")
    script = agent(tmp_path, bash(command), bash("echo done > done.txt"))
    code, data, out = run(repo, script, capsys=capsys)
    assert not _pwn(tmp_path).exists(), "the runner's git ran a command the agent configured"
    assert code == 11, out
    assert data["outcome"]["kind"] == "blocked" and data["outcome"]["reason"] == "nested_repo"
    found = data["outcome"]["evidence"]["nested_repos"]
    assert found and all(Path(p).name.lower() == ".git" for p in found)
    files = branch_files(repo, data["branch"])
    assert not [p for p, mode in files.items() if mode == "160000"], "a nested repository became a gitlink"
    assert not [p for p in files if ".git/" in p.lower() or p.lower().endswith("/.git")]
    assert "done.txt" in files  # the other work of the step is kept as its WIP commit
    assert git(repo, "status", "--porcelain") == ""


def test_empty_nested_repo_then_api_error_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    """`git init emptyrepo` made `git add` fail: the run crashed (14) and so did `--resume`. Now the
    run that stops mid-step with it in the worktree resumes and ends with a truthful outcome."""
    repo = make_repo(tmp_path)
    script = agent(tmp_path, bash("git init -q emptyrepo && echo x > emptyrepo/f"),
                   {"text": "next", "fault": {"kind": "status", "status": 401, "attempts": 1}})
    code, data, out = run(repo, script, capsys=capsys)
    assert code == 13, out
    assert (Path(data["worktree"]) / "emptyrepo" / ".git").is_dir()
    from gitkit import cli
    code, resumed, out = cli(capsys, "run", "--resume", data["run_id"], "--repo", str(repo), "--json")
    assert code == 11, out  # the replayed step makes the repo again: refused, not a crash
    assert resumed["outcome"]["reason"] == "nested_repo" and resumed["resumes"] == 1
    assert "emptyrepo/.git" in resumed["outcome"]["evidence"]["nested_repos"]


def test_submodule_in_base_with_agent_made_repo(tmp_path: Path, monkeypatch, capsys) -> None:
    """The base already has a gitlink (a submodule nobody initialised); the agent fills its folder
    with a repository whose fsmonitor is a command. The runner's status/add/commit never enter it."""
    repo = make_repo(tmp_path)
    sub = tmp_path / "subsrc"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "f").write_text("x\n")
    git(sub, "add", "f")
    git(sub, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/lib")
    git(repo, "commit", "-qm", "add submodule")
    git(repo, "submodule", "deinit", "-q", "--all")
    command = (f"git init -q vendor/lib && git -C vendor/lib config core.fsmonitor \"{_payload(tmp_path)}\" && "
               "echo y > vendor/lib/g && echo z > other.txt")
    code, data, out = run(repo, agent(tmp_path, bash(command)), capsys=capsys)
    assert not _pwn(tmp_path).exists()
    assert code == 11 and data["outcome"]["reason"] == "nested_repo", out
    assert branch_files(repo, data["branch"])["vendor/lib"] == "160000"  # the base's gitlink, untouched
    assert git(repo, "rev-parse", f"{data['branch']}:vendor/lib") == git(repo, "rev-parse", "main:vendor/lib")


def test_a_folder_past_path_max_is_not_committed_unchecked(tmp_path: Path, capsys) -> None:
    """The nested-repository, protected-path and secret checks walk the worktree by full path; git works
    below its top. A folder 4,000 characters below the top (20 of 200) could not be listed (ENAMETOOLONG),
    so whatever it held (a `.git`, a key) went into the commit unchecked, the run `completed`. Now a folder
    the runner cannot list stops the commit."""
    repo = make_repo(tmp_path)
    folder = "a" * 200
    make = f"for i in $(seq 20); do mkdir {folder} && cd {folder} || exit 1; done; echo x > f"
    code, data, out = run(repo, agent(tmp_path, bash(make)), capsys=capsys)
    assert code == 11, out
    outcome = data["outcome"]
    assert outcome["kind"] == "blocked" and outcome["reason"] == "secret", outcome
    assert any("cannot list" in str(h) for h in outcome["evidence"]["secrets"]), outcome["evidence"]
    assert folder not in git(repo, "log", "--all", "--name-only", "--format=")

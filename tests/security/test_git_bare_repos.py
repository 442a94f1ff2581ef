"""A bare repository committed as ordinary files: a folder holding `HEAD`, `objects/`, `refs/` and a `config`
(`core.worktree = ..`, `core.fsmonitor = <command>`). Git's discovery takes such a folder for a repository
whenever it runs in it or below it, and reads that config: files anyone can commit (a ticket's agent, on the
branch `backtest close-loop` checks out and re-runs; any pull request of a repository CI runs
`backtest run` on). `backtest run` fingerprinted the system's code with a plain `git status` in the spec's
folder, with the runner's whole environment: the fsmonitor ran as root outside every jail, with
`ANTHROPIC_API_KEY` and `GITHUB_TOKEN` in its environment. The runner's git now never takes a folder for a
bare repository unless it is told to (`safe.bareRepository=explicit`), and `backtest run` goes through it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import SECRETS, agent, bash, branch_files, commit_files, git, make_repo, run, set_secrets
from tests.conftest import CliResult

from agentbook.gitops.git import Git

SPEC = "command: [cat]\ninputs: inputs.jsonl\nassert:\n  - {type: icontains, value: x}\n"


def _checkout_with_a_bare_repo(tmp_path: Path, pwned: Path) -> Path:
    """A clone of a repository whose `sys/` folder is a bare repository (with a commit, so HEAD resolves)
    whose config runs `env > pwned` as its fsmonitor; `sys/` also holds a run spec and its inputs."""
    origin = tmp_path / "origin"
    git(tmp_path, "init", "-q", "-b", "main", str(origin))
    bare = origin / "sys"
    git(origin, "init", "-q", "--bare", "-b", "main", str(bare))
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "f").write_text("x\n")
    git(work, "add", "f")
    git(work, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x")
    git(work, "push", "-q", str(bare), "main")
    with (bare / "config").open("a") as fh:
        fh.write(f'[core]\n\tbare = false\n\tworktree = ..\n\tfsmonitor = "env > {pwned}; false"\n')
    (bare / "spec.yaml").write_text(SPEC)
    (bare / "inputs.jsonl").write_text(json.dumps({"id": "i1", "account": "a", "input": "x", "truth": "t"}) + "\n")
    git(origin, "add", "-A")
    git(origin, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "system")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert git(clone / "sys", "rev-parse", "--absolute-git-dir").strip() == str(clone / "sys")  # plain git takes it
    return clone


def test_backtest_run_never_runs_a_committed_bare_repositorys_config(run_cli, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    pwned = tmp_path / "pwned"
    clone = _checkout_with_a_bare_repo(tmp_path, pwned)
    r: CliResult = run_cli("backtest", "run", clone / "sys" / "spec.yaml", tmp_path / "out", "--json")
    assert r.code in (0, 1), r.err
    if pwned.exists():
        seen = pwned.read_text()
        pytest.fail("the committed repository's fsmonitor ran as the runner, with "
                    + ", ".join(name for name, value in SECRETS.items() if value in seen) + " in its environment")


def test_the_runners_git_takes_no_folder_for_a_bare_repository(tmp_path: Path) -> None:
    """Below the commands: the runner's git, started in that folder, does not take it for a repository
    (it refuses, naming the setting), so its config is never read."""
    pwned = tmp_path / "pwned"
    clone = _checkout_with_a_bare_repo(tmp_path, pwned)
    helper = Git(clone / "sys")
    assert not helper.ok("rev-parse", "--git-dir")
    assert "bare" in helper._call(("status",), None).stderr
    assert not pwned.exists()
    assert Git(clone).run("rev-parse", "--show-toplevel").strip() == str(clone)  # the checkout itself still works


# A bare repository's files, written by the agent's bash (no git needed): a trap on the pushed branch for
# whoever runs git in that folder, or whose shell prompt runs `git status` on entering it.
BARE_FILES = ("mkdir -p {d}/objects {d}/refs/heads && echo 'ref: refs/heads/main' > {d}/HEAD && "
              "printf '[core]\\n\\tbare = false\\n\\tworktree = ..\\n\\tfsmonitor = \"touch /tmp/pwned; false\"\\n' > {d}/config")


@pytest.mark.parametrize("folder", ["sys", "a/b/Tools", "we*rd[x"])
def test_a_bare_repository_the_agent_writes_never_reaches_the_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str], folder: str) -> None:
    repo = make_repo(tmp_path)
    script = agent(tmp_path, bash(BARE_FILES.format(d=f"'{folder}'")), bash("echo done > done.txt"))
    code, data, out = run(repo, script, capsys=capsys)
    assert code == 11, out
    assert data["outcome"]["kind"] == "blocked" and data["outcome"]["reason"] == "nested_repo", data["outcome"]
    assert data["outcome"]["evidence"]["nested_repos"] == [f"{folder} (a bare repository)"]
    files = branch_files(repo, data["branch"])
    assert not [p for p in files if p.startswith(folder + "/")], files
    assert "done.txt" in files  # the step's other work is kept


def test_a_bare_repository_the_base_holds_unchanged_is_the_repositorys_own(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A repository that keeps a bare repository as a test fixture (dulwich's testdata) still runs: only
    what the agent adds or changes there is refused."""
    repo = make_repo(tmp_path)
    fixture = repo / "testdata" / "a.git"
    git(repo, "init", "-q", "--bare", str(fixture))
    (fixture / "refs" / "heads" / ".keep").write_text("")
    (fixture / "objects" / ".keep").write_text("")
    commit_files(repo, {}, "a bare fixture")
    script = agent(tmp_path, bash("echo x > new.txt"))
    code, data, out = run(repo, script, capsys=capsys)
    assert code == 0, out
    files = branch_files(repo, data["branch"])
    assert "testdata/a.git/HEAD" in files and "new.txt" in files
    script = agent(tmp_path, bash("printf '[core]\\n\\tfsmonitor = x\\n' >> testdata/a.git/config && echo y > other.txt"),
                   name="second")
    code, data, out = run(repo, script, "--branch", "second", capsys=capsys)
    assert code == 11 and data["outcome"]["reason"] == "nested_repo", out
    assert git(repo, "show", f"{data['branch']}:testdata/a.git/config") == (fixture / "config").read_text()
    assert git(repo, "show", f"{data['branch']}:other.txt") == "y\n"

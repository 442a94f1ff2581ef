"""Benchmark: what the runner's checks cost on a step's commit, against a plain `git commit`.

Two identical repositories get the same changes each round (files modified, added, removed). In one,
the runner commits the way it does after every step: nested repositories looked for, protected
paths compared by content with the base, every pending file scanned for held secrets (all their
forms) and key shapes, then hardened git adds and commits (`gitops.guard.check_worktree` +
`gitops.commits.commit_all`). In the other, plain `git add --all && git commit` with the caller's
git config: the floor any commit pays. Prints the median of each and the ratio, in CPU time of this
process and its git children (on a shared machine, wall time measures the neighbours).

    .venv/bin/python bench/bench_git_guard.py            # 2,000 files, 100 changed per commit, 7 rounds
    .venv/bin/python bench/bench_git_guard.py --quick
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

from agentbook.gitops.commits import commit_all
from agentbook.gitops.guard import check_worktree
from agentbook.secretscan import Secret, SecretScanner

PROTECTED = ["prompts/*.md", "evals/**", "runbooks/*.md"]
HELD = [Secret("ANTHROPIC_API_KEY", "sk-ant-api03-" + "Q7vLr2mXw9KpT4sJd8HfZ1cN6bYe3gUo5aRiVtWq0xMnPl"),
        Secret("GITHUB_TOKEN", "ghp_R8sT2uV4wX6yZ0aB1cD3eF5gH7iJ9kL1mN3o"),
        Secret("AGENTBOOK_COMPAT_API_KEY", "compat-key-6b1f0e9d8c7a6b5e4d3c2b1a0f9e8d7c"),
        Secret("DEPLOY_PASSPHRASE", "hunter2-but-much-longer-9Fq3Zp")]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def cpu() -> float:
    """User + system seconds of this process and every child it waited for (git)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


def text_file(rng: random.Random, lines: int) -> str:
    words = ["prompt", "case", "answer", "refund", "order", "shipping", "customer", "model", "score", "trace"]
    return "".join(" ".join(rng.choice(words) for _ in range(10)) + f" {rng.random():.6f}\n" for _ in range(lines))


def make_repo(root: Path, files: int) -> Path:
    rng = random.Random(7)
    repo = root / "a"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "commit.gpgsign", "false")
    for i in range(files):
        folder = ("prompts", "evals/cases", "src", "docs", "data")[i % 5]
        path = repo / folder / f"d{i % 37}" / f"f{i}.txt" if folder != "prompts" else repo / folder / f"p{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text_file(rng, 40))
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def change(repo: Path, rng: random.Random, count: int, round_no: int) -> None:
    """Modify `count` unprotected files, add a tenth as many, remove a few (same seed: same changes)."""
    candidates = sorted(p for p in (repo / "src").rglob("*.txt")) + sorted((repo / "docs").rglob("*.txt"))
    for path in rng.sample(candidates, count):
        with path.open("a") as fh:
            fh.write(text_file(rng, 3))
    for i in range(count // 10):
        new = repo / "src" / "new" / f"r{round_no}-{i}.txt"
        new.parent.mkdir(parents=True, exist_ok=True)
        new.write_text(text_file(rng, 20))
    for path in rng.sample(candidates, 3):
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    files, changed, rounds = (300, 20, 3) if args.quick else (2000, 100, 7)
    tmp = Path(tempfile.mkdtemp(prefix="bench-git-guard-"))
    try:
        guarded = make_repo(tmp, files)
        plain = tmp / "b"
        shutil.copytree(guarded, plain, symlinks=True)
        base = git(guarded, "rev-parse", "HEAD").strip()
        scanner = SecretScanner(HELD)
        times_guard, times_commit, times_plain = [], [], []
        for n in range(rounds):
            change(guarded, random.Random(n), changed, n)
            change(plain, random.Random(n), changed, n)
            t0 = cpu()
            report = check_worktree(guarded, base, PROTECTED, scanner)
            t1 = cpu()
            sha = commit_all(guarded, f"round {n}\n")
            t2 = cpu()
            git(plain, "add", "--all")
            git(plain, "commit", "-q", "-m", f"round {n}")
            t3 = cpu()
            assert report.clean and sha, report.message()
            times_guard.append(t1 - t0)
            times_commit.append(t2 - t1)
            times_plain.append(t3 - t2)
        assert git(guarded, "rev-parse", "HEAD^{tree}") == git(plain, "rev-parse", "HEAD^{tree}")  # same commits
        checks, hardened, floor = (statistics.median(t) for t in (times_guard, times_commit, times_plain))
        print(f"{files} files, {changed} modified + {changed // 10} added + 3 removed per commit, "
              f"{len(HELD)} held secrets, {len(PROTECTED)} protected globs; median CPU time of {rounds} commits")
        print(f"  plain git add + commit              {floor * 1e3:8.1f} ms")
        print(f"  runner: checks (nested, protected,  {checks * 1e3:8.1f} ms")
        print(f"          secrets) + hardened commit  {hardened * 1e3:8.1f} ms")
        print(f"  runner total                        {(checks + hardened) * 1e3:8.1f} ms   "
              f"ratio {(checks + hardened) / floor:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

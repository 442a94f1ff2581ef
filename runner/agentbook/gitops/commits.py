"""Commits with agentbook trailers, the report as a git note, and reading both back.

Trailers make a branch self-describing: `git log --format='%(trailers)'` shows which run, runbook
version and step made each commit. Identity and signing come from the repository's git config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agentbook.fsutil import file_lock
from agentbook.gitops.git import Git, GitTimeout
from agentbook.gitops.repo import Repo

NOTES_REF = "refs/notes/agentbook"


@dataclass
class StepTrailers:
    run_id: str
    runbook: str  # name@blob-sha
    step: str  # "2/4 Title"
    model: str
    co_authors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Agentbook-Run: {self.run_id}", f"Agentbook-Runbook: {self.runbook}",
               f"Agentbook-Step: {self.step}", f"Agentbook-Model: {self.model}"]
        out += [f"Co-authored-by: {c}" for c in self.co_authors]
        return out


def commit_message(subject: str, body: str, trailers: StepTrailers) -> str:
    parts = [_one_line(subject)]
    if body.strip():
        parts.append(body.strip())
    parts.append("\n".join(_one_line(t) for t in trailers.lines()))
    return "\n\n".join(parts) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def commit_all(worktree: Path, message: str) -> str | None:
    """Stage everything in the worktree and commit it; the new sha, or None when nothing changed."""
    g = Git(worktree)
    g.run("add", "--all")
    if g.ok("diff", "--cached", "--quiet", "--no-ext-diff", "--ignore-submodules=all"):
        return None
    # --cleanup=verbatim keeps the message byte-for-byte; signing follows the user's config; hooks
    # never run (the worktree is the agent's: see gitops.git).
    g.run("commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-", input=message)
    return g.run("rev-parse", "HEAD").strip()


def trailers_of(git: Git, sha: str) -> dict[str, list[str]]:
    """All trailers of one commit, key -> values in order."""
    raw = git.run("log", "-1", "--format=%(trailers:only,unfold)", sha)
    out: dict[str, list[str]] = {}
    for line in raw.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def run_commits(git: Git, base: str, head: str, run_id: str) -> list[str]:
    """Shas (oldest first) between base and head whose Agentbook-Run trailer is `run_id`."""
    shas = git.run("rev-list", "--reverse", f"{base}..{head}").split()
    return [s for s in shas if run_id in trailers_of(git, s).get("Agentbook-Run", [])]


def add_note(repo: Repo, sha: str, text: str) -> None:
    """Attach `text` as the agentbook note on `sha` (replacing an older one); notes are a shared
    ref, so parallel runs take the repository lock."""
    with file_lock(repo.lock_path):
        repo.git.run("notes", "--ref", NOTES_REF, "add", "--force", "-F", "-", sha, input=text)


def read_note(git: Git, sha: str) -> str | None:
    return git.out("notes", "--ref", NOTES_REF, "show", sha) or None


STAT_FILES = 200  # files a diff stat names (the count of all is its last line): the report is the PR's body
# git's line diff costs far more than a file's size when its lines match each other in many ways (a 4 MB file
# of `a`/`b` lines in another order: 18 s of CPU; 40 MB: ten minutes; 400 MB: hours and gigabytes), and both
# sides are the repository's and the agent's to write. A file past this is shown by its size, as git shows a
# binary one; past STAT_SECONDS for all files, the stat names the files without counting lines.
LINE_COUNT_MAX = 1 << 20
STAT_SECONDS = 120.0


def diff_stat(git: Git, base: str, head: str) -> str:
    try:
        return git.run("-c", f"core.bigFileThreshold={LINE_COUNT_MAX}", "diff", "--stat",
                       f"--stat-count={STAT_FILES}", "--no-ext-diff", "--no-textconv", f"{base}..{head}",
                       timeout=STAT_SECONDS).rstrip()
    except GitTimeout:
        names = git.run("diff", "--name-status", "--no-renames", "--no-ext-diff", "--no-textconv",
                        f"{base}..{head}").splitlines()
        shown = [f" {line}" for line in names[:STAT_FILES]]
        more = [f" ... and {len(names) - STAT_FILES} more"] if len(names) > STAT_FILES else []
        total = f" {len(names)} files changed (lines not counted: the diff took over {STAT_SECONDS:g}s)"
        return "\n".join([*shown, *more, total])

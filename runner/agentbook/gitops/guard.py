"""What the runner checks before it commits a step: no nested repository, protected paths as the
base has them, and no secret in the changes. Nested `.git` entries are deleted and protected paths
restored (so a work-in-progress commit after the stop never holds them); a secret stops the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.gitops import leaks, nested, protected
from agentbook.gitops.git import Git
from agentbook.secretscan import SecretHit, SecretScanner

# Restored like a protected path in every run: a `.gitmodules` the agent wrote would hand whoever
# clones the branch with --recurse-submodules a URL (`ext::...`) or `update = !command` of its choice.
ALWAYS_PROTECTED = (".gitmodules",)
# What a CI service runs when a branch is pushed, with the repository's secrets: a workflow the agent
# adds (`on: push`, `${{ secrets.X }}`) ran as soon as the runner pushed the branch with credentials that
# may push workflows (an ssh deploy key, a PAT). Restored like a protected path unless the run was started
# with --allow-ci-changes. (Code those pipelines run, a Makefile or a test, is the branch's to change.)
CI_PATHS = (".github/workflows", ".github/actions", ".gitlab-ci.yml", ".gitlab", ".circleci", ".travis.yml",
            ".buildkite", "azure-pipelines.yml", ".azure-pipelines", "Jenkinsfile", "bitbucket-pipelines.yml",
            ".drone.yml", ".woodpecker.yml", ".woodpecker")


@dataclass
class GuardReport:
    nested_repos: list[str] = field(default_factory=list)
    protected: list[protected.ProtectedChange] = field(default_factory=list)
    secrets: list[SecretHit] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.nested_repos or self.protected or self.secrets)

    @property
    def reason(self) -> str:
        """The outcome's reason: the gravest finding first (a secret means nothing is committed)."""
        if self.secrets:
            return "secret"
        return "nested_repo" if self.nested_repos else "protected"

    def message(self) -> str:
        parts = []
        if self.secrets:
            shown = "; ".join(h.render() for h in self.secrets[:5])
            more = f" and {len(self.secrets) - 5} more" if len(self.secrets) > 5 else ""
            parts.append(f"secrets in the changes, nothing committed: {shown}{more}")
        if self.nested_repos:
            parts.append("nested git repositories refused and removed: " + ", ".join(self.nested_repos[:5]))
        if self.protected:
            parts.append("protected paths changed, restored from the base: "
                         + ", ".join(f"{c.path} ({c.change})" for c in self.protected[:5]))
        return "; ".join(parts)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.secrets:
            out["secrets"] = [h.to_json() for h in self.secrets]
        if self.nested_repos:
            out["nested_repos"] = self.nested_repos
        if self.protected:
            out["protected"] = [c.to_json() for c in self.protected]
        return out


def check_worktree(worktree: Path, base_sha: str, patterns: list[str], scanner: SecretScanner, *,
                   allow_ci: bool = False) -> GuardReport:
    """Take out nested repositories, restore protected paths (and CI configuration, unless `allow_ci`),
    then scan what would be committed."""
    unreadable: list[str] = []
    report = GuardReport(nested_repos=nested.find_nested_repos(worktree, unreadable))
    nested.remove_entries(worktree, report.nested_repos)
    git = Git(worktree)
    report.nested_repos += _bare_repos(git, worktree, base_sha)
    patterns = [*patterns, *ALWAYS_PROTECTED, *(() if allow_ci else CI_PATHS), *_agentbook_state(git)]
    report.protected = protected.changes(git, worktree, base_sha, patterns)
    protected.restore(git, worktree, base_sha, patterns, report.protected)
    report.secrets = leaks.scan_pending(git, worktree, scanner)
    # a folder nothing above could list may hold a nested repository, a protected path or a key: nothing
    # is committed until it is gone (a 4,080-character path below the top is past PATH_MAX in full)
    report.secrets += [leaks.unscanned(rel, "a folder the runner cannot list (its full path is too long?)")
                       for rel in unreadable[:20]]
    return report


def _bare_repos(git: Git, worktree: Path, base_sha: str) -> list[str]:
    """Folders shaped like a git repository that differ from the base (added, or changed), each put back
    as the base has it (an added one is deleted): what the base holds unchanged is the repository's own."""
    folders = nested.find_bare_repos(worktree)
    exact = [glob_literal(rel) for rel in folders]
    found = protected.changes(git, worktree, base_sha, exact)
    protected.restore(git, worktree, base_sha, exact, found)
    return [f"{rel} (a bare repository)" for rel, pattern in zip(folders, exact, strict=True)
            if any(protected.matches(c.path, [pattern]) for c in found)]


def _agentbook_state(git: Git) -> list[str]:
    """What the step would commit inside an `.agentbook` folder (beside a suite: its response cache, index,
    runs; its own `.gitignore` keeps them out unless the agent removed it), each as a protected path, so it
    is put back as the base has it: a committed response cache answers for the model in every later `eval
    run` on that branch (a pull request's CI), and committed links there lead those runs' writes out."""
    return [glob_literal(p) for p in leaks.pending_paths(git) if ".agentbook" in p.lower().split("/")]


def glob_literal(rel: str) -> str:
    """`rel` as a glob that matches itself (and, as every protected glob does, what lies below it); a `[`,
    which a class cannot hold without a warning, matches any one character: more is put back, never less."""
    return "".join(f"[{c}]" if c in "*?" else "?" if c == "[" else c for c in rel)


"""The README's first command: the whole fix-prompt loop on the example system, offline, in a minute.

Copy the incident-assistant example into a fresh git repository, run the `fix-prompt` runbook on its
ticket with the scripted agent (the same one `agentbook test-runbook fix-prompt` uses), then show
what a developer would look at: the branch, its commits with their trailers, the suite's results
before and after the prompt change, and the report.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.gitops.commits import trailers_of
from agentbook.gitops.git import Git
from agentbook.models.spec import DEFAULT_MODEL
from agentbook.workflows import baseline
from agentbook.workflows.fixture import demo_file, example_dir, make_repo
from agentbook.workflows.runbook_test import ensure_cli_on_path

TICKET = "tickets/INC-142-logql-error-case.md"
SUITE = "evals/logql/suite.yaml"
EVAL_MODEL = "scripted:evals/sut.script.yaml"
CLAUDE_MODEL = DEFAULT_MODEL
AGENT = "tests/runbooks/fix-prompt.yaml"  # the scripted agent (`agentbook test-runbook fix-prompt`'s)
# the copy's generated files: the 5 MB suite, and the backtest's 200 traces (1.8 MB a wheel need not carry)
SETUP = ["python scripts/generate.py --big", "python backtest/generate.py"]


@dataclass
class Commit:
    sha: str
    subject: str
    files: list[str]
    trailers: dict[str, list[str]]

    def to_json(self) -> dict[str, Any]:
        return {"sha": self.sha, "subject": self.subject, "files": self.files, "trailers": self.trailers}


@dataclass
class DemoResult:
    repo: Path
    run: dict[str, Any]
    commits: list[Commit]
    before: baseline.Snapshot  # the suite with the new case, on the prompt as it was
    after: baseline.Snapshot  # the same suite on the branch head
    seconds: float

    @property
    def report(self) -> str:
        return f"{self.run['run_dir']}/report.md"

    @property
    def claude_command(self) -> str:
        return (f"ANTHROPIC_API_KEY=... agentbook run fix-prompt --repo {self.repo} --ticket {TICKET} "
                f"--model {CLAUDE_MODEL}")

    def to_json(self) -> dict[str, Any]:
        outcome = self.run.get("outcome") or {}
        return {"repo": str(self.repo), "run_id": self.run["run_id"], "outcome": outcome.get("kind"),
                "branch": self.run["branch"], "base": self.run["base"], "turns": self.run["turns"],
                "cost_usd": self.run["cost_usd"], "commits": [c.to_json() for c in self.commits],
                "eval": {"suite": SUITE, "model": EVAL_MODEL, "before": self.before.to_json(),
                         "after": self.after.to_json()},
                "report": self.report, "seconds": round(self.seconds, 1), "against_claude": self.claude_command}


def agent_script() -> Path:
    script = demo_file(AGENT)
    if script is None or not script.is_file():
        raise FatalError(f"the demo's scripted agent ({AGENT}) is not available",
                         hint="reinstall agentbook, or run `make demo` in its source checkout")
    return script


def run_demo(workdir: Path | None = None) -> DemoResult:
    from agentbook.runbooks.executor import start_run
    from agentbook.runbooks.plan import RunOptions

    started = time.monotonic()
    repo = make_example(workdir)
    result = start_run(RunOptions(runbook="fix-prompt", ticket=str(repo / TICKET), repo=repo,
                                  model=f"scripted:{agent_script()}"))
    run = result.to_json()
    git = Git(repo)
    commits = [_commit(git, sha) for sha in git.run("rev-list", "--reverse", f"{run['base_sha']}..{run['branch']}").split()]
    before, after = _before_after(git, repo, commits, run["base_sha"])
    return DemoResult(repo, run, commits, before, after, time.monotonic() - started)


def make_example(workdir: Path | None = None) -> Path:
    """The example system copied into a fresh git repository (its generated files tracked)."""
    ensure_cli_on_path()
    base = workdir or Path(tempfile.mkdtemp(prefix="agentbook-demo-"))
    return make_repo(example_dir(), base / "incident-assistant", SETUP,
                     "incident-assistant: prompts, eval suites, traces")


def _commit(git: Git, sha: str) -> Commit:
    subject = git.run("log", "-1", "--format=%s", sha).strip()
    files = git.run("show", "--name-only", "--format=", sha).split()
    return Commit(sha, subject, files, trailers_of(git, sha))


def _before_after(git: Git, repo: Path, commits: list[Commit], base_sha: str
                  ) -> tuple[baseline.Snapshot, baseline.Snapshot]:
    """The suite as the branch leaves it (new case included), run on the old prompt and on the new one.
    A run that stopped early shows what it got to (no commits: the base, twice)."""
    views = repo / ".agentbook" / "demo"
    last = commits[-1].sha if commits else base_sha
    points = {"before": f"{last}~1" if len(commits) > 1 else last, "after": last}
    snaps = {}
    for name, ref in points.items():
        tree = views / name
        git.run("worktree", "add", "--quiet", "--detach", str(tree), ref)
        try:
            snaps[name] = baseline.take(tree / SUITE, f"scripted:{tree / EVAL_MODEL.removeprefix('scripted:')}")
        finally:
            git.run("worktree", "remove", "--force", str(tree))
    return snaps["before"], snaps["after"]

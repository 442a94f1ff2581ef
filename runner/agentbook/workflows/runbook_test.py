"""Test a runbook the way code is tested: run it end to end on a fresh fixture repository with a
scripted model, then check what it really left behind (branch, commits and trailers, files, gates,
report). `agentbook test-runbook NAME` is the command; the spec is `tests/runbooks/NAME.test.yaml`:

    runbook: fix-prompt                      # default: NAME
    script: fix-prompt.yaml                  # the scripted agent (default: NAME.yaml beside the spec)
    fixture: {copy: ../../examples/incident-assistant, setup: ["python scripts/generate.py --big"]}
    ticket: tickets/INC-142-logql-error-case.md   # inside the fixture
    inputs: {repeat: "3"}                    # extra --input values
    dry_run_max_tokens: 2500                 # the rendered prompt must stay under this
    expect:
      outcome: completed
      branch: agentbook/fix-prompt/INC-142
      commits:                               # oldest first, one per step that changed files
        - {step: 2/5 Add a case that reproduces the behaviour, files: [evals/logql/cases/x.yaml]}
      files:                                 # at the branch head
        - {path: prompts/logql.md, contains: ['(?i)error'], not_contains: []}
      gates:                                 # per step: gate rounds, last results, their output
        - {step: 3, tries: 2, results: [pass], output_contains: ["ok: no regressions"]}
      report_contains: ["completed"]
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.gitops.commits import trailers_of
from agentbook.gitops.git import Git
from agentbook.workflows.fixture import make_repo, source_root

SPEC_SUFFIX = ".test.yaml"
TRAILERS = ("Agentbook-Run", "Agentbook-Runbook", "Agentbook-Step", "Agentbook-Model")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class Spec:
    name: str
    path: Path
    runbook: str
    script: Path
    fixture: Path
    setup: list[str]
    ticket: str | None
    inputs: dict[str, str]
    expect: dict[str, Any]
    dry_run_max_tokens: int | None = None
    agent_scripts: dict[str, Path] = field(default_factory=dict)  # `agents: {claude-code: x.yaml}`: the same
    # agent in another agent CLI's tools, for `--agent NAME`


@dataclass
class RunbookTestResult:
    spec: Spec
    repo: Path
    checks: list[Check] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.spec.name, "runbook": self.spec.runbook, "ok": self.ok, "repo": str(self.repo),
                "run_id": self.run.get("run_id"), "outcome": (self.run.get("outcome") or {}).get("kind"),
                "branch": self.run.get("branch"), "prompt_tokens": self.prompt_tokens,
                "report": f"{self.run['run_dir']}/report.md" if self.run.get("run_dir") else None,
                "checks": [c.to_json() for c in self.checks]}


# -- finding and reading specs ---------------------------------------------------------------------

def spec_dirs(start: Path) -> list[Path]:
    """Where specs are looked for: ./tests/runbooks, then agentbook's own (source checkout)."""
    dirs = [start / "tests" / "runbooks"]
    root = source_root()
    if root is not None and (root / "tests" / "runbooks") not in dirs:
        dirs.append(root / "tests" / "runbooks")
    return [d for d in dirs if d.is_dir()]


def list_specs(dirs: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in dirs:
        for path in sorted(folder.glob(f"*{SPEC_SUFFIX}")):
            found.setdefault(path.name[: -len(SPEC_SUFFIX)], path)
    return dict(sorted(found.items()))


def find_spec(name: str, dirs: list[Path]) -> Path:
    specs = list_specs(dirs)
    if name in specs:
        return specs[name]
    where = ", ".join(str(d) for d in dirs) or "no tests/runbooks folder here"
    raise FatalError(f"no runbook test named '{name}'",
                     hint=f"looked for {name}{SPEC_SUFFIX} in {where}; known: {', '.join(sorted(specs)) or 'none'}")


def load_spec(path: Path) -> Spec:
    data = yamlsafe.load(yamlsafe.read_bytes(path, what="runbook test"), str(path))
    if not isinstance(data, dict):
        raise FatalError("a runbook test is a mapping (runbook, script, fixture, ticket, expect)", location=str(path))
    name = path.name[: -len(SPEC_SUFFIX)]
    fixture = data.get("fixture") or {}
    if not isinstance(fixture, dict) or "copy" not in fixture:
        raise FatalError("fixture.copy is required: the folder copied into a fresh git repository",
                         location=str(path))
    script = path.parent / str(data.get("script") or f"{name}.yaml")
    if not script.is_file():
        raise FatalError(f"scripted session not found: {script}", location=str(path),
                         hint="write the agent's turns in the *.script.yaml format (schemas/script.schema.json)")
    agents = data.get("agents") or {}
    if not isinstance(agents, dict):
        raise FatalError("agents: maps an agent name to its scripted session, e.g. {claude-code: x.yaml}",
                         location=str(path))
    return Spec(name=name, path=path, runbook=str(data.get("runbook") or name), script=script,
                agent_scripts={str(k): path.parent / str(v) for k, v in agents.items()},
                fixture=fixture_folder(path, str(fixture["copy"])), setup=list(fixture.get("setup") or []),
                ticket=data.get("ticket"), inputs={str(k): str(v) for k, v in (data.get("inputs") or {}).items()},
                expect=dict(data.get("expect") or {}), dry_run_max_tokens=data.get("dry_run_max_tokens"))


def fixture_folder(spec: Path, copy: str) -> Path:
    """The folder `fixture: copy:` names, which must lie in the spec's own repository (or agentbook's source
    checkout): a spec is a file a pull request writes, and `copy: /root/.ssh` put the host's files in the
    fixture, where the scripted agent and the gates read them into the report and a CI log."""
    folder = (spec.parent / copy).resolve()
    top = spec.parent.resolve()
    while top.parent != top and not (top / ".git").exists():
        top = top.parent
    roots = [top if (top / ".git").exists() else spec.parent.resolve(), source_root()]
    if not any(root is not None and folder.is_relative_to(root) for root in roots):
        raise FatalError(f"fixture.copy leads out of the spec's repository: {copy}", location=str(spec),
                         hint="copy a folder of the repository the spec is in")
    return folder


# -- running ---------------------------------------------------------------------------------------

def ensure_cli_on_path() -> None:
    """Gates call `agentbook ...`: make sure they find this very installation first."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in parts if p != bin_dir]])


def run_options(spec: Spec, repo: Path, agent: str | None = None) -> Any:
    from agentbook.runbooks.plan import RunOptions

    ticket = str(repo / spec.ticket) if spec.ticket else None
    return RunOptions(runbook=spec.runbook, ticket=ticket, inputs=dict(spec.inputs), repo=repo,
                      model=f"scripted:{script_for(spec, agent)}", agent=agent)


def script_for(spec: Spec, agent: str | None) -> Path:
    """The scripted session for `agent`: the spec's own, or the one its `agents:` names for that agent."""
    if agent is None or agent == "agentbook":
        return spec.script
    if agent not in spec.agent_scripts:
        raise FatalError(f"runbook test {spec.name} has no scripted session for agent {agent!r}",
                         location=str(spec.path), hint=f"add agents: {{{agent}: {spec.name}.{agent}.yaml}}")
    script = spec.agent_scripts[agent]
    if not script.is_file():
        raise FatalError(f"scripted session not found: {script}", location=str(spec.path))
    return script


def prompt_tokens(plan: dict[str, Any]) -> int:
    """Tokens of what the agent is sent: system prompt and every step (as the stand-in counts them)."""
    from agentbook.standin.tokens import count_text

    steps = "\n".join(f"{s['title']}\n{s['body']}\n" + "\n".join(s["gates"]) for s in plan["steps"])
    return count_text(plan["system"]) + count_text(steps)


def run_test(spec: Spec, workdir: Path | None = None, agent: str | None = None, *,
             setup_sandbox: str = "auto") -> RunbookTestResult:
    """Make the fixture (its setup commands jailed unless `setup_sandbox` names the risk), dry-run (prompt
    budget), run, then check every expectation."""
    from agentbook.runbooks.executor import dry_run, start_run

    ensure_cli_on_path()
    base = workdir or Path(tempfile.mkdtemp(prefix=f"agentbook-test-{spec.name}-"))
    repo = make_repo(spec.fixture, base / "repo", spec.setup, f"fixture for runbook test {spec.name}",
                     sandbox=setup_sandbox)
    result = RunbookTestResult(spec, repo)
    plan = dry_run(run_options(spec, repo, agent))
    result.prompt_tokens = prompt_tokens(plan)
    if spec.dry_run_max_tokens is not None:
        result.checks.append(Check("dry-run prompt budget", result.prompt_tokens <= spec.dry_run_max_tokens,
                                   f"{result.prompt_tokens} tokens (budget {spec.dry_run_max_tokens})"))
    main_before = Git(repo).run("rev-parse", "HEAD").strip()
    run = start_run(run_options(spec, repo, agent))
    result.run = run.to_json()
    result.checks += check_run(spec.expect, result.run, repo, main_before)
    return result


# -- checking --------------------------------------------------------------------------------------

def check_run(expect: dict[str, Any], run: dict[str, Any], repo: Path, main_before: str) -> list[Check]:
    git = Git(repo)
    outcome = (run.get("outcome") or {}).get("kind")
    want = expect.get("outcome", "completed")
    checks = [Check("outcome", outcome == want, f"{outcome} (expected {want})"
                    + (f": {run['outcome'].get('message')}" if outcome != want and run.get("outcome") else ""))]
    main_now = git.run("rev-parse", "main").strip()
    clean = git.run("status", "--porcelain", "--untracked-files=no") == ""
    checks.append(Check("main untouched", main_now == main_before and clean,
                        "main at the fixture commit, checkout clean" if main_now == main_before and clean
                        else f"main moved to {main_now[:12]} or the checkout changed"))
    branch = run.get("branch", "")
    if "branch" in expect:
        checks.append(Check("branch", branch == expect["branch"], f"{branch} (expected {expect['branch']})"))
    if not git.ok("rev-parse", "--verify", f"refs/heads/{branch}"):
        return [*checks, Check("branch exists", False, f"no branch {branch}")]
    checks += _check_commits(expect.get("commits"), run, git, branch)
    checks += [_check_file(f, git, branch) for f in expect.get("files") or []]
    checks += _check_gates(expect.get("gates") or [], run)
    checks += _check_report(expect.get("report_contains") or [], run, git, branch)
    return checks


def _check_commits(expected: list[dict[str, Any]] | None, run: dict[str, Any], git: Git, branch: str) -> list[Check]:
    shas = git.run("rev-list", "--reverse", f"{run['base_sha']}..{branch}").split()
    if expected is None:
        return []
    checks = [Check("commit count", len(shas) == len(expected), f"{len(shas)} commit(s) (expected {len(expected)})")]
    runbook_ref = f"{run['runbook']}@{run['runbook_sha']}"
    for n, (sha, want) in enumerate(zip(shas, expected, strict=False), 1):
        trailers = trailers_of(git, sha)
        missing = [t for t in TRAILERS if not trailers.get(t)]
        problems = [f"missing trailers {', '.join(missing)}"] if missing else []
        if trailers.get("Agentbook-Run") != [run["run_id"]]:
            problems.append(f"Agentbook-Run {trailers.get('Agentbook-Run')} is not {run['run_id']}")
        if trailers.get("Agentbook-Runbook") != [runbook_ref]:
            problems.append(f"Agentbook-Runbook {trailers.get('Agentbook-Runbook')} is not {runbook_ref}")
        if "step" in want and trailers.get("Agentbook-Step") != [want["step"]]:
            problems.append(f"Agentbook-Step {trailers.get('Agentbook-Step')} is not {want['step']!r}")
        files = sorted(git.run("show", "--name-only", "--format=", sha).split())
        if "files" in want and files != sorted(want["files"]):
            problems.append(f"changed {files}, expected {sorted(want['files'])}")
        checks.append(Check(f"commit {n}", not problems, "; ".join(problems) or
                            f"{sha[:10]} {want.get('step', '')}: {', '.join(files)}"))
    return checks


def _check_file(want: dict[str, Any], git: Git, branch: str) -> Check:
    path = str(want["path"])
    if not git.ok("cat-file", "-e", f"{branch}:{path}"):
        return Check(f"file {path}", False, f"not on {branch}")
    text = git.run("show", f"{branch}:{path}")
    missing = [s for s in want.get("contains") or [] if s not in text]
    present = [s for s in want.get("not_contains") or [] if s in text]
    detail = "; ".join([*(f"lacks {s!r}" for s in missing), *(f"still has {s!r}" for s in present)])
    return Check(f"file {path}", not detail, detail or "content as expected")


def _check_gates(expected: list[dict[str, Any]], run: dict[str, Any]) -> list[Check]:
    steps = {s["index"]: s for s in run.get("steps", [])}
    checks = []
    for want in expected:
        step = steps.get(int(want["step"]))
        if step is None:
            checks.append(Check(f"gates of step {want['step']}", False, "no such step in the run"))
            continue
        got = ["pass" if g["exit_code"] == 0 else "fail" for g in step["gates"]]
        problems = []
        if "tries" in want and step["tries"] != want["tries"]:
            problems.append(f"{step['tries']} gate rounds, expected {want['tries']}")
        if "results" in want and got != list(want["results"]):
            problems.append(f"last results {got}, expected {list(want['results'])}")
        output = "\n".join(g["output"] for g in step["gates"])
        problems += [f"output lacks {n!r}" for n in want.get("output_contains") or [] if n not in output]
        checks.append(Check(f"gates of step {want['step']}", not problems,
                            "; ".join(problems) or f"{step['tries']} round(s), last {got}"))
    return checks


def _check_report(needles: list[str], run: dict[str, Any], git: Git, branch: str) -> list[Check]:
    report = Path(run["run_dir"]) / "report.md"
    if not report.is_file():
        return [Check("report", False, f"no report at {report}")]
    text = report.read_text(encoding="utf-8")
    missing = [n for n in needles if n not in text]
    note = git.out("notes", "--ref=agentbook", "show", branch)
    checks = [Check("report", not missing, "; ".join(f"lacks {n!r}" for n in missing) or str(report))]
    if run.get("head") and run["head"] != run["base_sha"]:
        checks.append(Check("report note", note.strip() == text.strip(),
                            "git note refs/notes/agentbook on the branch head" if note else "no git note"))
    return checks

"""`backtest close-loop`: each fix ticket run on its branch, the backtest re-run on that branch, and the
fix checked against the baseline: the hops a person would chain by hand, one after the other.

Per ticket (a `fix-prompt` ticket from `backtest fixes`, naming its cohort by members):

1. fix      `agentbook run` on the ticket (its own branch; pushed with `--push`, never a PR yet);
2. re-run   the branch head checked out beside the repo, `backtest run` of the spec there, then
            `backtest import`, `analyze` (analysts read the branch's code) and `cluster`;
3. check    `backtest compare` of the baseline and the re-run, for the ticket's cohort
            (workflows/fixcheck.py): before -> after, others that grew, accounts that regressed;
4. publish  with `--open-pr`: a ready pull request only for a fix that is ready; any other gets a
            draft whose body says why.

Everything goes under OUT (default `<repo>/.agentbook/loop/`): `<ticket id>/state.json` records each
finished hop atomically, so after `kill -9` the same command carries on where it stopped (the fix
run is resumed by its id, `backtest run` and `analyze` skip what they finished). `report.md` and
`loop.json` sum the fixes up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.fixes import TicketCohort, read_ticket_cohort
from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_json, atomic_write_text, exclusive_lock
from agentbook.workflows.fixcheck import FixCheck, check_fix, render_check

PHASES = ("fix", "rerun", "check", "publish", "done")
SMALL = 200  # investigations imported in this process rather than by worker processes


@dataclass
class LoopOptions:
    tickets: list[Path]
    spec: str  # the backtest run spec, relative to the repo (it is read on each fix's branch)
    agent_model: str  # who works the tickets (agentbook run --model)
    analyst_model: str
    repo: Path = Path(".")
    baseline: Path | None = None  # default: the tickets' cohort.backtest
    out: Path | None = None
    system_model: str | None = None  # backtest run --model (default: the spec's)
    agent: str | None = None
    jobs: int = 4
    concurrency: int = 25
    sandbox: str = "auto"  # for the fix run's gates and bash (agentbook run --sandbox)
    system_sandbox: str = "auto"  # for the system in the re-run (backtest run --sandbox)
    pass_env: list[str] = field(default_factory=list)  # variables the system gets (backtest run --pass-env)
    push: str | None = None
    open_pr: bool = False


@dataclass
class FixResult:
    ticket: str
    ticket_id: str
    phase: str = "fix"
    run: dict[str, Any] = field(default_factory=dict)  # run_id, status, branch, head, base, summary
    rerun: dict[str, Any] = field(default_factory=dict)  # manifest, backtest, seconds per hop
    check: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)  # why not ready (the check's, or why it stopped)

    @property
    def ready(self) -> bool:
        return self.phase in ("publish", "done") and not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "ticket_id": self.ticket_id, "phase": self.phase, "ready": self.ready,
                "run": self.run, "rerun": self.rerun, "check": self.check, "pull_request": self.pull_request,
                "reasons": self.reasons}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FixResult:
        return cls(ticket=data["ticket"], ticket_id=data["ticket_id"], phase=data.get("phase", "fix"),
                   run=dict(data.get("run") or {}), rerun=dict(data.get("rerun") or {}), check=data.get("check"),
                   pull_request=data.get("pull_request"), reasons=list(data.get("reasons") or []))


@dataclass
class LoopSummary:
    out: str
    baseline: str
    fixes: list[FixResult]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"out": self.out, "baseline": self.baseline, "seconds": round(self.seconds, 2),
                "ready": sum(f.ready for f in self.fixes), "not_ready": sum(not f.ready for f in self.fixes),
                "report": str(Path(self.out) / "report.md"), "fixes": [f.to_json() for f in self.fixes]}


def close_loop(opts: LoopOptions) -> LoopSummary:
    from agentbook.gitops.repo import open_repo

    started = time.monotonic()
    repo = open_repo(opts.repo)
    targets = [read_ticket_cohort(t) for t in opts.tickets]  # every ticket checked before any work
    if not targets:
        raise FatalError("no fix tickets given", hint="write them with `agentbook backtest fixes`")
    baseline = _baseline(opts, repo.root, targets)
    out = (opts.out or repo.root / ".agentbook" / "loop").resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with exclusive_lock(out / "loop.lock", f"another close-loop is using {out}"):
        for target in targets:
            results.append(_close_one(target, opts, repo, baseline, out))
    summary = LoopSummary(out=str(out), baseline=str(baseline), fixes=results, seconds=time.monotonic() - started)
    atomic_write_json(out / "loop.json", summary.to_json())
    atomic_write_text(out / "report.md", render_report(summary))
    return summary


def _baseline(opts: LoopOptions, root: Path, targets: list[TicketCohort]) -> Path:
    if opts.baseline is not None:
        path = Path(opts.baseline)
    else:
        named = {t.backtest for t in targets}
        if len(named) != 1 or None in named:
            raise FatalError("the tickets name no single baseline backtest", hint="pass --baseline DIR")
        path = root / str(named.pop())
    if not (path / "cohorts" / "index.json").is_file():
        raise FatalError(f"the baseline {path} is not a clustered backtest (no cohorts/index.json)",
                         hint="run `agentbook backtest cluster` on it first")
    return path.resolve()


def _state_path(out: Path, ticket_id: str) -> Path:
    return out / _safe(ticket_id) / "state.json"


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "ticket"


def _load(out: Path, target: TicketCohort) -> FixResult:
    path = _state_path(out, target.ticket_id)
    if path.is_file():
        try:
            return FixResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as err:
            raise FatalError(f"unreadable close-loop state: {err}", location=str(path),
                             hint="delete the file to start this ticket again") from None
    return FixResult(ticket=target.ticket, ticket_id=target.ticket_id)


def _save(out: Path, result: FixResult) -> None:
    atomic_write_json(_state_path(out, result.ticket_id), result.to_json())


def _close_one(target: TicketCohort, opts: LoopOptions, repo: Any, baseline: Path, out: Path) -> FixResult:
    result = _load(out, target)
    if result.phase == "fix":
        _fix(result, target, opts, repo, out)
    if result.phase == "rerun":
        _rerun(result, opts, repo, out)
    if result.phase == "check":
        check = check_fix(target, str(baseline), result.rerun["backtest"])
        result.check, result.reasons = check.to_json(), list(check.reasons)
        result.phase = "publish"
        _save(out, result)
    if result.phase == "publish":
        _publish(result, opts, repo)
        result.phase = "done"
        _save(out, result)
    return result


def _fix(result: FixResult, target: TicketCohort, opts: LoopOptions, repo: Any, out: Path) -> None:
    """Start the fix run under an id chosen (and saved) first, or resume it: a kill at any point
    leaves a run the next call finds by that id."""
    from agentbook.runbooks.record import new_run_id

    if not result.run.get("run_id"):
        result.run["run_id"] = new_run_id("fix-prompt")
        _save(out, result)
    try:
        record = _run_or_resume(result.run["run_id"], target, opts, repo)
    except FatalError as err:  # this ticket's run could not start (bad input, no key): the others still go
        # the phase stays "fix": nothing ran, so the next call (with the key, or --model) starts it
        result.reasons = [f"the fix run could not start: {err.message} (fix that, then run close-loop again)"]
        _save(out, result)
        return
    result.reasons = []
    outcome = record.outcome or {}
    result.run.update(status=record.status, branch=record.branch, head=record.head, base=record.base,
                      base_sha=record.base_sha, summary=str(outcome.get("message") or outcome.get("reason") or "")[:400],
                      cost_usd=record.cost_usd, push=record.push)
    if record.status != "completed" or not record.head or record.head == record.base_sha:
        why = "made no change" if record.status == "completed" else f"ended {record.status}"
        result.reasons = [(f"the fix run {why}: {result.run['summary'] or 'see its report'} "
                          f"(agentbook runs show {record.run_id})")]
        result.phase = "done"
    else:
        result.phase = "rerun"
    _save(out, result)


def _run_or_resume(run_id: str, target: TicketCohort, opts: LoopOptions, repo: Any) -> Any:
    from agentbook.runbooks.executor import RESUMABLE, resume_run, start_run
    from agentbook.runbooks.plan import RunOptions
    from agentbook.runbooks.record import RunDir, runs_root

    rd = RunDir(runs_root(repo.root), run_id)
    if rd.run_json.exists():
        record = rd.load()
        return resume_run(repo.root, run_id).record if record.status in RESUMABLE else record
    return start_run(RunOptions(runbook=None, ticket=target.ticket, repo=repo.root, model=opts.agent_model,
                                run_id=run_id, agent=opts.agent, sandbox=opts.sandbox, push=opts.push)).record


def _rerun(result: FixResult, opts: LoopOptions, repo: Any, out: Path) -> None:
    """The backtest again, on the fix's code: run, import, analyze, cluster. Each hop resumes itself, so
    this is simply done again after a kill."""
    from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
    from agentbook.backtest.cohorts import cluster_backtest
    from agentbook.backtest.importer import import_backtest
    from agentbook.backtest.produce import RunOptions as ProduceOptions
    from agentbook.backtest.produce import produce_backtest

    base = out / _safe(result.ticket_id)
    tree = _checkout(repo, str(result.run["head"]), base / "tree")
    changed = _measure_changed(repo, result.run, tree, opts.spec)
    if changed:
        result.reasons = [(f"the fix changed what measures it, so it was not re-run: {', '.join(changed[:5])} "
                           "(the re-run's spec, its recorded inputs and expectations, or its graders)")]
        result.phase = "publish"
        _save(out, result)
        return
    timings: dict[str, float] = {}
    started = time.monotonic()
    produced = produce_backtest(tree / opts.spec, base / "run",
                                ProduceOptions(jobs=opts.jobs, model=opts.system_model, sandbox=opts.system_sandbox,
                                               pass_env=list(opts.pass_env)))
    timings["run"] = time.monotonic() - started
    if produced.failed:
        raise FatalError(f"{len(produced.failed)} investigations of the re-run for {result.ticket_id} failed to run "
                         f"(first: {produced.failed[0]['id']}: {produced.failed[0]['message'][:200]})",
                         hint="run the same close-loop command again to retry them")
    bt = base / "backtest"
    started = time.monotonic()
    # worker processes cost more to start than a small backtest takes to export (each re-imports agentbook)
    import_backtest(produced.manifest, bt, update=bt.exists(), jobs=1 if produced.in_manifest <= SMALL else 4)
    timings["import"] = time.monotonic() - started
    started = time.monotonic()
    analysed = analyze_backtest(bt, AnalyzeOptions(model=opts.analyst_model, code=str(tree),
                                                   concurrency=opts.concurrency, progress=False))
    timings["analyze"] = time.monotonic() - started
    if analysed.failed:
        raise FatalError(f"{len(analysed.failed)} analyses of the re-run for {result.ticket_id} failed",
                         hint="run the same close-loop command again to retry them")
    started = time.monotonic()
    cluster_backtest(str(bt), code=str(tree))
    timings["cluster"] = time.monotonic() - started
    result.rerun = {"tree": str(tree), "manifest": str(produced.manifest), "backtest": str(bt),
                    "seconds": {k: round(v, 2) for k, v in timings.items()}}
    result.phase = "check"
    _save(out, result)


def _measure_changed(repo: Any, run: dict[str, Any], tree: Path, spec: str) -> list[str]:
    """The files of the measure the fix branch changed from its base: the run spec, its inputs (the truth
    and the expectations its assertions read) and any `scripted:` grader or model script inside the branch.
    The agent wrote the branch: a spec whose `assert:` it emptied (or inputs whose `expected:` it rewrote)
    turned every answer correct, and the fix that shrank its cohort that way got a ready pull request;
    its `limits:` and `timeout:` were the jail's for the re-run too."""
    from agentbook.backtest.runspec import load_spec
    from agentbook.gitops.git import Git
    from agentbook.models.spec import parse_spec

    names = [spec]
    try:
        loaded = load_spec(tree / spec)
    except FatalError:  # the diff below names the spec if the fix broke it; else the re-run says why
        loaded = None
    if loaded is not None:
        files = [loaded.inputs] + [Path(parse_spec(m).script or "") for m in (loaded.grader, loaded.model)
                                   if m and m.startswith("scripted:")]
        top = tree.resolve()
        names += [str(f.resolve().relative_to(top)) for f in files if f.resolve().is_relative_to(top)]
    listed = Git(repo.root).run("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv",
                                str(run["base_sha"]), str(run["head"]), "--", *names)
    return sorted(filter(None, listed.split("\0")))


def _checkout(repo: Any, head: str, tree: Path) -> Path:
    """A detached worktree of `head` at `tree` (kept from an earlier call when it is already there)."""
    from agentbook.gitops.git import Git

    git = Git(repo.root)
    if (tree / ".git").exists():
        if Git(tree).run("rev-parse", "HEAD").strip() == head:
            return tree
        git.run("worktree", "remove", "--force", str(tree))
    elif tree.exists():  # a kill in the middle of `worktree add` left a folder git does not know
        import shutil

        shutil.rmtree(tree)
    git.run("worktree", "prune")
    tree.parent.mkdir(parents=True, exist_ok=True)
    git.run("worktree", "add", "--quiet", "--detach", str(tree), head)
    return tree


def _publish(result: FixResult, opts: LoopOptions, repo: Any) -> None:
    """A pull request only after the check: ready when the fix is, a draft saying why otherwise."""
    if not (opts.open_pr and opts.push):
        return
    pushed = (result.run.get("push") or {}).get("pushed")
    if not pushed:
        result.pull_request = {"opened": False, "reason": "the branch was not pushed"}
        return
    from agentbook.fence import one_line
    from agentbook.gitops.github import GitHubClient, repo_from_remote
    from agentbook.gitops.inert import block, inert
    from agentbook.gitops.repo import remote_url
    from agentbook.redaction import process_redactor

    gh = repo_from_remote(remote_url(repo, opts.push))
    draft = bool(result.reasons)
    # the check's cases and reasons come from the fix branch, which the agent wrote: shown as code,
    # redacted, then made inert (gitops/inert.py), as a run's own pull request is
    text = "\n".join(render_fix(result)) + ("\n\nNot ready: " + "; ".join(result.reasons) if draft else "")
    body = inert(process_redactor().text(block(text)))
    title = inert(process_redactor().text(one_line(f"fix-prompt: {result.ticket_id}", 240)))
    pr = GitHubClient().open_pull_request(gh, head=result.run["branch"], base=result.run["base"],
                                          title=title, body=body, draft=draft)
    result.pull_request = {"opened": True, "number": pr.number, "url": pr.url, "draft": pr.draft}


def render_fix(f: FixResult) -> list[str]:
    lines = [f"fix {f.ticket_id} ({f.ticket})"]
    run = f.run
    if run.get("status"):
        lines.append(f"  run {run['run_id']}: {run['status']} on {run.get('branch')}")
    if f.check:
        check = FixCheck.from_json(f.check)
        lines += [f"  {line}" for line in render_check(check)]
    else:
        lines.append("  verdict: NOT ready: " + "; ".join(f.reasons) if f.reasons else f"  stopped at: {f.phase}")
    if f.pull_request:
        pr = f.pull_request
        lines.append(f"  pull request: {'draft ' if pr.get('draft') else ''}#{pr['number']} {pr['url']}"
                     if pr.get("opened") else f"  pull request: none ({pr.get('reason')})")
    return lines


def render_report(s: LoopSummary) -> str:
    ready = sum(f.ready for f in s.fixes)
    lines = ["# Close the loop", "", (f"Baseline: `{s.baseline}`. {len(s.fixes)} fixes: {ready} ready, "
             f"{len(s.fixes) - ready} not ready."), ""]
    for f in s.fixes:
        lines += ["```", *render_fix(f), "```", ""]
    return "\n".join(lines)

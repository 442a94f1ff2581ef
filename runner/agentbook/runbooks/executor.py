"""Run a runbook: one agent session for the whole run, one step at a time in the same conversation,
the step's gates after it, a commit after every step that changed files.

Crash safety: after a step passes its gates the conversation is checkpointed *before* the commit
(`commit_state: pending`) and again after it (`done`). `--resume` settles a pending commit (made by
the killed process, or made now from the finished worktree), throws away the unfinished step's
files, and continues from the next step with the saved conversation, so no step is committed twice
and no committed work is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.fence import visible
from agentbook.fsutil import atomic_write_text, exclusive_lock, file_lock
from agentbook.gitops import nested
from agentbook.gitops.commits import (
    StepTrailers,
    add_note,
    commit_all,
    commit_message,
    diff_stat,
    trailers_of,
)
from agentbook.gitops.git import Git
from agentbook.gitops.guard import check_worktree
from agentbook.gitops.inert import inert
from agentbook.gitops.repo import Repo, open_repo
from agentbook.gitops.worktree import (
    create_worktree,
    head_sha,
    remove_worktree,
    reopen_worktree,
    reset_to,
    worktree_path,
)
from agentbook.models.base import Usage
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.redaction import Redactor
from agentbook.runbooks import publish
from agentbook.runbooks.engines import DEFAULT_ENGINE, AgentSession, EngineContext, engine_for
from agentbook.runbooks.gates import prewarm, run_gate, tool_path
from agentbook.runbooks.plan import RunOptions, RunPlan, plan_run
from agentbook.runbooks.record import (
    INTERRUPTED,
    RUNNING,
    RunDir,
    RunRecord,
    StepRecord,
    find_run,
    now_iso,
    pid_alive,
    runs_root,
)
from agentbook.runbooks.render import RenderedStep, gate_failure_message, step_message, ticket_block
from agentbook.runbooks.report import render_report
from agentbook.secretscan import Secret, SecretScanner, held_secrets, hold
from agentbook.session import Budgets
from agentbook.session.limits import Limits
from agentbook.session.sandbox import UNCONFINED
from agentbook.session.watchdog import tree_bytes
from agentbook.warm import calls_agentbook
from agentbook.warm import pool as warm_pool

STEP_DONE = (OutcomeKind.COMPLETED, OutcomeKind.NO_CHANGES)
RESUMABLE = (RUNNING, INTERRUPTED, OutcomeKind.API_ERROR.value, OutcomeKind.CRASHED.value)
GUARD_REASONS = ("secret", "nested_repo", "protected")  # stops the runner's own checks made


class RunInterrupted(FatalError):
    """SIGTERM/SIGINT stopped the run at a saved state; `--resume` continues it."""

    exit_code = 130


@dataclass
class RunResult:
    record: RunRecord
    run_dir: Path
    notes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        return Outcome.from_json(self.record.outcome or {"kind": "crashed"})

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "run_dir": str(self.run_dir), "notes": self.notes,
                "exit_code": self.exit_code}


def start_run(opts: RunOptions) -> RunResult:
    """Pre-flight, then a fresh run on a new branch."""
    started = time.perf_counter()
    plan = plan_run(opts)
    return _execute(plan, plan.run_id, plan_seconds=time.perf_counter() - started)


def _execute(plan: RunPlan, run_id: str, plan_seconds: float) -> RunResult:
    repo = plan.repo
    rd = RunDir(runs_root(repo.root), run_id)
    record = RunRecord(
        run_id=run_id, runbook=plan.runbook.name, runbook_sha=plan.runbook.blob_sha,
        runbook_path=str(plan.runbook.path), model=plan.model, branch=plan.branch, base=plan.base,
        base_sha=plan.base_sha, worktree=str(worktree_path(repo, run_id)), repo=str(repo.root),
        ticket=Redactor(_values(plan.secrets)).json(plan.ticket.to_json()),  # a pasted token never reaches the agent
        inputs=plan.inputs, budgets=plan.budgets.to_json(),
        steps=[StepRecord(s.index, s.title) for s in plan.steps], head=plan.base_sha, pid=os.getpid(),
        options={"system": plan.system, "steps": [_step_json(s) for s in plan.steps], "tools": plan.tools,
                 "skills": {n: str(p) for n, (p, _, _) in plan.skills.items()}, "protected": plan.protected,
                 "bash_allow": plan.bash_allow, "gate_retries": plan.gate_retries, "push": plan.push,
                 "open_pr": plan.open_pr, "github": plan.github.slug if plan.github else None,
                 "secrets": plan.secrets, "agent": plan.agent, "sandbox": plan.sandbox,
                 "sandbox_limits": plan.limits.to_json(), "limits_capped": plan.limits_capped,
                 "allow_ci_changes": plan.allow_ci_changes},
        timings={"plan": round(plan_seconds, 4)})

    def claim(branch: str) -> None:  # recorded before git makes it: a kill from here on is resumable
        record.branch = branch
        rd.save(record)

    with exclusive_lock(rd.path / "lock", f"run {rd.run_id} is in use by another agentbook process"):
        started = time.perf_counter()
        try:
            worktree, _ = create_worktree(repo, run_id, plan.branch, plan.base_sha,
                                          dedupe=not plan.branch_explicit, on_branch=claim)
        except FatalError as err:
            if rd.run_json.exists():  # claimed, then git failed: say so; `--resume` retries
                record.status = OutcomeKind.CRASHED.value
                record.outcome = Outcome(OutcomeKind.CRASHED, "worktree", err.render()).to_json()
                rd.save(record)
            raise
        record.timings["worktree"] = round(time.perf_counter() - started, 4)
        # the disk limit meters what the run adds: the checkout is there before it, and at ENTRY_BYTES a
        # file a repository of 500,000 files was over the default 2G before the agent wrote a byte
        record.options["disk_base"] = tree_bytes(worktree)
        rd.save(record)
        rd.save_checkpoint({"completed": 0, "messages": [], "commit_state": "done", "head": plan.base_sha})
        return _Runner(repo, rd, record, worktree).run(start=0, state=None)


def resume_run(repo_path: Path, run_id: str) -> RunResult:
    """Continue a run that was killed, interrupted or hit an API error, from its last finished step."""
    repo = open_repo(repo_path)
    rd = find_run(repo.root, run_id)
    with exclusive_lock(rd.path / "lock", f"run {rd.run_id} is in use by another agentbook process"):
        record = rd.load()
        if record.status not in RESUMABLE:
            raise FatalError(f"run {record.run_id} already ended '{record.status}'; there is nothing to resume",
                             hint="start a new run")
        if record.status == RUNNING and record.pid and record.pid != os.getpid() and pid_alive(record.pid):
            raise FatalError(f"run {record.run_id} is still running (pid {record.pid})")
        worktree = reopen_worktree(repo, record.run_id, record.branch, record.base_sha)
        # the unfinished step's nested repositories go before the runner's git touches the worktree
        nested.remove_entries(worktree, nested.find_nested_repos(worktree))
        checkpoint = rd.load_checkpoint() or {"completed": 0, "messages": [], "commit_state": "done"}
        runner = _Runner(repo, rd, record, worktree)
        completed = int(checkpoint["completed"])
        if checkpoint.get("commit_state") == "pending":
            runner.settle_pending_commit(completed, checkpoint)
        record.head = head_sha(worktree)
        reset_to(worktree, record.head)
        if "disk_base" not in record.options and completed == 0 and record.head == record.base_sha:
            # killed between making the worktree and saving the base: no step has run, so the checkout as
            # it stands is the base (without it the limit counted the whole checkout again)
            record.options["disk_base"] = tree_bytes(worktree)
        for step in record.steps[completed:]:
            step.status, step.commit, step.finished_at = "pending", None, None
        record.resumes += 1
        record.status, record.outcome, record.pid = RUNNING, None, os.getpid()
        rd.save(record)
        return runner.run(start=completed, state=checkpoint)


def dry_run(opts: RunOptions) -> dict[str, Any]:
    """What a run would do, with no worktree, no branch and no model call (so no API key either)."""
    return plan_run(replace(opts, dry_run=True)).to_json()


class _Runner:
    def __init__(self, repo: Repo, rd: RunDir, record: RunRecord, worktree: Path) -> None:
        self.repo, self.rd, self.record, self.worktree = repo, rd, record, worktree
        self.opts = record.options
        self.steps = [RenderedStep(**s) for s in self.opts["steps"]]
        self.usage_before = Usage(**record.usage) if record.usage else Usage()
        self.cost_before, self.turns_before = record.cost_usd, record.turns
        self.started = time.monotonic()
        self.seconds_before = record.seconds
        # checkpoints and the report hold conversation text: secrets are cut there as in the transcript
        self.held: list[Secret] = _held(self.opts.get("secrets") or [])
        self.redactor = Redactor([s.value for s in self.held])
        self.scanner = SecretScanner(self.held)

    @contextlib.contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = self.record.timings.get(phase, 0.0) + time.perf_counter() - started
            self.record.timings[phase] = round(spent, 4)

    # -- the whole run ---------------------------------------------------------------------------

    def run(self, start: int, state: dict[str, Any] | None) -> RunResult:
        try:
            outcome = asyncio.run(self._main(start, state))
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.record.status = INTERRUPTED
            self._save_progress()
            raise RunInterrupted(f"run {self.record.run_id} interrupted at a saved state",
                                 hint=f"agentbook run --resume {self.record.run_id}") from None
        except FatalError as err:  # e.g. the model backend cannot start: typed, resumable once fixed
            outcome = Outcome(OutcomeKind.CRASHED, type(err).__name__, err.render())
        return self._finish(outcome)

    async def _main(self, start: int, state: dict[str, Any] | None) -> Outcome:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        engine = engine_for(self.opts.get("agent") or DEFAULT_ENGINE)
        if self._sandbox() != UNCONFINED and any(calls_agentbook(g) for s in self.steps[start:] for g in s.gates):
            # the gates' warm worker imports agentbook while the agent works on the first step
            prewarm(self.worktree, protected=list(self.opts["protected"]), limits=self._limits())
        try:
            with self._timed("model"):  # opening the session connects the model backend
                session = engine.open(self._context(), state)
            self.session: AgentSession | None = session
            try:
                return await self._steps(session, start)
            finally:
                await session.aclose()
        finally:
            warm_pool.stop(self.worktree)

    def _context(self) -> EngineContext:
        return EngineContext(
            model=self.record.model, root=self.worktree, system=self.opts["system"], tools=list(self.opts["tools"]),
            skills=_skills(self.opts["skills"]), budgets=Budgets(**self.record.budgets),
            protected=list(self.opts["protected"]), bash_allow=self.opts["bash_allow"],
            transcript_path=self.rd.transcript, trace_path=self._trace_path(), session_id=self.record.run_id,
            secrets=[s.value for s in self.held], env={"PATH": tool_path()}, state_dir=self.rd.path,
            metadata={"run": self.record.run_id},
            spent=(self.usage_before, self.cost_before, self.turns_before),
            sandbox=self._sandbox(), limits=self._limits())

    def _sandbox(self) -> str:
        return str(self.opts.get("sandbox") or "auto")  # runs recorded before --sandbox existed: the default

    def _limits(self) -> Limits:
        """The run's jail limits; `disk` counted over the checkout the run started from (disk_base)."""
        limits = Limits(**self.opts.get("sandbox_limits") or {})
        base = self.opts.get("disk_base")
        return replace(limits, disk_base=base) if isinstance(base, int) and base > 0 else limits

    def _trace_path(self) -> Path:
        """The first session's trace is trace.otlp.json; each resume adds its own file, losing none."""
        n = self.record.resumes
        return self.rd.trace if n == 0 else self.rd.path / f"trace.resume-{n}.otlp.json"

    async def _steps(self, session: AgentSession, start: int) -> Outcome:
        for i in range(start, len(self.steps)):
            step, srec = self.steps[i], self.record.steps[i]
            srec.status, srec.started_at = "running", now_iso()
            with self._timed("records"):
                self._save_progress()
            first = None if i > 0 else ticket_block(self.record.ticket["id"], self.record.ticket.get("title", ""),
                                                    self.record.ticket.get("body", ""))
            passed = self.record.steps[i - 1].gates if i > 0 else None  # from run.json too, after a resume
            with self._timed("model"):
                outcome = await session.send(step_message(step, first, passed))
            outcome = await self._gates(session, step, srec, outcome)
            with self._timed("commits"):
                stop = outcome if outcome.kind not in STEP_DONE else self._guard()
                if stop is not None:
                    return self._stop_in_step(i, stop)
                self._commit_step(i, session)
        if any(s.commit for s in self.record.steps):
            return Outcome(OutcomeKind.COMPLETED, "", f"all {len(self.steps)} steps done")
        return Outcome(OutcomeKind.NO_CHANGES, "", "every step finished but nothing in the repository changed")

    async def _gates(self, session: AgentSession, step: RenderedStep, srec: StepRecord, outcome: Outcome) -> Outcome:
        retries = int(self.opts["gate_retries"])
        attempt = 0
        while outcome.kind in STEP_DONE and step.gates:
            attempt += 1
            with self._timed("gates"):
                results = [await asyncio.to_thread(run_gate, g, self.worktree, protected=self.opts["protected"],
                                                   sandbox=self._sandbox(), limits=self._limits())
                           for g in step.gates]
            srec.tries, srec.gates = attempt, [vars(r) for r in results]
            for r in results:  # the transcript is the whole story: gate runs go in it too
                session.transcript.event("gate", step=step.index, attempt=attempt, command=r.command,
                                         exit_code=r.exit_code, output=r.output, seconds=r.seconds)
            with self._timed("records"):
                self._save_progress()
            failed = [r for r in results if not r.ok]
            if not failed:
                break
            if attempt > retries:
                first = failed[0]
                return Outcome(OutcomeKind.BLOCKED, "gate",
                               f"check `{first.command}` still fails after {attempt} attempts (step {step.label})",
                               {"step": step.index, "gate": first.command, "exit_code": first.exit_code,
                                "output": first.output})
            text = gate_failure_message(step, [(r.command, r.exit_code, r.output) for r in failed], attempt, retries)
            with self._timed("model"):
                outcome = await session.send(text)
        return outcome

    # -- commits and checkpoints -----------------------------------------------------------------

    def _trailers(self, index: int, suffix: str = "") -> StepTrailers:
        step = self.steps[index]
        return StepTrailers(self.record.run_id, f"{self.record.runbook}@{self.record.runbook_sha}",
                            step.label + suffix, self.record.model)  # no co-author from the ticket: _named

    def _message(self, index: int, wip: str | None = None) -> str:
        step = self.steps[index]
        subject = f"{self.record.runbook}: {step.title}"
        body = f"Step {step.index}/{step.total} for ticket {self.record.ticket['id']}"
        if self.record.ticket.get("title"):
            body += f": {self.record.ticket['title']}"
        if wip:
            subject = f"WIP {subject}"
            body += f"\n\nUnfinished: {wip}"
        body += _named(self.record.ticket.get("co_authors"))
        # redacted before made inert: a joiner inside a secret would hide it from the redactor; the ticket's
        # title and co-authors are shown, never acted on, by a terminal running `git log` (fence.visible)
        return inert(visible(self.redactor.text(commit_message(subject, body + ".",
                                                               self._trailers(index, " (WIP)" if wip else "")))))

    def _commit_step(self, index: int, session: AgentSession) -> None:
        head = self.record.head or self.record.base_sha
        state = self.redactor.json(session.checkpoint())
        self.rd.save_checkpoint({**state, "completed": index + 1, "commit_state": "pending", "head_before": head})
        sha = commit_all(self.worktree, self._message(index))
        self.rd.save_checkpoint({**state, "completed": index + 1, "commit_state": "done", "head": sha or head})
        srec = self.record.steps[index]
        srec.status, srec.commit, srec.finished_at = "done", sha, now_iso()
        self.record.head = sha or head
        self._save_progress()

    def settle_pending_commit(self, completed: int, checkpoint: dict[str, Any]) -> None:
        """A kill landed between "step finished" and "commit recorded": finish that commit exactly once."""
        index = completed - 1
        head = head_sha(self.worktree)
        step_trailer = trailers_of(Git(self.worktree), head).get("Agentbook-Step", [])
        if head != checkpoint.get("head_before") and self._trailers(index).step in step_trailer:
            sha: str | None = head  # the killed process did commit it
        else:
            sha = commit_all(self.worktree, self._message(index))
        self.rd.save_checkpoint({**checkpoint, "commit_state": "done", "head": sha or head})
        srec = self.record.steps[index]
        srec.status, srec.commit, srec.finished_at = "done", sha, srec.finished_at or now_iso()
        self.record.head = sha or head

    def _guard(self) -> Outcome | None:
        """The checks before any commit (see `gitops.guard`); a `blocked` outcome with the evidence
        (paths, lines, secret names; never a value) when one fails."""
        report = check_worktree(self.worktree, self.record.base_sha, list(self.opts["protected"]), self.scanner,
                                allow_ci=bool(self.opts.get("allow_ci_changes")))
        if report.clean:
            return None
        return Outcome(OutcomeKind.BLOCKED, report.reason, report.message(), report.evidence())

    def _stop_in_step(self, index: int, outcome: Outcome) -> Outcome:
        """A step that cannot finish: budget and gate/permission stops keep the work as a WIP commit
        (after the pre-commit checks; a secret in it means no commit at all, and the run is blocked; so
        does a disk stop, whose worktree stays in the run's folder);
        API errors and crashes leave the worktree for `--resume` to redo the step."""
        srec = self.record.steps[index]
        srec.finished_at = now_iso()
        if outcome.kind not in (OutcomeKind.BUDGET_EXHAUSTED, OutcomeKind.BLOCKED):
            srec.status = "pending"
            return outcome
        if outcome.reason not in GUARD_REASONS:
            outcome = self._guard() or outcome
        if outcome.reason not in ("secret", "disk"):  # a disk stop's overflow is not copied into .git as well
            srec.commit = commit_all(self.worktree, self._message(index, wip=outcome.message))
            self.record.head = srec.commit or self.record.head
        srec.status = "wip" if outcome.kind is OutcomeKind.BUDGET_EXHAUSTED else "blocked"
        return outcome

    # -- records ---------------------------------------------------------------------------------

    def _save_progress(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            self.record.usage = (self.usage_before + session.usage).to_json()
            self.record.cost_usd = round(self.cost_before + session.cost_usd, 6)
            self.record.cost_estimated = self.record.cost_estimated or session.cost_estimated
            self.record.turns = self.turns_before + session.turns
        self.record.seconds = round(self.seconds_before + time.monotonic() - self.started, 3)
        self.rd.save(self.record)

    def _finish(self, outcome: Outcome) -> RunResult:
        with self._timed("finish"):
            result = self._finish_run(outcome)
        self.rd.save(self.record)
        return result

    def _finish_run(self, outcome: Outcome) -> RunResult:
        record = self.record
        record.outcome = outcome.to_json()
        record.status = outcome.kind.value
        record.finished_at = now_iso()
        self._save_progress()
        git = Git(self.worktree)
        session = getattr(self, "session", None)
        summary = self.redactor.text(session.final_text()) if session is not None else ""
        leaked = publish.push_scan(self.repo, record, self.scanner)
        if leaked is not None:  # nothing goes out: the run is blocked with the findings as evidence
            record.outcome, record.status = leaked.to_json(), leaked.kind.value
        report = inert(self.redactor.text(render_report(
            record, diff_stat=diff_stat(git, record.base_sha, record.head or record.base_sha), summary=summary)))
        atomic_write_text(self.rd.report, report)
        if record.head and record.head != record.base_sha:
            add_note(self.repo, record.head, report)
        deleted: list[str] = []
        if outcome.kind not in (OutcomeKind.API_ERROR, OutcomeKind.CRASHED):
            remove_worktree(self.repo, self.worktree)  # the branch holds the work; resume needs no worktree
            if delete_empty_branch(self.repo, record.branch, record.base_sha):
                deleted.append(f"branch {record.branch} deleted: the run made no commit")
        try:
            notes = publish.publish(self.repo, record, report)
        finally:
            self.rd.save(record)
        return RunResult(record, self.rd.path, [*record.options.get("limits_capped", []), *deleted, *notes])


def delete_empty_branch(repo: Repo, branch: str | None, base_sha: str) -> bool:
    """A finished run that made no commit leaves no branch behind (`sup-7`, `sup-7-2`, ... piled up)."""
    if not branch:
        return False
    with file_lock(repo.lock_path):  # deleted only while it still points at the base: atomic in git
        return repo.git.ok("update-ref", "-d", f"refs/heads/{branch}", base_sha)


def _held(names: list[str]) -> list[Secret]:
    """The secrets this run holds; `--secret` names also cover whatever this process prints."""
    hold(names)
    return held_secrets(names)


def _values(names: list[str]) -> list[str]:
    return [s.value for s in _held(names)]


def _step_json(step: RenderedStep) -> dict[str, Any]:
    return {"index": step.index, "total": step.total, "title": step.title, "body": step.body, "gates": step.gates}


def _skills(paths: dict[str, str]) -> dict[str, tuple[Path, str]]:
    from agentbook.catalog.skill import load_skill

    out: dict[str, tuple[Path, str]] = {}
    for name, path in paths.items():
        skill, _ = load_skill(Path(path))
        if skill is not None:
            out[name] = (skill.path, skill.body)
    return out


def _named(co_authors: Any) -> str:
    """The co-authors a ticket names, as words in the body, never as `Co-authored-by:` trailers: the
    ticket's author may be anyone (an issue's), and a trailer credits whoever it names on GitHub as the
    commit's co-author, and puts their name on a change they never saw. Marked as the ticket's."""
    names = [str(c) for c in co_authors or [] if str(c).strip()]
    if not names:
        return ""
    return "\n\nCo-authors named by the ticket (not verified, not credited): " + "; ".join(names)

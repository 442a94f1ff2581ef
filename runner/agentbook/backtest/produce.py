"""`backtest run`: run a system over its recorded inputs, grade each answer, write the manifest.

    OUT/manifest.jsonl              what `agentbook backtest import OUT/manifest.jsonl BT` reads
    OUT/runs/<id>/                  per investigation: trace.otlp.json, answer.txt, stdout.txt,
                                    stderr.txt, result.json (the marker that it is done) or error.json
    OUT/.agentbook/run.jsonl        the event log (start, done, failed); run.lock; run.json

Resumable: `result.json` is written atomically once an investigation is run and graded, with the
key of what produced it (the input line, the spec's command and grading, the model and the code's
state). A re-run skips investigations whose key is unchanged and does the rest, so after a `kill -9`
it continues, and after a change to the system's code or prompts it runs everything again. The manifest
is rewritten (atomically) from the finished results at the end of every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.invoke import TRACE_FILE, UNCONFINED, Job, Relayed, investigate
from agentbook.backtest.progress import AnalyzeProgress
from agentbook.backtest.runspec import Incident, RunSpec, load_spec, read_inputs
from agentbook.backtest.state import EventLog
from agentbook.errors import FatalError, UsageError
from agentbook.fsutil import atomic_write_json, atomic_write_text, exclusive_lock, keep_out_of_git
from agentbook.gitops.git import Git

EXECUTORS = ("local", "ray")
SANDBOXES = ("auto", UNCONFINED)
RUNS_DIR = "runs"
STATE_DIR = ".agentbook"

README = """\
# Backtest run

Made by `agentbook backtest run`: the system's command ran once per recorded input, jailed, with
tracing on; each answer was graded against the truth.

```
manifest.jsonl        one line per finished investigation: `agentbook backtest import` reads it
runs/<id>/            trace.otlp.json, answer.txt, stdout.txt, stderr.txt, result.json (or error.json)
.agentbook/run.jsonl  event log (start, done, failed) of every run in this folder
```

Next: `agentbook backtest import manifest.jsonl BACKTEST_DIR`. Everything under `runs/` was written
by the system under test: data, never instructions.
"""


@dataclass
class RunOptions:
    jobs: int = 4
    executor: str = "local"
    limit: int | None = None
    only: list[str] = field(default_factory=list)
    model: str | None = None  # overrides the spec's `model:`
    grader: str | None = None  # overrides the spec's `grader:`
    sandbox: str = "auto"
    pass_env: list[str] = field(default_factory=list)  # variables of this environment the command gets
    progress: bool | None = False  # a bar on stderr; None: when stderr is a terminal


@dataclass
class RunSummary:
    spec: str
    out: str
    manifest: str
    executor: str
    jobs: int
    code: str  # the fingerprint of the system's code the results belong to
    total: int = 0
    skipped: int = 0
    todo: int = 0
    done: int = 0
    correct: int = 0
    wrong: int = 0
    in_manifest: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    per_second: float = 0.0
    unconfined: bool = False

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["failed_count"] = len(self.failed)
        out["failed"] = self.failed[:20]
        return out


def _check(options: RunOptions) -> None:
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}")
    if options.sandbox not in SANDBOXES:
        raise UsageError(f"--sandbox must be one of {', '.join(SANDBOXES)}")
    if options.limit is not None and options.limit < 0:
        raise UsageError("--limit must be 0 or more")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FatalError(f"output is not a directory: {out}")
    if out.is_dir() and any(out.iterdir()) and not (out / STATE_DIR / "run.json").exists():
        raise FatalError(f"output folder is not empty and holds no backtest run: {out}",
                         hint="pick a new folder, or the folder of an earlier `backtest run` to resume it")


def code_fingerprint(repo: Path, exclude: Path) -> str:
    """The state of the system's code: its git tree plus every changed or untracked file's content
    (outside `exclude`, the run's own folder). Outside git: every file's path, size and mtime."""
    h = hashlib.sha256()
    # The runner's hardened git: the spec and its folder are the repository's, which anyone may have
    # committed to (a close-loop's fix branch is the agent's), and a plain `git status` there entered a
    # bare repository committed as files (HEAD, objects/, refs/, config) and ran its fsmonitor as root with
    # the runner's environment, API key and GitHub token included.
    git = Git(repo)
    try:
        head = git.run("rev-parse", "HEAD^{tree}").strip()
        status = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", ".")
        top = Path(git.run("rev-parse", "--show-toplevel").strip())
    except FatalError:
        return "files-" + _files_fingerprint(repo, exclude)
    h.update(head.encode())
    for entry in sorted(filter(None, status.split("\0"))):
        path = top / entry[3:]
        if _within(path, exclude):
            continue
        h.update(entry.encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            h.update(_digest_or_gone(path))
    return "git-" + h.hexdigest()[:16]


def _digest_or_gone(path: Path) -> bytes:
    """A file removed between git's listing and our read is fingerprinted as gone, not a traceback."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return b"gone"


def _within(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _files_fingerprint(repo: Path, exclude: Path) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d != ".git" and not _within(Path(dirpath, d), exclude))
        for name in sorted(filenames):
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:  # removed while we walked: not part of the state we run on
                continue
            h.update(f"{os.path.relpath(os.path.join(dirpath, name), repo)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _check_grader(spec: RunSpec, incidents: list[Incident], grader: str | None) -> None:
    """Refuse up front what would fail every investigation's grading: llm-rubric without a grader, or
    a grader spec (or its script) that does not load."""
    rubric = any(a.get("type") == "llm-rubric" for a in spec.asserts) or \
        next((i for i in incidents if any(a.get("type") == "llm-rubric" for a in i.asserts)), None) is not None
    if rubric and not grader:
        raise FatalError("llm-rubric assertions need a grader model", location=str(spec.path),
                         hint="set `grader:` in the spec or pass --grader SPEC (e.g. anthropic:claude-haiku-4-5)")
    if grader:
        from agentbook.models.spec import parse_spec

        parsed = parse_spec(grader)
        if parsed.kind == "scripted" and parsed.script:
            from agentbook.standin.script import load_script

            load_script(parsed.script)


def run_key(spec: RunSpec, incident: Incident, code: str, model: str | None, grader: str | None) -> str:
    stable = f"{spec.key()}|{incident.key()}|{code}|{model}|{grader}"
    return hashlib.sha256(stable.encode()).hexdigest()[:20]


def _finished(run_dir: Path, key: str) -> dict[str, Any] | None:
    try:
        result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and result.get("key") == key else None


def produce_backtest(spec_path: Path | str, out: Path | str, options: RunOptions | None = None,
                     on_progress: Callable[[str, str], None] | None = None) -> RunSummary:
    """Run the spec's command over its inputs into `out`; `on_progress(event, id)` sees start/done/failed."""
    options = options or RunOptions()
    _check(options)
    spec = load_spec(spec_path)
    incidents = read_inputs(spec.inputs, spec.asserts)
    out = Path(out).resolve()
    _check_out(out)
    if options.sandbox != UNCONFINED:
        from agentbook.session import jail

        why = jail.problem()
        if why is not None:  # fail closed: the system's code never runs unconfined by default
            raise FatalError(f"backtest run needs a working sandbox and there is none here: {why}",
                             hint="install bubblewrap and libseccomp2 (see .ci/sysdeps), or run the system "
                                  f"unconfined with --sandbox {UNCONFINED}")
    model, grader = options.model or spec.model, options.grader or spec.grader
    _check_grader(spec, incidents, grader)
    code = code_fingerprint(spec.repo, out)
    summary = RunSummary(spec=str(spec.path), out=str(out), manifest=str(out / "manifest.jsonl"),
                         executor=options.executor, jobs=options.jobs, code=code,
                         unconfined=options.sandbox == UNCONFINED)
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    keep_out_of_git(out / STATE_DIR, "backtest run records and cache")
    with exclusive_lock(out / STATE_DIR / "run.lock", f"another `agentbook backtest run` is writing {out}",
                        hint="wait for it to finish, or stop it; a killed run releases the lock"):
        atomic_write_json(out / STATE_DIR / "run.json", {"spec": str(spec.path), "code": code,
                                                         "inputs": str(spec.inputs)})
        jobs, finished = _plan(spec, incidents, out, options, code, model, grader, summary)
        log = EventLog(out / STATE_DIR / "run.jsonl", uuid.uuid4().hex[:8])
        _recover_done(log, finished)
        cache = _script_cache(spec, model, out, options) if jobs else None
        with _relay(model, options, bool(jobs)) as relayed:
            for job in jobs:
                job.relay, job.cache_home = relayed, cache
            _run_jobs(jobs, options, log, summary, on_progress)
        summary.in_manifest = write_manifest(out, spec, incidents, model, grader, code)
        if not (out / "README.md").exists():
            atomic_write_text(out / "README.md", README)
    summary.wall_seconds = round(time.monotonic() - started, 3)
    ran = summary.done + len(summary.failed)
    summary.per_second = round(ran / summary.wall_seconds, 3) if ran and summary.wall_seconds else 0.0
    return summary


@contextlib.contextmanager
def _relay(model: str | None, options: RunOptions, needed: bool) -> Iterator[Relayed | None]:
    """The keyless relay for a real model (not `scripted:`) when the command runs jailed: the jail has
    no network, and the key stays here; the command gets a token good for this relay only."""
    from agentbook.models.spec import parse_spec

    if not needed or model is None or options.sandbox == UNCONFINED or parse_spec(model).kind == "scripted":
        yield None
        return
    from agentbook.models.relay import Relay

    parsed = parse_spec(model)
    folder = Path(tempfile.mkdtemp(prefix="agentbook-relay-"))  # short: socket paths are < 108 bytes
    relay = Relay(model, socket_path=folder / "relay.sock")
    relay.start_in_thread()
    try:
        yield Relayed(str(folder / "relay.sock"), relay.token, parsed.model)
    finally:
        relay.stop_thread()
        shutil.rmtree(folder, ignore_errors=True)


def _script_cache(spec: RunSpec, model: str | None, out: Path, options: RunOptions) -> str | None:
    """A cache folder in which a `scripted:` model's script is marked valid once, here: each jailed
    investigation starts with a fresh HOME, so without it every one of them imports jsonschema to check
    the same script again (a fifth of an investigation of the example). The jail shows it read-only, so
    an investigation cannot mark a script for the others."""
    from agentbook.models.spec import parse_spec
    from agentbook.standin.script import mark_valid

    if model is None or options.executor != "local":
        return None  # Ray: the workers are other machines, with other files
    parsed = parse_spec(model)
    if parsed.kind != "scripted" or not parsed.script:
        return None
    script = Path(parsed.script)
    cache = out / STATE_DIR / "cache"
    return str(cache) if mark_valid(script if script.is_absolute() else spec.repo / script, cache) else None


def _recover_done(log: EventLog, finished: dict[str, dict[str, Any]]) -> None:
    """A kill between writing `result.json` and logging it leaves a finished investigation whose `done`
    the log never saw: log it now (marked recovered), so the log names every finished one once."""
    logged = log.done_ids()
    for inv_id, result in finished.items():
        if inv_id not in logged:
            log.event("done", inv_id, verdict=result.get("verdict"), seconds=result.get("seconds"), recovered=True)


def _run_jobs(jobs: list[Job], options: RunOptions, log: EventLog, summary: RunSummary,
              on_progress: Callable[[str, str], None] | None) -> None:
    with AnalyzeProgress(len(jobs), enabled=options.progress, label="run") as bar:
        def progress(event: str, inv_id: str) -> None:
            if event == "start":
                bar.started()
            else:
                bar.finished(0.0, ok=event == "done")
            if on_progress is not None:
                on_progress(event, inv_id)

        for job, outcome in _execute(jobs, options, log, progress):
            _save(job, outcome, log, summary, progress)


def _plan(spec: RunSpec, incidents: list[Incident], out: Path, options: RunOptions, code: str,
          model: str | None, grader: str | None, summary: RunSummary) -> tuple[list[Job], dict[str, dict[str, Any]]]:
    """The jobs still to run, and the results of those already finished for this code state."""
    chosen = incidents
    if options.only:
        known = {i.id for i in incidents}
        unknown = [x for x in options.only if x not in known]
        if unknown:
            raise FatalError(f"no input {unknown[0]!r} in {spec.inputs}", hint="ids are the inputs' `id` fields")
        chosen = [i for i in incidents if i.id in set(options.only)]
    summary.total = len(chosen)
    missing = [name for name in options.pass_env if name not in os.environ]
    if missing:
        raise UsageError(f"--pass-env {missing[0]}: not set in this environment")
    passed = {name: os.environ[name] for name in options.pass_env}
    jobs, finished = [], {}
    for incident in chosen:
        key = run_key(spec, incident, code, model, grader)
        run_dir = out / RUNS_DIR / incident.id
        if (result := _finished(run_dir, key)) is not None:
            finished[incident.id] = result
            summary.skipped += 1
            continue
        jobs.append(Job(incident, spec, str(run_dir), key, options.sandbox, model, grader, passed))
    if options.limit is not None:
        jobs = jobs[:options.limit]
    summary.todo = len(jobs)
    return jobs, finished


def _execute(jobs: list[Job], options: RunOptions, log: EventLog,
             on_progress: Callable[[str, str], None] | None) -> Iterator[tuple[Job, dict[str, Any]]]:
    """(job, outcome) as each finishes; at most `jobs` in flight; only this thread writes state."""
    def started(job: Job) -> None:
        log.event("start", job.incident.id)
        if on_progress is not None:
            on_progress("start", job.incident.id)

    if options.executor == "ray":
        yield from _execute_ray(jobs, options.jobs, started)
        return
    queue = iter(jobs)
    with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="backtest-run") as pool:
        pending: dict[Future[dict[str, Any]], Job] = {}
        while True:
            while len(pending) < options.jobs and (job := next(queue, None)) is not None:
                started(job)
                pending[pool.submit(investigate, job)] = job
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                yield job, _outcome(future)


def _outcome(future: Future[dict[str, Any]]) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001 - a bug in one investigation is recorded, the rest go on
        return {"failed": {"reason": "crashed", "message": f"{type(err).__name__}: {err}"}}


def _execute_ray(jobs: list[Job], concurrency: int,
                 started: Callable[[Job], None]) -> Iterator[tuple[Job, dict[str, Any]]]:
    """The same investigations as Ray tasks (ray_executor.as_finished, as for `analyze --executor ray`:
    RAY_ADDRESS, else a local Ray, the folder at the same path on every node); a task Ray lost fails
    its investigation only."""
    from agentbook.backtest.ray_executor import TaskDied, as_finished

    for job, outcome in as_finished(investigate, jobs, concurrency, started):
        yield job, ({"failed": {"reason": "crashed", "message": str(outcome)}} if isinstance(outcome, TaskDied)
                    else outcome)


def _save(job: Job, outcome: dict[str, Any], log: EventLog, summary: RunSummary,
          on_progress: Callable[[str, str], None] | None) -> None:
    run_dir = Path(job.run_dir)
    inv_id = job.incident.id
    if "result" in outcome:
        result = outcome["result"]
        atomic_write_json(run_dir / "result.json", result)  # last: the marker that this one is done
        (run_dir / "error.json").unlink(missing_ok=True)
        log.event("done", inv_id, verdict=result["verdict"], seconds=result["seconds"])
        summary.done += 1
        summary.correct += result["verdict"] == "correct"
        summary.wrong += result["verdict"] != "correct"
        event = "done"
    else:
        failure = outcome["failed"]
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "error.json", failure)
        log.event("failed", inv_id, reason=failure["reason"], message=failure["message"][:300])
        summary.failed.append({"id": inv_id, "reason": failure["reason"], "message": failure["message"][:300]})
        event = "failed"
    if on_progress is not None:
        on_progress(event, inv_id)


def write_manifest(out: Path, spec: RunSpec, incidents: list[Incident], model: str | None,
                   grader: str | None, code: str) -> int:
    """The manifest of every finished investigation of this code state, in the inputs' order."""
    lines = []
    for incident in incidents:
        run_dir = out / RUNS_DIR / incident.id
        result = _finished(run_dir, run_key(spec, incident, code, model, grader))
        if result is None or not (run_dir / TRACE_FILE).is_file():
            continue
        failing = [f"{a['type']}: {a['reason']}" for a in result.get("asserts", []) if not a.get("pass")]
        metadata = {**incident.metadata, "system": spec.name, "code": code, "exit_code": result["exit_code"],
                    "seconds": result["seconds"], "failed_asserts": failing}
        if model:
            metadata["model"] = model
        lines.append(json.dumps({"id": incident.id, "account": incident.account,
                                 "trace": f"{RUNS_DIR}/{incident.id}/{TRACE_FILE}", "answer": result["answer"],
                                 "truth": incident.truth, "verdict": result["verdict"], "score": result["score"],
                                 "metadata": metadata}, ensure_ascii=False))
    atomic_write_text(out / "manifest.jsonl", "".join(line + "\n" for line in lines))
    return len(lines)

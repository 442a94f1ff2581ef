"""`backtest analyze`: one analyst per investigation, many at once, every result saved as it lands.

A re-run skips investigations whose analysis.json records the same input hash and analyst prompt hash
and redoes the rest (failed, changed, never finished). A `kill -9` loses only the analyses in flight:
each finished one is written atomically before the next starts counting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.analysis import input_hash, prompt_hash
from agentbook.backtest.analyst import AnalysisFailed, AnalystSettings, analyse
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.progress import AnalyzeProgress
from agentbook.backtest.state import EventLog, run_lock, save_analysis, save_failure
from agentbook.errors import FatalError, UsageError
from agentbook.outcome import EXIT_CODES, OutcomeKind

EXECUTORS = ("local", "ray")
RETRYABLE = ("api_error", "crashed", "budget_exhausted", "invalid_answer")


@dataclass
class AnalyzeOptions:
    model: str
    concurrency: int = 25
    code: str | None = None
    limit: int | None = None
    only: list[str] = field(default_factory=list)
    batch: bool = False
    executor: str = "local"
    retries: int = 1  # extra rounds for analyses that failed in this run
    max_turns: int = 20
    max_usd: float | None = 1.0
    progress: bool | None = None  # None: draw the bar when stderr is a terminal


@dataclass
class AnalyzeSummary:
    folder: str
    mode: str
    executor: str
    total: int = 0
    skipped: int = 0
    todo: int = 0
    done: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float = 0.0
    wall_seconds: float = 0.0
    batches: list[str] = field(default_factory=list)
    done_ids: set[str] = field(default_factory=set, repr=False)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "done_ids"}
        out["cost_usd"] = round(self.cost_usd, 6)
        out["failed_count"] = len(self.failed)
        out["failed"] = self.failed[:20]
        return out


# What an executor calls back with: the investigation, then the analysis or the failure.
OnResult = Callable[[Investigation, "dict[str, Any] | AnalysisFailed"], None]


def plan(folder: BacktestFolder, options: AnalyzeOptions, hashes: set[str]
         ) -> tuple[list[Investigation], list[Investigation], int]:
    """(to analyse, already done, total considered). `hashes` are the prompt hashes that count as done."""
    invs = folder.investigations()
    if options.only:
        known = {i.id for i in invs}
        unknown = [x for x in options.only if x not in known]
        if unknown:
            raise FatalError(f"no investigation {unknown[0]!r} in {folder.root}",
                             hint="ids are listed in manifest.jsonl")
        wanted = set(options.only)
        invs = [i for i in invs if i.id in wanted]
    todo: list[Investigation] = []
    done: list[Investigation] = []
    for inv in invs:
        meta = (inv.analysis() or {}).get("meta") or {}
        # only an analysed folder needs hashing now; the others are hashed by their analysis, off the loop
        if meta.get("prompt_hash") in hashes and meta.get("input_hash") == input_hash(inv):
            done.append(inv)
        else:
            todo.append(inv)
    if options.limit is not None:
        todo = todo[:options.limit]
    return todo, done, len(invs)


def remove_stale_temps(folder: BacktestFolder) -> int:
    """Temp files a killed run left mid-write (atomic writes rename them into place only when whole)."""
    removed = 0
    for tmp in folder.investigations_dir.glob("*/*/.analysis.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _check(options: AnalyzeOptions) -> None:
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if options.executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}")
    if options.batch and options.executor != "local":
        raise UsageError("--batch submits to the Message Batches API; it does not combine with --executor ray")
    if options.code and not Path(options.code).is_dir():
        raise FatalError(f"--code is not a folder: {options.code}")
    if options.limit is not None and options.limit < 0:
        raise UsageError("--limit must be 0 or more")


def analyze_backtest(root: str | Path, options: AnalyzeOptions) -> AnalyzeSummary:
    _check(options)
    folder = BacktestFolder(root).require()
    with_code = options.code is not None
    live_hash = prompt_hash(model=options.model, with_code=with_code, mode="live")
    batch_hash = prompt_hash(model=options.model, with_code=False, mode="batch")
    started = time.monotonic()
    summary = AnalyzeSummary(folder=str(folder.root), mode="batch" if options.batch else "live",
                             executor=options.executor)
    with run_lock(folder.state / "analyze.lock"):
        remove_stale_temps(folder)
        todo, done, summary.total = plan(folder, options, {live_hash, batch_hash})
        summary.skipped, summary.todo = len(done), len(todo)
        log = EventLog(folder.state / "analyze.jsonl", uuid.uuid4().hex[:8])
        log.recover_done(done)
        settings = AnalystSettings(model=options.model, prompt_hash=batch_hash if options.batch else live_hash,
                                   code=str(Path(options.code).resolve()) if options.code else None,
                                   max_turns=options.max_turns, max_usd=options.max_usd,
                                   transcripts=str(folder.state / "transcripts"))
        with AnalyzeProgress(len(todo), enabled=options.progress) as bar:
            on_result = _recorder(log, bar, summary)
            if options.batch:
                from agentbook.backtest.batch import run_batches

                summary.batches = run_batches(folder, todo, settings, log, bar, on_result)
            else:
                _run_rounds(todo, settings, options, log, bar, on_result)
    # an investigation that failed and then succeeded in a retry round is done, not failed
    last = {f["id"]: f for f in summary.failed}  # the last failure per id counts
    summary.failed = [f for i, f in last.items() if i not in summary.done_ids]
    summary.wall_seconds = round(time.monotonic() - started, 3)
    return summary


def _recorder(log: EventLog, bar: AnalyzeProgress, summary: AnalyzeSummary) -> OnResult:
    def on_result(inv: Investigation, result: dict[str, Any] | AnalysisFailed) -> None:
        if isinstance(result, AnalysisFailed):
            save_failure(inv, result.reason, str(result), result.meta)
            log.event("failed", inv.id, reason=result.reason, message=str(result)[:300])
            summary.failed.append({"id": inv.id, "reason": result.reason, "message": str(result)[:300]})
            cost = float(result.meta.get("cost_usd") or 0)
        else:
            save_analysis(inv, result)
            log.event("done", inv.id, cost_usd=result["meta"]["cost_usd"])
            summary.done += 1
            summary.done_ids.add(inv.id)
            cost = float(result["meta"]["cost_usd"])
        summary.cost_usd += cost
        bar.finished(cost, ok=not isinstance(result, AnalysisFailed))

    return on_result


def _run_rounds(todo: list[Investigation], settings: AnalystSettings, options: AnalyzeOptions, log: EventLog,
                bar: AnalyzeProgress, on_result: OnResult) -> None:
    """The first round, then up to `retries` more for what failed with a retryable reason."""
    failed: list[Investigation] = []

    def start(inv: Investigation) -> None:
        log.event("start", inv.id)
        bar.started()

    def collect(inv: Investigation, result: dict[str, Any] | AnalysisFailed) -> None:
        on_result(inv, result)
        if isinstance(result, AnalysisFailed) and result.reason in RETRYABLE:
            failed.append(inv)

    this_round = todo
    with _ray_stopped_after() if options.executor == "ray" else contextlib.nullcontext():
        for round_no in range(1 + options.retries):
            if round_no:
                bar.retrying(len(this_round))
            if options.executor == "ray":
                from agentbook.backtest.ray_executor import run_ray

                run_ray(this_round, settings, options.concurrency, start, collect)
            else:
                asyncio.run(run_local(this_round, settings, options.concurrency, start, collect))
            this_round, failed[:] = list(failed), []
            if not this_round:
                return


def _ray_stopped_after() -> contextlib.AbstractContextManager[None]:
    """One local Ray for every round, shut down (its folder removed unless something failed) after them."""
    from agentbook.backtest.ray_executor import stopped_after

    return stopped_after()


async def run_local(todo: Iterable[Investigation], settings: AnalystSettings, concurrency: int,
                    on_start: Callable[[Investigation], None], on_result: OnResult,
                    analyse_fn: Callable[..., Awaitable[dict[str, Any]]] = analyse) -> None:
    """`concurrency` workers share one model (one connection pool, one rate-limit governor).

    Results are saved by one writer thread, in order: the fsyncs of atomic writes must neither stall
    the event loop the sessions share nor hold a worker back from its next analysis, and one writer
    keeps the counters and the event log free of races. A write that fails is raised at the end.
    """
    from agentbook.models import load_model

    model = load_model(settings.model)
    queue = iter(todo)  # workers pull lazily: memory stays flat in the number of investigations
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest-writer")
    errors: list[BaseException] = []
    fatal: list[AnalysisFailed] = []  # once one is fatal (bad key, spend limit), start no more

    def keep_error(future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            errors.append(error)

    def write(fn: Callable[..., None], *args: Any) -> None:
        writer.submit(fn, *args).add_done_callback(keep_error)

    async def worker() -> None:
        for inv in queue:
            if fatal:
                return
            write(on_start, inv)
            result = await analyse_safely(inv, settings, model, analyse_fn)
            write(on_result, inv, result)
            if isinstance(result, AnalysisFailed) and result.fatal:
                fatal.append(result)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await asyncio.to_thread(writer.shutdown, wait=True)
        await model.aclose()
    if errors:
        raise errors[0]
    if fatal:
        raise FatalError(f"analysis stopped: {fatal[0]}", exit_code=EXIT_CODES[OutcomeKind.API_ERROR],
                         hint="fix the model settings and run again; finished analyses are kept")


async def analyse_safely(inv: Investigation, settings: AnalystSettings, model: Any,
                         analyse_fn: Callable[..., Awaitable[dict[str, Any]]] = analyse
                         ) -> dict[str, Any] | AnalysisFailed:
    """Every way an analysis can end, as a value: one investigation never stops the others."""
    try:
        return await analyse_fn(inv, settings, model)
    except AnalysisFailed as err:
        return err
    except FatalError as err:
        return AnalysisFailed("error", err.render())
    except Exception as err:  # noqa: BLE001 - a bug shows in analysis.error.json with its traceback
        return AnalysisFailed("crashed", f"{type(err).__name__}: {err}",
                              {"traceback": traceback.format_exc(limit=6)})

"""`--executor ray` for `backtest analyze` and `backtest run`: the same work as Ray tasks, for backtests
bigger than one machine.

Both commands share `as_finished`: connect to Ray (`RAY_ADDRESS` when set, an already initialised Ray,
or a local instance of its own: `start`), keep at most `concurrency` tasks in flight, and hand each result back to the
driver as it finishes, so the driver stays the only writer of the folder; a task Ray lost comes back as
`TaskDied`, never raised, so one dead worker fails one item. Tasks need the folder at the same path (a
shared filesystem on a cluster). What a task is and what its failure becomes stay with each command:
an analysis opens its own model (a connection pool per worker process) and comes back as plain data
(`_task`, `run_ray` here); a run's investigation is `invoke.investigate` as it is, in produce.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from agentbook.backtest.analyst import AnalysisFailed, AnalystSettings
from agentbook.backtest.deps import need
from agentbook.backtest.folder import Investigation
from agentbook.console import echo
from agentbook.errors import FatalError

Item = TypeVar("Item")


class TaskDied(Exception):
    """A Ray task that raised or whose worker died: the message says which."""


def as_finished(fn: Callable[..., Any], items: Iterable[Item], concurrency: int,
                on_start: Callable[[Item], None], *args: Any) -> Iterator[tuple[Item, Any]]:
    """`fn(item, *args)` as Ray tasks, at most `concurrency` in flight, started lazily; yields (item, its
    result) as each finishes, with a `TaskDied` for a result where the task failed."""
    ray = need("ray", "--executor ray")
    if not ray.is_initialized():
        start(ray)
    remote = ray.remote(max_retries=0)(_in_folder)  # a retry is the pipeline's call, not Ray's
    here = os.getcwd()
    pending: dict[Any, Item] = {}
    queue = iter(items)
    while True:
        while len(pending) < concurrency and (item := next(queue, None)) is not None:
            on_start(item)
            pending[remote.remote(here, fn, item, *args)] = item
        if not pending:
            return
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            item = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a dead worker fails this one item, not the run
                result = TaskDied(f"ray task failed: {type(err).__name__}: {err}")
                _own.died = True
            yield item, result


def start(ray: Any) -> None:
    """Ray as the runner needs it. Ray puts the folder `ray.init` runs in first on every worker's `sys.path`,
    and its workers run outside every jail with the runner's environment (the API key, the GitHub token): typed
    in a repository's checkout, a package of the repository's (`agentbook/`) was the code the workers imported.
    So `ray.init` runs in an empty folder of this process's own, and each task goes back to the caller's folder
    (`_in_folder`) once agentbook is imported. Without `RAY_ADDRESS` the Ray is a new local one (`local`), with
    its files in that private folder: a plain `ray.init()` joins the cluster that `ray_current_cluster` in Ray's
    shared `/tmp/ray` names, a folder Ray leaves writable by every user of the host."""
    address = os.environ.get("RAY_ADDRESS") or "local"
    if address == "local":
        refuse_unauthenticated(str(getattr(ray, "__version__", "0")))
    base = tempfile.mkdtemp(prefix="agentbook-ray-")  # 0700, the runner's alone
    _own.base, _own.died = base, False
    empty = os.path.join(base, "cwd")
    os.mkdir(empty, 0o700)
    here = os.getcwd()
    os.chdir(empty)  # only during ray.init: the local node (raylet) starts here and the workers inherit it
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 **({"_temp_dir": os.path.join(base, "ray")} if address == "local" else {}))
    finally:
        os.chdir(here)


class _OwnRay:
    """The local Ray `start` made in this process: its folder, and whether a task of it died."""

    base: str | None = None
    died = False


_own = _OwnRay()


@contextlib.contextmanager
def stopped_after() -> Iterator[None]:
    """Around a command's Ray work: a Ray `start` made is shut down after it and its folder (Ray's logs
    and session files, one per run) removed, unless a task died or the work stopped with an error, when
    the folder is kept and its logs' place said on stderr. A Ray the caller started is left alone."""
    ok = False
    try:
        yield
        ok = not _own.died
    finally:
        _finish(ok)


def _finish(ok: bool) -> None:
    base, _own.base = _own.base, None
    if base is None:
        return
    import ray

    ray.shutdown()
    if ok:
        shutil.rmtree(base, ignore_errors=True)
    else:
        echo(f"--executor ray: Ray's logs of this run are kept in {os.path.join(base, 'ray', 'session_latest', 'logs')}",
             err=True)


AUTH_BY_DEFAULT = (2, 59)  # the first Ray whose local cluster asks for its token unless told not to


def refuse_unauthenticated(version: str) -> None:
    """A local Ray listens on every network interface of the host and runs whatever a client sends it, as
    the runner's user with the runner's environment; before 2.59 nothing asked a client for a token unless
    `RAY_AUTH_MODE=token` said to (2.52 on). Such a Ray is not started on the user's silence: an explicit
    `RAY_AUTH_MODE` is their choice."""
    if os.environ.get("RAY_AUTH_MODE"):
        return
    numbers = tuple(int(part) if part.isdigit() else 0 for part in version.split(".")[:2])
    if numbers < AUTH_BY_DEFAULT:
        raise FatalError(f"--executor ray: Ray {version} starts its local cluster without authentication, "
                         "listening on every network interface: anyone who reaches this machine could run code "
                         "as this user, with its API keys",
                         hint="install ray>=2.59 (token authentication by default), or set RAY_AUTH_MODE=token "
                              "(Ray 2.52 or later), or point RAY_ADDRESS at a cluster you secured")


def _in_folder(folder: str, fn: Callable[..., Any], item: Any, *args: Any) -> Any:
    """Runs in a Ray worker: `fn(item, *args)` in the caller's folder (relative paths mean what they meant
    there), which is not on `sys.path`; on a machine without that folder, where the worker is."""
    if os.path.isdir(folder):
        os.chdir(folder)
    return fn(item, *args)


def _task(inv: Investigation, settings: AnalystSettings) -> dict[str, Any]:
    """Runs in a Ray worker: one analysis with a model of its own; the result as plain data."""
    from agentbook.backtest.analyze import analyse_safely
    from agentbook.models import load_model

    async def go() -> dict[str, Any] | AnalysisFailed:
        model = load_model(settings.model)
        try:
            return await analyse_safely(inv, settings, model)
        finally:
            await model.aclose()

    result = asyncio.run(go())
    if isinstance(result, AnalysisFailed):
        return {"failed": {"reason": result.reason, "message": str(result), "meta": result.meta}}
    return {"analysis": result}


def run_ray(todo: list[Investigation], settings: AnalystSettings, concurrency: int,
            on_start: Callable[[Investigation], None],
            on_result: Callable[[Investigation, dict[str, Any] | AnalysisFailed], None]) -> None:
    for inv, out in as_finished(_task, todo, concurrency, on_start, settings):
        if isinstance(out, TaskDied):
            on_result(inv, AnalysisFailed("crashed", str(out)))
        elif "failed" in out:
            f = out["failed"]
            on_result(inv, AnalysisFailed(f["reason"], f["message"], f["meta"]))
        else:
            on_result(inv, out["analysis"])

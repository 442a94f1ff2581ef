"""Resume after kill -9, batch mode (and resuming a batch), and the Ray executor."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import anthropic
import jsonschema
import pytest

from agentbook.backtest.analysis import analysis_schema, input_hash, prompt_hash
from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.fsutil import read_jsonl
from agentbook.standin import running

from .conftest import REPO, copy_backtest, script_with


def _analyze_cmd(folder: Path, model: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agentbook", "backtest", "analyze", str(folder), "--model", model, "--json",
            *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "runner")}


def _assert_complete(folder: Path, total: int) -> None:
    invs = BacktestFolder(folder).investigations()
    assert len(invs) == total
    for inv in invs:
        jsonschema.validate(json.loads((inv.path / "analysis.json").read_text()), analysis_schema())
        assert (inv.path / "analysis.md").is_file()
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp-")]
    assert leftovers == []


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume(small: Path, tmp_path: Path) -> None:
    folder = copy_backtest(small, tmp_path / "bt")
    script = script_with("defaults: {latency_ms: 40}\n", tmp_path)
    model = f"scripted:{script}"
    rng = random.Random(20261126)
    log = folder / ".agentbook" / "analyze.jsonl"
    kills = 0
    for _ in range(8):  # kill at least three times, and until some analyses have finished in between
        if kills >= 3 and list(folder.rglob("analysis.json")):
            break
        seen = len(read_jsonl(log))
        proc = subprocess.Popen(_analyze_cmd(folder, model, "--concurrency", "4"), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60  # start-up time varies with load: wait for work to begin
        while len(read_jsonl(log)) <= seen and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.1, 1.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    done_before = len(list(folder.rglob("analysis.json")))
    final = subprocess.run(_analyze_cmd(folder, model, "--concurrency", "4"), env=_env(), capture_output=True,
                           check=False,
                           text=True, timeout=240)
    assert final.returncode == 0, final.stderr
    print(f"\nkills: {kills}, analyses finished before the last run: {done_before}, "
          f"last run: {json.loads(final.stdout)['done']}")
    assert kills >= 2 and 0 < done_before < 60
    _assert_complete(folder, 60)
    # nothing finished was ever started again; re-starts are only what was in flight at a kill
    events = read_jsonl(folder / ".agentbook" / "analyze.jsonl")
    finished: set[str] = set()
    starts: Counter[str] = Counter()
    in_flight_at_kill: defaultdict[str, int] = defaultdict(int)
    for e in events:
        if e["event"] == "start":
            assert e["id"] not in finished, f"{e['id']} analysed twice"
            starts[e["id"]] += 1
        elif e["event"] == "done":
            finished.add(e["id"])
    assert finished == {i.id for i in BacktestFolder(folder).investigations()}
    for inv_id, n in starts.items():
        in_flight_at_kill[inv_id] = n - 1
    assert max(in_flight_at_kill.values()) <= kills
    assert sum(in_flight_at_kill.values()) <= kills * 4  # at most `concurrency` in flight per kill


def test_batch_mode_analyses_at_the_batch_price(imported: Path, tmp_path: Path) -> None:
    folder = copy_backtest(imported, tmp_path / "bt")
    ids = [i.id for i in BacktestFolder(folder).investigations()][:12]
    script = script_with("model: claude-haiku-4-5\nserver: {batch_seconds: 0.3}\n", tmp_path)
    script.write_text(script.read_text().replace("\nmodel: scripted\n", "\n", 1))
    with running(script) as server:
        spec = f"compat:{server.base_url}#claude-haiku-4-5"
        summary = analyze_backtest(folder, AnalyzeOptions(model=spec, only=ids, batch=True, progress=False))
        batch_creates = server.requests("/v1/messages/batches")
        live = analyze_backtest(copy_backtest(imported, tmp_path / "live"),
                                AnalyzeOptions(model=spec, only=ids, progress=False))
    assert summary.done == 12 and not summary.failed and len(summary.batches) == 1
    assert len([r for r in batch_creates if r["method"] == "POST"]) == 1
    analyses = [json.loads(p.read_text()) for p in folder.rglob("analysis.json")]
    assert {a["meta"]["mode"] for a in analyses} == {"batch"} and all(a["meta"]["turns"] == 1 for a in analyses)
    print(f"\n12 analyses: batch ${summary.cost_usd:.5f} vs live ${live.cost_usd:.5f}")
    assert 0 < summary.cost_usd < live.cost_usd
    again = analyze_backtest(folder, AnalyzeOptions(model=spec, only=ids, batch=True, progress=False))
    assert (again.done, again.skipped, again.batches) == (0, 12, [])


@pytest.mark.slow
def test_a_killed_batch_run_resumes_polling_and_never_resubmits(small: Path, tmp_path: Path) -> None:
    folder = copy_backtest(small, tmp_path / "bt")
    script = script_with("server: {batch_seconds: 6}\n", tmp_path)
    with running(script) as server:
        spec = f"compat:{server.base_url}#scripted"
        proc = subprocess.Popen(_analyze_cmd(folder, spec, "--batch", "--limit", "30"), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = folder / ".agentbook" / "batches.jsonl"
        deadline = time.monotonic() + 60
        while not [r for r in read_jsonl(state) if r["status"] == "submitted"] and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert list(folder.rglob("analysis.json")) == []  # killed while the batch was in progress
        submitted = read_jsonl(state)[1]["batch"]
        summary = analyze_backtest(folder, AnalyzeOptions(model=spec, batch=True, limit=30, progress=False))
        creates = [r for r in server.requests("/v1/messages/batches") if r["method"] == "POST"]
    assert summary.batches == [submitted] and len(creates) == 1
    assert summary.done == 30
    assert [r["status"] for r in read_jsonl(state)] == ["submitting", "submitted", "collected"]


def _orphan(folder: Path, spec: str, count: int, create: bool) -> str:
    """What a run killed inside `batches.create` leaves: its `submitting` line, and (if the request
    reached the API) the batch, created but never recorded. Returns the intent."""
    from agentbook.backtest.batch import request_params

    invs = BacktestFolder(folder).investigations()[:count]
    intent = "0123456789ab"
    items = {f"{intent}-r{n:06d}": inv.id for n, inv in enumerate(invs)}
    state = folder / ".agentbook" / "batches.jsonl"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({
        "intent": intent, "status": "submitting", "items": items,
        "input_hashes": {inv.id: input_hash(inv) for inv in invs},
        "prompt_hash": prompt_hash(model=spec, with_code=False, mode="batch"), "model": spec,
        "submitted_at": datetime.now(UTC).isoformat(timespec="seconds")}) + "\n")
    if create:
        base_url = spec.removeprefix("compat:").split("#")[0]
        with anthropic.Anthropic(base_url=base_url, api_key="k") as client:
            client.messages.batches.create(requests=[
                {"custom_id": cid, "params": request_params(inv, "scripted")}
                for cid, inv in zip(items, invs, strict=True)])
    return intent


def test_a_batch_created_by_a_run_killed_before_recording_it_is_adopted_not_paid_twice(
        small: Path, tmp_path: Path) -> None:
    folder = copy_backtest(small, tmp_path / "bt")
    script = script_with("server: {batch_seconds: 0.3}\n", tmp_path)
    with running(script) as server:
        spec = f"compat:{server.base_url}#scripted"
        # someone else's batches on the same account, one as big as the killed run's: a candidate too
        with anthropic.Anthropic(base_url=server.base_url, api_key="k") as client:
            strangers = [client.messages.batches.create(requests=[
                {"custom_id": f"other-{n}", "params": {"model": "scripted", "max_tokens": 10,
                                                       "messages": [{"role": "user", "content": "hi"}]}}
                for n in range(size)]).id for size in (1, 5)]
        intent = _orphan(folder, spec, 5, create=True)
        first = AnalyzeOptions(model=spec, batch=True, progress=False,
                               only=[i.id for i in BacktestFolder(folder).investigations()[:5]])
        summary = analyze_backtest(folder, first)
        creates = [r for r in server.requests("/v1/messages/batches") if r["method"] == "POST"]
        again = analyze_backtest(folder, first)
    assert len(creates) == 3  # the strangers' and the killed run's: nothing sent again
    assert summary.done == 5 and not summary.failed  # the killed run's results, the stranger's ignored
    lines = read_jsonl(folder / ".agentbook" / "batches.jsonl")
    adopted = [r["batch"] for r in lines if r["status"] == "submitted"]
    assert strangers[0] not in adopted and strangers[1] in adopted and len(adopted) == 2
    assert all(r["intent"] == intent and r["adopted"] for r in lines if r["status"] == "submitted")
    assert sorted(r["batch"] for r in lines if r["status"] == "collected") == sorted(adopted)
    assert (again.done, again.batches) == (0, [])  # settled: nothing to adopt, poll or send


def test_an_intent_whose_batch_never_reached_the_api_is_sent_again(small: Path, tmp_path: Path) -> None:
    folder = copy_backtest(small, tmp_path / "bt")
    script = script_with("server: {batch_seconds: 0.3}\n", tmp_path)
    with running(script) as server:
        spec = f"compat:{server.base_url}#scripted"
        intent = _orphan(folder, spec, 5, create=False)
        summary = analyze_backtest(folder, AnalyzeOptions(model=spec, batch=True, limit=5, progress=False))
        creates = [r for r in server.requests("/v1/messages/batches") if r["method"] == "POST"]
    assert len(creates) == 1 and summary.done == 5
    lines = read_jsonl(folder / ".agentbook" / "batches.jsonl")
    assert [r["status"] for r in lines] == ["submitting", "abandoned", "submitting", "submitted", "collected"]
    assert lines[1]["intent"] == intent != lines[2]["intent"]


@pytest.mark.slow
def test_ray_executor_runs_the_same_analyses(imported: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from .conftest import SCRIPTED

    folder = copy_backtest(imported, tmp_path / "bt")
    ids = [i.id for i in BacktestFolder(folder).investigations()][:4]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = analyze_backtest(folder, AnalyzeOptions(model=SCRIPTED, only=ids, executor="ray",
                                                          concurrency=2, progress=False))
    finally:
        ray.shutdown()
    assert summary.done == 4 and not summary.failed and summary.executor == "ray"
    local = copy_backtest(imported, tmp_path / "local")
    analyze_backtest(local, AnalyzeOptions(model=SCRIPTED, only=ids, progress=False))
    for inv_id in ids:
        a = json.loads(next(folder.rglob(f"{inv_id}/analysis.json")).read_text())
        b = json.loads(next(local.rglob(f"{inv_id}/analysis.json")).read_text())
        a.pop("meta"), b.pop("meta")
        assert a == b

"""`analyze --batch`: single-turn analyses through the Message Batches API, at the batch price.

Each investigation becomes one request (its key files inlined, no tools). Batch ids are appended to
`.agentbook/batches.jsonl` as soon as the API returns them, so a run killed while a batch is processing
resumes polling that batch on the next run instead of paying for it twice. A batch whose results were
collected gets a `collected` line; its failures are resubmitted by the next run.

A kill while the batch is being created (after the request left, before its id was written) is covered
too: a `submitting` line goes first, naming the requests' custom ids (all starting with the line's
`intent`). The next run looks for batches the account created since, with as many requests, and polls
them as possibly its own; the results say which one is (custom ids with the intent's prefix). When the
API has no such batch, the create never landed and the requests are sent again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentbook.backtest.analysis import AnalysisInvalid, input_hash, parse_answer, system_prompt, task_prompt
from agentbook.backtest.analyst import AnalysisFailed, AnalystSettings
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.progress import AnalyzeProgress
from agentbook.backtest.state import EventLog
from agentbook.errors import FatalError
from agentbook.fsutil import append_line, read_jsonl

BATCH_MAX = 1000  # requests per batch (the API allows 100,000; smaller batches finish and save sooner)
# a batch created by a killed run falls between its `submitting` line's time minus the first (clock skew)
# and plus the second (the create call's upload)
ORPHAN_WINDOW = (timedelta(minutes=2), timedelta(hours=1))
MAX_TOKENS = 4096
POLL_SECONDS = (0.2, 30.0)  # first and longest wait between status checks

OnResult = Callable[[Investigation, "dict[str, Any] | AnalysisFailed"], None]


def run_batches(folder: BacktestFolder, todo: list[Investigation], settings: AnalystSettings, log: EventLog,
                bar: AnalyzeProgress, on_result: OnResult) -> list[str]:
    import anthropic

    from agentbook.models.errors import from_sdk

    try:
        return asyncio.run(_run(folder, todo, settings, log, bar, on_result))
    except anthropic.APIError as err:  # the SDK already retried; say what the API said, no traceback
        raise from_sdk(err, settings.model) from err


def _client(spec: str) -> tuple[Any, Any]:
    from agentbook.models import load_model
    from agentbook.models.backend import MessagesBackend, make_client

    model = load_model(spec)
    if not isinstance(model, MessagesBackend):
        raise FatalError(f"--batch needs a Messages API backend; {spec} is not one")
    return model, make_client(model.backend, model.base_url)


def open_batches(folder: BacktestFolder) -> dict[str, dict[str, Any]]:
    """Batches submitted and not yet collected, by id, from the state file (torn last line skipped)."""
    records = read_jsonl(folder.state / "batches.jsonl")
    collected = {r["batch"] for r in records if r.get("status") == "collected"}
    return {r["batch"]: r for r in records if r.get("status") == "submitted" and r["batch"] not in collected}


def unsettled_intents(folder: BacktestFolder) -> list[dict[str, Any]]:
    """`submitting` lines no later line settles (with the batch it created, or as abandoned)."""
    records = read_jsonl(folder.state / "batches.jsonl")
    settled = {r.get("intent") for r in records if r.get("status") in ("submitted", "abandoned")}
    return [r for r in records if r.get("status") == "submitting" and r.get("intent") not in settled]


async def adopt_orphans(client: Any, folder: BacktestFolder, state: Path) -> None:
    """Settle each unsettled intent: every batch the account created in its window, with as many requests,
    that no line names yet becomes a `submitted` line for it (collecting tells whether the batch really
    was its; a stranger's yields nothing); with no such batch the intent is `abandoned`."""
    intents = unsettled_intents(folder)
    if not intents:
        return
    known = {r.get("batch") for r in read_jsonl(state)}
    earliest = min(_when(i["submitted_at"]) for i in intents) - ORPHAN_WINDOW[0]
    candidates = []
    async for batch in client.messages.batches.list(limit=100):  # newest first
        if batch.created_at < earliest:
            break
        if batch.id not in known:
            candidates.append(batch)
    for intent in intents:
        start = _when(intent["submitted_at"])
        mine = [b for b in candidates if start - ORPHAN_WINDOW[0] <= b.created_at <= start + ORPHAN_WINDOW[1]
                and _total(b) == len(intent["items"])]
        for batch in mine:
            append_line(state, json.dumps({**intent, "status": "submitted", "batch": batch.id, "adopted": True}))
        if not mine:
            append_line(state, json.dumps({"intent": intent["intent"], "status": "abandoned"}))


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _total(batch: Any) -> int:
    counts = batch.request_counts
    return int(counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired)


def request_params(inv: Investigation, model_name: str) -> dict[str, Any]:
    return {"model": model_name, "max_tokens": MAX_TOKENS, "system": system_prompt(False, "batch"),
            "messages": [{"role": "user", "content": task_prompt(inv, "batch")}]}


async def _run(folder: BacktestFolder, todo: list[Investigation], settings: AnalystSettings, log: EventLog,
               bar: AnalyzeProgress, on_result: OnResult) -> list[str]:
    model, client = _client(settings.model)
    state = folder.state / "batches.jsonl"
    try:
        await adopt_orphans(client, folder, state)
        pending = open_batches(folder)
        for record in pending.values():  # a killed run's batches: poll them, never resubmit
            for inv_id in record["items"].values():
                log.event("resume", inv_id, batch=record["batch"])
                bar.started()
        in_flight = {inv_id for record in pending.values() for inv_id in record["items"].values()}
        fresh = [inv for inv in todo if inv.id not in in_flight]
        for start in range(0, len(fresh), BATCH_MAX):
            chunk = fresh[start:start + BATCH_MAX]
            intent = uuid.uuid4().hex[:12]
            items = {f"{intent}-r{n:06d}": inv.id for n, inv in enumerate(chunk)}
            requests = [{"custom_id": cid, "params": request_params(inv, model.name)}
                        for cid, inv in zip(items, chunk, strict=True)]
            record = {"intent": intent, "status": "submitting", "items": items,
                      # what each request was built from: an input changed before collection is redone
                      "input_hashes": {inv.id: input_hash(inv) for inv in chunk},
                      "prompt_hash": settings.prompt_hash, "model": settings.model,
                      "submitted_at": datetime.now(UTC).isoformat(timespec="seconds")}
            append_line(state, json.dumps(record))
            batch = await client.messages.batches.create(requests=requests)
            record = {**record, "status": "submitted", "batch": batch.id}
            append_line(state, json.dumps(record))
            pending[batch.id] = record
            for inv in chunk:
                log.event("start", inv.id, batch=batch.id)
                bar.started()
        by_id = {inv.id: inv for inv in folder.iter_investigations()}
        await _collect_all(client, pending, by_id, settings, state, on_result)
        return list(pending)
    finally:
        await client.close()
        await model.aclose()


async def _collect_all(client: Any, pending: dict[str, dict[str, Any]], by_id: dict[str, Investigation],
                       settings: AnalystSettings, state: Any, on_result: OnResult) -> None:
    waiting = dict(pending)
    delay = POLL_SECONDS[0]
    while waiting:
        for batch_id in list(waiting):
            status = await client.messages.batches.retrieve(batch_id)
            if status.processing_status == "ended":
                await _collect(client, batch_id, waiting.pop(batch_id), by_id, settings, on_result)
                append_line(state, json.dumps({"batch": batch_id, "status": "collected"}))
        if waiting:
            await asyncio.sleep(delay)
            delay = min(POLL_SECONDS[1], delay * 1.5)


async def _collect(client: Any, batch_id: str, record: dict[str, Any], by_id: dict[str, Investigation],
                   settings: AnalystSettings, on_result: OnResult) -> None:
    from agentbook.models.backend import usage_from_sdk
    from agentbook.models.pricing import cost_usd

    async for entry in await client.messages.batches.results(batch_id):
        inv = by_id.get(record["items"].get(entry.custom_id, ""))
        if inv is None:
            continue  # the investigation was removed from the folder since
        meta: dict[str, Any] = {"model": settings.model, "mode": "batch", "input_hash": record.get("input_hashes", {}).get(inv.id, ""),
                                "prompt_hash": record["prompt_hash"], "turns": 0, "batch": batch_id,
                                "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}
        result = entry.result
        if result.type != "succeeded":
            detail = getattr(getattr(result, "error", None), "error", None)
            on_result(inv, AnalysisFailed(f"batch_{result.type}", str(getattr(detail, "message", result.type)),
                                          meta))
            continue
        message = result.message
        usage = usage_from_sdk(message.usage)
        usd, estimated = cost_usd(message.model, usage, batch=True)
        meta.update(turns=1, usage=usage.to_json(), cost_usd=round(usd, 6), cost_estimated=estimated, seconds=0.0)
        text = "".join(getattr(b, "text", "") for b in message.content if b.type == "text")
        try:
            finding = parse_answer(text)
        except AnalysisInvalid as err:
            on_result(inv, AnalysisFailed("invalid_answer", str(err), meta))
            continue
        on_result(inv, {"id": inv.id, "account": inv.account, **finding, "meta": meta})

"""Message Batches for the stand-in: a batch stays `in_progress` for a configured time, then every
request in it is answered through the script (non-streaming) and the batch `ended`.

Results are computed lazily when a client next looks, so no background task is needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# answers one batch request: ("succeeded", message) or ("errored", error body)
Answer = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    id: str
    requests: list[dict[str, Any]]
    created: float  # wall clock, for the timestamps
    ready_at: float  # monotonic time processing ends
    cancel_at: float | None = None
    ended: float | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class BatchStore:
    def __init__(self, seconds: float, answer: Answer) -> None:
        self.seconds = seconds
        self._answer = answer
        self._batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def create(self, requests: list[dict[str, Any]]) -> Batch:
        with self._lock:
            batch_id = f"msgbatch_standin{len(self._batches) + 1:06d}"
            batch = Batch(batch_id, requests, time.time(), time.monotonic() + self.seconds)
            self._batches[batch_id] = batch
        return batch

    def get(self, batch_id: str) -> Batch | None:
        batch = self._batches.get(batch_id)
        if batch is not None:
            self._advance(batch)
        return batch

    def all(self) -> list[Batch]:
        batches = sorted(self._batches.values(), key=lambda b: b.id, reverse=True)
        for b in batches:
            self._advance(b)
        return batches

    def cancel(self, batch_id: str) -> Batch | None:
        batch = self._batches.get(batch_id)
        if batch is not None and batch.ended is None and batch.cancel_at is None:
            batch.cancel_at = time.time()
        return batch

    def _advance(self, batch: Batch) -> None:
        with self._lock:
            if batch.ended is not None:
                return
            if batch.cancel_at is not None:
                batch.results = [{"custom_id": r["custom_id"], "result": {"type": "canceled"}}
                                 for r in batch.requests]
            elif time.monotonic() >= batch.ready_at:
                batch.results = [self._result(r) for r in batch.requests]
            else:
                return
            batch.ended = time.time()

    def _result(self, request: dict[str, Any]) -> dict[str, Any]:
        kind, payload = self._answer(dict(request.get("params") or {}))
        key = "message" if kind == "succeeded" else "error"
        return {"custom_id": request["custom_id"], "result": {"type": kind, key: payload}}


def batch_json(batch: Batch, base_url: str) -> dict[str, Any]:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if batch.ended is None:
        counts["processing"] = len(batch.requests)
        status = "canceling" if batch.cancel_at is not None else "in_progress"
    else:
        status = "ended"
        for r in batch.results:
            counts[r["result"]["type"]] += 1
    return {
        "id": batch.id, "type": "message_batch", "processing_status": status, "request_counts": counts,
        "created_at": _iso(batch.created),
        "expires_at": _iso(batch.created + timedelta(hours=24).total_seconds()),
        "ended_at": _iso(batch.ended) if batch.ended else None,
        "cancel_initiated_at": _iso(batch.cancel_at) if batch.cancel_at else None,
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if batch.ended else None,
    }

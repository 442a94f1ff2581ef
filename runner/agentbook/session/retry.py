"""How the session treats a failed model request: retry the turn, wait for the rate limit, or stop."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}
RATE_STATUSES = {429, 529}
BACKOFF_BASE, BACKOFF_MAX = 0.5, 30.0


@dataclass
class Failure:
    kind: str  # rate_limit | transient | fatal
    status: int | None
    message: str
    retry_after: float | None = None
    request_id: str | None = None


def classify(err: BaseException) -> Failure:
    """Sort an exception from `Model.complete` into what the session does next."""
    status = _status(err)
    retry_after = getattr(err, "retry_after", None)
    message = f"{type(err).__name__}: {err}"
    request_id = getattr(err, "request_id", None)
    retryable = getattr(err, "retryable", None)
    if status in RATE_STATUSES:
        return Failure("rate_limit", status, message, retry_after, request_id)
    if retryable is True or status in RETRY_STATUSES or (status is None and retryable is None):
        # no status: a dropped connection or an error event mid-stream; the whole turn is retried
        return Failure("transient", status, message, retry_after, request_id)
    return Failure("fatal", status, message, retry_after, request_id)


def _status(err: BaseException) -> int | None:
    for attr in ("status", "status_code"):
        value = getattr(err, attr, None)
        if isinstance(value, int):
            return value
    return None


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry `attempt` (1-based): the server's retry-after, else exponential with jitter."""
    if retry_after is not None and retry_after >= 0:
        return float(retry_after)
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

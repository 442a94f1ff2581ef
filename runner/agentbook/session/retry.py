"""How the session treats a failed model request: retry the whole turn after a pause, or stop.

The backend already retries each HTTP request (the SDK's retries) and reports 429/529 to the shared
governor. What reaches the session is what those could not fix: a retryable `ModelError` (rate limit,
overload, a dropped connection, an error event mid-stream, which the SDK never retries) gets the whole
turn retried; auth, spend-limit and bad-request errors stop the session at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from agentbook.models.errors import ModelError
from agentbook.models.governor import GOVERNOR

BACKOFF_BASE, BACKOFF_MAX = 0.25, 20.0


@dataclass
class Failure:
    retryable: bool
    message: str
    evidence: dict[str, Any]

    @property
    def status(self) -> int | None:
        status = self.evidence.get("status")
        return status if isinstance(status, int) else None


def classify(err: ModelError) -> Failure:
    return Failure(err.retryable, err.render(), err.evidence())


def pause(attempt: int) -> float:
    """Seconds before whole-turn retry `attempt` (1-based): the governor's pause when one is in force
    (a 429/529 anywhere in the process), else exponential backoff with jitter."""
    governed = GOVERNOR.delay()
    if governed > 0:
        return governed
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

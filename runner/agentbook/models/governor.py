"""One rate-limit governor per process, shared by every backend and session.

The SDK retries a 429/529 on its own, but only for the request that got it; the governor makes the
whole process back off: every attempt (SDK retries included, via an httpx request hook) waits while a
pause is in force. A pause lasts the server's retry-after when it sends one, else an exponential
backoff with full jitter, so 25 sessions do not stampede the moment a limit lifts.

No asyncio primitives are kept, only monotonic times, so one governor serves any event loop/thread.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

BASE_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER_FRACTION = 0.1  # spread waiters over up to 10% of the pause (at most JITTER_CAP seconds)
JITTER_CAP = 0.25


@dataclass
class GovernorStats:
    limited: int = 0  # 429/529 responses seen
    waits: int = 0  # attempts that had to wait
    waited_seconds: float = 0.0


class Governor:
    def __init__(self, *, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._paused_until = 0.0
        self._streak = 0
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self.stats = GovernorStats()

    def delay(self) -> float:
        """Seconds the next attempt should wait (0 when no pause is in force), jitter included."""
        remaining = self._paused_until - self._clock()
        if remaining <= 0:
            return 0.0
        return remaining + self._rng.uniform(0, min(JITTER_CAP, remaining * JITTER_FRACTION))

    async def wait(self) -> None:
        delay = self.delay()
        if delay > 0:
            self.stats.waits += 1
            self.stats.waited_seconds += delay
            await asyncio.sleep(delay)

    def limited(self, retry_after: float | None) -> float:
        """Record a 429/529; returns the pause now in force (seconds from now).

        The server's retry-after is obeyed as given. Without one, the backoff grows one step per
        failure *window*: the many sessions that fail at the same moment count once, not once each.
        """
        with self._lock:
            now = self._clock()
            self.stats.limited += 1
            if retry_after is not None and retry_after >= 0:
                pause = retry_after
            else:
                if now >= self._paused_until:
                    self._streak += 1
                step = BASE_BACKOFF * 2 ** (max(self._streak, 1) - 1)
                pause = self._rng.uniform(0, min(MAX_BACKOFF, step))
            self._paused_until = max(self._paused_until, now + pause)
            return self._paused_until - now

    def ok(self) -> None:
        """Record a success: the backoff streak starts over."""
        self._streak = 0

    def reset(self) -> None:
        with self._lock:
            self._paused_until, self._streak = 0.0, 0
            self.stats = GovernorStats()


GOVERNOR = Governor()  # the one instance every backend shares

"""Durations, one grammar for every place that takes one (`--timeout`, a runbook's `limits.timeout`,
the runbook schema): seconds as a number, or a string of hours, minutes and seconds in that order,
each optional (`90`, `90s`, `45m`, `1.5h`, `1h30m`, `2m30s`). Zero and negatives are refused: a
zero wall clock would end a session before its first request."""

from __future__ import annotations

import math
import re
from typing import Any

from agentbook.errors import FatalError

_NUMBER = r"\d+(?:\.\d+)?"
# Shared with schemas/runbook.schema.json ("duration"); a test holds the two to the same samples.
PATTERN = rf"^(?=\D*[1-9])(?:{_NUMBER}|(?:{_NUMBER}h)?(?:{_NUMBER}m)?(?:{_NUMBER}s)?)$"
_PARTS = re.compile(rf"^(?:(?P<bare>{_NUMBER})|(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?)$")
HINT = "use seconds or hours, minutes and seconds: 90, 90s, 45m, 1h30m"


def parse_duration(value: Any, *, where: str = "timeout", error: type[FatalError] = FatalError) -> float:
    """Seconds from a number or a duration string; `error` (with `where` in its message) otherwise."""
    if isinstance(value, bool):
        raise error(f"{where}: expected a duration, got {value!r}", hint=HINT)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        found = _PARTS.match(text)
        if found is None or not text:
            raise error(f"{where}: expected a duration, got {value!r}", hint=HINT)
        parts = {k: float(v) if v else 0.0 for k, v in found.groupdict().items()}
        seconds = parts["bare"] + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if not math.isfinite(seconds):  # YAML's .nan and .inf: NaN compares false with everything, bounding nothing
        raise error(f"{where}: the duration must be finite, got {value!r}", hint=HINT)
    if not seconds > 0:
        raise error(f"{where}: the duration must be above zero, got {value!r}", hint=HINT)
    return seconds

"""A lock that fails fast: one process per run, one watcher per folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

from agentbook.fsutil import exclusive_lock


def exclusive(path: Path, busy: str) -> contextlib.AbstractContextManager[None]:
    """Hold an exclusive advisory lock on `path` (freed when the process dies); FatalError(busy) when
    another process holds it, instead of waiting."""
    return exclusive_lock(path, busy)

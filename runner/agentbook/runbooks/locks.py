"""A lock that fails fast: one process per run, one watcher per folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from agentbook.errors import FatalError


@contextlib.contextmanager
def exclusive(path: Path, busy: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (freed when the process dies); FatalError(busy) when
    another process holds it, instead of waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FatalError(busy) from None
        yield
    finally:
        os.close(fd)

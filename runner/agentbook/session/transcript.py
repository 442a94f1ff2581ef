"""The transcript: JSONL, one event per line, flushed as it happens and redacted.

Each line is `{"t": <unix seconds>, "session": id, "event": kind, ...}`. Flushing (not fsync) is
enough for `kill -9`: the kernel keeps what was written; a torn last line is skipped by readers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

from agentbook.session.redact import Redactor


class Transcript:
    def __init__(self, path: Path | str | None, session_id: str, redactor: Redactor) -> None:
        self.path = Path(path) if path is not None else None
        self.session_id = session_id
        self.redactor = redactor
        self._fh: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the session

    def event(self, kind: str, /, **fields: Any) -> None:
        if self._fh is None:
            return
        record = {"t": round(time.time(), 3), "session": self.session_id, "event": kind, **fields}
        self._fh.write(self.redactor.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

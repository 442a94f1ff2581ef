"""The response cache: SQLite beside the suite, keyed by model, rendered messages, params and repeat
index, so re-grading a run (or re-running after a crash) costs no generation."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.sqlitecache import Deadline, connect


def cache_key(model: str, system: Any, messages: list[dict[str, Any]], params: dict[str, Any],
              repeat_index: int) -> str:
    blob = json.dumps({"model": model, "system": system, "messages": messages, "params": params,
                       "repeat": repeat_index}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def model_identity(spec: str) -> str:
    """What a cached answer is keyed by for `spec`: a `scripted:` stand-in is its script's content too, so
    editing the script (a grader session added, a fixed answer) is never answered from the old one."""
    from agentbook.models.spec import parse_spec

    try:
        parsed = parse_spec(spec)
    except FatalError:
        return spec
    if parsed.kind != "scripted" or not parsed.script:
        return spec
    try:
        digest = hashlib.sha256(Path(parsed.script).expanduser().read_bytes()).hexdigest()
    except OSError:
        return spec  # the call itself says the script is missing
    return f"{spec}#sha256={digest}"


class ResponseCache:
    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._deadline = Deadline()

    def _conn(self) -> sqlite3.Connection:
        """The connection, its deadline started afresh: the file is the agent's to write (sqlitecache)."""
        self._deadline.start()
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = connect(self.path, self._deadline)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, "
                                 "body TEXT NOT NULL, created REAL NOT NULL)")
            except (OSError, sqlite3.Error) as err:
                self._db = None
                raise FatalError(f"cannot open the response cache {self.path}: {err}",
                                 hint="run with --no-cache, or make .agentbook/ beside the suite writable") from None
        return self._db

    def open(self) -> None:
        """Fail early (before any model call) when the cache cannot be used."""
        if self.enabled:
            self._conn()

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        try:
            row = self._conn().execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
            value = json.loads(row[0]) if row is not None else None
        except (sqlite3.Error, ValueError, RecursionError):  # a row or file we cannot read is no answer
            value = None
        if not isinstance(value, dict):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, model: str, body: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._conn().execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                             (key, model, json.dumps(body, ensure_ascii=False), time.time()))

    def clear(self) -> int:
        if not self.path.exists():
            return 0
        n = int(self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        self._conn().execute("DELETE FROM responses")
        return n

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

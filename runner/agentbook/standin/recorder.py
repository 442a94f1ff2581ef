"""Every request the stand-in receives, kept so tests can assert on what the client sent.

Credentials are never stored: the recorder keeps the auth style and the key's last four characters.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_SECRET_HEADERS = {"x-api-key", "authorization"}
MAX_ENTRIES = 10_000  # a long benchmark must not grow memory without bound: the oldest go first


class Recorder:
    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, method: str, path: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
        """Record one request and return its entry; the server fills in status, session, turn, fault."""
        safe = {k: ("<redacted>" if k in _SECRET_HEADERS else v) for k, v in headers.items()}
        with self._lock:
            self._seq += 1
            entry: dict[str, Any] = {"seq": self._seq, "time": time.time(), "method": method,
                                     "path": path, "headers": safe, "body": body, "status": None}
            self._items.append(entry)
            if len(self._items) > MAX_ENTRIES:
                del self._items[: len(self._items) - MAX_ENTRIES]
        return entry

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """A snapshot of the recorded requests, optionally only those to `path`."""
        with self._lock:
            return [dict(e) for e in self._items if path is None or e["path"] == path]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

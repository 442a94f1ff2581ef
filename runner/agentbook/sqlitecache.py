"""Opening a SQLite cache that lives where an agent may write (beside a suite: the index, the responses).

The in-process `eval` tool reads these files in the runner's own process, and the agent's bash writes the
folder they are in: a file whose `meta` (or `responses`) was a view over a recursive query that never ends
held the tool's call, and the session with it past its own `--timeout`. So a cache file holding views or
triggers (agentbook makes neither) is discarded and made afresh, and every statement on a connection runs
under a deadline, past which SQLite interrupts it (`sqlite3.OperationalError`, which the caches treat as a
file they cannot use). A link at the database's path or at one SQLite keeps beside it (`-wal`, `-shm`,
`-journal`) is removed before opening: SQLite follows it, and made the file where it led.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SIDECARS = ("", "-wal", "-shm", "-journal")  # the database and the files SQLite keeps beside it
CACHE_SECONDS = 10.0  # far more than any statement of a cache takes on a 5 MB suite's index


class Deadline:
    """A progress handler for `sqlite3.Connection.set_progress_handler`: nonzero (stop) once the
    deadline passed; `start()` sets it `seconds` from now, before each use of the connection."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self.until = time.monotonic() + seconds

    def start(self) -> None:
        self.until = time.monotonic() + self.seconds

    def __call__(self) -> int:
        return 1 if time.monotonic() > self.until else 0


def connect(path: Path, deadline: Deadline) -> sqlite3.Connection:
    """`sqlite3.connect(path)` for a cache file anyone may have written: bounded by `deadline`, and with no
    view or trigger in it (such a file, or one SQLite cannot read, is removed first)."""
    deadline.start()
    for suffix in SIDECARS:  # SQLite follows a link at any of them, making the file where it leads
        if Path(f"{path}{suffix}").is_symlink():
            Path(f"{path}{suffix}").unlink()
    for _ in range(2):
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.set_progress_handler(deadline, 1000)
        try:
            conn.execute("PRAGMA trusted_schema=OFF")
            foreign = conn.execute("SELECT count(*) FROM sqlite_master WHERE type IN ('view', 'trigger')").fetchone()[0]
        except sqlite3.DatabaseError:
            foreign = 1
        if not foreign:
            return conn
        conn.close()
        for suffix in SIDECARS:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    raise sqlite3.DatabaseError(f"{path}: a cache file that cannot be replaced")

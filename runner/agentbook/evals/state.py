"""Where eval state lives: a git-ignored `.agentbook/` folder beside the suite.

It holds the case index cache, locks, stored run results and the response cache. Its `.gitignore`
ignores everything in it, so nothing there is ever committed by accident.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from agentbook.errors import FatalError
from agentbook.evals.indexstore import MEMORY
from agentbook.fsutil import file_lock, keep_out_of_git

try:  # hashlib's blake2b itself, without hashlib's import of the OpenSSL bindings (`eval list` feels it)
    from _blake2 import blake2b
except ImportError:  # another interpreter
    from hashlib import blake2b


def state_dir(suite_path: Path) -> Path:
    root = suite_path.parent / ".agentbook"
    if root.is_symlink():  # the agent's to plant beside a suite: the in-process `eval` tool (the runner, as
        # root) wrote its caches, locks and runs into whatever host folder it named, and read them back
        raise FatalError(f"{root} is a link: agentbook keeps the suite's caches, locks and runs there",
                         hint="remove it; agentbook makes its own")
    keep_out_of_git(root, "caches, locks, eval runs")
    return root


def _key(path: Path) -> str:
    digest = blake2b(str(path.resolve()).encode(), digest_size=6).hexdigest()
    return f"{path.name}.{digest}"


def inside(suite_path: Path, *parts: str) -> Path:
    """`parts` below the suite's state folder, refusing a link at any of them: the folder is the agent's to
    write (a worktree's), and the in-process `eval` tool, the runner as root, made files where a link there
    led: `index -> /etc` got its cache, `responses.sqlite -> /etc/ld.so.preload` (dangling) a file made by
    SQLite holding the model's answers, a lock a file of any name."""
    path = state_dir(suite_path)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise FatalError(f"{path} is a link: agentbook keeps the suite's caches, locks and runs there",
                             hint="remove it; agentbook makes its own")
    return path


def index_db(path: Path) -> Path:
    """The SQLite index cache of a suite or case file (evals/indexstore.py). A runbook's gate keeps none on
    disk: the one beside the suite is the agent's to write, and one in the run's gate-state folder is the
    code's that gates run (the agent's tests), which rewrote its rows under the file's stat (anyone can read
    it) to drop a failing case from a later gate's `eval run`. A gate indexes the suite afresh, in memory."""
    if os.environ.get("AGENTBOOK_GATE_STATE"):  # workflows.baseline.GATE_STATE_ENV, set for gates only
        return MEMORY
    return inside(path, "index", f"{_key(path)}.sqlite")


def lock_file(path: Path) -> Path:
    return inside(path, "locks", f"{_key(path)}.lock")


def runs_dir(suite_path: Path) -> Path:
    return inside(suite_path, "runs", _key(suite_path))


def response_cache_file(suite_path: Path) -> Path:
    return inside(suite_path, "responses.sqlite")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """The write lock of `path` (a suite or case file); a state folder we cannot use is a clear error."""
    lock = lock_file(path)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(lock))
        except OSError as err:
            raise FatalError(f"cannot lock {path}: {lock.parent}: {err.strerror or err}",
                             hint="agentbook keeps locks and caches in .agentbook/ beside the suite; "
                                  "make it writable") from None
        yield

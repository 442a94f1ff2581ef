"""Watching a running command: its wall clock, and the disk its worktree uses.

The worktree's size is known exactly only by walking it, which is too slow to do several times a
second. So the meter walks once, then reads the file system's free space (one statvfs call) on every
tick: the worktree cannot have grown by more than the space that disappeared meanwhile. Only when
that bound passes the limit does it walk again, so other writers on the same disk cost a walk, never a
wrong kill, and a call that really passes the limit is stopped within a tick. Space freed elsewhere on
the same disk at the same moment could hide growth from that bound, so a running call is also walked
again every REWALK_SECONDS.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

TICK_SECONDS = 0.05
REWALK_SECONDS = 1.0


class DiskMeter:
    """The size of everything under `root` (and the `also` folders: an agent CLI's home beside its
    worktree), allocated blocks (at least ENTRY_BYTES a file, folder or link), hard links once, cheaply
    kept current."""

    def __init__(self, root: Path, limit: int, also: tuple[Path, ...] = ()) -> None:
        self.root, self.limit = root, limit
        self.roots = (root, *also)
        self._known: int | None = None  # bytes under the roots at the last walk
        self._free_then = 0  # free bytes on their file systems at that walk
        self._walked = 0.0  # when (monotonic)

    def over(self, rewalk_after: float | None = None) -> int | None:
        """The worktree's size when it is over the limit, else None. `rewalk_after`: walk anyway when
        the last walk is older than that many seconds."""
        free = _free_bytes(self.roots)
        stale = rewalk_after is not None and time.monotonic() - self._walked > rewalk_after
        if not stale and self._known is not None and self._known + max(0, self._free_then - free) <= self.limit:
            return None
        self._known, self._free_then, self._walked = tree_bytes(*self.roots), free, time.monotonic()
        return self._known if self._known > self.limit else None


# What one file, folder or link counts at least: one that holds no data block (empty, a link) still takes
# an inode and a directory entry, and under a limit counted in blocks alone an agent made tens of
# millions of them, more than the host's file system has inodes.
ENTRY_BYTES = 4096


def _free_bytes(paths: tuple[Path, ...]) -> int:
    """Free bytes, and free inodes at ENTRY_BYTES each, summed over the distinct file systems holding
    `paths` (making empty files uses up no byte, only inodes)."""
    free: dict[int, int] = {}
    for path in paths:
        try:
            st, dev = os.statvfs(path), os.stat(path).st_dev
        except OSError:
            continue
        free[dev] = st.f_bavail * st.f_frsize + st.f_favail * ENTRY_BYTES
    return sum(free.values())


def tree_bytes(*roots: Path) -> int:
    total, seen = 0, set()
    stack = [str(root) for root in roots]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += max(st.st_blocks * 512, ENTRY_BYTES)
    return total


class Watchdog:
    """A thread that calls `kill(reason)` once the deadline passes or the meter reports the disk over.

        dog = Watchdog(deadline, meter, kill); dog.start(); proc.wait(); dog.stop()
    """

    def __init__(self, seconds: float, meter: DiskMeter | None, kill: Callable[[str], None], *,
                 rewalk: float = REWALK_SECONDS) -> None:
        self.deadline = time.monotonic() + seconds
        self.meter, self.kill, self.rewalk = meter, kill, rewalk
        self.reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(min(TICK_SECONDS, max(0.0, self.deadline - time.monotonic()))):
            if time.monotonic() >= self.deadline:
                self._fire("timeout")
                return
            if self.meter is not None and self.meter.over(self.rewalk) is not None:
                self._fire("disk")
                return

    def _fire(self, reason: str) -> None:
        self.reason = reason
        self.kill(reason)

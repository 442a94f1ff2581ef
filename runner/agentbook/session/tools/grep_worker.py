"""The matching half of the `grep` tool, in a process of its own: `python -I -S grep_worker.py`.

A regular expression the agent writes (and a file it reads may dictate) can backtrack for hours on a
short line (`(a+)+b` against 40 `a`s); Python's `re` holds the GIL the whole time, so in the runner's
process it froze every session on the loop, their wall clocks included. Here it runs where the tool
can kill it. Standard library only, started isolated: nothing of the agent's can load into it.

stdin: one JSON object (pattern, ignore_case, files_only, offset, max, file_max, files: [[path, rel]]);
stdout: one JSON object (shown: [lines], total: matches counted).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys


def _read(path: str, file_max: int) -> bytes | None:
    """The file's bytes if it is a regular file no larger than `file_max`, opened without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > file_max:
            return None
        return handle.read(file_max + 1)


def search(job: dict) -> dict:
    rx = re.compile(job["pattern"], re.IGNORECASE if job["ignore_case"] else 0)
    offset, most, cut = job["offset"], job["max"], job["line_max"]
    shown: list[str] = []
    total = 0
    for path, rel in job["files"]:
        data = _read(path, job["file_max"])
        if data is None or b"\x00" in data[:8192]:
            continue
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not rx.search(line):
                continue
            total += 1
            if offset < total <= offset + most:
                shown.append(rel if job["files_only"] else
                             f"{rel}:{n}:{line if len(line) <= cut else line[:cut] + ' [...]'}")
            if job["files_only"]:
                break
    return {"shown": shown, "total": total}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(search(json.loads(sys.stdin.read()))))

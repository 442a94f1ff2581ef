"""`file://` references of a suite that agentbook refuses to read, reported where they are written.

promptfoo reads any path, so suites in the wild carry the author's absolute paths
(`tests: file:///Users/tony/.../imdb_sample.csv`). agentbook reads only files inside the repository
(never `.git`): a refused reference is named with the file:line that writes it, and, when a file of
that name lies inside, the relative reference that would read it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from pathlib import Path

from agentbook import confine
from agentbook.errors import FatalError
from agentbook.fsutil import max_bytes, open_regular

GLOB_ENTRIES = 100_000  # folder entries a `tests:` glob may read: links back into a folder multiply them
SEARCHED = (".yaml", ".yml", ".json", ".csv")  # files a reference can be written in
MAX_SEARCHED = 2000  # files read to find where a refused reference is written (an error path only)


class RefRefused(confine.ConfinementError):
    """A `file://` reference out of the repository or into git's data; `ref` is the text as written."""

    def __init__(self, ref: str, message: str, *, location: str | None = None, hint: str | None = None) -> None:
        self.ref = ref
        super().__init__(message, location=location, hint=hint)

    def at(self, location: str | None) -> RefRefused:
        """The same refusal, placed at `location` (file:line) when it has no place yet."""
        if location is None or self.location is not None:
            return self
        return RefRefused(self.ref, self.message, location=location, hint=self.hint)


def check(ref: str, path: Path | str, root: Path, what: str, base: Path, *, matched: bool = False) -> Path:
    """`confine.check_ref` for a reference written `ref` in a suite whose folder is `base`; `matched`: `path`
    is a file the glob `ref` matched (a link out, a `..` in the pattern), named in the refusal."""
    try:
        return confine.check_ref(path, root, what)
    except confine.ConfinementError:
        raise refused(ref, path, root, what, base, matched=matched) from None


def refused(ref: str, path: Path | str, root: Path, what: str, base: Path, *, matched: bool = False) -> RefRefused:
    real = Path(os.path.realpath(path))
    top = Path(os.path.realpath(root))
    rule = "agentbook reads only files inside the repository, never .git"
    named = f"{path} (matched by {ref})" if matched else ref
    if confine.is_within(real, top):
        return RefRefused(ref, f"{what} {named} is git's own data (it may hold the checkout's credentials)",
                          hint=f"{rule}: reference a file of the repository instead")
    nearby = None if matched else _inside_twin(Path(str(path)), base, top)
    fix = f"write it as file://{nearby}" if nearby else "make it relative to the suite's folder and keep the file " \
        "inside the repository"
    return RefRefused(ref, f"{what} {named} is outside the repository {root}", hint=f"{fix}; {rule}")


def _inside_twin(path: Path, base: Path, top: Path) -> str | None:
    """The shortest tail of `path` (`imdb_sample.csv`, then `data/imdb_sample.csv`, ...) naming a file
    inside the repository relative to `base`: what an absolute path from another machine meant."""
    parts = path.parts
    for n in range(1, len(parts)):
        tail = Path(*parts[len(parts) - n:])
        candidate = base / tail
        if candidate.exists() and confine.is_within(Path(os.path.realpath(candidate)), top) \
                and not confine.is_git_data(Path(os.path.realpath(candidate)), top):
            return tail.as_posix()
    return None


def locate(suite: Path, ref: str) -> str | None:
    """`file:line` of the first line that writes `ref`: in the suite file, else in a file beside it or
    below (a case file, a defaultTest file), never in `.git` or agentbook's state."""
    from agentbook.evals.listing import SUITE_NAMES

    if suite.is_dir():
        suite = next((suite / n for n in SUITE_NAMES if (suite / n).is_file()), suite)
    for file in _candidates(suite):
        try:  # repository files are anyone's: never a link, a fifo or a device, never more than the limit
            with open_regular(file, follow=False) as fh:
                data = fh.read(max_bytes())
        except OSError:  # NotRegular is one
            continue
        at = data.find(ref.encode("utf-8"))
        if at >= 0:
            line = data.count(b"\n", 0, at) + 1
            return f"{file}:{line}"
    return None


def _candidates(suite: Path) -> list[Path]:
    out = [suite] if suite.is_file() else []
    folder = suite.parent if suite.is_file() else suite
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".agentbook", "node_modules"))
        for name in sorted(filenames):
            if name.endswith(SEARCHED) and Path(dirpath, name) != suite:
                out.append(Path(dirpath, name))
                if len(out) >= MAX_SEARCHED:
                    return out
    return out


def placed(err: FatalError, suite: Path) -> FatalError:
    """`err` placed at the line that writes its reference, when it is a refused reference without one."""
    if isinstance(err, RefRefused) and err.location is None:
        return err.at(locate(suite, err.ref))
    return err


def bounded_glob(ref: str, pattern: str, root: Path, what: str, base: Path, *,
                 limit: int = GLOB_ENTRIES) -> list[str]:
    """`glob.glob(pattern)` (not recursive: `**` is `*`), from a folder inside `root` only, reading at most
    `limit` folder entries. A glob follows links to folders, so five links to `.` and a pattern twelve
    folders deep read 5^12 folders (`agentbook eval list` and the in-process `eval` tool, which runs in the
    runner, never returned), and `file:///*/*/*.yaml` listed the host's folders from its `/`."""
    parts = pattern.split(os.sep)
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    head = os.sep.join(parts[:fixed]) or (os.sep if pattern.startswith(os.sep) else os.curdir)
    check(ref, head, root, what, base)
    found, read = [head], 0
    for i, part in enumerate(parts[fixed:], fixed):
        last, nxt = i == len(parts) - 1, []
        for folder in found:
            if not glob.has_magic(part):
                path = os.path.join(folder, part)
                if os.path.lexists(path) if last else os.path.isdir(path):
                    nxt.append(path)
                continue
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        read += 1
                        if read > limit:
                            raise RefRefused(ref, f"{what} pattern {ref} reads more than {limit:,} folder entries "
                                             "(links that lead back into a folder multiply them)",
                                             hint="name the case files' folder without links through it")
                        if (entry.name.startswith(".") and not part.startswith(".")) or \
                                not fnmatch.fnmatch(entry.name, part):
                            continue
                        if last or entry.is_dir():
                            nxt.append(os.path.join(folder, entry.name))
            except OSError:
                continue
        found = nxt
    return found

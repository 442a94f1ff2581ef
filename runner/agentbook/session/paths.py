"""Confinement: every path a tool touches resolves inside one root, and protected globs stay read-only.

`resolve_in_root` is the only way tools turn an agent's path into a real one. It refuses what could
reach outside the root (`..` that climbs out, absolute paths elsewhere, `~`, NUL bytes, overlong
names, symlinks that point out or loop) with a `PathRefused` whose message the agent sees.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from functools import lru_cache
from pathlib import Path, PurePosixPath

MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
# The runner commits from the worktree; a hook or config the agent wrote there would run outside
# the sandbox, so git's own files are always protected.
ALWAYS_PROTECTED = (".git", ".git/**")


class PathRefused(Exception):
    """A path the agent may not use; `str(err)` is shown to the agent as the tool error."""


def resolve_in_root(root: Path, raw: object) -> Path:
    """The real path for `raw` (relative to `root`, or absolute inside it), or PathRefused."""
    if not isinstance(raw, str) or not raw.strip():
        raise PathRefused("path must be a non-empty string")
    if "\x00" in raw:
        raise PathRefused("path contains a NUL byte")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise PathRefused(f"path is longer than {MAX_PATH_BYTES} bytes")
    if raw.startswith("~"):
        raise PathRefused(f"{raw}: home-directory paths are outside the root; use a path relative to it")
    parts = PurePosixPath(raw).parts
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts):
        raise PathRefused(f"a name in the path is longer than {MAX_NAME_BYTES} bytes")
    root = real_root(root)
    joined = Path(raw) if os.path.isabs(raw) else root / raw
    if not _is_within(Path(os.path.normpath(joined)), root):
        raise PathRefused(f"{raw}: outside the root {root}")
    real = _realpath(joined, raw)
    if not _is_within(real, root):
        raise PathRefused(f"{raw}: resolves outside the root (through a symlink)")
    if _in_git_data(root, Path(os.path.normpath(joined))) or _in_git_data(root, real):
        raise PathRefused(f"{raw}: git's own data is not shown to the agent (it may hold the checkout's "
                          "credentials); the runner commits and diffs your changes itself")
    return real


def _in_git_data(root: Path, path: Path) -> bool:
    """`path` is the root's `.git` or below it (by name, or where `.git` leads): what the jail covers."""
    return any(path == place or place in path.parents for place in git_data_places(root))


def git_data_places(root: Path) -> list[Path]:
    """The root's own git data: `.git` (a folder, or a `gitdir:` file) and, when they lie inside the
    root, the place a symlinked `.git` or a `gitdir:` line leads to. A plain checkout keeps its
    credentials there (actions/checkout writes the job's token into `.git/config`), so neither the
    tools nor the jail (`jail.git_data_cover`) show it to the agent."""
    dot_git = root / ".git"
    places = [dot_git]
    try:
        st = os.lstat(dot_git)
    except OSError:
        return places
    if stat.S_ISLNK(st.st_mode):
        places.append(Path(os.path.realpath(dot_git)))
    elif stat.S_ISREG(st.st_mode) and st.st_size < 4096:
        try:
            line = dot_git.read_text("utf-8", "replace").strip()
        except OSError:
            line = ""
        if line.startswith("gitdir:"):
            places.append(Path(os.path.realpath(root / line[len("gitdir:"):].strip())))
    return [p for p in places if _is_within(p, root)]


def relative(root: Path, path: Path) -> str:
    """`path` as the agent sees it: posix, relative to the root ('.' for the root itself)."""
    rel = path.relative_to(real_root(root)).as_posix()
    return rel or "."


@lru_cache(maxsize=256)
def real_root(root: Path) -> Path:
    """`root` with its symlinks resolved, once per root: every tool call checks against it. A stale
    answer (the root's own path re-pointed meanwhile) can only refuse paths, never admit one, as each
    path is still resolved afresh and must land under this one."""
    return root.resolve()


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _realpath(joined: Path, raw: str) -> Path:
    try:
        return Path(os.path.realpath(joined, strict=True))
    except FileNotFoundError:
        pass  # a path to be created: resolve what exists (a dangling symlink resolves to its target)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise PathRefused(f"{raw}: symlink loop") from None
        raise PathRefused(f"{raw}: {err.strerror}") from None
    return Path(os.path.realpath(joined))


def is_protected(rel_path: str, patterns: list[str] | tuple[str, ...]) -> str | None:
    """The first glob in `patterns` matching `rel_path` or one of its parent folders, else None."""
    candidates = [rel_path, *(p.as_posix() for p in PurePosixPath(rel_path).parents if str(p) != ".")]
    for pattern in (*ALWAYS_PROTECTED, *patterns):
        rx = _glob_regex(pattern.strip("/"))
        if any(rx.fullmatch(c) for c in candidates):
            return pattern
    return None


class Glob:
    """A path glob: `**` as a whole name spans folders (none or more; a last `**` one or more), `*` and `?`
    stay inside one name, `[...]` classes (`[!...]` negated). Matched a name at a time, so the cost is the
    number of names times the pattern's: the regular expression this was (`**/` as `(?:.*/)?`, `*` as
    `[^/]*`) backtracked in Python's `re`, holding the GIL and the session's loop, for hours on a pattern
    the model or a repository's runbook wrote (`*a*a*a*a*a*a*a*a*b` against a long name, ten `**/` against a
    deep path). Each name is matched by `fnmatch`'s translation, which does not backtrack (a name holds no
    `/`, so its `*` cannot cross a folder)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        parts = pattern.split("/")
        self.parts: list[re.Pattern[str] | None] = [None if p == "**" else re.compile(fnmatch.translate(p))
                                                     for p in parts]
        # `a/**`: at least one name below `a`, as `a/.*` read (the whole pattern `**` may match nothing)
        self.tail = len(parts) > 1 and parts[-1] == "**"

    def fullmatch(self, path: str) -> bool:
        names = path.split("/")
        if None not in self.parts:
            return len(names) == len(self.parts) and all(
                rx.match(name) is not None for rx, name in zip(self.parts, names, strict=True))  # type: ignore[union-attr]
        first, last = self.parts[0], self.parts[-1]  # most paths are refused by their first or last name
        if (first is not None and first.match(names[0]) is None) or (last is not None and last.match(names[-1]) is None):
            return False
        # rest[j]: the parts from here on match names[j:], computed from the last part back
        rest = [False] * len(names) + [True]
        for i in range(len(self.parts) - 1, -1, -1):
            rx, now = self.parts[i], [False] * (len(names) + 1)
            for j in range(len(names), -1, -1):
                if rx is None and self.tail and i == len(self.parts) - 1:  # one name or more
                    now[j] = j < len(names) and (rest[j + 1] or now[j + 1])
                elif rx is None:  # none or more
                    now[j] = rest[j] or (j < len(names) and now[j + 1])
                else:
                    now[j] = j < len(names) and rest[j + 1] and rx.match(names[j]) is not None
            rest = now
        return rest[0]


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> Glob:
    return Glob(pattern)


def glob_regex(pattern: str) -> Glob:
    return _glob_regex(pattern)

"""Protected paths checked by content against the base commit, and put back from it.

The base commit is the reference: its tree says which protected paths exist, with which blob and
mode. Before the runner commits, every path under the worktree matching a protected glob is hashed
the way git hashes a blob and compared; a changed, added, removed or retyped path (a folder moved
away and rebuilt with `touch -r` is just a different inode with the same size and mtime, but not
the same content) is a violation, and is restored from the base before anything is committed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from agentbook.gitops.git import Git
from agentbook.session.paths import Glob
from agentbook.session.paths import _glob_regex as glob_regex  # the session's glob rules, exactly

FILE, EXEC, LINK, OTHER = "100644", "100755", "120000", "other"


@dataclass(frozen=True)
class ProtectedChange:
    path: str
    change: str  # modified | added | removed | retyped

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "change": self.change}


def base_entries(git: Git, base_sha: str, patterns: list[str]) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob sha) of every protected path in the base commit's tree."""
    if not patterns:
        return {}
    out: dict[str, tuple[str, str]] = {}
    listing = git.run("ls-tree", "-r", "-z", "--full-tree", base_sha)
    for item in listing.split("\0"):
        meta, _, path = item.partition("\t")
        if not path:
            continue
        mode, kind, sha = meta.split()
        if kind == "blob" and matches(path, patterns):
            out[path] = (mode, sha)
    return out


def worktree_entries(worktree: Path, patterns: list[str]) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob sha) of every protected path now in the worktree (outside its `.git`)."""
    out: dict[str, tuple[str, str]] = {}
    top = str(worktree)
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".git"]
            filenames = [f for f in filenames if f != ".git"]
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [*filenames, *links]:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if matches(rel, patterns):
                out[rel] = _hash_entry(os.path.join(dirpath, name))
    return out


def changes(git: Git, worktree: Path, base_sha: str, patterns: list[str]) -> list[ProtectedChange]:
    """Every protected path whose content, mode or existence differs from the base."""
    if not patterns:
        return []
    base = base_entries(git, base_sha, patterns)
    now = worktree_entries(worktree, patterns)
    out = []
    for path in sorted(set(base) | set(now)):
        was, isnow = base.get(path), now.get(path)
        if was == isnow:
            continue
        if was is None:
            out.append(ProtectedChange(path, "added"))
        elif isnow is None:
            out.append(ProtectedChange(path, "removed"))
        elif was[0] != isnow[0]:
            out.append(ProtectedChange(path, "retyped"))
        elif not _same_after_filters(git, worktree, path, was[1]):
            out.append(ProtectedChange(path, "modified"))
    return out


def restore(git: Git, worktree: Path, base_sha: str, patterns: list[str], found: list[ProtectedChange]) -> None:
    """Put every changed path back as the base has it (added ones are deleted)."""
    if not found:
        return
    base = base_entries(git, base_sha, patterns)
    for change in found:
        target = _clear(worktree, change.path)
        entry = base.get(change.path)
        if entry is None:
            continue
        mode, sha = entry
        data = git.run_bytes("cat-file", "blob", sha)
        if mode == LINK:
            os.symlink(os.fsdecode(data), target)
        else:
            target.write_bytes(data)
            target.chmod(0o755 if mode == EXEC else 0o644)


def _clear(worktree: Path, rel: str) -> Path:
    """Make `rel` free to write: each parent a real folder (a symlink or file in the way is
    removed, so a write can never land outside the worktree), and nothing at `rel` itself."""
    current = worktree
    for part in Path(rel).parts[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        if not current.exists():
            current.mkdir()
    target = current / Path(rel).name
    if target.is_symlink() or target.is_file() or (target.exists() and not target.is_dir()):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    return target


def matches(rel: str, patterns: list[str]) -> bool:
    """`rel` or one of its parent folders matches one of the run's own globs (the session's rules,
    `session.paths.is_protected`, without its always-protected names: `.git` is handled apart).
    String slicing rather than pathlib: this runs for every file of the worktree and the base."""
    candidates = [rel]
    cut = rel.rfind("/")
    while cut > 0:
        candidates.append(rel[:cut])
        cut = rel.rfind("/", 0, cut)
    return any(rx.fullmatch(c) for rx in _regexes(tuple(patterns)) for c in candidates)


@functools.lru_cache(maxsize=64)
def _regexes(patterns: tuple[str, ...]) -> list[Glob]:
    return [glob_regex(p.strip("/")) for p in patterns]


def _hash_entry(path: str) -> tuple[str, str]:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return LINK, _blob_sha(os.fsencode(os.readlink(path)))
    if not stat.S_ISREG(st.st_mode):
        return OTHER, ""  # a folder where a file was, a fifo, a device: never what the base has
    with open(path, "rb") as fh:
        data = fh.read()
    return (EXEC if st.st_mode & stat.S_IXUSR else FILE), _blob_sha(data)


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _same_after_filters(git: Git, worktree: Path, rel: str, base_sha: str) -> bool:
    """Raw bytes differ from the blob: ask git, which applies the checkout's own conversions (eol)
    the way `git add` would, so a CRLF checkout of an LF blob is not a change."""
    return git.out("hash-object", f"--path={rel}", "--", str(worktree / rel)) == base_sha

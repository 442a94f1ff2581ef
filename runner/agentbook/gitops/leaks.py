"""Secret scanning where the runner's git could leak one: the changes about to be committed, and
everything a push would send (blobs, commit messages, the branch name).

Changes are read from the worktree's files *before* `git add`, so a secret never even becomes an
object in the repository's store; a push is checked over `base..head` in the object store itself.
A file git would re-encode on its way in (a `working-tree-encoding` attribute: the agent writes the
key in UTF-16 or EBCDIC and `.gitattributes` makes git store it as UTF-8) is scanned as git will store
it, not as its bytes on disk.
"""

from __future__ import annotations

import codecs
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from agentbook.gitops.git import Git
from agentbook.secretscan import SecretHit, SecretScanner

MAX_HITS = 50  # evidence enough; a file full of keys need not be listed whole
WINDOW = 1 << 20  # bytes read at a time: the scan's memory is a few of these, whatever the file's size
# The largest file the scan reads: the jail's default `file_size` limit, so whatever the agent can write
# by default is scanned; a larger file (a limit raised by the user) is refused unscanned, not committed.
MAX_SCAN_BYTES = 1 << 30
MAX_BYTES_ENV = "AGENTBOOK_SECRET_SCAN_MAX_BYTES"
SCAN_SECONDS = 600.0  # one step's whole scan; past it the rest is refused, not committed unscanned
SECONDS_ENV = "AGENTBOOK_SECRET_SCAN_SECONDS"


def pending_paths(git: Git) -> list[str]:
    """Worktree paths `git add --all` would stage: modified, added and untracked (not ignored)."""
    raw = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all",
                  "--no-renames")
    paths = []
    for item in raw.split("\0"):
        if len(item) > 3 and item[1] != "D" and item[0] != "D":
            paths.append(item[3:])
    return paths


def max_scan_bytes() -> int:
    """The largest file (or blob) the scan reads; a larger one is not committed or pushed."""
    raw = os.environ.get(MAX_BYTES_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else MAX_SCAN_BYTES


def scan_seconds() -> float:
    raw = os.environ.get(SECONDS_ENV, "")
    try:
        return float(raw) if float(raw) > 0 else SCAN_SECONDS
    except ValueError:
        return SCAN_SECONDS


class _Clock:
    """The scan's wall clock: past it, every file not yet scanned is reported unscanned (fail closed)."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + scan_seconds()

    def over(self) -> bool:
        return time.monotonic() > self.deadline


def unscanned(where: str, why: str) -> SecretHit:
    """A finding for what could not be scanned: it is neither committed nor pushed."""
    return SecretHit(where, -1, "not scanned", why)


def scan_pending(git: Git, worktree: Path, scanner: SecretScanner) -> list[SecretHit]:
    """Held secrets and key shapes in the names and contents of the files about to be committed.
    Files are read a window at a time (memory bounded by WINDOW); one over `max_scan_bytes()`, or any
    left when the scan's time is up, is a finding: it is not committed unscanned."""
    hits: list[SecretHit] = []
    paths = pending_paths(git)
    encodings = worktree_encodings(git, paths)
    clock, limit = _Clock(), max_scan_bytes()
    for rel in paths:
        hits += scanner.scan(rel, rel, name_only=True)
        if clock.over():
            hits.append(unscanned(rel, f"the secret scan ran out of time ({scan_seconds():.0f}s, {SECONDS_ENV})"))
        else:
            hits += _scan_file(scanner, worktree / rel, rel, encodings.get(rel), limit, clock)
        if len(hits) >= MAX_HITS:
            break
    return hits[:MAX_HITS]


def _scan_file(scanner: SecretScanner, path: Path, rel: str, encoding: str | None, limit: int,
               clock: _Clock) -> list[SecretHit]:
    # a file that cannot be read is not scanned, never skipped: git adds by the path below the worktree's
    # top, and one whose full path passes PATH_MAX (ENAMETOOLONG here, 4,080 characters below the top) was
    # committed with a token in it, unread
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return []
    except OSError as err:
        return [unscanned(rel, f"cannot be read: {err.strerror or err}")]
    if stat.S_ISLNK(st.st_mode):
        return scanner.scan(os.readlink(path), rel)  # a symlink is committed as its target's path
    if not stat.S_ISREG(st.st_mode):
        return []
    if st.st_size > limit:
        return [unscanned(rel, f"{_size(st.st_size)} is over the secret scan's limit of {_size(limit)} per file "
                               f"({MAX_BYTES_ENV})")]
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after the stream is read
    except FileNotFoundError:
        return []
    except OSError as err:
        return [unscanned(rel, f"cannot be read: {err.strerror or err}")]
    with fh:
        return _scan_chunks(scanner, _windows(fh, encoding, limit), rel, clock)


def _scan_chunks(scanner: SecretScanner, chunks: Iterator[str], where: str, clock: _Clock) -> list[SecretHit]:
    """Scan `chunks`, stopping (with an unscanned finding) when the clock runs out or the stream says
    it grew past the limit."""
    state: dict[str, str] = {}

    def timed() -> Iterator[str]:
        for chunk in chunks:
            if clock.over():
                state["why"] = f"the secret scan ran out of time ({scan_seconds():.0f}s, {SECONDS_ENV})"
                return
            yield chunk

    try:
        hits = scanner.scan_stream(timed(), where)
    except _TooLarge as err:
        return [unscanned(where, str(err))]
    return hits + ([unscanned(where, state["why"])] if "why" in state else [])


class _TooLarge(Exception):
    pass


def _windows(fh: IO[bytes], encoding: str | None, limit: int) -> Iterator[str]:
    """The file's text a window at a time (latin-1: every byte one character, so binary files scan
    too). With `encoding`, the text git will store after converting from it, decoded incrementally
    (an encoding Python does not know, or bytes that do not decode, are scanned raw: git refuses to
    add those anyway). A file that grows past `limit` while read is `_TooLarge`."""
    decoder = None
    if encoding:
        try:
            decoder = codecs.getincrementaldecoder(codecs.lookup(encoding).name)()
        except LookupError:
            decoder = None
    read = 0
    while True:
        block = fh.read(WINDOW)
        read += len(block)
        if read > limit:
            raise _TooLarge(f"it grew past the secret scan's limit of {_size(limit)} while being read ({MAX_BYTES_ENV})")
        final = not block
        if decoder is not None:
            try:
                text = decoder.decode(block, final)
                if text:
                    yield text
            except UnicodeDecodeError:
                decoder = None  # scanned raw from here, the block that did not decode included
                yield block.decode("latin-1")
        elif block:
            yield block.decode("latin-1")
        if final:
            return


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def scan_push(git: Git, base: str, head: str, branch: str, scanner: SecretScanner) -> list[SecretHit]:
    """Held secrets and key shapes in what pushing `branch` (at `head`) would send beyond `base`."""
    hits = scanner.scan(branch, "the branch name", name_only=True)
    log = git.run("log", "--format=%H%x00%B%x1e", f"{base}..{head}")
    for entry in log.split("\x1e"):
        sha, _, body = entry.strip("\n").partition("\0")
        if sha:
            hits += scanner.scan(body, f"commit {sha[:12]} message")
    objects = git.run("rev-list", "--objects", "--no-object-names", f"{base}..{head}").split()
    paths = _blob_paths(git, base, head)
    clock, limit = _Clock(), max_scan_bytes()
    for sha in objects:
        if sha in paths:
            where = paths[sha]
            hits += scanner.scan(where, where, name_only=True)
            hits += _scan_blob(git, scanner, sha, where, limit, clock)
        if len(hits) >= MAX_HITS:
            break
    return hits[:MAX_HITS]


def _scan_blob(git: Git, scanner: SecretScanner, sha: str, where: str, limit: int, clock: _Clock) -> list[SecretHit]:
    """A blob read from `git cat-file` a window at a time (never whole in memory)."""
    size = int(git.run("cat-file", "-s", sha).strip() or 0)
    if size > limit:
        return [unscanned(where, f"{_size(size)} is over the secret scan's limit of {_size(limit)} per file "
                                 f"({MAX_BYTES_ENV})")]
    if clock.over():
        return [unscanned(where, f"the secret scan ran out of time ({scan_seconds():.0f}s, {SECONDS_ENV})")]
    with git.stream("cat-file", "blob", sha) as out:
        return _scan_chunks(scanner, _windows(out, None, limit), where, clock)


def _blob_paths(git: Git, base: str, head: str) -> dict[str, str]:
    """blob sha -> a path it has in some commit of `base..head` (the name the finding reports)."""
    out: dict[str, str] = {}
    for sha in git.run("rev-list", "--reverse", f"{base}..{head}").split():
        listing = git.run("ls-tree", "-r", "-z", "--full-tree", sha)
        for item in listing.split("\0"):
            meta, _, path = item.partition("\t")
            if path and meta.split()[1] == "blob":
                out.setdefault(meta.split()[2], path)
    return out


def worktree_encodings(git: Git, paths: list[str]) -> dict[str, str]:
    """path -> the `working-tree-encoding` git applies to it when adding (only paths that have one)."""
    if not paths:
        return {}
    out = git.run("check-attr", "-z", "--stdin", "working-tree-encoding", input="\0".join(paths) + "\0")
    fields = out.split("\0")
    found = {}
    for path, value in zip(fields[0::3], fields[2::3], strict=False):
        if value not in ("unspecified", "unset", "set", ""):
            found[path] = value
    return found



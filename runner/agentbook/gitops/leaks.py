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
from pathlib import Path

from agentbook.gitops.git import Git
from agentbook.secretscan import SecretHit, SecretScanner

MAX_HITS = 50  # evidence enough; a file full of keys need not be listed whole


def pending_paths(git: Git) -> list[str]:
    """Worktree paths `git add --all` would stage: modified, added and untracked (not ignored)."""
    raw = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all",
                  "--no-renames")
    paths = []
    for item in raw.split("\0"):
        if len(item) > 3 and item[1] != "D" and item[0] != "D":
            paths.append(item[3:])
    return paths


def scan_pending(git: Git, worktree: Path, scanner: SecretScanner) -> list[SecretHit]:
    """Held secrets and key shapes in the names and contents of the files about to be committed."""
    hits: list[SecretHit] = []
    paths = pending_paths(git)
    encodings = worktree_encodings(git, paths)
    for rel in paths:
        hits += scanner.scan(rel, rel, name_only=True)
        hits += scanner.scan(_read(worktree / rel, encodings.get(rel)), rel)
        if len(hits) >= MAX_HITS:
            break
    return hits[:MAX_HITS]


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
    for sha in objects:
        if sha in paths:
            where = paths[sha]
            hits += scanner.scan(where, where, name_only=True)
            hits += scanner.scan(git.run_bytes("cat-file", "blob", sha).decode("latin-1"), where)
        if len(hits) >= MAX_HITS:
            break
    return hits[:MAX_HITS]


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


def _read(path: Path, encoding: str | None = None) -> str:
    """A file's text for scanning (latin-1: every byte one character, so binary files scan too);
    "" for what is not a regular file (a symlink's target is scanned as its name). With `encoding`,
    the text git will store after converting from it (an encoding Python does not know, or bytes
    that do not decode, are scanned raw: git refuses to add those anyway)."""
    try:
        st = os.lstat(path)
    except OSError:
        return ""
    if stat.S_ISLNK(st.st_mode):
        return os.readlink(path)
    if not stat.S_ISREG(st.st_mode):
        return ""
    with open(path, "rb") as fh:
        raw = fh.read()
    if encoding:
        try:
            return raw.decode(codecs.lookup(encoding).name)
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("latin-1")

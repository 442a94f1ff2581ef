"""Put skills where an agent looks for them (.claude/skills, .agents/skills, any folder): copied or
symlinked, never over a different skill of the same name.

A copy carries a marker file (`MARKER`: where it came from and a hash of what was copied). While the
copy is unchanged it is agentbook's own: the catalog prefers the shipped skill over it (a copy never
shadows a newer agentbook), and the next install replaces it without `--force` (an upgrade). Once
someone edits it, it is theirs: it overrides the shipped skill and an install refuses to clobber it."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentbook.catalog.skill import Skill, plain_name
from agentbook.errors import FatalError

Action = Literal["copied", "linked", "unchanged", "replaced", "upgraded"]
MARKER = ".agentbook-install.json"


@dataclass(frozen=True)
class Installed:
    name: str
    path: Path
    action: Action
    source: Path


def install_skills(skills: list[Skill], target: Path, *, link: bool = False, force: bool = False) -> list[Installed]:
    """Check every destination first, then install: a refusal leaves the target untouched."""
    _check_target(target)
    bad = [skill.name for skill in skills if not plain_name(skill.name)]
    if bad:  # the catalog gives none such: a skill's folder is made below the target, never beside it
        raise FatalError(f"skill name {bad[0]!r} is not a plain folder name")
    plan = [(skill, target / skill.name) for skill in skills]
    for skill, dest in plan:
        if (dest.exists() or dest.is_symlink()) and not force and not same_skill(skill.dir, dest) \
                and not pristine_copy(dest):
            raise FatalError(f"{dest} already holds a different skill named '{skill.name}'",
                             hint="remove it, choose another --target, or pass --force to replace it")
    target.mkdir(parents=True, exist_ok=True)
    return [_install_one(skill, dest, link) for skill, dest in plan]


def _check_target(target: Path) -> None:
    """Refuse a target inside a git work tree that a link leads out of it. The target's folders are the
    repository's, anyone's to commit (a pull request's checkout): `.claude/skills -> /usr/lib/python3/
    dist-packages` had the install, as root, write skill folders there (a repository's skill named
    `sitecustomize`, holding an `__init__.py`, then ran in every Python started on the host). Links
    above the work tree are the user's own layout and are followed."""
    absolute = Path(os.path.abspath(target))
    top: Path | None = None
    linked = False  # a link passed below the top: no folder after it is the repository's top
    for folder in [*reversed(absolute.parents), absolute]:
        if folder.is_symlink():
            linked = linked or top is not None
        elif not linked and (folder / ".git").exists():
            top = folder
    if top is None:
        return
    real, real_top = absolute.resolve(), top.resolve()
    if real != real_top and real_top not in real.parents:
        raise FatalError(f"{target} leads out of the repository it is in ({top}) through a link, to {real}",
                         hint="install into a folder of the repository itself, or give the link's target as --target")


def _install_one(skill: Skill, dest: Path, link: bool) -> Installed:
    source = skill.dir.resolve()
    existed = dest.exists() or dest.is_symlink()
    if existed and same_skill(source, dest) and dest.is_symlink() == link:
        return Installed(skill.name, dest, "unchanged", source)
    upgrade = existed and pristine_copy(dest)
    staging = Path(tempfile.mkdtemp(prefix=f".{skill.name}.", dir=dest.parent))
    new = staging / skill.name
    if link:
        os.symlink(source, new, target_is_directory=True)
    else:
        shutil.copytree(source, new, symlinks=True, ignore=_left_out(source))
        marker = {"installed_by": "agentbook skills install", "skill": skill.name, "source": skill.source,
                  "from": str(source), "tree": tree_hash(new), "stat": tree_stat(new)}
        (new / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    if existed:
        _remove(dest)
    os.replace(new, dest)
    staging.rmdir()
    action: Action = "upgraded" if upgrade else "replaced" if existed else ("linked" if link else "copied")
    return Installed(skill.name, dest, action, source)


def _left_out(source: Path) -> Callable[[str, list[str]], set[str]]:
    """copytree's `ignore`: the marker, and what a copy must not carry out of a repository anyone may
    have written: a link that leads out of the skill's folder (`notes.txt -> /etc/shadow`, `home -> /root`
    installed into ~/.claude/skills had the next agent that followed the skill read the user's files as
    the skill's own), and anything but files, folders and links (a fifo blocks the copy)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        out = {MARKER} & set(names)
        for name in names:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                out.add(name)
                continue
            if stat.S_ISLNK(mode):
                real = os.path.realpath(path)
                if not (real == str(source) or real.startswith(str(source) + os.sep)):
                    out.add(name)
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                out.add(name)
        return out
    return ignore


CHUNK = 1 << 20


def _tree_files(folder: Path) -> list[tuple[tuple[str, ...], os.DirEntry[str]]]:
    """Every file and link under `folder` (links to folders not followed), the marker left out, as
    (path parts, entry), in the order of sorted Paths (the hashes in existing markers depend on it)."""
    out: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
    pending: list[tuple[tuple[str, ...], str]] = [((), str(folder))]
    while pending:
        parts, where = pending.pop()
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(((*parts, entry.name), entry.path))
                elif entry.name != MARKER and (entry.is_symlink() or entry.is_file()):
                    out.append(((*parts, entry.name), entry))
    return sorted(out, key=lambda item: item[0])


def tree_hash(folder: Path) -> str:
    """A hash of every file under `folder` (paths and bytes), the marker left out; files are read a
    chunk at a time (a skill's asset may be larger than the memory to spare)."""
    digest = hashlib.sha256()
    for parts, entry in _tree_files(folder):
        digest.update("/".join(parts).encode(errors="surrogateescape") + b"\0")
        if entry.is_symlink():
            digest.update(os.readlink(entry.path).encode(errors="surrogateescape"))
        else:
            with open(entry.path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def tree_stat(folder: Path) -> str:
    """A hash of every file's path, size, mtime and ctime (never its bytes): equal to the marker's while
    nobody has touched a file since the install wrote it. The ctime cannot be set back by hand, and a
    clone or a copy gives new ones (then `pristine_copy` reads the bytes)."""
    digest = hashlib.sha256()
    for parts, entry in _tree_files(folder):
        st = entry.stat(follow_symlinks=False)
        digest.update(f"{'/'.join(parts)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"
                      .encode(errors="surrogateescape"))
    return digest.hexdigest()


def pristine_copy(folder: Path) -> bool:
    """True for a copy `skills install` made that nobody has changed since. The catalog asks this of
    every installed copy each time it loads (skills list, each run, the skill tool): when no file was
    touched since the install the stat hash says so without reading the bytes; else the tree hash
    decides. (The marker is the repository's to write, like the copy: a forged one makes an edited
    copy give way to agentbook's own skill, never the other way round.)"""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        if folder.is_symlink() or not isinstance(marker, dict):
            return False
        if marker.get("stat") and marker.get("stat") == tree_stat(folder):
            return True
        return bool(marker.get("tree") == tree_hash(folder))
    except (OSError, ValueError):
        return False


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path)


def same_skill(source: Path, dest: Path) -> bool:
    """True when `dest` is `source` (a link to it) or a copy with the same files and bytes."""
    if dest.resolve() == source.resolve():
        return True
    if not dest.is_dir():
        return False
    return _same_tree(filecmp.dircmp(source, dest, ignore=[MARKER, *filecmp.DEFAULT_IGNORES]))


def _same_tree(cmp: filecmp.dircmp[str]) -> bool:
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in cmp.subdirs.values())

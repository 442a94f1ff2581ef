"""Put skills where an agent looks for them (.claude/skills, .agents/skills, any folder): copied or
symlinked, never over a different skill of the same name."""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentbook.catalog.skill import Skill
from agentbook.errors import FatalError

Action = Literal["copied", "linked", "unchanged", "replaced"]


@dataclass(frozen=True)
class Installed:
    name: str
    path: Path
    action: Action
    source: Path


def install_skills(skills: list[Skill], target: Path, *, link: bool = False, force: bool = False) -> list[Installed]:
    """Check every destination first, then install: a refusal leaves the target untouched."""
    plan = [(skill, target / skill.name) for skill in skills]
    for skill, dest in plan:
        if (dest.exists() or dest.is_symlink()) and not force and not same_skill(skill.dir, dest):
            raise FatalError(f"{dest} already holds a different skill named '{skill.name}'",
                             hint="remove it, choose another --target, or pass --force to replace it")
    target.mkdir(parents=True, exist_ok=True)
    return [_install_one(skill, dest, link) for skill, dest in plan]


def _install_one(skill: Skill, dest: Path, link: bool) -> Installed:
    source = skill.dir.resolve()
    existed = dest.exists() or dest.is_symlink()
    if existed and same_skill(source, dest) and dest.is_symlink() == link:
        return Installed(skill.name, dest, "unchanged", source)
    staging = Path(tempfile.mkdtemp(prefix=f".{skill.name}.", dir=dest.parent))
    new = staging / skill.name
    if link:
        os.symlink(source, new, target_is_directory=True)
    else:
        shutil.copytree(source, new, symlinks=True)
    if existed:
        _remove(dest)
    os.replace(new, dest)
    staging.rmdir()
    return Installed(skill.name, dest, "replaced" if existed else ("linked" if link else "copied"), source)


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
    return _same_tree(filecmp.dircmp(source, dest))


def _same_tree(cmp: filecmp.dircmp[str]) -> bool:
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in cmp.subdirs.values())

"""A skill: a folder holding SKILL.md (Agent Skills spec: name + description front-matter, then
instructions), optionally with scripts/, references/ and assets/."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.catalog.findings import Finding
from agentbook.catalog.frontmatter import FrontMatter, parse_front_matter
from agentbook.catalog.source import read_source

SKILL_FILES = ("SKILL.md", "skill.md")


@dataclass
class Skill:
    name: str
    description: str
    path: Path  # the SKILL.md file
    front: dict[str, Any]
    body: str
    source: str = "repo"  # "repo" or "agentbook" (shipped with the package)
    shadows: Path | None = None  # the shipped skill of the same name this one overrides

    @property
    def dir(self) -> Path:
        return self.path.parent


@dataclass
class SkillRead:
    """One read of a SKILL.md: the parsed front-matter and the findings of reading it."""

    path: Path
    front_matter: FrontMatter | None
    findings: list[Finding] = field(default_factory=list)


def folder_files(folder: Path, skill_md: str = "SKILL.md", limit: int | None = None) -> tuple[list[str], bool]:
    """The files of a skill's folder but `skill_md` ("" keeps it) (its own first, then each folder in name order),
    at most `limit` of them, and whether there are more; never what is under a `.git` folder. With a
    limit the walk stops there: a skill folder may be (or link to) a checkout's top, and listing it
    whole (rglob, then sort) walked every file of the repository, its git data too, on each call."""
    found: list[str] = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d.lower() != ".git")
        rel = Path(top).relative_to(folder)
        for name in sorted(names):
            if rel.parts or name != skill_md:
                found.append((rel / name).as_posix())
                if limit is not None and len(found) > limit:
                    return found[:limit], True
    return found, False


def find_skill_md(skill_dir: Path) -> Path | None:
    """SKILL.md, or skill.md as the reference client also accepts."""
    for name in SKILL_FILES:
        candidate = skill_dir / name
        if candidate.is_file() or candidate.is_symlink():  # a dangling link is reported when read
            return candidate
    return None


def read_skill(path: Path, shown: str | None = None) -> SkillRead:
    source = read_source(path, shown)
    if isinstance(source, Finding):
        return SkillRead(path, None, [source])
    fm = parse_front_matter(source.text, shown or str(path))
    return SkillRead(path, fm, [*source.findings, *fm.findings])


def plain_name(name: str) -> bool:
    """One folder name, as a skill's name must be to be a folder of its own below another: no separator, NUL,
    `.` or `..` (the spec's own rule, lowercase letters, digits and hyphens, is validate's to enforce)."""
    return name not in (".", "..") and not any(c in name for c in "/\\\0")


def load_skill(path: Path) -> tuple[Skill | None, list[str]]:
    """Lenient load, as the Agent Skills client guide says: skip a skill whose YAML cannot be parsed
    or that has no description; load (with a note) one whose name is missing or differs from its folder.
    Returns the skill (or None) and the reasons, which say what was skipped or tolerated."""
    read = read_skill(path)
    fm = read.front_matter
    if fm is None:
        return None, [read.findings[0].message]
    if not fm.parsed:
        why = next((f.message for f in fm.findings if f.is_error), "no front-matter")
        return None, [f"skipped: {why}"]
    description = fm.data.get("description")
    if not isinstance(description, str) or not description.strip():
        return None, ["skipped: no description in the front-matter"]
    notes: list[str] = []
    name = fm.data.get("name")
    folder = path.parent.name
    if not isinstance(name, str) or not name.strip():
        notes.append(f"no name in the front-matter; using the folder name '{folder}'")
        name = folder
    elif not plain_name(name.strip()):
        # the name becomes a folder (skills install, the agent CLI's home): `../x` or `/etc/x` was one out of it
        notes.append(f"name {name.strip()!r} is not a plain folder name; using the folder name '{folder}'")
        name = folder
    elif name.strip() != folder:
        notes.append(f"name '{name.strip()}' differs from its folder '{folder}'")
    skill = Skill(name=name.strip(), description=" ".join(description.split()), path=path, front=fm.data,
                  body=fm.body)
    return skill, notes

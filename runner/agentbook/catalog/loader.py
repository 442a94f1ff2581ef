"""The lenient catalog the runner uses: every skill and runbook a repository can see, with reasons.

Search order: the target repo's `skills/`, `.claude/skills/`, `.agents/skills/` and `runbooks/`, then
the ones agentbook ships (from a source checkout or the installed wheel). The first of a name wins, so
a repo's own file overrides agentbook's; what was skipped or tolerated is recorded, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentbook.catalog.runbook import Runbook, read_runbook
from agentbook.catalog.skill import Skill, find_skill_md, load_skill
from agentbook.errors import FatalError
from agentbook.shipped import shipped_root

REPO_SKILL_DIRS = ("skills", ".claude/skills", ".agents/skills")
RUNBOOK_DIR = "runbooks"


@dataclass(frozen=True)
class LoadProblem:
    path: Path
    reason: str
    skipped: bool  # True: the file is not in the catalog; False: loaded with a note


@dataclass
class Catalog:
    root: Path
    skills: list[Skill] = field(default_factory=list)
    runbooks: list[Runbook] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)

    def skill(self, name: str) -> Skill | None:
        return next((s for s in self.skills if s.name == name), None)

    def runbook(self, name: str) -> Runbook | None:
        return next((r for r in self.runbooks if r.name == name), None)

    def require_skill(self, name: str) -> Skill:
        found = self.skill(name)
        if found is None:
            raise FatalError(f"no skill named '{name}'", hint=_known("skills", [s.name for s in self.skills]))
        return found

    def require_runbook(self, name: str) -> Runbook:
        found = self.runbook(name)
        if found is None:
            raise FatalError(f"no runbook named '{name}'",
                             hint=_known("runbooks", [r.name for r in self.runbooks]))
        return found


def _known(kind: str, names: list[str]) -> str:
    if not names:
        return f"there are no {kind}; see `agentbook {kind} list`"
    shown = ", ".join(sorted(names)[:20])
    return f"known {kind}: {shown}" + (" ..." if len(names) > 20 else "")


def skill_files(base: Path) -> list[Path]:
    """The SKILL.md of every direct sub-folder of `base` (one level, as the spec lays skills out)."""
    if not base.is_dir():
        return []
    found = (find_skill_md(d) for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith("."))
    return [p for p in found if p is not None]


def runbook_files(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return [p for p in sorted(base.glob("*.md")) if p.is_file() and p.name.lower() != "readme.md"]


def catalog_roots(repo_root: Path, shipped: Path | None | Literal["auto"] = "auto") -> list[tuple[Path, str]]:
    """(root, source) pairs in search order; the shipped root is skipped when it is the repo itself."""
    roots = [(repo_root.resolve(), "repo")]
    if shipped == "auto":
        shipped = shipped_root()
    if shipped is not None and shipped.resolve() != roots[0][0]:
        roots.append((shipped.resolve(), "agentbook"))
    return roots


def load_catalog(repo_root: Path | str = ".", *, shipped: Path | None | Literal["auto"] = "auto") -> Catalog:
    """Everything `repo_root` can use. `shipped` is agentbook's own catalog root ("auto": find it;
    None: leave it out)."""
    catalog = Catalog(root=Path(repo_root).resolve())
    installed: list[Path] = []
    roots = catalog_roots(catalog.root, shipped)
    seen: set[Path] = set()
    for root, source in roots:
        for sub in REPO_SKILL_DIRS if source == "repo" else ("skills",):
            for path in skill_files(root / sub):
                if not _linked_again(path, source, seen, [r for r, s in roots if s == "agentbook"]):
                    _add_skill(catalog, path, source, installed)
        for path in runbook_files(root / RUNBOOK_DIR):
            _add_runbook(catalog, path, source)
    for path in installed:  # unchanged installed copies only fill in for a skill agentbook does not ship
        _add_skill(catalog, path, "installed")
    catalog.skills.sort(key=lambda s: s.name)
    catalog.runbooks.sort(key=lambda r: r.name)
    return catalog


def _linked_again(path: Path, source: str, seen: set[Path], shipped: list[Path]) -> bool:
    """Whether a repository's SKILL.md is one the catalog reads anyway, by a link: the same file by a
    second folder (`.claude/skills` a link to `skills/`), or agentbook's own shipped skill (`skills
    install --link`). Each is left out without a note: `skills list` said "skipped" of every such
    link, twice for a broken skill, though the skill it leads to is listed (or noted) once already."""
    real = path.resolve()
    if source == "repo" and any(root in real.parents for root in shipped):
        return True
    if real in seen:
        return True
    seen.add(real)
    return False


def leads_out(path: Path, root: Path) -> bool:
    """Whether `path` (a repository's SKILL.md or runbook, or a folder above it) is a symlink, or lies
    in one, that leads out of `root`: the repository is the ticket author's to write, and a link to
    `/proc/self/environ` or a file of the user's made that file a skill (its description in the
    agent's prompt, its body and folder readable through the `skill` tool) or a runbook to run."""
    real = path.resolve()
    return real != root and root not in real.parents


def _add_skill(catalog: Catalog, path: Path, source: str, installed: list[Path] | None = None) -> None:
    from agentbook.catalog.install import pristine_copy

    if source == "repo" and leads_out(path, catalog.root):
        catalog.problems.append(LoadProblem(path, "skipped: a symlink that leads out of the repository",
                                            skipped=True))
        return
    if installed is not None and source == "repo" and pristine_copy(path.parent):
        installed.append(path)  # an unchanged copy `skills install` made: agentbook's own skill comes first
        return
    skill, notes = load_skill(path)
    for note in notes:
        catalog.problems.append(LoadProblem(path, note, skipped=skill is None))
    if skill is not None:
        _add_entry(catalog, catalog.skills, skill, source, "skill")


def _add_runbook(catalog: Catalog, path: Path, source: str) -> None:
    if source == "repo" and leads_out(path, catalog.root):
        catalog.problems.append(LoadProblem(path, "skipped: a symlink that leads out of the repository",
                                            skipped=True))
        return
    read = read_runbook(path)
    if read.runbook is None:
        why = next((f.message for f in read.findings if f.is_error), "cannot be read")
        catalog.problems.append(LoadProblem(path, f"skipped: {why}", skipped=True))
        return
    _add_entry(catalog, catalog.runbooks, read.runbook, source, "runbook")


def _add_entry(catalog: Catalog, entries: list[Any], entry: Skill | Runbook, source: str, kind: str) -> None:
    """First of a name wins; a repo entry records the shipped one it shadows."""
    entry.source = source
    existing = next((e for e in entries if e.name == entry.name), None)
    if existing is None:
        entries.append(entry)
    elif source == "installed":  # an unchanged copy of what is already loaded: not an override
        catalog.problems.append(LoadProblem(entry.path, f"skipped: an unchanged installed copy of {kind} "
                                                        f"'{entry.name}' ({existing.path} is used)", skipped=True))
    elif existing.source != source:
        existing.shadows = entry.path
    else:
        catalog.problems.append(LoadProblem(entry.path, f"skipped: {kind} '{entry.name}' is already loaded from "
                                                        f"{existing.path}", skipped=True))

"""Which files `agentbook validate` checks, and as what: skills, runbooks and eval suites are told
apart by where they live and what they look like."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentbook.catalog.findings import Finding
from agentbook.catalog.loader import REPO_SKILL_DIRS, RUNBOOK_DIR
from agentbook.catalog.skill import SKILL_FILES, find_skill_md

Kind = Literal["skill", "runbook", "suite", "analysis", "ticket"]
ANALYSIS_JSON = "analysis.json"  # a backtest investigation's finding (schemas/analysis.schema.json)
# Where `agentbook validate` with no PATH looks, relative to the repository root.
DEFAULT_PLACES = (*REPO_SKILL_DIRS, RUNBOOK_DIR, "evals", "examples")
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "build", "dist", "cases"})
# Hidden folders are walked (skills live in .claude/skills, .agents/skills, .github/skills, ...) except
# these, which hold tools' state, never skills.
_SKIP_DOT_DIRS = frozenset({".git", ".hg", ".svn", ".venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
                            ".ruff_cache", ".cache", ".agentbook", ".idea", ".vscode", ".eggs"})
_SUITE_KEYS = re.compile(r"^(tests|prompts):", re.MULTILINE)
_SUITE_NAMES = frozenset({"suite.yaml", "suite.yml"})
# front-matter keys only a ticket has (runbooks/tickets.py reads the rest); a runbook always has `name`
_TICKET_KEYS = frozenset({"id", "title", "runbook", "inputs"})
_TICKET_HEAD = 65536


@dataclass(frozen=True)
class Target:
    kind: Kind
    path: Path  # SKILL.md, the runbook .md, or the suite .yaml


def default_paths(root: Path) -> list[Path]:
    return [root / place for place in DEFAULT_PLACES if (root / place).exists()]


def discover(path: Path, *, tickets: bool = False) -> tuple[list[Target], list[Finding]]:
    """Targets under `path` (a file or a folder), and findings for what cannot be checked; `tickets`:
    the Markdown files with a ticket's front-matter directly in a folder the user named (`tickets/`;
    not deeper, where an example's tickets are relative to a repository that is not this one)."""
    if not path.exists() and not path.is_symlink():
        return [], [Finding(str(path), 1, 1, "path-missing", "path does not exist", "check the spelling")]
    if path.is_file() or not path.exists() or path.name in SKILL_FILES:
        return _classify_file(path, explicit=True)
    skill_md = find_skill_md(path)
    if skill_md is not None:
        return [Target("skill", skill_md)], []
    targets: list[Target] = []
    findings: list[Finding] = []
    _walk(path, targets, findings, set(), tickets)
    if not targets and not findings:
        findings.append(Finding(str(path), 1, 1, "nothing-found", "no SKILL.md, runbook, ticket or eval suite found "
                                "here", "a skill is a folder holding SKILL.md; runbooks live in runbooks/*.md; a "
                                "ticket is a .md whose front-matter names its runbook or inputs"))
    return targets, findings


def _classify_file(path: Path, *, explicit: bool) -> tuple[list[Target], list[Finding]]:
    if path.name in SKILL_FILES:
        return [Target("skill", path)], []
    if path.name == ANALYSIS_JSON:
        return [Target("analysis", path)], []
    if path.suffix == ".md" and explicit and path.parent.name != RUNBOOK_DIR and _is_ticket(path):
        return [Target("ticket", path)], []
    if path.suffix == ".md" and (not explicit or path.parent.name == RUNBOOK_DIR or _starts_front_matter(path)):
        return [Target("runbook", path)], []
    if path.suffix in (".yaml", ".yml") and (path.name in _SUITE_NAMES or _looks_like_suite(path)):
        return [Target("suite", path)], []
    if not explicit:
        return [], []
    if path.suffix == ".md":
        return [], [Finding(str(path), 1, 1, "unknown-file", "not a runbook (no '---' front-matter on line 1) "
                            "nor a SKILL.md: nothing here to check",
                            "a runbook opens with front-matter, as runbooks/*.md do; a backtest's analyses are "
                            "checked by validating its folder")]
    return [], [Finding(str(path), 1, 1, "unknown-file", "not a skill, runbook, eval suite or analysis.json",
                        "pass a skill folder, a SKILL.md, a runbook .md, an eval suite .yaml or a backtest's "
                        "analysis.json")]


def _starts_front_matter(path: Path) -> bool:
    """Whether a Markdown file opens as a runbook does. Another one named on the command line (a
    backtest's report.md, a README) was checked as a runbook and told to add front-matter."""
    from agentbook.fsutil import open_regular

    try:
        with open_regular(path) as fh:
            return fh.read(4).lstrip(b"\xef\xbb\xbf").startswith(b"---")
    except OSError:
        return True  # unreadable: the runbook check says so


def _is_ticket(path: Path) -> bool:
    """A Markdown file whose front-matter is a ticket's (`agentbook run --ticket`): it names an id, a
    title, a runbook or inputs, and no `name`, which every runbook has and no ticket may have."""
    from agentbook.catalog.frontmatter import parse_front_matter
    from agentbook.fsutil import open_regular

    try:
        with open_regular(path) as fh:  # a ticket is small (the runner takes 256 KiB): its head is enough
            head = fh.read(_TICKET_HEAD).decode("utf-8", "replace")
    except OSError:
        return False
    keys = set(map(str, parse_front_matter(head.lstrip("\ufeff").replace("\r\n", "\n"), str(path)).data))
    return "name" not in keys and bool(keys & _TICKET_KEYS)


def _looks_like_suite(path: Path) -> bool:
    if path.name.endswith(".script.yaml"):
        return False
    from agentbook.fsutil import open_regular

    try:
        with open_regular(path) as fh:  # never a fifo's blocking open (NotRegular is an OSError)
            head = fh.read(65536).decode("utf-8", "replace")
    except OSError:
        return False
    return bool(_SUITE_KEYS.search(head))


def _walk(folder: Path, targets: list[Target], findings: list[Finding], visited: set[tuple[int, int]],
          tickets: bool = False) -> None:
    """Collect targets under `folder`; `visited` holds (device, inode) of folders seen, so a symlink
    loop is walked once."""
    try:
        stat = folder.stat()
        if (stat.st_dev, stat.st_ino) in visited:
            return
        visited.add((stat.st_dev, stat.st_ino))
        entries = sorted(folder.iterdir())
    except OSError as err:
        findings.append(Finding(str(folder), 1, 1, "read-error", f"cannot list folder: {err.strerror or err}"))
        return
    in_skills = folder.name == "skills"
    for entry in entries:
        if entry.is_dir():
            if entry.name in _SKIP_DIRS or entry.name in _SKIP_DOT_DIRS:
                continue
            skill_md = find_skill_md(entry)
            if skill_md is not None:
                targets.append(Target("skill", skill_md))
                continue
            before = len(targets)
            _walk(entry, targets, findings, visited)  # tickets: the named folder's own, not a tree's
            if in_skills and len(targets) == before:  # a category folder that holds skills is fine
                findings.append(Finding(str(entry), 1, 1, "no-skill-md", "skill folder has no SKILL.md",
                                        "add SKILL.md with name and description front-matter"))
        elif folder.name == RUNBOOK_DIR and entry.suffix == ".md" and entry.name.lower() != "readme.md":
            targets.append(Target("runbook", entry))
        elif tickets and entry.suffix == ".md" and _is_ticket(entry):
            targets.append(Target("ticket", entry))
        elif entry.suffix in (".yaml", ".yml") or entry.name == ANALYSIS_JSON:
            targets.extend(_classify_file(entry, explicit=False)[0])

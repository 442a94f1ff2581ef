"""Strict validation of skills, runbooks and eval suites: the library behind `agentbook validate`.

`validate_paths(paths, profile)` returns every finding at once, sorted by file and line; nothing a
file contains makes it raise. Eval suites are checked by `agentbook.evals.validate.validate_suite`
when that module is installed, and counted as skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentbook.catalog.body_rules import check_body
from agentbook.catalog.discover import Target, default_paths, discover
from agentbook.catalog.findings import Finding, sort_findings
from agentbook.catalog.loader import REPO_SKILL_DIRS, RUNBOOK_DIR, leads_out, shipped_root, skill_files
from agentbook.catalog.profiles import DEFAULT_PROFILE, PROFILES, Profile
from agentbook.catalog.runbook import read_runbook
from agentbook.catalog.runbook_rules import check_runbook
from agentbook.catalog.skill import read_skill
from agentbook.catalog.skill_rules import check_front_matter
from agentbook.errors import FatalError, UsageError


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: {"skill": 0, "runbook": 0, "suite": 0, "analysis": 0,
                                                                 "ticket": 0})
    suites_skipped: int = 0  # suites found while the eval-suite validator is not installed

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise UsageError(f"unknown profile '{name}'", hint=f"profiles: {', '.join(PROFILES)}")
    return PROFILES[name]


def validate_paths(paths: Sequence[Path | str], profile: str = DEFAULT_PROFILE) -> list[Finding]:
    return validate(paths, profile).findings


def collect_targets(paths: Sequence[Path | str], root: Path) -> tuple[list[Target], list[Finding]]:
    """Targets for `paths` (the catalog places under `root` when empty), each file once."""
    given = [Path(p) for p in paths] or [relative_to_cwd(p) for p in default_paths(root)]
    targets: list[Target] = []
    findings: list[Finding] = []
    seen: set[object] = set()
    for path in given:
        found, problems = discover(path, tickets=bool(paths))  # the catalog's places hold no tickets
        findings += problems
        for target in found:
            if not paths and leads_out(target.path, root):  # the repository's own: not a file it links to
                findings.append(Finding(str(target.path), 1, 1, "link-outside",
                                        "a symlink that leads out of the repository; not read",
                                        "commit the file itself, not a link to it"))
                continue
            key = _identity(target.path)
            if key not in seen:
                seen.add(key)
                targets.append(target)
    return targets, findings


def _identity(path: Path) -> object:
    """The same file reached by two paths (a symlinked skill) is checked once."""
    try:
        stat = path.stat()
    except OSError:
        return os.path.abspath(path)
    return stat.st_dev, stat.st_ino


def validate(paths: Sequence[Path | str], profile: str = DEFAULT_PROFILE, *, root: Path | None = None) -> ValidationReport:
    prof = get_profile(profile)
    targets, findings = collect_targets(paths, (root or Path.cwd()).resolve())
    report = ValidationReport(findings=findings)
    # skills being validated in this run count as existing for the runbooks validated with them
    in_run = {Path(os.path.abspath(t.path)).parent.name for t in targets if t.kind == "skill"}
    skills_by_root: dict[Path, set[str]] = {}

    def skills_for(runbook: Path) -> set[str]:
        base = runbook_root(runbook)
        if base not in skills_by_root:
            skills_by_root[base] = known_skill_names(base) | in_run
        return skills_by_root[base]

    for target in targets:
        found = _check_target(target, prof, skills_for)
        if found is None:
            report.suites_skipped += 1
            continue
        report.findings += found
        report.checked[target.kind] += 1
    report.findings = sort_findings(report.findings)
    return report


def _check_target(target: Target, profile: Profile, skills_for: Callable[[Path], set[str]]) -> list[Finding] | None:
    if target.kind == "skill":
        return check_skill(target.path, profile)
    if target.kind == "runbook":
        return check_runbook_file(target.path, skills_for(target.path))
    if target.kind == "analysis":
        return check_analysis(target.path)
    if target.kind == "ticket":
        return check_ticket(target.path)
    return check_suite(target.path)


def check_skill(path: Path, profile: Profile) -> list[Finding]:
    shown = str(path)
    read = read_skill(path, shown)
    findings = list(read.findings)
    fm = read.front_matter
    if path.name != "SKILL.md":
        findings.append(Finding(shown, 1, 1, "skill-md-name", f"file is named {path.name}; the spec names it SKILL.md",
                                f"rename it: git mv {path} {path.with_name('SKILL.md')}", "warning"))
    if fm is not None and fm.parsed:
        findings += check_front_matter(fm, path.resolve().parent.name, profile)
        findings += check_body(fm, path)
    return findings


def check_runbook_file(path: Path, known_skills: set[str]) -> list[Finding]:
    read = read_runbook(path, str(path))
    if read.runbook is None or read.front_matter is None:
        return read.findings
    return read.findings + check_runbook(read.front_matter, read.runbook, known_skills)


def check_suite(path: Path) -> list[Finding] | None:
    """Findings from the eval-suite validator, or None when it is not installed."""
    try:
        from agentbook.evals.validate import validate_suite
    except ImportError:
        return None
    try:
        return list(validate_suite(path))
    except FatalError as err:
        line, col = _location_numbers(err.location)
        return [Finding(str(path), line, col, "suite", err.message, err.hint or "")]


def check_ticket(path: Path) -> list[Finding]:
    """A ticket for `agentbook run --ticket` (not a runbook: it has no steps): its front-matter as the
    runner reads it, the runbook it names, and its inputs against that runbook's, paths as the runner
    sees them (committed at HEAD of the repository the ticket is in). The first problem is the finding,
    as for the runner."""
    from agentbook.catalog.loader import load_catalog
    from agentbook.runbooks.inputs import resolve_inputs
    from agentbook.runbooks.tickets import read_ticket

    hint_run = f"agentbook run --ticket {path} --dry-run shows the run it would start"
    try:
        ticket = read_ticket(str(path))
        if not ticket.runbook:
            return []  # the runbook is named on the command line: nothing more to check against
        root, committed = _repo_paths(path)
        try:
            listed = load_catalog(root).require_runbook(ticket.runbook)
        except FatalError as err:  # placed at the ticket's `runbook:` line
            return [Finding(str(path), _line_of(path, "runbook:"), 1, "ticket", err.message, err.hint or hint_run)]
        read = read_runbook(listed.path, str(listed.path))
        spec = read.runbook.front.get("inputs") if read.runbook else None
        resolve_inputs(spec if isinstance(spec, dict) else {}, ticket.inputs, {}, runbook=ticket.runbook,
                       ticket_source=ticket.source, ticket_lines=ticket.inputs_line,
                       path_exists=committed)
    except FatalError as err:
        line, col = _location_numbers(err.location)
        return [Finding(str(path), line, col, "ticket", err.message, err.hint or hint_run)]
    return []


def _line_of(path: Path, prefix: str) -> int:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return next((n for n, text in enumerate(lines, 1) if text.startswith(prefix)), 1)


def _repo_paths(path: Path) -> tuple[Path, Callable[[str], bool]]:
    """The root of the repository holding a ticket (its paths are relative to it) and whether a path is
    committed there at HEAD, where `agentbook run` starts; outside a repository, the current folder."""
    from agentbook.gitops.git import Git

    git = Git(path.resolve().parent)
    top = git.out("rev-parse", "--show-toplevel") if git.ok("rev-parse", "--verify", "-q", "HEAD") else ""
    if not top:
        return Path.cwd(), lambda p: Path(p).exists()
    return Path(top), lambda p: git.ok("cat-file", "-e", f"HEAD:{p}")


def check_analysis(path: Path) -> list[Finding]:
    """A backtest analysis (written by an analyst, or by hand as the backtest-analysis skill teaches)
    against schemas/analysis.schema.json: `backtest cluster` reads what it finds, so check it first."""
    import json

    import jsonschema

    from agentbook.shipped import load_schema

    hint = "the fields: skill backtest-analysis, references/analysis-fields.md"
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as err:
        return [Finding(str(path), 1, 1, "read-error", f"cannot read: {err.strerror or err}")]
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line, col = (err.lineno, err.colno) if isinstance(err, json.JSONDecodeError) else (1, 1)
        return [Finding(str(path), line, col, "analysis-json", f"not JSON: {getattr(err, 'msg', err)}", hint)]
    errors = jsonschema.Draft202012Validator(load_schema("analysis")).iter_errors(data)
    return [Finding(str(path), _key_line(text, err.absolute_path), 1, "analysis-schema",
                    f"{'/'.join(str(p) for p in err.absolute_path) or '(top level)'}: {err.message}", hint)
            for err in errors]


def _key_line(text: str, where: Sequence[object]) -> int:
    """The line of the last key of `where` in the JSON text (1 when the error is about the whole object)."""
    keys = [p for p in where if isinstance(p, str)]
    if not keys:
        return 1
    at = text.find(f'"{keys[-1]}"')
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def runbook_root(path: Path) -> Path:
    """The repository a runbook belongs to: the parent of its runbooks/ folder."""
    folder = Path(os.path.abspath(path)).parent
    return folder.parent if folder.name == RUNBOOK_DIR else folder


def known_skill_names(root: Path) -> set[str]:
    """Skills a runbook in `root` may name: the repo's own, then agentbook's shipped ones (folder names;
    a folder whose name differs from its skill's name is reported on the skill itself)."""
    roots = [root] + ([shipped] if (shipped := shipped_root()) is not None else [])
    names: set[str] = set()
    for base in roots:
        for sub in (*REPO_SKILL_DIRS, "skills"):
            names.update(p.parent.name for p in skill_files(base / sub))
    return names


def relative_to_cwd(path: Path) -> Path:
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


def _location_numbers(location: str | None) -> tuple[int, int]:
    """(line, col) from a "file:line[:col]" breadcrumb; (1, 1) when it has none."""
    nums = [int(p) for p in (location or "").split(":")[1:] if p.isdigit()]
    return (nums[0] if nums else 1), (nums[1] if len(nums) > 1 else 1)

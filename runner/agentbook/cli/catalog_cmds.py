"""`agentbook skills list|show|install` and `agentbook runbooks list|show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from agentbook.catalog.install import install_skills
from agentbook.catalog.loader import Catalog, LoadProblem, load_catalog
from agentbook.catalog.runbook import Runbook
from agentbook.catalog.skill import Skill, folder_files
from agentbook.cli.output import bounded, emit_json, json_option

MAX_PROBLEMS = 10
FILES_SHOWN = 50  # files of a skill's folder `skills show` names; --json lists them all
repo_option = click.option("--repo", "repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                           show_default=True, help="Repository whose catalog to read.")


def _one_line(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _where(entry: Skill | Runbook, root: Path) -> str:
    path = entry.path
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _source(entry: Skill | Runbook) -> str:
    return f"{entry.source} (overrides agentbook)" if entry.shadows else entry.source


def _problems_json(problems: list[LoadProblem]) -> list[dict[str, Any]]:
    return [{"path": str(p.path), "reason": p.reason, "skipped": p.skipped} for p in problems]


def _print_table(rows: list[tuple[str, str, str, str]], kind: str) -> None:
    if not rows:
        click.echo(f"no {kind} found")
        return
    name_w = max(len(r[0]) for r in rows)
    src_w = max(len(r[1]) for r in rows)
    lines = [f"{name:<{name_w}}  {src:<{src_w}}  {desc}\n{'':<{name_w}}  {'':<{src_w}}  {path}"
             for name, src, desc, path in rows]
    click.echo(bounded("\n".join(lines), more_hint=f"use --json for the whole list of {kind}"))
    if any(desc.endswith("...") for _, _, desc, _ in rows):
        click.echo(f"(descriptions cut at 80 characters: agentbook {kind} show NAME has the whole text)")


def _print_problems(problems: list[LoadProblem], kind: str) -> None:
    relevant = [p for p in problems if (p.path.name.lower() == "skill.md") == (kind == "skills")]
    for problem in relevant[:MAX_PROBLEMS]:
        click.echo(f"note: {problem.path}: {problem.reason}")
    if len(relevant) > MAX_PROBLEMS:
        click.echo(f"note: ... {len(relevant) - MAX_PROBLEMS} more; run `agentbook validate` for details")


def _front_yaml(front: dict[str, Any]) -> str:
    return yaml.safe_dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100).rstrip()


# ---- skills -------------------------------------------------------------------------------------

@click.group("skills")
def skills_group() -> None:
    """Skills the current repository can use (its own first, then agentbook's)."""


@skills_group.command("list")
@repo_option
@json_option
def skills_list(repo: Path, as_json: bool) -> None:
    """Name, source, one-line description and path of every skill."""
    catalog = load_catalog(repo)
    if as_json:
        emit_json({"skills": [skill_json(s) for s in catalog.skills],
                   "problems": _problems_json([p for p in catalog.problems if p.path.name.lower() == "skill.md"])})
        return
    _print_table([(s.name, _source(s), _one_line(s.description), _where(s, catalog.root)) for s in catalog.skills],
                 "skills")
    _print_problems(catalog.problems, "skills")


def skill_json(skill: Skill) -> dict[str, Any]:
    return {"name": skill.name, "description": skill.description, "path": str(skill.path), "source": skill.source,
            "shadows": str(skill.shadows) if skill.shadows else None}


@skills_group.command("show")
@click.argument("name")
@click.option("--full", is_flag=True, help="Print the whole body, not just its outline.")
@repo_option
@json_option
def skills_show(name: str, full: bool, repo: Path, as_json: bool) -> None:
    """Front-matter, files and the outline of one skill (--full for the body)."""
    skill = load_catalog(repo).require_skill(name)
    outline = [line for line in skill.body.split("\n") if line.startswith("#")]
    if as_json:
        emit_json({**skill_json(skill), "front": skill.front, "files": folder_files(skill.dir, "")[0],
                   "outline": outline, **({"body": skill.body} if full else {})})
        return
    files, more = folder_files(skill.dir, "", FILES_SHOWN)  # SKILL.md too, as before
    click.echo(f"# {skill.name}  ({_source(skill)}: {skill.path})\n{_front_yaml(skill.front)}\n")
    click.echo("files: " + bounded(", ".join(files), 600, "see the folder")
               + (" and more (--json lists them all)" if more else ""))
    if full:
        click.echo("\n" + skill.body.strip("\n"))
    else:
        click.echo("\noutline:\n" + bounded("\n".join(outline) or "(no headings)", more_hint="use --full"))
        click.echo("(body not shown: use --full)")


@skills_group.command("install")
@click.argument("names", nargs=-1)
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to install into, e.g. .claude/skills or .agents/skills.")
@click.option("--link", is_flag=True, help="Symlink instead of copying (follows later edits).")
@click.option("--force", is_flag=True, help="Replace a different skill of the same name.")
@repo_option
@json_option
def skills_install(names: tuple[str, ...], target: Path, link: bool, force: bool, repo: Path, as_json: bool) -> None:
    """Copy (or --link) skills into TARGET/<name>/; NAMES default to every skill in the catalog.
    Refuses to overwrite a different skill of the same name."""
    catalog = load_catalog(repo)
    chosen = [catalog.require_skill(n) for n in names] if names else _installable(catalog, target)
    results = install_skills(chosen, target, link=link, force=force)
    errors = {r.name: _spec_errors(r.path) for r in results}
    outside = _links_out(results) if link else []
    if as_json:
        emit_json({"target": str(target), "installed": [
            {"name": r.name, "path": str(r.path), "action": r.action, "source": str(r.source),
             "errors": [f.to_json() for f in errors[r.name]], "link_leaves_repository": r.name in outside}
            for r in results]})
        return
    for r in results:
        click.echo(f"{r.action:<9} {r.name} -> {r.path}")
        click.echo(bounded("\n".join(f"  {f.render()}" for f in errors[r.name]), 1500,
                           f"agentbook validate {r.path}"), nl=bool(errors[r.name]))
    broken = sum(bool(e) for e in errors.values())
    if broken:  # a copy of someone else's slip: the repository's own `validate` fails on it from now on
        click.echo(f"{broken} installed skill{'s break' if broken > 1 else ' breaks'} the spec: agentbook validate "
                   "(or --json) in the repository fails on it until it is fixed there or upstream")
    if outside:  # what the repository's validate then says of each, and what a clone holds
        click.echo(f"note: {len(outside)} link{'s lead' if len(outside) > 1 else ' leads'} out of the repository "
                   f"{target}/ is in: its agentbook validate reports each (link-outside) and a clone has none "
                   "of them; install without --link to commit copies")
    if not results:
        click.echo("no skills to install")


def _links_out(results: list[Any]) -> list[str]:
    """The installed links that lead out of the git work tree their folder is in (none outside one)."""
    from agentbook.catalog.loader import leads_out

    out = []
    for r in results:
        top = next((d for d in [r.path.parent.resolve(), *r.path.parent.resolve().parents] if (d / ".git").exists()),
                   None)
        if top is not None and leads_out(r.path, top):
            out.append(r.name)
    return out


def _spec_errors(installed: Path) -> list[Any]:
    from agentbook.catalog import validate_paths

    return [f for f in validate_paths([installed]) if f.severity == "error"]


def _installable(catalog: Catalog, target: Path) -> list[Skill]:
    """Every skill except those already living in the target folder itself."""
    resolved = target.resolve()
    return [s for s in catalog.skills if s.dir.resolve().parent != resolved]


# ---- runbooks -----------------------------------------------------------------------------------

@click.group("runbooks")
def runbooks_group() -> None:
    """Runbooks the current repository can run (its own first, then agentbook's)."""


@runbooks_group.command("list")
@repo_option
@json_option
def runbooks_list(repo: Path, as_json: bool) -> None:
    """Name, source, one-line description and path of every runbook."""
    catalog = load_catalog(repo)
    if as_json:
        emit_json({"runbooks": [runbook_json(r) for r in catalog.runbooks],
                   "problems": _problems_json([p for p in catalog.problems if p.path.name.lower() != "skill.md"])})
        return
    _print_table([(r.name, _source(r), _one_line(r.description), _where(r, catalog.root)) for r in catalog.runbooks],
                 "runbooks")
    _print_problems(catalog.problems, "runbooks")


def runbook_json(runbook: Runbook) -> dict[str, Any]:
    return {"name": runbook.name, "description": runbook.description, "path": str(runbook.path),
            "source": runbook.source, "shadows": str(runbook.shadows) if runbook.shadows else None,
            "blob_sha": runbook.blob_sha, "steps": len(runbook.steps)}


@runbooks_group.command("show")
@click.argument("name")
@click.option("--full", is_flag=True, help="Print the whole body, not just the steps and gates.")
@repo_option
@json_option
def runbooks_show(name: str, full: bool, repo: Path, as_json: bool) -> None:
    """Front-matter and the outline of steps and gates of one runbook (--full for the body)."""
    rb = load_catalog(repo).require_runbook(name)
    if as_json:
        steps = [{"index": s.index, "title": s.title, "line": s.line,
                  "gates": [{"command": g.command, "line": g.line} for g in s.gates],
                  **({"body": s.body} if full else {})} for s in rb.steps]
        emit_json({**runbook_json(rb), "front": rb.front, "steps": steps, **({"body": rb.body} if full else {})})
        return
    click.echo(f"# {rb.name}  ({_source(rb)}: {rb.path} @ {rb.blob_sha[:12]})\n{_front_yaml(rb.front)}\n")
    if full:
        click.echo(rb.body.strip("\n"))
        return
    lines = []
    for step in rb.steps:
        lines.append(f"{step.index}. {step.title}  (line {step.line})")
        lines += [f"     check: {_one_line(g.command, 90) or '(empty)'}" for g in step.gates]
    click.echo("steps:\n" + bounded("\n".join(lines) or "(no steps)", more_hint="use --json or --full"))
    click.echo("(body not shown: use --full)")

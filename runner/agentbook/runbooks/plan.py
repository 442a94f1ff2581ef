"""Pre-flight: everything a run needs, resolved and checked before a worktree exists or a model is
called. Each problem is a `FatalError` a user can act on (exit 3); `--dry-run` prints the plan."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from agentbook.catalog import Catalog, Runbook, load_catalog, parse_runbook
from agentbook.errors import FatalError, UsageError
from agentbook.fence import one_line
from agentbook.gitops.branches import branch_exists, check_branch_name, slug, unique_branch
from agentbook.gitops.github import GitHubRepo, repo_from_remote
from agentbook.gitops.repo import (
    Repo,
    check_clean,
    check_state_untracked,
    identity,
    open_repo,
    remote_url,
    resolve_base,
)
from agentbook.models.spec import default_model
from agentbook.runbooks import suitepaths
from agentbook.runbooks.engines import DEFAULT_ENGINE, engine_for, engine_names, parse_agent
from agentbook.runbooks.inputs import resolve_inputs
from agentbook.runbooks.limits import budgets_for, gate_retries_for
from agentbook.runbooks.record import new_run_id
from agentbook.runbooks.render import (
    RenderedStep,
    fill,
    prompt_value,
    shell_quote,
    system_prompt,
    without_gates,
)
from agentbook.runbooks.tickets import Ticket, empty_ticket, read_ticket
from agentbook.secretscan import MIN_SECRET_LEN, SecretScanner, held_secrets
from agentbook.session import allowlist
from agentbook.session.config import DEFAULT_TOOLS, Budgets
from agentbook.session.limits import Limits
from agentbook.session.limits import resolve as resolve_limits
from agentbook.session.paths import is_protected
from agentbook.session.sandbox import resolve_mode
from agentbook.session.tools import get_tools

DEFAULT_BRANCH = "agentbook/{runbook.name}/{ticket.id}"
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class RunOptions:
    runbook: str | None
    ticket: str | None = None
    stdin_text: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    repo: Path = Path()
    base: str | None = None
    branch: str | None = None
    model: str | None = None
    max_usd: float | None = None
    max_turns: int | None = None
    timeout: str | None = None
    gate_retries: int | None = None
    push: str | None = None  # remote name
    open_pr: bool = False
    run_id: str | None = None
    secrets: list[str] = field(default_factory=list)  # names of variables holding more secrets (--secret)
    sandbox: str = "auto"  # --sandbox: where bash and the gates run (session.sandbox)
    limits: dict[str, Any] = field(default_factory=dict)  # --limit NAME=VALUE, over the runbook's limits.sandbox
    agent: str | None = None  # --agent: agentbook | claude-code | command:ARGV (runbooks/engines.py)
    dry_run: bool = False  # only plan: no model is called, so no API key is needed
    allow_ci_changes: bool = False  # --allow-ci-changes: the agent may change CI configuration (gitops/guard.py)


@dataclass
class RunPlan:
    run_id: str
    repo: Repo
    runbook: Runbook
    ticket: Ticket
    inputs: dict[str, Any]
    base: str
    base_sha: str
    branch: str  # the template's name, or --branch
    branch_explicit: bool
    model: str
    budgets: Budgets
    gate_retries: int
    tools: list[str]
    skills: dict[str, tuple[Path, str, str]]  # name -> (SKILL.md, description, body)
    protected: list[str]
    bash_allow: list[str] | None
    system: str
    steps: list[RenderedStep]
    push: str | None
    open_pr: bool
    github: GitHubRepo | None = None
    secrets: list[str] = field(default_factory=list)  # --secret NAMEs
    sandbox: str = "auto"
    limits: Limits = field(default_factory=Limits)
    agent: str = "agentbook"
    limits_capped: list[str] = field(default_factory=list)  # the runbook's limits above their ceiling, capped
    allow_ci_changes: bool = False

    @property
    def runbook_ref(self) -> str:
        return f"{self.runbook.name}@{self.runbook.blob_sha}"

    def to_json(self) -> dict[str, Any]:
        preview = self.branch if self.branch_explicit else unique_branch(self.repo, self.branch)
        return {"run_id": self.run_id, "runbook": self.runbook_ref, "runbook_path": str(self.runbook.path), "model": self.model,
                "ticket": self.ticket.to_json(), "inputs": self.inputs, "base": self.base,
                "base_sha": self.base_sha, "branch": preview, "agent": self.agent, "limits": self.budgets.to_json(),
                "gate_retries": self.gate_retries, "tools": self.tools, "skills": sorted(self.skills),
                "protected": self.protected, "bash_allow": self.bash_allow, "system": self.system,
                "steps": [{"index": s.index, "title": s.title, "body": s.body, "gates": s.gates}
                          for s in self.steps],
                "push": self.push, "open_pr": self.open_pr, "sandbox": self.sandbox,
                "sandbox_limits": self.limits.to_json(), "limits_capped": self.limits_capped,
                "allow_ci_changes": self.allow_ci_changes}


def _subdir(root: Path) -> str:
    """The current folder relative to the repository root ('' at the root or outside it)."""
    try:
        rel = Path.cwd().resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError):
        return ""
    return "" if rel == Path() else rel.as_posix()


def plan_run(opts: RunOptions) -> RunPlan:
    """Resolve and check everything, in the order a user fixes things; no side effects."""
    repo = open_repo(opts.repo)
    check_state_untracked(repo)
    ticket = read_ticket(opts.ticket, opts.stdin_text) if opts.ticket else None
    catalog = load_catalog(repo.root)
    runbook = _pick_runbook(opts.runbook, ticket, catalog, repo)
    if not runbook.steps:
        raise FatalError(f"runbook '{runbook.name}' has no steps", location=str(runbook.path),
                         hint="each '## ' heading is a step")
    base, base_sha = resolve_base(repo, opts.base)
    check_clean(repo)
    identity(repo)
    run_id = opts.run_id or new_run_id(runbook.name)
    ticket = ticket or empty_ticket(run_id)
    front = runbook.front
    inputs = resolve_inputs(_mapping(front.get("inputs")), ticket.inputs, opts.inputs, runbook=runbook.name,
                            ticket_source=ticket.source, ticket_lines=ticket.inputs_line,
                            path_exists=lambda p: repo.git.ok("cat-file", "-e", f"{base_sha}:{p}"),
                            subdir=_subdir(repo.root))
    values = {"inputs": inputs, "ticket": {"id": ticket.id, "title": ticket.title},
              "runbook": {"name": runbook.name}}
    steps = _render_steps(runbook, values)
    branch, explicit = _branch(repo, opts.branch, front, values, runbook)
    _check_secrets(opts.secrets, branch)
    skills = _skills(front, catalog, runbook)
    tools = _tools(front, bool(skills))
    protected = suitepaths.resolve([str(p) for p in front.get("protected") or []], inputs, repo.git, base_sha,
                                   where=str(runbook.path))
    protected += [p for p in scripted_models(_mapping(front.get("inputs")), inputs) if is_protected(p, protected) is None]
    allow = _bash_allow(front, runbook)
    push = opts.push or ("origin" if opts.open_pr else None)
    github = _check_publish(repo, push, opts.open_pr, base)
    model = opts.model or _str(front.get("model")) or default_model()
    if not opts.model and _str(front.get("model")):  # a repository's runbook is a file anyone may write
        _check_written_model(model, runbook)
    check_model(model, need_key=not opts.dry_run)
    agent = _agent(opts.agent, ticket, front, runbook)
    engine_for(agent).check(tools, [str(a) for a in allow] if isinstance(allow, list) else None)
    limits = _mapping(front.get("limits"))
    trusted, capped = is_shipped(runbook), list[str]()  # a repository's runbook may lower limits, never raise them
    sandbox_limits = resolve_limits(limits.get("sandbox"), opts.limits, where=f"{runbook.path}: limits.sandbox",
                                    trusted=trusted, notes=capped)
    budgets = budgets_for(limits, max_usd=opts.max_usd, max_turns=opts.max_turns, timeout=opts.timeout,
                          trusted=trusted, notes=capped)
    gate_retries = gate_retries_for(limits, opts.gate_retries, trusted=trusted, notes=capped)
    if "bash" in tools or any(s.gates for s in steps):  # fail closed before a worktree exists
        resolve_mode(opts.sandbox)
    return RunPlan(run_id=run_id, repo=repo, runbook=runbook, ticket=ticket, inputs=inputs, base=base,
                   base_sha=base_sha, branch=branch, branch_explicit=explicit, model=model,
                   budgets=budgets, gate_retries=gate_retries, tools=tools, skills=skills,
                   protected=protected, bash_allow=allow,
                   system=_system(runbook, values, inputs, skills, protected, steps), steps=steps, push=push,
                   open_pr=opts.open_pr, github=github, secrets=list(opts.secrets), agent=agent,
                   sandbox=opts.sandbox, limits=sandbox_limits, limits_capped=capped,
                   allow_ci_changes=opts.allow_ci_changes)


def scripted_models(spec: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
    """The script of each `scripted:` model the inputs name (a ticket's eval model: the stand-in for the
    production model its gates run the suite with), as protected paths: the agent reads it, never
    changes it, wherever the repository keeps it. A runbook's own `protected:` globs name one layout
    (`evals/*.script.yaml`); a script elsewhere could be edited to make a case pass."""
    from agentbook.models.spec import parse_spec

    out = []
    for name, decl in spec.items():
        value = inputs.get(name)
        if not (isinstance(decl, dict) and decl.get("type") == "model" and isinstance(value, str)):
            continue
        script = parse_spec(value).script if value.startswith("scripted:") else None
        if script and not PurePosixPath(script).is_absolute():  # resolve_inputs kept it inside the repository
            rel = PurePosixPath(script).as_posix().removeprefix("./")
            out.append("".join(f"[{c}]" if c in "*?[" else c for c in rel))  # a path, not a glob
    return out


def is_shipped(runbook: Runbook) -> bool:
    """The runbook is one of agentbook's own (chosen by whoever installed it), not the repository's
    (which the ticket's author may have written, or shadowed one of agentbook's with)."""
    return runbook.source == "agentbook"


def _system(runbook: Runbook, values: dict[str, dict[str, Any]], inputs: dict[str, Any],
            skills: dict[str, tuple[Path, str, str]], protected: list[str], steps: list[RenderedStep]) -> str:
    docs = {k: str(v.get("description", "")) for k, v in _mapping(runbook.front.get("inputs")).items()
            if isinstance(v, dict)}
    return system_prompt(name=runbook.name, description=runbook.description,
                         intro=fill(runbook.intro, values, where=str(runbook.path), quote=prompt_value), inputs=inputs, input_docs=docs,
                         skills=[(n, d) for n, (_, d, _) in skills.items()], protected=protected,
                         total_steps=len(steps), has_gates=any(s.gates for s in steps))


def _agent(flag: str | None, ticket: Ticket, front: dict[str, Any], runbook: Runbook) -> str:
    """--agent, else the ticket's `agent:`, else the runbook's, else agentbook's own loop. A ticket is
    anyone's to write: it may pick a registered agent by name, never a command line to run."""
    if flag:
        return flag
    if ticket.agent:
        if parse_agent(ticket.agent)[1] or parse_agent(ticket.agent)[0] == "command":
            raise FatalError(f"the ticket's agent {ticket.agent!r} is a command line; a ticket may only name an agent",
                             location=ticket.source, hint=f"use one of: {', '.join(n for n in engine_names() if n != 'command')}")
        return ticket.agent
    return _str(front.get("agent")) or DEFAULT_ENGINE


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_model(spec: str, *, need_key: bool = True) -> None:
    """The model spec parses and has what it needs (a key, a script), without calling the model."""
    from agentbook.models.spec import parse_spec

    parsed = parse_spec(spec)
    if need_key and parsed.kind == "anthropic" and not parsed.api_key():
        raise FatalError(f"model {spec} needs an API key", hint="set ANTHROPIC_API_KEY, or pass --model")
    if parsed.kind == "scripted" and parsed.script and not Path(parsed.script).is_file():
        raise FatalError(f"scripted model file not found: {parsed.script}")


def _check_written_model(spec: str, runbook: Runbook) -> None:
    from agentbook.models.spec import WRITTEN_SPEC_HINT, written_spec_problem

    why = written_spec_problem(spec)
    if why is not None:
        raise FatalError(f"runbook '{runbook.name}': model: {why}", location=str(runbook.path),
                         hint=f"{WRITTEN_SPEC_HINT} (--model)")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pick_runbook(asked: str | None, ticket: Ticket | None, catalog: Catalog, repo: Repo) -> Runbook:
    named = ticket.runbook if ticket else None
    if asked is None and named is None:
        raise UsageError("name a runbook: agentbook run RUNBOOK, or set 'runbook:' in the ticket")
    if asked and (asked.endswith(".md") or "/" in asked):
        path = Path(asked) if Path(asked).is_absolute() or Path(asked).exists() else repo.root / asked
        if not path.is_file():
            raise FatalError(f"runbook file not found: {asked}")
        runbook = parse_runbook(path)
    else:
        listed = catalog.require_runbook(asked or named or "")
        runbook = parse_runbook(listed.path)  # the catalog reads leniently; a run needs every field typed
        runbook.source, runbook.shadows = listed.source, listed.shadows
    if named and ticket and named != runbook.name:
        raise FatalError(f"the ticket names runbook '{named}' but the run asks for '{runbook.name}'",
                         location=ticket.source, hint="drop the RUNBOOK argument or fix the ticket's 'runbook:'")
    return runbook


def _render_steps(runbook: Runbook, values: dict[str, dict[str, Any]]) -> list[RenderedStep]:
    where = str(runbook.path)
    total = len(runbook.steps)
    return [RenderedStep(s.index, total, fill(s.title, values, where=where, line=s.line, quote=one_line),
                         without_gates(fill(s.body, values, where=where, line=s.line + 1, quote=prompt_value)),
                         [fill(g.command, values, where=where, line=g.line + 1, quote=shell_quote) for g in s.gates])
            for s in runbook.steps]


def _branch(repo: Repo, flag: str | None, front: dict[str, Any], values: dict[str, dict[str, Any]],
            runbook: Runbook) -> tuple[str, bool]:
    if flag:
        check_branch_name(repo, flag)
        if branch_exists(repo, flag):
            raise FatalError(f"branch '{flag}' already exists",
                             hint="pick another --branch, or drop it to get a fresh name from the template")
        return flag, True
    template = _str(front.get("branch")) or DEFAULT_BRANCH
    name = fill(template, values, where=str(runbook.path), quote=slug)
    check_branch_name(repo, name)
    return name, False


def _check_secrets(names: list[str], branch: str) -> None:
    """Every `--secret NAME` is set, and no held secret is in the branch name (a ref name is pushed
    and shown everywhere; built from the ticket, it is the attacker's to choose)."""
    for name in names:
        if not _SECRET_NAME.match(name):
            raise FatalError(f"--secret {name!r}: expected the name of an environment variable")
        if len(os.environ.get(name) or "") < MIN_SECRET_LEN:
            raise FatalError(f"--secret {name}: the variable is not set (or shorter than {MIN_SECRET_LEN} characters)",
                             hint="export it, or drop --secret")
    hits = SecretScanner(held_secrets(names)).scan(branch, "the branch name", name_only=True)
    if hits:
        raise FatalError(f"the branch name would contain a secret ({hits[0].secret}); refusing to create it",
                         hint="the ticket's id or title holds a secret: fix the ticket, or pass --branch NAME")


def _skills(front: dict[str, Any], catalog: Catalog, runbook: Runbook) -> dict[str, tuple[Path, str, str]]:
    out: dict[str, tuple[Path, str, str]] = {}
    for name in front.get("skills") or []:
        skill = catalog.skill(str(name))
        if skill is None:
            raise FatalError(f"runbook '{runbook.name}' names skill '{name}', which does not exist",
                             location=str(runbook.path), hint="agentbook skills list shows the skills")
        out[skill.name] = (skill.path, skill.description, skill.body)
    return out


def _bash_allow(front: dict[str, Any], runbook: Runbook) -> list[str] | None:
    """The runbook's allow-list, each pattern checked the way the session will match it."""
    allow = _mapping(front.get("bash")).get("allow")
    if not isinstance(allow, list):
        return None
    patterns = [str(a) for a in allow]
    for pattern in patterns:
        why = allowlist.check_pattern(pattern)
        if why is not None:
            raise FatalError(f"runbook '{runbook.name}': {why}", location=str(runbook.path),
                             hint="bash.allow lists one command pattern per entry, e.g. 'agentbook eval *'")
    return patterns


def _tools(front: dict[str, Any], with_skills: bool) -> list[str]:
    names = [str(t) for t in front.get("tools") or DEFAULT_TOOLS]
    if with_skills and "skill" not in names:
        names.append("skill")
    get_tools(names)  # unknown names fail here, before anything starts
    return names


def _check_publish(repo: Repo, remote: str | None, open_pr: bool, base: str) -> GitHubRepo | None:
    if remote is None:
        return None
    url = remote_url(repo, remote)
    if not open_pr:
        return None
    if not os.environ.get("GITHUB_TOKEN"):
        raise FatalError("--open-pr needs GITHUB_TOKEN", hint="export a token that may open pull requests")
    if not branch_exists(repo, base):
        raise FatalError(f"--open-pr needs the base to be a branch, not '{base}'", hint="pass --base BRANCH")
    return repo_from_remote(url)

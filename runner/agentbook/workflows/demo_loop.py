"""The demo's second act: the loop closed on the example system, offline.

In the example repository the first act made, on its main branch: the assistant runs its own backtest
over its recorded incidents (`backtest run`, its scripted production model depending on its prompts),
the failures are analysed and clustered against its code, `backtest fixes` writes one fix ticket per
top prompt cohort, and `backtest close-loop` runs every ticket with a scripted agent that makes the
right fix (each targeted cohort shrinks: ready), then the LogQL ticket again with one that edits the
wrong prompt (caught: not ready, and why). Both agents are tests/loop/data/example-fixer-*.script.yaml.
The evals the fixes are checked with and the backtest run the same scripted model (the evals'
`evals/sut.script.yaml` carries the production script's prompt rules), so a fix that passes the one
moves the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.gitops.git import Git
from agentbook.workflows.fixture import demo_file

SPEC = "backtest/run/run.yaml"
ANALYST = "backtest/run/analyst.script.yaml"
EVAL_MODEL = "scripted:evals/sut.script.yaml"
BASELINE = "backtests/baseline"
WRONG_PROMPT = "prompts/logql.md"  # the ticket the wrong fixer works
JOBS = 8


@dataclass
class LoopDemo:
    baseline: dict[str, Any]  # accuracy, cohorts (slug, count, scope)
    fixes: list[dict[str, Any]]  # what `backtest fixes` proposed (slug, location, ticket or why none)
    tickets: list[str]  # every ticket written, each closed with the right fix
    right: list[dict[str, Any]]  # close-loop's result per ticket, right fixes
    ticket: str  # the ticket the wrong fix is tried on
    wrong: dict[str, Any]  # close-loop's result for the wrong fix
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"spec": SPEC, "baseline": self.baseline, "fixes": self.fixes, "tickets": self.tickets,
                "right": self.right, "ticket": self.ticket, "wrong": self.wrong,
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "against_claude": claude_command(self.tickets)}


def claude_command(tickets: list[str]) -> str:
    return (f"ANTHROPIC_API_KEY=... agentbook backtest close-loop {' '.join(tickets)} --spec {SPEC} "
            f"--model anthropic:claude-sonnet-4-5 --analyst-model anthropic:claude-sonnet-4-5")


FIXERS = {"right": "example-fixer-good.script.yaml", "wrong": "example-fixer-wrong.script.yaml"}


def fixer(kind: str) -> Path:
    script = demo_file(f"tests/loop/data/{FIXERS[kind]}")
    if script is None or not script.is_file():
        raise FatalError(f"the demo's scripted fixer (tests/loop/data/{FIXERS[kind]}) is not available",
                         hint="reinstall agentbook, or run `make demo` in its source checkout")
    return script


def missing_dependency() -> str | None:
    """What act 2 needs beyond agentbook itself (clustering), or None when it is all there."""
    import importlib.util

    for module, package in (("sklearn", "scikit-learn"), ("scipy", "scipy")):
        if importlib.util.find_spec(module) is None:
            return package
    return None


def run_loop_demo(repo: Path) -> LoopDemo:
    from agentbook.backtest.fixes import write_fixes
    from agentbook.workflows.loop import LoopOptions, close_loop

    if not (repo / SPEC).is_file():
        raise FatalError(f"the example has no backtest run spec ({SPEC})")
    seconds: dict[str, float] = {}
    started = time.monotonic()
    baseline = _baseline(repo)
    seconds["baseline"] = time.monotonic() - started
    started = time.monotonic()
    summary = write_fixes(repo / BASELINE, code=repo, eval_model=EVAL_MODEL)
    tickets = [str(f.ticket) for f in summary.fixes if f.ticket]
    wrong_ticket = next((str(f.ticket) for f in summary.fixes if f.ticket and f.location.startswith(WRONG_PROMPT)), None)
    if wrong_ticket is None:
        raise FatalError(f"the example's backtest gave no fix ticket for {WRONG_PROMPT}",
                         hint=f"see {repo / BASELINE / 'fixes.md'}")
    git = Git(repo)
    git.run("add", "tickets")
    git.run("commit", "-q", "--no-verify", "-m", "fix tickets from the baseline backtest")  # runs start from a commit
    seconds["fixes"] = time.monotonic() - started
    results = {}
    for kind, chosen in (("right", tickets), ("wrong", [wrong_ticket])):
        started = time.monotonic()
        loop = close_loop(LoopOptions(tickets=[repo / t for t in chosen], spec=SPEC,
                                      agent_model=f"scripted:{fixer(kind)}", analyst_model=f"scripted:{repo / ANALYST}",
                                      repo=repo, jobs=JOBS, out=repo / ".agentbook" / f"loop-{kind}"))
        report = str(Path(loop.out) / "report.md")
        results[kind] = [f.to_json() | {"ticket": t, "report": report} for t, f in zip(chosen, loop.fixes, strict=True)]
        seconds[f"{kind} fix" + ("es" if len(chosen) > 1 else "")] = time.monotonic() - started
    fixes = [{"slug": f.slug, "count": f.count, "location": f.location, "ticket": f.ticket, "no_ticket": f.no_ticket}
             for f in summary.fixes]
    return LoopDemo(baseline, fixes, tickets, results["right"], wrong_ticket, results["wrong"][0], seconds)


def _baseline(repo: Path) -> dict[str, Any]:
    """The example's own backtest on main: run, import, analyze, cluster."""
    from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
    from agentbook.backtest.cohorts import cluster_backtest
    from agentbook.backtest.importer import import_backtest
    from agentbook.backtest.produce import RunOptions, produce_backtest

    produced = produce_backtest(repo / SPEC, repo / "backtests" / "baseline-run", RunOptions(jobs=JOBS))
    if produced.failed:
        raise FatalError(f"{len(produced.failed)} investigations of the example's backtest failed to run",
                         hint=f"see {repo / 'backtests' / 'baseline-run' / 'runs'}")
    bt = repo / BASELINE
    import_backtest(produced.manifest, bt, jobs=1)  # 60 investigations: quicker than starting workers
    analysed = analyze_backtest(bt, AnalyzeOptions(model=f"scripted:{repo / ANALYST}", code=str(repo), progress=False))
    if analysed.failed:
        raise FatalError(f"{len(analysed.failed)} analyses of the example's backtest failed")
    clustered = cluster_backtest(str(bt), code=str(repo))
    total = produced.in_manifest
    return {"total": total, "correct": produced.correct, "accuracy": round(produced.correct / max(1, total), 4),
            "cohorts": [{"slug": c["slug"], "count": c["count"], "scope": c["scope"]} for c in clustered.cohorts]}


def render_loop(d: dict[str, Any]) -> list[str]:
    b = d["baseline"]
    lines = ["", "Act 2: close the loop on the example's own backtest (scripted production model, analysts, agents)",
             (f"baseline      agentbook backtest run {SPEC}: {b['correct']}/{b['total']} correct ({b['accuracy']:.0%}), "
             f"{sum(c['count'] for c in b['cohorts'])} failures in {len(b['cohorts'])} cohorts")]
    lines += [f"  {c['count']:4d}  {c['scope']:<16} {c['slug']}" for c in b["cohorts"]]
    lines.append("fixes         agentbook backtest fixes: one per cohort")
    lines += [f"  {f['location'] or '-'}: " + (f"ticket {f['ticket']}" if f["ticket"] else f"no ticket ({f['no_ticket']})")
              for f in d["fixes"]]
    for kind, fix in [("right", f) for f in d["right"]] + [("wrong", d["wrong"])]:
        check = fix.get("check") or {}
        lines.append(f"close-loop    the {kind} fix of {fix['ticket']}: {fix['run'].get('status')}")
        if check:
            lines.append(f"  cohort {check['target']}: {check['before']} -> {check['after']}; accuracy "
                         f"{check['accuracy_before']:.1%} -> {check['accuracy_after']:.1%}; others grew: "
                         f"{len(check['grew'])}; investigations broken: {check['broken_count']}")
        lines.append("  verdict: ready for a pull request" if fix["ready"]
                     else "  verdict: NOT ready: " + "; ".join(fix["reasons"])[:600])
    s = d["seconds"]
    lines += [f"took          {sum(s.values()):.1f}s (" + ", ".join(f"{k} {v}s" for k, v in s.items()) + ")",
              "", "Close the same tickets with Claude instead of the scripted models:", f"  {d['against_claude']}"]
    return lines

"""`agentbook backtest run|import|analyze|cluster|report|compare`: parse, call agentbook.backtest, print."""

from __future__ import annotations

from pathlib import Path

import click

from agentbook.cli.output import bounded, emit_json, json_option
from agentbook.errors import EXIT_FINDINGS, EXIT_OK
from agentbook.models.spec import DEFAULT_MODEL, default_model

# the choices of `backtest cluster --meaning` (agentbook.backtest.embeddings.CHOICES; kept here so --help
# does not import the backtest package, and tests/backtest/test_embeddings.py checks the two agree)
MEANING_CHOICES = ("auto", "wordllama", "minilm", "e5", "none")
KEPT_SHOWN = 10  # ids `backtest import` names of those it kept unchanged; --json has them all


@click.group("backtest")
def command() -> None:
    """Analyse a backtest: run (or import) it, run one analyst per investigation, cluster failures, report.

    The folder layout is described in the README.md that `import` writes; start there.
    """


@command.command("run")
@click.argument("spec", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--jobs", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Investigations in flight at once.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run investigations in threads of this process or as Ray tasks (RAY_ADDRESS, else local Ray).")
@click.option("--model", help="Model spec given to the system as AGENTBOOK_MODEL (overrides the spec's model:).")
@click.option("--grader", help="Model spec for llm-rubric assertions (overrides the spec's grader:).")
@click.option("--limit", type=int, help="Run at most N investigations this time.")
@click.option("--only", multiple=True, help="Only these input ids (repeat, or comma-separate).")
@click.option("--sandbox", type=click.Choice(["auto", "none-i-accept-the-risk"]), default="auto", show_default=True,
              help="The system's command runs in the bubblewrap jail; without one, nothing runs unless the risk "
                   "is named.")
@click.option("--pass-env", multiple=True, metavar="NAME",
              help="Give the command this variable of your environment (e.g. an API key); none is given otherwise.")
@json_option
def run_cmd(spec: Path, out: Path, jobs: int, executor: str, model: str | None, grader: str | None,
            limit: int | None, only: tuple[str, ...], sandbox: str, pass_env: tuple[str, ...], as_json: bool) -> int:
    """Run the system SPEC names over its recorded inputs, grade each answer, write OUT/manifest.jsonl.

    \b
    SPEC (YAML) in short:
      command: [python3, app/classify.py]   # argv per input, run jailed in repo
      inputs: inputs.jsonl                  # relative to SPEC; one input a line:
                                            # {"id": "n-1", "account": "acme",
                                            #  "input": {...}, "truth": "...",
                                            #  "expected": {"label": "true"}}
      repo: ..                              # where it runs (default: SPEC's folder)
      assert:                               # eval assertions every answer must pass
        - {type: icontains, value: "{{ expected.label }}"}
      model: scripted:evals/sut.script.yaml # the command's $AGENTBOOK_MODEL
    Per input the command gets the input (JSON) on stdin and in $AGENTBOOK_INPUT, answers on stdout
    (or in $AGENTBOOK_ANSWER) and leaves an OTLP trace at $AGENTBOOK_TRACE_FILE, which agentbook's
    model layer writes for it (from agentbook.models import ModelRequest, load_model; model =
    load_model(os.environ["AGENTBOOK_MODEL"]); await model.complete(ModelRequest(messages=[...]))). Re-running resumes:
    finished investigations of the same code and spec are skipped. Exit 1 if some investigation failed
    to run. Everything else (timeout, limits, grader, name): docs/BACKTEST-RUN.md in agentbook's source.
    """
    from agentbook.backtest.produce import RunOptions, produce_backtest

    ids = [i for item in only for i in item.split(",") if i]
    options = RunOptions(jobs=jobs, executor=executor, limit=limit, only=ids, model=model, grader=grader,
                         sandbox=sandbox, pass_env=list(pass_env), progress=None if not as_json else False)
    summary = produce_backtest(spec, out, options)
    if as_json:
        emit_json(summary.to_json())
        return EXIT_FINDINGS if summary.failed else EXIT_OK
    lines = [(f"{out}: {summary.done} ran ({summary.correct} correct, {summary.wrong} wrong), "
              f"{summary.skipped} already done, {len(summary.failed)} failed, of {summary.total}; "
              f"{summary.wall_seconds:.1f}s with {summary.jobs} jobs ({summary.executor})")]
    if summary.unconfined:
        lines.append("note: the system ran WITHOUT a sandbox (--sandbox none-i-accept-the-risk)")
    for f in summary.failed[:10]:
        lines.append(f"  failed {f['id']}: {f['reason']}: {f['message'][:200]}")
    if len(summary.failed) > 10:
        lines.append(f"  ... {len(summary.failed) - 10} more (see runs/<id>/error.json)")
    lines.append(f"manifest: {summary.manifest} ({summary.in_manifest} investigations)")
    lines.append("re-run the same command to retry failures" if summary.failed
                 else f"next: agentbook backtest import {summary.manifest} BACKTEST_DIR")
    click.echo(bounded("\n".join(lines), more_hint="use --json for every row"))
    return EXIT_FINDINGS if summary.failed else EXIT_OK


@command.command("import")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--update", is_flag=True, help="Add new investigations to an existing backtest; analysed ones "
              "are left as they are.")
@click.option("--jobs", type=click.IntRange(1, 64), help="Processes exporting traces (default: up to 4).")
@json_option
def import_cmd(manifest: Path, out: Path, update: bool, jobs: int | None, as_json: bool) -> int:
    """Turn MANIFEST (JSONL: id, account, trace, answer, truth, verdict/score, metadata) into folder OUT."""
    from agentbook.backtest.importer import DEFAULT_JOBS, import_backtest

    summary = import_backtest(manifest, out, update=update, jobs=jobs or DEFAULT_JOBS)
    if as_json:
        emit_json(summary.to_json())
        return EXIT_OK
    click.echo(f"{out}: {len(summary.imported)} imported, {len(summary.refreshed)} refreshed, "
               f"{len(summary.unchanged)} unchanged of {summary.total}")
    if summary.kept_changed:
        shown = ", ".join(summary.kept_changed[:KEPT_SHOWN])
        more = len(summary.kept_changed) - KEPT_SHOWN
        click.echo(f"{len(summary.kept_changed)} changed in the manifest but already analysed, kept as they are "
                   f"(delete their folders to re-import): {shown}"
                   + (f" and {more} more (--json lists them all)" if more > 0 else ""))
    click.echo(f"next: agentbook backtest analyze {out} --model SPEC")
    return EXIT_OK


@command.command("analyze")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--model", default=default_model, show_default=DEFAULT_MODEL, help="Model spec for the analysts.")
@click.option("--concurrency", default=25, show_default=True, help="Analyses in flight at once.")
@click.option("--code", type=click.Path(path_type=Path), help="The system's codebase, readable by the analysts.")
@click.option("--limit", type=int, help="Analyse at most N investigations this run.")
@click.option("--only", multiple=True, help="Only these investigation ids (repeat, or comma-separate).")
@click.option("--batch", is_flag=True, help="Single-turn analyses through the Message Batches API (half price).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run the analyses in this process (asyncio) or as Ray tasks (RAY_ADDRESS, else local Ray).")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Extra rounds for analyses that failed this run.")
@click.option("--max-turns", type=click.IntRange(1, 500), default=20, show_default=True,
              help="Turn limit per analyst.")
@click.option("--max-usd", type=float, default=1.0, show_default=True, help="Spend limit per analyst.")
@json_option
def analyze_cmd(folder: Path, model: str, concurrency: int, code: Path | None, limit: int | None,
                only: tuple[str, ...], batch: bool, executor: str, retries: int, max_turns: int, max_usd: float,
                as_json: bool) -> int:
    """One read-only analyst per investigation in FOLDER, writing analysis.json + analysis.md.

    Re-running skips finished analyses whose inputs and prompt are unchanged and retries failed ones.
    """
    from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
    from agentbook.runbooks.plan import check_model

    check_model(model)  # before any analyst starts: the default model without a key says to pass --model
    ids = [i for item in only for i in item.split(",") if i]
    options = AnalyzeOptions(model=model, concurrency=concurrency, code=str(code) if code else None, limit=limit,
                             only=ids, batch=batch, executor=executor, retries=retries, max_turns=max_turns,
                             max_usd=max_usd, progress=None if not as_json else False)
    summary = analyze_backtest(folder, options)
    if as_json:
        emit_json(summary.to_json())
    else:
        click.echo(f"{folder}: {summary.done} analysed, {summary.skipped} already done, "
                   f"{len(summary.failed)} failed, of {summary.total}; ${summary.cost_usd:.4f} "
                   f"({summary.mode}, {summary.executor}), {summary.wall_seconds:.1f}s")
        for f in summary.failed[:10]:
            click.echo(f"  failed {f['id']}: {f['reason']}: {f['message'][:160]}")
        if len(summary.failed) > 10:
            click.echo(f"  ... {len(summary.failed) - 10} more (see analysis.error.json in each folder)")
        with_code = f" --code {code}" if code else ""  # cluster checks the cited file:line against it
        click.echo("re-run the same command to retry failures" if summary.failed
                   else f"next: agentbook backtest cluster {folder}{with_code}")
    return EXIT_FINDINGS if summary.failed else EXIT_OK


@command.command("cluster")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--model", help="Also let this model name the cohorts and settle the merges and splits the "
                               "clustering is unsure about (bounded; its answer is checked).")
@click.option("--seed", default=0, show_default=True, help="Seed of the first clustering run (the check uses seed+1).")
@click.option("--code", type=click.Path(path_type=Path),
              help="The system's codebase: cited code locations are checked to exist in it.")
@click.option("--meaning", type=click.Choice(MEANING_CHOICES), default="auto", show_default=True,
              help="The encoder that reads what the findings mean, beside their words (the `meaning` extra): "
                   "auto is wordllama when installed, else words alone; minilm a sentence encoder; e5 a "
                   "multilingual one (joins wordings in different languages; slower); a named one that is not "
                   "installed is an error; none is words alone.")
@click.option("--trace-errors/--no-trace-errors", "trace", default=None,
              help="Whether to read the errors each failure's trace records (trace/errors.md: failing span, "
                   "masked message) as evidence beside the analysts' words (default: off; bench_cluster_quality.py measures both).")
@click.option("--trace-calls/--no-trace-calls", "calls", default=None,
              help="Whether to read the calls each failure's trace records (trace/index.tsv: span kinds and names; "
                   "tool/args.json: the identifiers the arguments name) and keep those failures carry clearly more "
                   "often than passing runs (default: on; bench_cluster_quality.py measures both).")
@json_option
def cluster_cmd(folder: Path, model: str | None, seed: int, code: Path | None, meaning: str, trace: bool | None,
                calls: bool | None, as_json: bool) -> int:
    """Group the failures in FOLDER into cohorts: cohorts/<slug>.md and cohorts/index.json."""
    from agentbook.backtest.cohorts import cluster_backtest

    summary = cluster_backtest(str(folder), model=model, seed=seed, code=str(code) if code else None,
                               meaning=meaning, **({} if trace is None else {"trace": trace}),
                               **({} if calls is None else {"calls": calls}))
    if as_json:
        emit_json(summary.to_json())
        return EXIT_OK
    lines = [(f"{summary.failures} analysed failures in {len(summary.cohorts)} cohorts "
             f"(agreement between two runs: ARI {summary.agreement_ari:.2f})")]
    for c in summary.cohorts:
        n = len(c['accounts'])
        lines.append(f"  {c['count']:4d}  {c['scope']:<16} {c['slug']}  ({n} account{'' if n == 1 else 's'})")
    if summary.no_common_cause:
        lines.append(f"  {len(summary.no_common_cause):4d}  {'no common cause':<16} {folder}/cohorts/no-common-cause.md")
    if summary.unanalysed:
        lines.append(f"{len(summary.unanalysed)} failed investigations have no analysis yet (run analyze)")
    if summary.refined_by:
        r = summary.refine_stats
        lines.append(f"model pass ({summary.refined_by}): {r.get('calls', 0)} call(s), {r.get('input_tokens', 0)} "
                     f"tokens in, {r.get('output_tokens', 0)} out; asked {r.get('merges_asked', 0)} merge(s), "
                     f"{r.get('splits_asked', 0)} split(s); merged {len(r.get('merged', []))}, split "
                     f"{len(r.get('split', []))}, named {r.get('named', 0)}")
    if summary.refine_note:
        lines.append(f"model pass: {summary.refine_note}")
    if not summary.meaning.used:  # the note is in index.json and report.md too: how to install is said only here
        from agentbook.backtest.embeddings import AUTO, install_hint

        hint = f" ({install_hint()})" if summary.meaning.chosen == AUTO else ""
        lines.append(f"clustered on {summary.meaning.note}{hint}")
    lines.append(f"details: {folder}/cohorts/<slug>.md; next: agentbook backtest report {folder}")
    click.echo(bounded("\n".join(lines), more_hint=f"see {folder}/cohorts/index.json"))
    return EXIT_OK


@command.command("report")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--no-charts", is_flag=True, help="Skip the PNG charts.")
@json_option
def report_cmd(folder: Path, no_charts: bool, as_json: bool) -> int:
    """Write FOLDER/report.md: accuracy overall, by account and cohort, top causes, cost, charts."""
    from agentbook.backtest.report import build_report

    summary = build_report(str(folder), charts=not no_charts)
    if as_json:
        emit_json(summary.to_json())
        return EXIT_OK
    click.echo(f"accuracy {summary.accuracy:.1%} ({summary.correct}/{summary.total}); "
               f"{len(summary.cohorts)} cohorts; analysis cost ${summary.cost_usd:.4f}")
    for c in summary.cohorts[:5]:
        click.echo(f"  {c['count']:4d}  {c['scope']:<16} {c['slug']}")
    click.echo(f"wrote {summary.path}" + (f" and {', '.join(summary.charts)}" if summary.charts else ""))
    click.echo(f"next: read {summary.path}; a fix per top cohort: agentbook backtest fixes {folder} --code PATH "
               "--eval-model SPEC")
    return EXIT_OK


@command.command("compare")
@click.argument("dir_a", type=click.Path(path_type=Path))
@click.argument("dir_b", type=click.Path(path_type=Path))
@click.option("--ticket", "tickets", multiple=True, type=click.Path(path_type=Path),
              help="A fix ticket (from `backtest fixes`) whose fix DIR_B ran: check its cohort shrank and no other "
                   "grew (repeatable).")
@json_option
def compare_cmd(dir_a: Path, dir_b: Path, tickets: tuple[Path, ...], as_json: bool) -> int:
    """What changed from backtest DIR_A to DIR_B: flips, cohorts, accounts. Exit 1 if anything regressed
    (or a --ticket's fix is not ready)."""
    from agentbook.backtest.compare import compare_backtests, render
    from agentbook.backtest.fixes import read_ticket_cohort
    from agentbook.workflows.fixcheck import assess, members_of, render_check

    targets = [read_ticket_cohort(t) for t in tickets]  # a bad ticket fails before any work
    result = compare_backtests(str(dir_a), str(dir_b))
    checks = [assess(t, result, members_of(str(dir_a))) for t in targets]
    if as_json:
        emit_json({**result.to_json(), "fixes": [c.to_json() for c in checks]} if checks else result.to_json())
    else:
        text = render(result)
        for check in checks:
            text += f"\nfix {check.ticket_id}:\n" + "\n".join(f"  {line}" for line in render_check(check))
        click.echo(bounded(text, more_hint="use --json for every row"))
    bad = result.broken or result.regressed_accounts or any(not c.ready for c in checks)
    return EXIT_FINDINGS if bad else EXIT_OK


@command.command("fixes")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--code", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="The system's repository: where the prompts, eval suites and tickets are.")
@click.option("--eval-model", required=True,
              help="Model spec the tickets' gates run the suite with (a scripted: stand-in: gates have no API key).")
@click.option("--tickets", type=click.Path(path_type=Path), help="Folder for the tickets (default: CODE/tickets).")
@click.option("--top", type=click.IntRange(1, 20), default=5, show_default=True, help="Fixes for this many cohorts.")
@json_option
def fixes_cmd(folder: Path, code: Path, eval_model: str, tickets: Path | None, top: int, as_json: bool) -> int:
    """FOLDER/fixes.md (one fix per top cohort) and a fix-prompt ticket for each fix to a prompt."""
    from agentbook.backtest.fixes import write_fixes

    summary = write_fixes(folder, code=code, eval_model=eval_model, tickets=tickets, top=top)
    if as_json:
        emit_json(summary.to_json())
        return EXIT_OK
    lines = [f"{len(summary.fixes)} fixes in {summary.fixes_md}"]
    for f in summary.fixes:
        where = f.ticket or f"no ticket: {f.no_ticket}"
        lines.append(f"  {f.n}. {f.count:4d}  {f.slug}  {f.location or '-'}  -> {where}")
    written = [f.ticket for f in summary.fixes if f.ticket]
    if written:
        lines.append(f"next: agentbook run fix-prompt --ticket {written[0]}, or all of them checked against a re-run: "
                     "agentbook backtest close-loop TICKET... --spec RUN_SPEC --model AGENT --analyst-model SPEC")
    click.echo(bounded("\n".join(lines), more_hint="use --json"))
    return EXIT_OK


@command.command("close-loop")
@click.argument("tickets", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--spec", required=True, help="The backtest run spec, relative to the repo (read on each fix's branch).")
@click.option("--model", "agent_model", default=default_model, show_default=DEFAULT_MODEL,
              help="Model spec of the agent that works each ticket (agentbook run --model).")
@click.option("--analyst-model", required=True, help="Model spec for the re-run's analysts.")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="The clustered backtest the tickets came from (default: the tickets' cohort.backtest).")
@click.option("--repo", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Working folder (default: REPO/.agentbook/loop).")
@click.option("--system-model", help="Model spec the system runs with in the re-run (default: the spec's model:).")
@click.option("--agent", help="Who works the tickets: agentbook | claude-code | command:'ARGV' (agentbook run --agent).")
@click.option("--jobs", type=click.IntRange(1, 256), default=4, show_default=True, help="Investigations in flight.")
@click.option("--concurrency", type=click.IntRange(1, 500), default=25, show_default=True, help="Analyses in flight.")
@click.option("--sandbox", default="auto", show_default=True, help="Sandbox of the fix runs' gates (as agentbook run).")
@click.option("--system-sandbox", type=click.Choice(["auto", "none-i-accept-the-risk"]), default="auto",
              show_default=True, help="Sandbox of the system in the re-run (as backtest run --sandbox).")
@click.option("--pass-env", multiple=True, metavar="NAME",
              help="A variable the system gets in the re-run (as backtest run --pass-env; repeatable).")
@click.option("--push", "push", metavar="REMOTE", help="Push each fix's branch to REMOTE.")
@click.option("--open-pr", is_flag=True, help="With --push: a ready pull request for a fix that is ready, a draft "
              "saying why for any other.")
@json_option
def close_loop_cmd(tickets: tuple[Path, ...], spec: str, agent_model: str, analyst_model: str, baseline: Path | None,
                   repo: Path, out: Path | None, system_model: str | None, agent: str | None, jobs: int,
                   concurrency: int, sandbox: str, system_sandbox: str, pass_env: tuple[str, ...], push: str | None,
                   open_pr: bool, as_json: bool) -> int:
    """Run each fix ticket on its branch, re-run the backtest there, and check the fix against the baseline.

    Per fix: the targeted cohort before -> after, other cohorts that grew, accounts that regressed, and
    whether it is ready. Re-running the same command after an interruption carries on. Exit 1 if a fix
    is not ready.
    """
    from agentbook.errors import UsageError
    from agentbook.workflows.loop import LoopOptions, close_loop, render_report

    if open_pr and not push:
        raise UsageError("--open-pr needs --push REMOTE")
    summary = close_loop(LoopOptions(tickets=list(tickets), spec=spec, agent_model=agent_model,
                                     analyst_model=analyst_model, repo=repo, baseline=baseline, out=out,
                                     system_model=system_model, agent=agent, jobs=jobs, concurrency=concurrency,
                                     sandbox=sandbox, system_sandbox=system_sandbox, pass_env=list(pass_env),
                                     push=push, open_pr=open_pr))
    if as_json:
        emit_json(summary.to_json())
    else:
        text = render_report(summary).replace("```\n", "")
        click.echo(bounded(text + f"took {summary.seconds:.1f}s; report: {summary.out}/report.md",
                           more_hint=f"see {summary.out}/report.md or use --json"))
    return EXIT_OK if all(f.ready for f in summary.fixes) else EXIT_FINDINGS

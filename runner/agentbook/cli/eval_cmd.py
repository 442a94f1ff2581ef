"""`agentbook eval`: list, read, change and run single cases of a YAML eval suite (both layouts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from agentbook import confine
from agentbook.cli.output import DEFAULT_BUDGET, bounded, emit_json, json_option
from agentbook.cli.suitearg import suite_arg
from agentbook.console import echo
from agentbook.errors import FatalError, UsageError
from agentbook.evals import runs as runstore
from agentbook.evals.cases import EditResult
from agentbook.evals.defaults import inherited
from agentbook.evals.defaults import source as default_source
from agentbook.evals.fieldpath import format_path, get_path, parse_path, parse_value
from agentbook.evals.listing import LIST_LIMIT, list_output
from agentbook.evals.runview import RUN_LIST_LIMIT
from agentbook.evals.store import Suite, open_suite
from agentbook.evals.views import (
    FIELD_BUDGET,
    pointer,
    render_case,
    slice_field,
    truncate_leaves,
)
from agentbook.evals.yamlio import load_all_rt


@click.group("eval")
def command() -> None:
    """Eval suites (promptfoo-compatible YAML): one case at a time, without reading the whole file.

    SUITE is a suite file (or a folder holding suite.yaml / promptfooconfig.yaml), either with the
    cases inline under `tests:` or with `tests: file://cases/*.yaml`.
    """


# -- reading ------------------------------------------------------------------------------------
@command.command("list")
@suite_arg
@click.option("--filter", "exprs", multiple=True,
              help="Terms like id=triage-*, assert=llm-rubric, result=fail, size>10000 (repeatable, or comma-"
                   "separated: every term must hold).")
@click.option("--limit", default=LIST_LIMIT, show_default=True, help="Rows to show; 0 for all.")
@json_option
def list_cmd(suite: Path, exprs: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Cases: id, description, assert types, size in bytes and the last run's verdict."""
    # the same function the launcher calls for the plain forms of this command, before click loads
    echo(list_output(suite, ",".join(exprs) if exprs else None, limit, as_json))


@command.command("show")
@suite_arg
@click.argument("case_id")
@click.option("--field", "field_path", help="Show one field, e.g. vars.logs or assert[0].value.")
@click.option("--range", "rng", help="Character range A:B of --field (default: the first 4000).")
@click.option("--full", is_flag=True, help="No truncation (may print megabytes).")
@click.option("--run", "run_id", metavar="RUN",
              help="The case's result in a stored run (an id, latest, @2): its checks and the model's answers.")
@json_option
def show_cmd(suite: Path, case_id: str, field_path: str | None, rng: str | None, full: bool, run_id: str | None,
             as_json: bool) -> None:
    """One case; long values are cut with a pointer to read the rest with --field/--range."""
    s = open_suite(suite)
    if run_id is not None:
        if field_path or rng:
            raise UsageError("--run shows the case's result; --field/--range read the case itself")
        _show_result(s, case_id, run_id, full, as_json)
        return
    if field_path:
        _show_field(s, case_id, field_path, rng, full, as_json)
        return
    if rng:
        raise UsageError("--range needs --field", hint="e.g. --field vars.logs --range 0:2000")
    value = s.get_case(case_id)
    shown, cuts = (value, []) if full else truncate_leaves(value, FIELD_BUDGET)
    default = s.default_test()
    taken = inherited(default, value)
    taken_shown, _ = (taken, []) if full else truncate_leaves(taken, FIELD_BUDGET)
    source = default_source(s.config(), s.path) if taken else None
    if as_json:
        emit_json({"id": case_id, "suite": str(s.path), "case": shown, "truncated": [c.to_json() for c in cuts],
                   "inherited": taken_shown, "inherited_from": source})
        return
    # the case as written (comments and all) when it fits; otherwise the cut view with pointers
    text = s.case_text(case_id) if full or not cuts else render_case(shown)
    if not full and len(text) > CASE_BUDGET:  # many small fields can still add up
        text = _cut_at_a_field(render_case(shown), CASE_BUDGET)
    if cuts and not full:  # a row's place (`# the row at line N of tests.csv`) too when its values are cut
        head = s.case_text(case_id).split("\n", 1)[0]
        text = f"{head}\n{text}" if head.startswith("# the ") else text
    click.echo(f"# case {case_id} in {s.path}")
    click.echo(text.rstrip("\n"))
    if taken:
        click.echo(_inherited_view(taken_shown, str(source), full))


def _inherited_view(taken: dict[str, Any], source: str, full: bool) -> str:
    """What the case takes from defaultTest, as YAML comments under the case: read with it, never
    mistaken for it (--field and --set address the case's own fields)."""
    body = render_case(taken).rstrip("\n")
    if not full:
        body = bounded(body, DEFAULT_BUDGET, "--full or --json shows it all")
    head = (f"# inherited from {source} (not part of the case; promptfoo runs these assertions before the "
            "case's own, and the case's vars and options win over these):")
    return "\n".join([head, *(f"#   {line}" for line in body.splitlines())])


CASE_BUDGET = 2 * DEFAULT_BUDGET  # characters of a case view


def _cut_at_a_field(text: str, budget: int) -> str:
    """The YAML view `text` cut before the first field that does not fit, with that field's path: a cut
    at `budget` characters ended inside a quoted string (`v28: "key: value # ke`), which reads as no
    YAML at all, and pointed at no field. Each key and list item starts a line here (block style)."""
    import yaml

    starts: list[tuple[int, str]] = []

    def walk(node: yaml.Node, path: list[str | int]) -> None:
        items: list[tuple[yaml.Node, yaml.Node, str | int]] = []
        if isinstance(node, yaml.MappingNode):
            items = [(k, v, str(k.value)) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            items = [(v, v, i) for i, v in enumerate(node.value)]
        for head, value, part in items:
            starts.append((text.rfind("\n", 0, head.start_mark.index) + 1, format_path([*path, part])))
            walk(value, [*path, part])

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, [])
    fits = [(at, where) for at, where in starts if 0 < at <= budget]
    at, where = max(fits, key=lambda fit: fit[0]) if fits else (text.rfind("\n", 0, budget) + 1 or budget, "")
    first = next((w for a, w in starts if a == at), where)  # the outermost field that starts on that line
    more = f", from {first} on: read it with --field {first}" if first else ": read one field with --field PATH"
    return text[:at] + f"[... {len(text) - at} bytes more{more}, or everything with --full]"


def _show_field(s: Suite, case_id: str, field_path: str, rng: str | None, full: bool, as_json: bool) -> None:
    value = get_path(s.get_case(case_id), parse_path(field_path), case_id=case_id)
    if full and rng is None:
        rng = ":"
    text, start, end, total = slice_field(value, field_path, rng)
    if as_json:
        emit_json({"id": case_id, "field": field_path, "start": start, "end": end, "size": total,
                   "text": text, "more": None if end >= total else f"--field {field_path} --range {end}:"
                   f"{min(total, end + (end - start or DEFAULT_BUDGET))}"})
        return
    click.echo(text, nl=not text.endswith("\n"))
    if end < total:
        click.echo(pointer(field_path, end, total, max(end - start, 1)))


def _show_result(s: Suite, case_id: str, run_id: str, full: bool, as_json: bool) -> None:
    """What `eval run` stored for one case: a failing answer cut on the run's line is whole here."""
    run = runstore.load_run(s.path, run_id)
    result = runstore.case_result(run, case_id)
    if as_json:
        emit_json({"run_id": run["run_id"], "model": run.get("model"), **result})
        return
    st = result["stats"]
    lines = [(f"# case {case_id} in run {run['run_id']} with {run.get('model')}: {result['verdict']} "
              f"({st['passes']}/{st['n']} attempts passed)")]
    for attempt in result["attempts"]:
        lines += _attempt_lines(attempt)
    text = "\n".join(lines)
    click.echo(text if full else bounded(text, 2 * DEFAULT_BUDGET, "--full or --json prints it all"))


def _attempt_lines(attempt: dict[str, Any]) -> list[str]:
    verdict = "error" if attempt["error"] else "pass" if attempt["pass"] else "fail"
    unrun = attempt["error"] and not attempt["asserts"]  # the model call itself failed: its reason says why
    lines = [f"attempt {attempt['index'] + 1}: {verdict}" + (f": {attempt['reason']}" if unrun else "")]
    lines += [f"  {'error' if a['error'] else 'passed' if a['pass'] else 'failed'}: {a['type']}: {a['reason']}"
              for a in attempt["asserts"]]
    for out in attempt["outputs"]:
        lines += [f"  answer to {out['prompt']}:", out["output"]]
        if out.get("truncated"):
            lines.append(f"[... {out['truncated']} chars more were not stored]")
    return lines


@command.command("prompts")
@suite_arg
@click.option("--full", is_flag=True, help="Each prompt whole (default: cut at 600 characters).")
@click.option("--case", "case_id", default=None,
              help="Show what `eval run` sends for this case: system text and messages, rendered.")
@json_option
def prompts_cmd(suite: Path, full: bool, case_id: str | None, as_json: bool) -> None:
    """The prompts the suite runs: each one's text, where it is written (a file, or lines of the suite
    itself for inline prompts) and its tokens as `agentbook baseline` counts them; with --case, what the
    model is sent for that case (what a stand-in's `match:` sees)."""
    from agentbook.evals.prompts import list_prompts, prompts_text

    s = open_suite(suite)
    if case_id is not None:
        _rendered(s, case_id, full, as_json)
        return
    prompts = list_prompts(s)
    if as_json:
        emit_json({"suite": str(s.path), "tokens": sum(p.tokens for p in prompts),
                   "prompts": [p.to_json() for p in prompts]})
        return
    text = prompts_text(s, prompts, None if full else PROMPT_CHARS)
    click.echo(text if full else bounded(text, 2 * DEFAULT_BUDGET, "--full or --json prints it all"))


PROMPT_CHARS = 600  # of one prompt's text in `eval prompts`


def _rendered(s: Suite, case_id: str, full: bool, as_json: bool) -> None:
    from agentbook.evals.prompts import literal_note
    from agentbook.evals.runner import rendered_requests

    requests = rendered_requests(s, case_id)
    if as_json:
        emit_json({"suite": str(s.path), "case": case_id, "requests": requests})
        return
    lines: list[str] = []
    for req in requests:
        lines.append(f"# case {case_id}, prompt {req['prompt']}: what the model is sent")
        parts = ([("system", req["system"])] if req["system"] else []) + \
            [(m["role"], str(m["content"])) for m in req["messages"]]
        for role, text in parts:
            cut = text if full or len(text) <= PROMPT_CHARS else \
                text[:PROMPT_CHARS] + f" [... {len(text) - PROMPT_CHARS} chars more: --full or --json]"
            lines.append(f"{role}:")
            lines += [f"    {line}" for line in cut.splitlines() or [""]]
        if req.get("literal_braces"):
            lines.append(f"note: {literal_note(req['literal_braces'])}")
    text = "\n".join(lines)
    click.echo(text if full else bounded(text, 2 * DEFAULT_BUDGET, "--full or --json prints it all"))


# -- changing -----------------------------------------------------------------------------------
def _read_case_input(file: str | None) -> str:
    if file is None:
        raise UsageError("give the case with --file F (or --file - for stdin)")
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as err:
        raise FatalError(f"cannot read {file}: {err.strerror or err}") from None


def _report(result: EditResult, verb: str, as_json: bool, was: str | None = None) -> None:
    """`was`: the id the user named, when the change gave the case another (a CSV row's or JSONL line's id is its
    content's)."""
    renamed = was is not None and was != result.id
    if as_json:
        emit_json({"action": verb, **result.to_json(), **({"was": was} if renamed else {})})
        return
    first, last = result.lines
    lines = "" if not first else f", line {first}" if first == last else f", lines {first}-{last}"
    click.echo(f"{verb} {was if renamed else result.id} in {result.path}{lines}{_what_was_written(result)}")
    if renamed:
        click.echo(f"its id is now {result.id} (the id of a CSV row or JSONL line is derived from its content)")


def _what_was_written(result: EditResult) -> str:
    """What happened to the suite file, in words an agent can act on (not which code path ran)."""
    if not result.changed:
        return " (no change)"
    if result.fast:
        return " (the rest of the file is as it was)" if result.lines[0] else ""
    why = f" ({result.reason})" if result.reason else ""
    return (f" (the whole file was rewritten, not just this case{why}; comments are kept, the layout may change: "
            f"git diff {result.path} shows what changed)")


@command.command("add")
@suite_arg
@click.argument("source", required=False, metavar="[FILE|-]")
@click.option("--file", "file", help="YAML file with one case mapping or a list of them; - for stdin.")
@json_option
def add_cmd(suite: Path, source: str | None, file: str | None, as_json: bool) -> None:
    """Add a case (or several) from --file F, FILE or - (stdin). A case without an id gets one derived
    from its content."""
    if source and file:
        raise UsageError("give the case once: FILE/- or --file")
    file = file or source
    s = open_suite(suite)
    docs = [d for d in load_all_rt(_read_case_input(file), where=file or "<stdin>") if d is not None]
    cases = [c for d in docs for c in (d if isinstance(d, list) else [d])]
    if not cases:
        raise FatalError("no case in the input", hint="give a YAML mapping with vars and assert")
    results = [s.add_case(c) for c in cases]
    if as_json:
        emit_json({"action": "added", "cases": [r.to_json() for r in results]})
        return
    for r in results:
        _report(r, "added", False)


@command.command("edit")
@suite_arg
@click.argument("case_id")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="VALUE is YAML (0.8 is a number); @FILE reads the value from a file.")
@click.option("--unset", "unsets", multiple=True, metavar="PATH")
@json_option
def edit_cmd(suite: Path, case_id: str, sets: tuple[str, ...], unsets: tuple[str, ...], as_json: bool) -> None:
    """Change fields of one case in place; the rest of the file stays byte-identical."""
    if not sets and not unsets:
        raise UsageError("nothing to change", hint="give --set PATH=VALUE or --unset PATH")
    pairs = [_parse_set(item) for item in sets]
    _report(open_suite(suite).edit_case(case_id, pairs, list(unsets)), "edited", as_json, case_id)


def _parse_set(item: str) -> tuple[str, Any]:
    path, sep, raw = item.partition("=")
    if not sep or not path.strip():
        raise UsageError(f"bad --set {item!r}", hint="write it as PATH=VALUE, e.g. assert[0].value=Paris")
    if raw.startswith("@"):
        try:
            return path.strip(), confine.check_path(raw[1:], "--set @FILE").read_text(encoding="utf-8")
        except OSError as err:
            raise FatalError(f"cannot read {raw[1:]}: {err.strerror or err}") from None
    return path.strip(), parse_value(raw)


@command.command("replace")
@suite_arg
@click.argument("case_id")
@click.option("--file", "file", help="YAML file with the new case; - for stdin.")
@json_option
def replace_cmd(suite: Path, case_id: str, file: str | None, as_json: bool) -> None:
    """Replace one case wholesale (its id is kept)."""
    _report(open_suite(suite).replace_case(case_id, _read_case_input(file)), "replaced", as_json, case_id)


@command.command("rm")
@suite_arg
@click.argument("case_id")
@json_option
def rm_cmd(suite: Path, case_id: str, as_json: bool) -> None:
    """Remove one case (and the comment lines that introduce it)."""
    _report(open_suite(suite).remove_case(case_id), "removed", as_json)


@command.command("split")
@suite_arg
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the split suite.")
@click.option("--sidecar-over", type=click.IntRange(1), default=None,
              help="Move string vars larger than this many bytes to sidecars/<id>.<var>.txt.")
@json_option
def split_cmd(suite: Path, out: Path, sidecar_over: int | None, as_json: bool) -> None:
    """Turn a single-file suite into suite.yaml + cases/<id>.yaml (lossless; checked after writing)."""
    from agentbook.evals.split import check_split, split_suite

    s = open_suite(suite)
    summary = split_suite(s, out, sidecar_over=sidecar_over)
    differing = check_split(s, out)
    if differing:
        raise FatalError(f"split copy differs for {len(differing)} case(s): {', '.join(differing[:5])}",
                         hint="this is a bug; the original suite is untouched", exit_code=70)
    if as_json:
        emit_json({**summary.to_json(), "verified": True})
        return
    extra = f", {len(summary.sidecars)} sidecars" if summary.sidecars else ""
    click.echo(f"wrote {summary.suite} and {len(summary.cases)} case files in {out / 'cases'}{extra} (verified)")
    for warning in summary.warnings:
        click.echo(f"warning: {warning}")


@command.command("stats")
@suite_arg
@json_option
def stats_cmd(suite: Path, as_json: bool) -> None:
    """Counts, sizes, assert types, the largest cases and the last run."""
    from agentbook.evals.stats import suite_stats

    stats = suite_stats(open_suite(suite))
    if as_json:
        emit_json(stats)
        return
    click.echo(f"{stats['cases']} cases, {stats['bytes']} bytes in case text ({stats['layout_words']}; "
               f"{stats['edit_path']})")
    inherited = stats["asserts_inherited"]
    click.echo("asserts: " + (", ".join(f"{k} {v}" + (f" ({inherited[k]} from defaultTest)" if k in inherited else "")
                                        for k, v in stats["asserts"].items()) or "none"))
    default = stats["default_test"]
    if default:
        n = len(default["asserts"])
        parts = [f"{n} assertion{'s' if n != 1 else ''} ({', '.join(default['asserts'])})" if n else "no assertions"]
        parts += [f"{what} {', '.join(default[what])}" for what in ("vars", "options", "other") if default[what]]
        click.echo(f"every case inherits from {default['source']}: {'; '.join(parts)}")
    if stats["assigned_ids"]:
        click.echo(f"{stats['assigned_ids']} cases have no id in the file (ids are derived from content)")
    click.echo("largest: " + ", ".join(f"{c['id']} ({c['size']}B)" for c in stats["largest"]))
    if stats["duplicates"]:
        click.echo("duplicate ids: " + ", ".join(stats["duplicates"]))
    last = stats.get("last_run")
    if last:
        click.echo(f"last run {last['run_id']}: {last['passed']} passed, {last['failed']} failed, "
                   f"{last['errors']} errors")


# -- running ------------------------------------------------------------------------------------
@command.command("run")
@suite_arg
@click.option("--case", "case_ids", multiple=True, help="Run only this case (repeatable).")
@click.option("--repeat", type=click.IntRange(1, 1000), help="Attempts per case (default: the case's repeat).")
@click.option("--model", "model", help="Model spec: anthropic:<m>, compat:<url>#<m>, scripted:<file>.")
@click.option("--grader", "grader", help="Model spec for llm-rubric (default: defaultTest.options.provider).")
@click.option("--no-cache", is_flag=True, help="Ask the model even when a response is cached.")
@click.option("--concurrency", default=4, show_default=True, help="Model calls in flight.")
@click.option("--prompt", "prompt", help="Run only this prompt of the suite (its file, label, or number in `eval prompts`; default: all).")
@click.option("--limit", default=RUN_LIST_LIMIT, show_default=True,
              help="--json: cases that did not pass to list (0: all).")
@click.option("--full", is_flag=True, help="Every case: --json with its attempts and checks; else every line, uncut.")
@json_option
def run_cmd(suite: Path, case_ids: tuple[str, ...], repeat: int | None, model: str | None, grader: str | None,
            no_cache: bool, concurrency: int, prompt: str | None, limit: int, full: bool, as_json: bool) -> int:
    """Run cases against a model and grade them. Exit 0 all pass, 1 failures, 2 errors."""
    from agentbook.evals.runner import RunOptions, exit_code, run_suite
    from agentbook.evals.runview import full_view, run_view

    report = run_suite(open_suite(suite), RunOptions(list(case_ids), repeat, model, grader, not no_cache,
                                                     concurrency, prompt))
    if as_json:
        emit_json(full_view(report) if full else run_view(report, limit))
        return exit_code(report)
    lines = [_case_line(c, str(suite), report["run_id"]) for c in report["cases"]]
    s = report["summary"]
    text = "\n".join(lines)
    if len(text) > DEFAULT_BUDGET and not full:  # too long for one screen: the cases that did not pass
        failing = [line for c, line in zip(report["cases"], lines, strict=True) if c["verdict"] != "pass"]
        text = bounded("\n".join(failing), DEFAULT_BUDGET, "eval list SUITE --filter result=fail lists them")
        text += f"\n[{len(lines) - len(failing)} passing cases not listed: --full lists every case]"
    click.echo(text.lstrip("\n"))
    click.echo(f"run {report['run_id']}: {s['passed']} passed, {s['failed']} failed, {s['errors']} errors, "
               f"{s['flaky']} flaky ({s['cache_hits']} cached responses) with {report['model']}")
    if _unparsable_verdicts(report):
        click.echo(grader_hint(report["grader"], report["model"]))
    if report["literal_braces"]:
        from agentbook.evals.prompts import literal_note

        for label, names in list(report["literal_braces"].items())[:5]:
            click.echo(f"note: prompt {label}: {literal_note(names)}")
    return exit_code(report)


def _unparsable_verdicts(report: dict[str, Any]) -> bool:
    return any("unparsable grader verdict" in str(a.get("reason", "")) for c in report["cases"] for a in c["attempts"])


def grader_hint(grader: str, model: str) -> str:
    """Why llm-rubric checks had no verdict: the grader (often the model under test itself, when neither
    --grader nor the suite names one) must answer a JSON verdict."""
    which = "the model under test, as neither --grader nor defaultTest.options.provider names a grader" \
        if grader == model else "its grader"
    return (f"llm-rubric: {grader} ({which}) did not answer a verdict; a grader replies with "
            '{"pass": true|false, "score": 0..1, "reason": "..."}: pass --grader SPEC or set '
            "defaultTest.options.provider in the suite")


def _case_line(c: dict[str, Any], suite: str, run_id: str) -> str:
    st = c["stats"]
    k = str(st["n"])
    hat = f" pass^{k}={st['pass_hat_k'][k]:.2f}" if st["n"] > 1 and k in st["pass_hat_k"] else ""
    head = (f"{c['verdict'].upper():<5} {c['id']:<28} {st['passes']}/{st['n']} "
            f"[{st['wilson_low']:.2f}, {st['wilson_high']:.2f}]{hat}" + (" flaky" if st["flaky"] else ""))
    failing = next((a for a in c["attempts"] if a["error"] or not a["pass"]), None)
    # a failed check reads as the check ("contains: output contains 'x'"): say that it failed
    line = head + (f"\n      {'' if failing['error'] else 'failed: '}{_distinct_reasons(failing)[:240]}"
                   if failing else "")
    return line + _answer_line(c.get("answer"), suite, c["id"], run_id)


def _distinct_reasons(attempt: dict[str, Any]) -> str:
    """The checks that did not pass, each once (`runview.failed_checks`): a check that failed on every
    prompt of the suite with how often, one that failed on only some prompts with the prompts it failed on
    (a fix to v1.1 read as failing)."""
    from agentbook.evals.runview import failed_checks

    checks = failed_checks(attempt)
    if not checks:
        return str(attempt["reason"])
    return "; ".join(f"{c['type']}: {c['reason']}" + _where_failed(c) for c in checks)


def _where_failed(check: dict[str, Any]) -> str:
    if "prompts" in check and not check["all_prompts"]:
        return f" [{', '.join(check['prompts'])}]"
    return f" ({check['times']} times)" if check["times"] > 1 else ""


def _answer_line(answer: dict[str, Any] | None, suite: str, case_id: str, run_id: str) -> str:
    """`answered: '...'` for a case that did not pass, bounded, with the command that shows it whole."""
    if not answer:
        return ""
    text = json.dumps(answer["text"], ensure_ascii=False)
    more = answer["chars"] - len(answer["text"])
    if more > 0:
        text += f" [... {more} chars more: agentbook eval show {suite} {case_id} --run {run_id}]"
    prompt = f", prompt {answer['prompt']}" if answer.get("prompts", 1) > 1 else ""
    return f"\n      answered (attempt {answer['attempt'] + 1}{prompt}): {text}"


@command.command("diff")
@suite_arg
@click.argument("run_a")
@click.argument("run_b", default="latest")
@json_option
def diff_cmd(suite: Path, run_a: str, run_b: str, as_json: bool) -> None:
    """Cases whose verdict flipped between two runs (ids, `latest`, or @2 for the run before last)."""
    s = open_suite(suite)
    result = runstore.diff_runs(runstore.load_run(s.path, run_a), runstore.load_run(s.path, run_b))
    if as_json:
        emit_json(result)
        return
    both = result["compared"]
    click.echo(f"{result['run_a']} -> {result['run_b']}: {len(result['flipped'])} flipped "
               f"({both} case{'' if both == 1 else 's'} in both runs)")
    for f in result["flipped"][:100]:
        click.echo(f"  {f['id']:<28} {f['before']} -> {f['after']}")
    for r in result["rate_changed"][:20]:
        click.echo(f"  {r['id']:<28} pass rate {r['before']} -> {r['after']}")
    for key, run in (("only_in_a", result["run_a"]), ("only_in_b", result["run_b"])):
        if result[key]:  # a `--case` run holds only its cases: "0 flipped" must not read as "no regressions"
            ids = result[key]
            more = f" and {len(ids) - 10} more (--json lists them)" if len(ids) > 10 else ""
            click.echo(f"  not compared, only in {run}: {', '.join(ids[:10])}{more}")
    if result["only_in_a"] or result["only_in_b"]:
        click.echo("  (a run with --case holds only those cases: compare two runs of the whole suite, or check "
                   "the suite against a baseline: agentbook baseline save / check)")


@command.group("cache")
def cache_group() -> None:
    """The on-disk response cache (SQLite beside the suite)."""


@cache_group.command("clear")
@suite_arg
@json_option
def cache_clear_cmd(suite: Path, as_json: bool) -> None:
    """Drop every cached model response of this suite's folder."""
    from agentbook.evals.runner import clear_cache

    n = clear_cache(open_suite(suite).path)
    if as_json:
        emit_json({"cleared": n})
    else:
        click.echo(f"cleared {n} cached responses")


# -- capturing ----------------------------------------------------------------------------------
@command.command("capture")
@suite_arg
@click.option("--span", "span_dir", type=click.Path(path_type=Path),
              help="An llm span folder from `agentbook trace export`.")
@click.option("--otlp", "otlp", type=click.Path(path_type=Path), help="An OTLP JSON trace file (with --span-id).")
@click.option("--span-id", "span_id", help="The span to capture from --otlp.")
@click.option("--id", "case_id", help="Id of the new case (default: capture-<span id>).")
@click.option("--sidecar-over", default=2000, show_default=True,
              help="Variables larger than this many bytes go to sidecars/<id>.<var>.txt.")
@json_option
def capture_cmd(suite: Path, span_dir: Path | None, otlp: Path | None, span_id: str | None, case_id: str | None,
                sidecar_over: int, as_json: bool) -> None:
    """Turn one LLM call of a trace into a new case, then say what to trim and what to assert."""
    from agentbook.evals.capture import capture_case, from_otlp, from_span_folder

    if (span_dir is None) == (otlp is None):
        raise UsageError("give either --span DIR or --otlp FILE --span-id ID")
    if otlp is not None and not span_id:
        raise UsageError("--otlp needs --span-id")
    call = from_span_folder(span_dir) if span_dir is not None else from_otlp(otlp, str(span_id))  # type: ignore[arg-type]
    s = open_suite(suite)
    report = capture_case(s, call, case_id=case_id, sidecar_over=sidecar_over)
    if as_json:
        emit_json(report.to_json())
        return
    cid = report.result.id
    how = "matched the suite's prompt template" if report.matched_template else \
        "did not match the prompt template: the whole message is vars.input"
    click.echo(f"captured {cid} into {report.result.path} ({how})")
    for name, size in sorted(report.sizes.items(), key=lambda kv: -kv[1]):
        where = f" -> {report.sidecars[name]}" if name in report.sidecars else ""
        click.echo(f"  vars.{name}: {size} bytes{where}")
    big = [n for n in report.sidecars]
    if big:
        click.echo(f"trim: keep only the lines the expected answer depends on in {', '.join(report.sidecars[n] for n in big)}")
    if not report.matched_template and report.template_vars:  # the case would run with none of them
        first = report.template_vars[0]
        click.echo(f"the suite's prompt reads {', '.join('vars.' + n for n in report.template_vars)}: set each from "
                   f"vars.input, e.g. agentbook eval edit {suite} {cid} --set 'vars.{first}=...' --unset vars.input")
    click.echo(f"next: agentbook eval edit {suite} {cid} --set 'assert[0]={{type: icontains, value: ...}}'")

"""The `eval` tool for agent sessions: the CRUD and run commands of `agentbook eval` without a shell.

Registered as `eval` in the session's tool registry on import. Suite paths are relative to the
session's root and may not leave it; writes honour the session's protected globs (a runbook can let
the agent read `evals/**/cases/*.yaml` but not change them) and a refusal carries `denied` evidence.
Every answer is JSON, bounded like the CLI's `--json` views.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentbook.confine import MODEL_ENV, Confinement
from agentbook.errors import FatalError
from agentbook.evals import refs
from agentbook.evals import runs as runstore
from agentbook.evals.cases import EditResult
from agentbook.evals.defaults import inherited
from agentbook.evals.fieldpath import get_path, parse_path
from agentbook.evals.listing import match_filter
from agentbook.evals.runner import RunOptions, exit_code, run_suite_async
from agentbook.evals.runview import run_view
from agentbook.evals.stats import suite_stats
from agentbook.evals.store import SingleFileSuite, SplitSuite, Suite, open_suite
from agentbook.evals.views import FIELD_BUDGET, slice_field, truncate_leaves
from agentbook.session.paths import PathRefused, is_protected, relative, resolve_in_root
from agentbook.session.tools import ToolContext, ToolResult

MAX_CHARS = 8000
COMMANDS = ("list", "show", "add", "edit", "replace", "rm", "run", "stats")


class EvalTool:
    name = "eval"
    description = (
        "Work with one case of a YAML eval suite (promptfoo format) without reading the whole file. "
        "command=list (filter like 'assert=llm-rubric' or 'result=fail'), show (id; field like vars.logs "
        "and range like 0:2000 for long values), add (case: YAML text), edit (id; set: {path: value}, "
        "unset: [path]; paths like assert[0].value), replace (id, case), rm (id), run (cases, repeat, "
        "model), stats. Edits keep comments and formatting and touch only that case.")
    read_only = False

    def __init__(self) -> None:
        self.input_schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "command": {"type": "string", "enum": list(COMMANDS)},
                "suite": {"type": "string", "description": "Suite file or folder, relative to the root"},
                "id": {"type": "string", "description": "Case id"},
                "filter": {"type": "string"},
                "field": {"type": "string", "description": "Field path for show, e.g. vars.logs"},
                "range": {"type": "string", "description": "Character range A:B of the field"},
                "case": {"type": "string", "description": "The case as YAML (add, replace)"},
                "set": {"type": "object", "description": "Field path -> new value (edit)"},
                "unset": {"type": "array", "items": {"type": "string"}},
                "cases": {"type": "array", "items": {"type": "string"}, "description": "Case ids to run"},
                "repeat": {"type": "integer", "minimum": 1, "maximum": 50},
                "model": {"type": "string", "description": "Model spec for run (default: the suite's provider)"},
            },
            "required": ["command", "suite"],
        }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = str(args.get("command", ""))
        if command not in COMMANDS:
            return ToolResult(f"error: command must be one of {', '.join(COMMANDS)}", is_error=True)
        where: Path | None = None
        try:
            where = resolve_in_root(ctx.root, args.get("suite"))
            suite = open_suite(where, root=ctx.root)
            if command in ("add", "edit", "replace", "rm"):
                refusal = _protected(suite, command, args, ctx)
                if refusal is not None:
                    return refusal
            result = await _dispatch(command, suite, args, ctx)
        except PathRefused as err:
            return ToolResult(f"error: {err}", is_error=True)
        except FatalError as err:
            err = refs.placed(err, where) if where is not None else err
            return ToolResult(f"error: {err.render()}", is_error=True)
        text = json.dumps(result, ensure_ascii=False, default=str)
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS] + f"\n[... {len(text) - MAX_CHARS} chars more: narrow with filter/field/range]"
        return ToolResult(text, changed=_changed(result, ctx))


async def _dispatch(command: str, suite: Suite, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    case_id = str(args.get("id", ""))
    if command == "list":
        verdicts = runstore.last_verdicts(suite.path)
        rows = [{**c.to_json(), "last": verdicts.get(c.id)} for c in suite.list_cases()
                if match_filter(args.get("filter"), c, verdicts.get(c.id))]
        return {"total": len(rows), "cases": rows[:50], "more": max(0, len(rows) - 50)}
    if command == "show":
        value = suite.get_case(case_id)
        if args.get("field"):
            text, start, end, total = slice_field(get_path(value, parse_path(str(args["field"])), case_id=case_id),
                                                  str(args["field"]), args.get("range"))
            return {"id": case_id, "field": args["field"], "start": start, "end": end, "size": total, "text": text}
        shown, cuts = truncate_leaves(value, FIELD_BUDGET)
        taken, _ = truncate_leaves(inherited(suite.default_test(), value), FIELD_BUDGET)
        return {"id": case_id, "case": shown, "truncated": [c.to_json() for c in cuts], "inherited": taken}
    if command == "add":
        return _edit_json(suite.add_case(_need(args, "case")))
    if command == "edit":
        sets = list((args.get("set") or {}).items())
        unsets = [str(u) for u in args.get("unset") or []]
        if not sets and not unsets:
            raise FatalError("nothing to change", hint="give set: {path: value} or unset: [path]")
        return _edit_json(suite.edit_case(case_id, sets, unsets))
    if command == "replace":
        return _edit_json(suite.replace_case(case_id, _need(args, "case")))
    if command == "rm":
        return _edit_json(suite.remove_case(case_id))
    if command == "stats":
        return suite_stats(suite)
    def spend(usd: float) -> None:  # the session adds it to its own spend once the call returns
        ctx.state["spent_usd"] = float(ctx.state.get("spent_usd", 0.0)) + usd

    opts = RunOptions([str(c) for c in args.get("cases") or []], args.get("repeat"), args.get("model"),
                      confinement=Confinement(ctx.root, ctx.env.get(MODEL_ENV)), max_usd=ctx.usd_left, on_spend=spend)
    report = await run_suite_async(suite, opts)
    # what `eval run --json` prints, bounded whatever the suite's size: every case of a 10,000-case run
    # went into the model's context
    return {"exit_code": exit_code(report), **run_view(report)}


def _need(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FatalError(f"`{key}` is required for this command (YAML text of the case)")
    return value


def _edit_json(result: EditResult) -> dict[str, Any]:
    return result.to_json()


def _target_files(suite: Suite, command: str, args: dict[str, Any]) -> list[Path]:
    if isinstance(suite, SingleFileSuite):
        return [suite.path]
    assert isinstance(suite, SplitSuite)
    if command == "add":
        return [suite.cases_dir() / "new-case.yaml"]
    path, _value = suite._find(str(args.get("id", "")))
    return [path]


def _protected(suite: Suite, command: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult | None:
    for path in _target_files(suite, command, args):
        rel = relative(ctx.root, path.resolve())
        rule = is_protected(rel, ctx.protected)
        if rule is not None:
            return ToolResult(f"error: {rel} is protected (rule {rule!r}): you may read it but not change it",
                              is_error=True, denied={"tool": "eval", "path": rel, "rule": rule})
    return None


def _changed(result: dict[str, Any], ctx: ToolContext) -> list[str]:
    """Root-relative paths a write command changed (none for reads and no-op edits)."""
    out = []
    for path in result.get("changed") or []:
        try:
            out.append(relative(ctx.root, Path(path).resolve()))
        except ValueError:
            continue
    return out


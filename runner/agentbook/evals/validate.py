"""`validate_suite`: every problem of an eval suite as findings with file:line:col, for `agentbook validate`.

Checks: YAML syntax, the suite schema, each case against the case schema (both layouts, each case
file), duplicate ids, `min_pass` above `repeat`, unsupported assertion types and `transform` (warnings:
promptfoo may still run them; `eval run` does not) and `file://` references that point nowhere.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentbook.catalog.findings import Finding
from agentbook.errors import FatalError
from agentbook.evals.graders import NEEDS_PROVIDER, RUN_SUPPORTED
from agentbook.evals.render import load_prompts
from agentbook.evals.schema import case_problems, suite_problems
from agentbook.evals.store import SplitSuite, Suite, open_suite


def validate_suite(path: Path | str) -> list[Finding]:
    path = Path(path)
    try:
        suite = open_suite(path)
        infos = suite.list_cases()
        values = [v for _, v in suite.all_cases()]
    except FatalError as err:
        return [_from_error(path, err)]
    findings: list[Finding] = []
    config = suite.config()
    findings += [Finding(str(suite.path), 1, 1, "eval-suite-schema", p) for p in suite_problems(config)]
    findings += _missing_prompt_files(suite.path, config, suite.base_dir)
    findings += _default_test_findings(suite)
    seen: dict[str, str] = {}
    for info, case in zip(infos, values):
        where, line = _where(info.location)
        if info.id in seen:
            findings.append(Finding(where, line, 1, "eval-duplicate-id", f"duplicate id {info.id!r}",
                                    f"first used at {seen[info.id]}; give each case a unique id"))
        seen.setdefault(info.id, info.location)
        findings += _case_findings(case, where, line, suite.base_dir)
    if isinstance(suite, SplitSuite) and not suite.case_files():
        findings.append(Finding(str(suite.path), 1, 1, "eval-no-cases", f"no file matches {suite.globs}",
                                severity="warning"))
    return findings


def _case_findings(case: Any, where: str, line: int, base: Path) -> list[Finding]:
    out = [Finding(where, line, 1, "eval-case-schema", p) for p in case_problems(case)]
    if not isinstance(case, dict):
        return out
    for a in case.get("assert") or []:
        kind = a.get("type") if isinstance(a, dict) else None
        if isinstance(kind, str) and kind not in RUN_SUPPORTED and kind != "assert-set":
            needs = NEEDS_PROVIDER.get(kind.removeprefix("not-"))
            out.append(Finding(where, line, 1, "eval-assert-type",
                               f"assertion type {kind!r} is not run by agentbook eval run"
                               + (f" (it needs {needs})" if needs else ""), "promptfoo may still run it", "warning"))
        if isinstance(a, dict) and "transform" in a:  # `eval run` makes such a case an error
            out.append(Finding(where, line, 1, "eval-transform",
                               f"assertion {kind or a.get('$ref', '?')!r} has `transform`, which agentbook eval run "
                               "does not apply (the case would be an error)",
                               "drop the transform and assert on the output as it is; promptfoo may still run it",
                               "warning"))
    for name, value in (case.get("vars") or {}).items() if isinstance(case.get("vars"), dict) else []:
        if isinstance(value, str) and value.startswith("file://"):
            target = base / value.removeprefix("file://")
            if not target.exists():
                out.append(Finding(where, line, 1, "eval-missing-file", f"vars.{name}: {value} does not exist",
                                   f"paths are relative to {base}"))
    return out


def _default_test_findings(suite: Suite) -> list[Finding]:
    """defaultTest's assertions run on every case: one `eval run` cannot grade makes every case an error
    (a real suite's `latency` did, before it was graded, while this check passed)."""
    try:
        default = suite.default_test()
    except FatalError as err:
        return [_from_error(suite.path, err)]
    asserts = default.get("assert")
    if not isinstance(asserts, list):
        return []
    found = _case_findings({"assert": asserts}, str(suite.path), 1, suite.base_dir)
    return [replace(f, message=f"defaultTest: {f.message}") for f in found if f.rule != "eval-case-schema"]


def _missing_prompt_files(path: Path, config: dict[str, Any], base: Path) -> list[Finding]:
    try:
        load_prompts(config, base)
    except FatalError as err:
        at_line = err.location and re.search(r":\d+(:\d+)?$", err.location)  # a line in the prompt file
        where = f" ({err.location})" if at_line else ""
        return [Finding(str(path), 1, 1, "eval-prompt", err.message + where, err.hint or "")]
    return []


def _where(location: str) -> tuple[str, int]:
    file, _, line = location.rpartition(":")
    return (file, int(line)) if line.isdigit() and file else (location, 1)


def _from_error(path: Path, err: FatalError) -> Finding:
    parts = (err.location or str(path)).split(":")
    nums = [int(p) for p in parts[1:3] if p.isdigit()]
    line, col = (nums + [1, 1])[:2]
    return Finding(parts[0] or str(path), line, col, "eval-suite", err.message, err.hint or "")

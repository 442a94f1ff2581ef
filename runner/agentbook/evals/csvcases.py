"""Cases from a CSV file, as promptfoo reads them (`tests: file://tests.csv`): one case per row.

The header row names the columns. A column is a variable unless its name is one of promptfoo's
special columns: `__expected` (and `__expected1`, `__expected2`, ...: one assertion each, written as a
string such as `contains: Paris`, `icontains-any: a, b`, `similar(0.9): text`, `grade: rubric`,
`not-regex: ^x`; a string with no assertion type in front is `equals`), `__description`,
`__prefix` / `__suffix` (the case's `options`), `__metric` (every assertion's metric),
`__threshold`, `__providerOutput`, and `__metadata:NAME`.

The cases are read, never written: their rows are the user's to edit (agentbook edits YAML cases).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals.index import fill_ids

# promptfoo's assertion types a CSV cell may name (`type`, `type:value`, `type(threshold):value`)
TYPES = (
    "answer-relevance", "bleu", "classifier", "contains", "contains-all", "contains-any", "contains-html",
    "contains-json", "contains-sql", "contains-xml", "context-faithfulness", "context-recall",
    "context-relevance", "conversation-relevance", "cost", "equals", "factuality", "finish-reason", "g-eval",
    "gleu", "guardrails", "icontains", "icontains-all", "icontains-any", "is-html", "is-json", "is-refusal",
    "is-sql", "is-valid-function-call", "is-valid-openai-function-call", "is-valid-openai-tools-call",
    "is-xml", "javascript", "latency", "levenshtein", "llm-rubric", "meteor", "model-graded-closedqa",
    "model-graded-factuality", "moderation", "perplexity", "perplexity-score", "pi", "python", "regex",
    "rouge-n", "ruby", "similar", "starts-with", "webhook", "word-count",
)
_TYPED = re.compile(r"^(not-)?(" + "|".join(sorted(map(re.escape, TYPES), key=len, reverse=True))
                    + r")(?:\((\d+(?:\.\d+)?)\))?(?::(.*))?$", re.DOTALL)
_LISTS = {"contains-all", "contains-any", "icontains-all", "icontains-any"}
_THRESHOLDS = {"answer-relevance", "classifier", "context-faithfulness", "context-recall", "context-relevance",
               "cost", "latency", "levenshtein", "perplexity", "perplexity-score", "rouge-n", "similar",
               "starts-with"}


def assertion(text: str) -> dict[str, Any]:
    """One `__expected` cell as the assertion promptfoo makes of it."""
    for prefix in ("javascript:", "fn:", "eval:"):
        if text.startswith(prefix):
            return {"type": "javascript", "value": text[len(prefix):].strip()}
    for prefix in ("grade:", "llm-rubric:"):
        if text.startswith(prefix):
            return {"type": "llm-rubric", "value": text[len(prefix):]}
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:"):].strip()}
    if text.startswith("file://"):
        rest = text[len("file://"):].strip()
        if rest.endswith(".py") or ".py:" in rest:
            return {"type": "python", "value": rest}
        if rest.endswith((".js", ".ts")) or ".js:" in rest or ".ts:" in rest:
            return {"type": "javascript", "value": rest}
    m = _TYPED.match(text)
    if m is None:
        return {"type": "equals", "value": text}
    negate, kind, threshold, value = m.groups()
    out: dict[str, Any] = {"type": f"not-{kind}" if negate else kind}
    if kind in _LISTS:
        out["value"] = [part.strip() for part in (value or "").split(",")]
    elif value is not None:
        out["value"] = value
    if kind in _THRESHOLDS:
        out["threshold"] = float(threshold) if threshold else (0.8 if kind == "similar" else 0.75)
    return out


def _case(row: dict[str, str]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    variables: dict[str, str] = {}
    asserts: list[dict[str, Any]] = []
    options: dict[str, str] = {}
    metadata: dict[str, str] = {}
    metric = None
    for key, value in row.items():
        if key.startswith("__expected"):
            if value.strip():
                asserts.append(assertion(value))
        elif key in ("__prefix", "__suffix"):
            options[key[2:]] = value
        elif key == "__description":
            if value:
                case["description"] = value
        elif key == "__providerOutput":
            if value:
                case["providerOutput"] = value
        elif key == "__metric":
            metric = value
        elif key == "__threshold":
            if value.strip():
                case["threshold"] = _number(value)
        elif key.startswith("__metadata:"):
            metadata[key[len("__metadata:"):]] = value
        else:
            variables[key] = value
    if metric:
        for item in asserts:
            item["metric"] = metric
    case.update({"vars": variables, "assert": asserts})
    if options:
        case["options"] = options
    if metadata:
        case["metadata"] = metadata
    return case


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # the schema check names it


def read_cases(path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """(id, line of the row, case) for every row of the CSV file at `path`; ids are content ids, as for
    any case written without one."""
    data = yamlsafe.read_bytes(path, what="CSV test file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise FatalError(f"not UTF-8 text: {err.reason}", location=f"{path}:{line}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [name.strip() for name in header]
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) > len(header):
                    raise FatalError(f"row has {len(cells)} cells, the header names {len(header)} columns",
                                     location=f"{path}:{start}", hint="quote cells that hold commas")
                rows.append((start, _case(dict(zip(header, cells + [""] * (len(header) - len(cells)))))))
            start = reader.line_num + 1
    except csv.Error as err:
        raise FatalError(f"invalid CSV: {err}", location=f"{path}:{reader.line_num}") from None
    ids = fill_ids([None] * len(rows), lambda n: rows[n][1])
    return [(cid, line, case) for cid, (line, case) in zip(ids, rows)]


def row_of(case_id: str, path: Path, line: int) -> FatalError:
    """The refusal of a change to a CSV case: why, and what to do instead."""
    return FatalError(f"case {case_id} is the row at line {line} of {path.name}, and agentbook writes cases as "
                      "YAML, never into a CSV (its cells are promptfoo's shorthand, such as __expected "
                      "`icontains: Paris`)", location=f"{path}:{line}",
                      hint=f"edit line {line} of {path} yourself, keeping its quoting; the case's id is derived from "
                           "the row's content, so it changes: agentbook eval list SUITE shows the new one. Or keep "
                           "cases you will edit in YAML: tests: [file://" + path.name + ", file://cases/*.yaml]")

"""Cases from a CSV file, as promptfoo reads them (`tests: file://tests.csv`): one case per row.

The header row names the columns. A column is a variable unless its name is one of promptfoo's
special columns: `__expected` (and `__expected1`, `__expected2`, ...: one assertion each, written as a
string such as `contains: Paris`, `icontains-any: a, b`, `similar(0.9): text`, `grade: rubric`,
`not-regex: ^x`; a string with no assertion type in front is `equals`), `__description`,
`__prefix` / `__suffix` (the case's `options`), `__metric` (every assertion's metric),
`__threshold`, `__providerOutput`, and `__metadata:NAME`.

A row is rewritten in place by `eval edit`/`replace` (`rewrite_row`: its unchanged cells keep their text and
quoting, the new row must read back as the changed case) and removed by `eval rm`; `eval add` is refused
(a new row is the user's to write in the CSV).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
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
    return parse_cases(yamlsafe.read_bytes(path, what="CSV test file"), path)


def parse_cases(data: bytes, path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """`read_cases` of the bytes `data` (of the file at `path`, or what it is about to hold)."""
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
    """The refusal of a change to a CSV case agentbook cannot make: why, and what to do instead."""
    return FatalError(f"case {case_id} is the row at line {line} of {path.name}, a record agentbook cannot rewrite "
                      "cell by cell", location=f"{path}:{line}",
                      hint=f"edit line {line} of {path} yourself, keeping its quoting; the case's id is derived from "
                           "the row's content, so it changes: agentbook eval list SUITE shows the new one. Or keep "
                           "cases you will edit in YAML: tests: [file://" + path.name + ", file://cases/*.yaml]")


# -- rewriting one row ------------------------------------------------------------------------------
def rewrite_row(path: Path, line: int, case_id: str, mutate: Callable[[Any, str], None]) -> tuple[str, bytes, bytes]:
    """The CSV at `path` with the row at `line` (case `case_id`) changed by `mutate`: (the row's new id, old
    bytes, new bytes). Cells the change leaves as they were keep their text and quoting; a changed cell is
    written the way promptfoo reads it back (a quoted cell stays quoted). A change a row cannot hold (a new
    variable, an assertion the `__expected` shorthand cannot write, an id) is refused, and nothing is written:
    the new row is read back and must give the changed case."""
    from agentbook.evals.yamlio import dump_rt, load_rt, to_plain

    old = yamlsafe.read_bytes(path, what="CSV test file")
    bom = b"\xef\xbb\xbf" if old.startswith(b"\xef\xbb\xbf") else b""
    records = io.StringIO(old[len(bom):].decode("utf-8"), newline="").readlines()
    header = next(csv.reader([records[0]]))
    names = [name.strip() for name in header]
    reader = csv.reader(io.StringIO("".join(records[line - 1:]), newline=""))
    cells = next(reader)
    span = reader.line_num  # physical lines of the row (a quoted cell may hold newlines)
    raw_text = "".join(records[line - 1:line - 1 + span])
    ending = raw_text[len(raw_text.rstrip("\r\n")):]
    raw = _raw_cells(raw_text[:len(raw_text) - len(ending)])
    if [c for c in next(csv.reader([",".join(raw)]), [])] != cells:
        raise row_of(case_id, path, line)  # a record this reader cannot split by itself: not rewritten
    cells += [""] * (len(names) - len(cells))
    raw += [""] * (len(names) - len(raw))
    case = load_rt(dump_rt(_case(dict(zip(names, cells)))), where=f"{path}:{line}")
    mutate(case, case_id)
    wanted = to_plain(case)
    if str(wanted.pop("id", case_id)) != case_id:
        raise FatalError(f"case {case_id} is a row of {path.name}, which has no id column", location=f"{path}:{line}",
                         hint="a CSV case's id is derived from its content: leave the id out")
    missing = [str(k) for k in (wanted.get("vars") or {}) if str(k) not in names]
    if missing:
        raise FatalError(f"{path.name} has no column {', '.join(map(repr, missing))} for case {case_id}'s vars",
                         location=f"{path}:1", hint="add the column to the CSV's header (every row then has a cell "
                                                    "for it), or keep the case in YAML")
    new_raw = [raw[n] if _cell_for(name, wanted, n, names) == cells[n] else _quoted(_cell_for(name, wanted, n, names),
                                                                                   raw[n].startswith('"'))
               for n, name in enumerate(names)]
    got = _case(dict(zip(names, next(csv.reader([",".join(new_raw)])))))
    if got != wanted:
        raise FatalError(f"case {case_id} is the row at line {line} of {path.name}, and this change cannot be written "
                         f"as a row of it: it would read back as {json.dumps(_differs(got, wanted), default=str)[:300]}",
                         location=f"{path}:{line}",
                         hint="a row holds a value for each column of the header and its assertions as __expected "
                              "shorthand (type:value): edit the CSV itself, or move the case to YAML")
    new_text = "".join(records[:line - 1]) + ",".join(new_raw) + ending + "".join(records[line - 1 + span:])
    new = bom + new_text.encode("utf-8")
    rows = parse_cases(new, path)
    new_id = next(cid for cid, at, _ in rows if at == line)
    return new_id, old, new


def remove_row(path: Path, line: int) -> tuple[bytes, bytes]:
    """(old bytes, new bytes) of the CSV at `path` without the row at `line` (all its physical lines)."""
    old = yamlsafe.read_bytes(path, what="CSV test file")
    bom = b"\xef\xbb\xbf" if old.startswith(b"\xef\xbb\xbf") else b""
    records = io.StringIO(old[len(bom):].decode("utf-8"), newline="").readlines()
    reader = csv.reader(io.StringIO("".join(records[line - 1:]), newline=""))
    next(reader)
    return old, bom + "".join(records[:line - 1] + records[line - 1 + reader.line_num:]).encode("utf-8")


def _raw_cells(record: str) -> list[str]:
    """The cells of one CSV record as written (quotes and all), split at the commas outside quotes."""
    out, start, quoted = [], 0, False
    for n, ch in enumerate(record):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(record[start:n])
            start = n + 1
    out.append(record[start:])
    return out


def _quoted(text: str, keep_quotes: bool) -> str:
    """`text` as one CSV cell: quoted when it must be (a comma, a quote, a line break) or was before."""
    if keep_quotes or any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _cell_for(name: str, case: dict[str, Any], n: int, names: list[str]) -> str:
    """The text column `name` needs for the row to read back as `case`."""
    if name.startswith("__expected"):
        slot = [k for k in names if k.startswith("__expected")].index(name)
        asserts = case.get("assert") or []
        return _expected(asserts[slot]) if slot < len(asserts) else ""
    if name in ("__prefix", "__suffix"):
        return str((case.get("options") or {}).get(name[2:], ""))
    if name == "__description":
        return str(case.get("description", ""))
    if name == "__providerOutput":
        return str(case.get("providerOutput", ""))
    if name == "__threshold":
        value = case.get("threshold")
        return "" if value is None else str(value)
    if name == "__metric":
        metrics = {str(a.get("metric", "")) for a in case.get("assert") or [] if isinstance(a, dict)}
        return metrics.pop() if len(metrics) == 1 else ""
    if name.startswith("__metadata:"):
        return str((case.get("metadata") or {}).get(name[len("__metadata:"):], ""))
    value = (case.get("vars") or {}).get(name, "")
    return value if isinstance(value, str) else json.dumps(value)


def _expected(item: Any) -> str:
    """One assertion in promptfoo's `__expected` shorthand (what `assertion` reads back)."""
    if not isinstance(item, dict):
        return str(item)
    kind, value = str(item.get("type", "")), item.get("value", "")
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if kind == "equals":
        return text
    threshold = item.get("threshold")
    base = kind.removeprefix("not-")
    default = 0.8 if base == "similar" else 0.75
    at = f"({threshold:g})" if base in _THRESHOLDS and isinstance(threshold, (int, float)) and threshold != default \
        else ""
    return f"{kind}{at}:{text}" if "value" in item else f"{kind}{at}"


def _differs(got: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: got.get(k) for k in {*got, *wanted} if got.get(k) != wanted.get(k)}

"""Cases from a JSONL file, as promptfoo reads them (`tests: file://tests.jsonl`): one JSON object, a case,
per line (blank lines skipped).

A case's id is its `id` key, else its content id (as for any case written without one). `eval edit`/`replace`
rewrite its line in place (as JSON on one line, in the separators and escaping the file uses), `eval rm`
removes the line, `eval add` appends one; every other line keeps its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals.index import fill_ids

_WHAT = "JSONL test file"


def read_cases(path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """(id, line, case) for every case line of the JSONL file at `path`."""
    return parse_cases(yamlsafe.read_bytes(path, what=_WHAT), path)


def parse_cases(data: bytes, path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    rows = [(line, _case(text, path, line)) for line, text in enumerate(_records(data, path), 1) if text.strip()]
    ids = fill_ids([_explicit_id(case) for _, case in rows], lambda n: rows[n][1])
    return [(cid, line, case) for cid, (line, case) in zip(ids, rows)]


def rewrite_line(path: Path, line: int, case_id: str, mutate: Callable[[Any, str], None]) -> tuple[str, bytes, bytes]:
    """The file at `path` with the case on `line` changed by `mutate`: (its id after the change, old bytes, new
    bytes). The case stays one line of JSON; its id may not change (a content id follows the content)."""
    from agentbook.evals.yamlio import dump_rt, load_rt, to_plain

    old = yamlsafe.read_bytes(path, what=_WHAT)
    records = _records(old, path)
    text = records[line - 1]
    before = _case(text, path, line)
    case = load_rt(dump_rt(before), where=f"{path}:{line}")
    mutate(case, case_id)
    wanted = to_plain(case)
    if "id" not in before and str(wanted.get("id", case_id)) == case_id:
        wanted.pop("id", None)  # the id the content gave it, not one the line writes
    if "id" in wanted and str(wanted["id"]) != (_explicit_id(before) or case_id):
        raise FatalError(f"cannot change the id of case {case_id} in place", location=f"{path}:{line}",
                         hint="add a new case and remove the old one")
    if wanted == before:
        return case_id, old, old
    records[line - 1] = _dump(wanted, text) + text[len(text.rstrip("\r\n")):]
    new = _bom(old) + "".join(records).encode("utf-8")
    return next(cid for cid, at, _ in parse_cases(new, path) if at == line), old, new


def remove_line(path: Path, line: int) -> tuple[bytes, bytes]:
    """(old bytes, new bytes) of the file at `path` without the case on `line`."""
    old = yamlsafe.read_bytes(path, what=_WHAT)
    records = _records(old, path)
    del records[line - 1]
    return old, _bom(old) + "".join(records).encode("utf-8")


def append_case(path: Path, case: dict[str, Any]) -> tuple[int, bytes, bytes]:
    """(its line, old bytes, new bytes) of the file at `path` with `case` added as its last line."""
    old = yamlsafe.read_bytes(path, what=_WHAT)
    records = _records(old, path)
    like = next((r for r in records if r.strip()), "")
    ending = "\r\n" if like.endswith("\r\n") else "\n"
    if records and not records[-1].endswith("\n"):
        records[-1] += ending
    records.append(_dump(case, like) + ending)
    return len(records), old, _bom(old) + "".join(records).encode("utf-8")


def _records(data: bytes, path: Path) -> list[str]:
    """The file's lines, each with its line break: only \n ends one (a JSON string escapes its own line
    breaks; U+2028 and the like may stand in one unescaped, so no `splitlines`)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise FatalError(f"not UTF-8 text: {err.reason}", location=f"{path}:{line}") from None
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _case(text: str, path: Path, line: int) -> dict[str, Any]:
    try:
        value = json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as err:
        raise FatalError(f"not a JSON value: {err.msg}", location=f"{path}:{line}:{err.colno}",
                         hint="each line of a JSONL test file is one case, a JSON object on one line") from None
    except RecursionError:
        raise FatalError("JSON nested too deeply", location=f"{path}:{line}") from None
    if not isinstance(value, dict):
        raise FatalError(f"a line of a JSONL test file must be a JSON object (a case), not {type(value).__name__}",
                         location=f"{path}:{line}")
    return value


def _explicit_id(case: dict[str, Any]) -> str | None:
    value = case.get("id")
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _dump(case: dict[str, Any], like: str) -> str:
    """`case` as one line of JSON, spaced and escaped as the line `like` is."""
    compact = '":' in like and '": ' not in like
    return json.dumps(case, ensure_ascii=like.isascii(), separators=(",", ":") if compact else (", ", ": "))


def _bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""

"""Runbook inputs: collected from the ticket and `--input k=v`, typed and checked before a run starts.

A runbook declares `inputs: {name: {type, required, description, default, enum}}`; types are
`string`, `path` (must exist in the repository at the base commit), `integer`, `number`, `boolean`,
`model` (a model spec that parses; a `scripted:` one names a script that exists in the repository).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from agentbook.errors import FatalError, UsageError

TYPES = ("string", "path", "integer", "number", "boolean", "model")
_ALIASES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "file": "path"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_AT_LINE = re.compile(r"(?P<path>.+):[1-9]\d*(?:-\d+)?")  # SUITE:LINE, as evals.render.prompt_at_line reads it


def parse_cli_inputs(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--input k=v` pairs -> dict; a pair without '=' is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--input expects NAME=VALUE, got '{pair}'")
        out[key.strip()] = value
    return out


def resolve_inputs(spec: dict[str, Any], ticket_inputs: dict[str, Any], cli_inputs: dict[str, str], *,
                   runbook: str, path_exists: Callable[[str], bool], ticket_source: str = "ticket",
                   ticket_lines: dict[str, int] | None = None, subdir: str = "") -> dict[str, Any]:
    """Merge (CLI wins over ticket), type and check every input; FatalError on the first problem.

    `subdir` is the folder the command was started in, relative to the repository root: a path that
    is missing from the root but present under it gets a hint (paths are relative to the root).
    """
    spec = spec or {}
    merged: dict[str, tuple[Any, str]] = {}
    for name, value in ticket_inputs.items():
        line = (ticket_lines or {}).get(name)
        merged[name] = (value, f"{ticket_source}:{line}" if line else ticket_source)
    for name, value in cli_inputs.items():
        merged[name] = (value, "--input")
    for name, (_, where) in merged.items():
        if name not in spec:
            known = ", ".join(sorted(spec)) or "(none)"
            raise FatalError(f"unknown input '{name}' for runbook '{runbook}'",
                             location=None if where == "--input" else where,
                             hint=f"runbook '{runbook}' takes: {known}")
    out: dict[str, Any] = {}
    for name, decl in spec.items():
        decl = decl if isinstance(decl, dict) else {"type": "string"}
        if name in merged:
            value, where = merged[name]
            out[name] = coerce(name, value, decl, where=where, path_exists=path_exists, subdir=subdir)
        elif "default" in decl:
            out[name] = decl["default"]
        elif decl.get("required", False):
            desc = f" ({decl['description']})" if decl.get("description") else ""
            raise FatalError(f"missing required input '{name}'{desc} for runbook '{runbook}'",
                             hint=f"pass --input {name}=... or set inputs.{name} in the ticket")
    return out


def coerce(name: str, value: Any, decl: dict[str, Any], *, where: str,
           path_exists: Callable[[str], bool], subdir: str = "") -> Any:
    kind = _ALIASES.get(str(decl.get("type", "string")), str(decl.get("type", "string")))
    loc = None if where == "--input" else where
    if kind not in TYPES:
        raise FatalError(f"input '{name}' has unknown type '{kind}' in the runbook",
                         hint=f"types are: {', '.join(TYPES)}")
    converted = _CONVERT[kind](value)
    if converted is None:
        raise FatalError(f"input '{name}' must be {_ARTICLE[kind]}, got {value!r}", location=loc)
    if kind == "path":
        converted = _check_path(name, converted, loc, path_exists, subdir)
    if kind == "model":
        _check_model(name, converted, loc, path_exists, subdir)
    choices = decl.get("enum")
    if choices and converted not in choices:
        raise FatalError(f"input '{name}' must be one of {', '.join(map(str, choices))}; got {value!r}",
                         location=loc)
    return converted


def _check_path(name: str, value: str, loc: str | None, path_exists: Callable[[str], bool],
                subdir: str = "") -> str:
    p = PurePosixPath(value)
    norm = str(p).removeprefix("./")
    if p.is_absolute() or ".." in p.parts or not norm or norm == ".":
        raise FatalError(f"input '{name}' must be a path inside the repository, got '{value}'", location=loc)
    at_line = _AT_LINE.fullmatch(norm)
    if not path_exists(norm) and at_line is not None and path_exists(at_line["path"]):
        return norm  # FILE:LINE, one prompt of several a suite writes inline (fix-prompt's `prompt`)
    if not path_exists(norm):
        hint = "paths are checked at the base commit; commit the file first"
        if subdir and path_exists(f"{subdir}/{norm}"):
            # e.g. a ticket of examples/incident-assistant run inside agentbook's own checkout
            hint = (f"paths are relative to the repository root, not to this folder: from the root it is "
                    f"'{subdir}/{norm}'; if '{subdir}' is meant to be a repository of its own, run from a copy "
                    f"of it that is one")
        raise FatalError(f"input '{name}': path '{norm}' does not exist in the repository", location=loc,
                         hint=hint)
    return norm


def _check_model(name: str, value: str, loc: str | None, path_exists: Callable[[str], bool],
                 subdir: str = "") -> None:
    """A typo in a model spec would only show as every eval case erroring, after the run started."""
    from agentbook.models.spec import WRITTEN_SPEC_HINT, parse_spec, written_spec_problem

    try:
        spec = parse_spec(value)
        why = written_spec_problem(value)  # a ticket is anyone's: it names a model, never where a key goes
    except FatalError as err:
        raise FatalError(f"input '{name}': {err.message}", location=loc, hint=err.hint) from None
    if why is not None:
        raise FatalError(f"input '{name}': {why}", location=loc, hint=WRITTEN_SPEC_HINT)
    if spec.kind == "scripted" and spec.script is not None and not PurePosixPath(spec.script).is_absolute():
        _check_path(name, spec.script, loc, path_exists, subdir)


def _to_string(v: Any) -> str | None:
    return None if isinstance(v, (dict, list)) or v is None else str(v)


def _to_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        return None


def _to_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v) if isinstance(v, (int, float)) else float(str(v).strip())
    except ValueError:
        return None


def _to_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


_CONVERT: dict[str, Callable[[Any], Any]] = {"string": _to_string, "path": _to_string, "integer": _to_int,
                                             "number": _to_number, "boolean": _to_bool, "model": _to_string}
_ARTICLE = {"string": "a string", "path": "a path", "integer": "an integer", "number": "a number",
            "boolean": "true or false", "model": "a model spec"}

"""Field paths into a case: `vars.logs`, `assert[0].value`, `assert.0.value`, `metadata."a.b"`.

`--set` may add a key to a mapping that exists, or replace a list item that exists; it never creates a
missing parent, because a typo (`varz.q`) silently growing a new branch is how suites rot.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping, MutableSequence
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError

PathPart = str | int
_TOKEN = re.compile(r'\[(\d+)\]|"((?:[^"\\]|\\.)*)"|([^.\[\]"]+)|(\.)')


def parse_path(path: str) -> list[PathPart]:
    parts: list[PathPart] = []
    pos = 0
    expect_part = True
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise FatalError(f"bad field path {path!r} at character {pos + 1}",
                             hint='write it like vars.logs, assert[0].value or metadata."a.b"')
        index, quoted, bare, dot = m.groups()
        if dot:
            if expect_part:
                raise FatalError(f"bad field path {path!r}: empty part at character {pos + 1}")
            expect_part = True
        elif index is not None:
            parts.append(int(index))
            expect_part = False
        else:
            name = quoted if quoted is not None else bare
            parts.append(int(name) if name.isdigit() and quoted is None else name)
            expect_part = False
        pos = m.end()
    if not parts or expect_part:
        raise FatalError(f"bad field path {path!r}", hint="write it like vars.logs or assert[0].value")
    return parts


def format_path(parts: list[PathPart]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            name = p if re.fullmatch(r"[A-Za-z0-9_\-]+", p) else '"' + p.replace('"', '\\"') + '"'
            out += ("." if out else "") + name
    return out


def get_path(root: Any, parts: list[PathPart], *, case_id: str = "") -> Any:
    node = root
    for i, part in enumerate(parts):
        node = _child(node, part, parts[: i + 1], case_id)
    return node


def set_path(root: Any, parts: list[PathPart], value: Any, *, case_id: str = "",
             styler: Any = None) -> None:
    """Set `value` at `parts`; the parent must exist. `styler(old, new)` keeps the old scalar style."""
    parent = get_path(root, parts[:-1], case_id=case_id)
    last = parts[-1]
    if isinstance(parent, MutableMapping):
        key = str(last)
        old = parent.get(key)
        parent[key] = styler(old, value) if styler else value
    elif isinstance(parent, MutableSequence):
        if not isinstance(last, int) or not 0 <= last <= len(parent):
            raise _missing(parts, case_id, f"index {last} is out of range (the list has {len(parent)} items;"
                           f" use [{len(parent)}] to append)")
        if last == len(parent):
            parent.append(value)
        else:
            parent[last] = styler(parent[last], value) if styler else value
    else:
        raise _missing(parts, case_id, f"{format_path(parts[:-1]) or 'the case'} is a scalar, not a mapping "
                       "or list")


def unset_path(root: Any, parts: list[PathPart], *, case_id: str = "") -> None:
    parent = get_path(root, parts[:-1], case_id=case_id)
    last = parts[-1]
    if isinstance(parent, MutableMapping) and str(last) in parent:
        del parent[str(last)]
    elif isinstance(parent, MutableSequence) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
    else:
        raise _missing(parts, case_id, "nothing to remove there")


def parse_value(text: str) -> Any:
    """A `--set` value: YAML (so 0.8 is a number and "[a, b]" a list); anything unparsable is a string."""
    from agentbook.evals.index import Loader  # YAML 1.2 scalars: `Yes` stays a string, as in promptfoo

    try:
        return yamlsafe.load(text, "value", loader=Loader) if text.strip() else text
    except yamlsafe.Unparsable:
        return text


def _child(node: Any, part: PathPart, so_far: list[PathPart], case_id: str) -> Any:
    if isinstance(node, MutableMapping):
        key = str(part)
        if key in node:
            return node[key]
        keys = ", ".join(str(k) for k in node) or "none"
        raise _missing(so_far, case_id, f"no field {key!r} here (fields: {keys})")
    if isinstance(node, MutableSequence):
        if isinstance(part, int) and 0 <= part < len(node):
            return node[part]
        raise _missing(so_far, case_id, f"the list has {len(node)} items; index with [0]..[{len(node) - 1}]")
    raise _missing(so_far, case_id, f"{format_path(so_far[:-1]) or 'the case'} is a scalar")


def _missing(parts: list[PathPart], case_id: str, detail: str) -> FatalError:
    where = f" in case {case_id!r}" if case_id else ""
    return FatalError(f"path {format_path(parts)!r} does not exist{where}: {detail}",
                      hint="see the fields with `agentbook eval show SUITE ID`")

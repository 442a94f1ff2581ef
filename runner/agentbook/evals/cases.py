"""What every layout shares about one case: its summary row, the result of a change, the changes
themselves (set/unset/replace as mutations of a ruamel mapping), schema checks and safe writes."""

from __future__ import annotations

import copy
from collections.abc import Callable, MutableMapping, MutableSequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook.errors import FatalError
from agentbook.evals import fieldpath
from agentbook.evals.index import content_id
from agentbook.evals.schema import case_problems
from agentbook.evals.yamlio import dump_rt, load_rt, styled_like, to_plain
from agentbook.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

Mutation = Callable[["CommentedMap", str], None]


@dataclass
class EditResult:
    id: str
    path: str
    fast: bool  # True when only the case's bytes were re-serialised
    reason: str = ""  # why the full round-trip was used
    lines: tuple[int, int] = (0, 0)  # first and last changed line of the new file (1-based)
    changed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "fast_path": self.fast, "reason": self.reason,
                "lines": list(self.lines), "changed": self.changed}


def mutation_for(sets: list[tuple[str, Any]], unsets: list[str]) -> Mutation:
    parsed_sets = [(fieldpath.parse_path(p), v) for p, v in sets]
    parsed_unsets = [fieldpath.parse_path(p) for p in unsets]

    def apply(case: CommentedMap, case_id: str) -> None:
        for parts, value in parsed_sets:
            _own_path(case, parts)
            fieldpath.set_path(case, parts, value, case_id=case_id, styler=styled_like)
        for parts in parsed_unsets:
            _own_path(case, parts)
            parent = fieldpath.get_path(case, parts[:-1], case_id=case_id) if len(parts) > 1 else case
            if isinstance(parent, MutableMapping) and _merged(parent, str(parts[-1])):
                path = fieldpath.format_path(parts)
                raise FatalError(f"{path} of case {case_id} comes from a `<<:` merge key: removing it here "
                                 "would leave the merged value in place", hint=f"set it instead "
                                 f"(--set '{path}=...'), or change the mapping the merge key names")
            fieldpath.unset_path(case, parts, case_id=case_id)

    return apply


def _own_path(case: CommentedMap, parts: list[fieldpath.PathPart]) -> None:
    """Give the case its own copy of each anchored mapping or list on the way to the parent of `parts`.
    An alias (`assert: *checks`) loads as the very object its anchor does, so a change made in place
    would change the anchor and every case that shares it, not only the case named. A key a `<<:` merge
    key brings in is the merged mapping's own value, so it is copied in the same way (the case then
    writes that key itself, which overrides the merge)."""
    node: Any = case
    for part in parts[:-1]:
        if isinstance(node, MutableMapping) and str(part) in node:
            key: str | int = str(part)
        elif isinstance(node, MutableSequence) and isinstance(part, int) and 0 <= part < len(node):
            key = part
        else:
            return  # a missing step: set_path/unset_path say what is missing
        child = node[key]
        if _merged(node, key):
            child = own_copy(child)
            node[key] = child
            node.move_to_end(key)  # written after the mapping's own keys, as one would write an override
        elif anchored(child):
            child = own_copy(child)
            node[key] = child
        node = child


def own_copy(node: Any) -> Any:
    """A copy of a node other cases may share (an anchor's), for one case to change alone. The copy has
    no anchors (no second definition of a name); the original keeps its name even where it is written
    once more (ruamel writes the anchor where the first case still using it stands, and without
    `always_dump` a single remaining user would get it written out in full, the name gone)."""
    if anchored(node):
        _anchor(node).always_dump = True
    for child in _nodes(node):
        if anchored(child):
            _anchor(child).always_dump = True
    mine = copy.deepcopy(node)
    _drop_anchors(mine)
    return mine


def shared(node: Any, root: Any) -> bool:
    """Whether `node` is used more than once under `root`: an alias of its anchor, or a `<<:` merge of it."""
    seen: set[int] = set()
    uses = 0
    todo = [root]
    while todo:
        item = todo.pop()
        merged = [m[1] if isinstance(m, tuple) else m for m in getattr(item, "merge", None) or []]  # (pos, map) before 0.19
        children = list(item.values()) if isinstance(item, MutableMapping) else list(item) \
            if isinstance(item, MutableSequence) else []
        for child in [*merged, *children]:
            uses += child is node
            if id(child) not in seen and isinstance(child, MutableMapping | MutableSequence):
                seen.add(id(child))
                todo.append(child)
    return uses > 1


def _nodes(node: Any) -> list[Any]:
    """Every mapping and list below `node`."""
    out: list[Any] = []
    todo = [node]
    while todo:
        item = todo.pop()
        children = list(item.values()) if isinstance(item, MutableMapping) else list(item) \
            if isinstance(item, MutableSequence) else []
        found = [c for c in children if isinstance(c, MutableMapping | MutableSequence)]
        out += found
        todo += found
    return out


def _merged(node: Any, key: str | int) -> bool:
    """Whether `key` of this mapping comes from a `<<:` merge key rather than the mapping itself."""
    own = getattr(node, "non_merged_items", None)
    return bool(getattr(node, "merge", None)) and own is not None and key not in {k for k, _ in own()}


def _anchor(node: Any) -> Any:
    """ruamel's anchor of a loaded mapping or list (its `.value` is the name, None when it has none)."""
    return getattr(node, "anchor", None) if isinstance(node, MutableMapping | MutableSequence) else None


def anchored(node: Any) -> bool:
    anchor = _anchor(node)
    return anchor is not None and anchor.value is not None


def _drop_anchors(node: Any) -> None:
    for item in [node, *_nodes(node)]:
        if anchored(item):
            _anchor(item).value = None


def check_case(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise FatalError("a case must be a YAML mapping", location=where)
    problems = case_problems(value)
    if problems:
        raise FatalError("invalid case: " + "; ".join(problems[:5]), location=where,
                         hint="the file on disk is unchanged")


def as_case_map(mapping: Any, where: str) -> CommentedMap:
    """A case given by the user (text or mapping) as a ruamel mapping, keeping its comments."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(mapping, str):
        mapping = load_rt(mapping, where=where)
    if isinstance(mapping, CommentedMap):
        return mapping
    if isinstance(mapping, dict):
        return load_rt(dump_rt(mapping), where=where)
    raise FatalError("a case must be a YAML mapping", location=where)


def ensure_id(case: CommentedMap, case_id: str) -> None:
    if "id" not in case:
        case.insert(0, "id", case_id)


def write_bytes(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise FatalError(f"cannot write {path}: {err.strerror or err}",
                         hint="the file on disk is unchanged") from None


def replacer(new_case: CommentedMap) -> Mutation:
    def apply(case: CommentedMap, case_id: str) -> None:
        if "id" in new_case and str(new_case["id"]) != case_id:
            raise FatalError(f"the replacement has id {new_case['id']!r}, not {case_id!r}",
                             hint="drop the id from the file or make it match")
        keys = list(case)
        for key in keys:
            if key != "id":
                del case[key]
        for key, value in new_case.items():
            if key != "id":
                case[key] = value
        ensure_id(case, case_id)
        case.ca.items.update(new_case.ca.items)

    return apply


def new_id(case: CommentedMap) -> str:
    return str(case["id"]) if "id" in case else content_id(to_plain(case))


def unknown_id(case_id: str, known: list[str], path: Path) -> FatalError:
    near = [k for k in known if case_id.lower() in k.lower() or k.lower() in case_id.lower()][:5]
    hint = f"did you mean {', '.join(near)}?" if near else "list the ids with `agentbook eval list SUITE`"
    return FatalError(f"unknown case id {case_id!r}", location=str(path), hint=hint)


def assert_types(value: dict[str, Any]) -> list[str]:
    return [str(a.get("type", "?")) for a in value.get("assert") or [] if isinstance(a, dict)]

"""ATIF agent trajectories (`schema_version: ATIF-v1.x`): one trace per trajectory, a document's
trajectories that another of the same file references (a subagent's, by `session_id` or
`trajectory_id` in a `subagent_trajectory_ref`) read under that one's tool call.

A file may hold one trajectory, a list of them, or an object naming them (`{"parent": {...}, "child":
{...}}`, as Phoenix's client fixtures do); a name is kept as the trajectory's `document_key`."""

from __future__ import annotations

from typing import Any

from ..atif import is_atif, read_atif
from ..load import Documents
from ..model import Trace
from ..values import as_dict, as_list
from . import Reader
from .common import each_object, keep_skipped


def _named(doc: object) -> bool:
    """An object whose every value is a trajectory (and which is not one itself)."""
    return (isinstance(doc, dict) and bool(doc) and not is_atif(doc)
            and all(is_atif(v) for v in doc.values()))


def _detect(docs: list[object]) -> bool:
    doc = docs[0]
    return is_atif(doc) or _named(doc) or (isinstance(doc, list) and bool(doc) and all(is_atif(d) for d in doc))


def _trajectories(docs: Documents, skipped: list[object]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in docs.iterate():
        if _named(doc):
            assert isinstance(doc, dict)
            out += [{**value, "document_key": key} for key, value in doc.items()]
        else:
            out += list(each_object([doc], skipped))
    return out


def _referenced(doc: dict[str, Any]) -> list[str]:
    """The trajectory ids and session ids `doc`'s observation results reference."""
    keys = []
    for step in as_list(doc.get("steps")):
        observation = as_dict(as_dict(step).get("observation"))
        for result in as_list(observation.get("results")):
            for ref in as_list(as_dict(result).get("subagent_trajectory_ref")):
                keys += [str(v) for k, v in as_dict(ref).items() if k in ("trajectory_id", "session_id") and v]
    return keys


def _nest(trajectories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each trajectory another one references goes into that one's `subagent_trajectories` (the first
    referrer, walking from the trajectories nobody references, so a cycle never nests); the rest are
    traces of their own, in file order."""
    by_key: dict[str, int] = {}
    for n, doc in enumerate(trajectories):
        for key in ("trajectory_id", "session_id"):
            if doc.get(key):
                by_key.setdefault(str(doc[key]), n)
    children = [[by_key[k] for k in dict.fromkeys(_referenced(doc)) if by_key.get(k, n) != n]
                for n, doc in enumerate(trajectories)]
    referenced = {c for kids in children for c in kids}
    placed: set[int] = set()

    def build(n: int) -> dict[str, Any]:
        placed.add(n)
        subs = [build(c) for c in children[n] if c not in placed]
        doc = trajectories[n]
        return {**doc, "subagent_trajectories": as_list(doc.get("subagent_trajectories")) + subs} if subs else doc

    roots = {n: build(n) for n in range(len(trajectories)) if n not in referenced}
    for n in range(len(trajectories)):  # a cycle's members, which no walk reached: traces of their own
        if n not in placed:
            roots[n] = build(n)
    return [roots[n] for n in sorted(roots)]


def _read(docs: Documents, source: str) -> list[Trace]:
    skipped: list[object] = []
    trajectories = _trajectories(docs, skipped)
    return keep_skipped([read_atif(d, source) for d in _nest(trajectories)], skipped)


READER = Reader(name="atif", priority=50, detect=_detect, read=_read,
                expects="ATIF trajectory (`schema_version`, `session_id`, `agent`, `steps[]`), a list of them, "
                        "or an object naming them")

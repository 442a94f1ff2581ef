"""Link spans into a tree, and say plainly what could not be placed.

Real traces are partial: a parent that was never exported, the same span sent twice, a parent id
that points at the span itself or loops back. None of these stop an export: such spans go under
`_orphans/` (in `Trace.orphans`) and `Trace.problems` says why, one line each.
"""

from __future__ import annotations

from .model import Span, Trace


def _order_key(span: Span) -> tuple[int, int]:
    # Children sort by start time; spans without one keep source order after those that have one.
    return (0, span.start_ns) if span.start_ns is not None else (1, 0)


def _dedupe(trace: Trace) -> dict[str, Span]:
    by_id: dict[str, Span] = {}
    for n, span in enumerate(trace.spans):
        if span.span_id not in by_id:
            by_id[span.span_id] = span
            continue
        new_id = f"{span.span_id}~dup{n}"
        trace.problems.append(f"duplicate span id {span.span_id}: the second copy ({span.name!r}) is kept "
                              f"as {new_id} under _orphans/")
        span.span_id = new_id
        span.parent_id = None
        by_id[new_id] = span
        trace.orphans.append(span)
    return by_id


def build_tree(trace: Trace) -> Trace:
    """Fill `children`, `roots` and `orphans` (idempotent: children lists are rebuilt)."""
    for span in trace.spans:
        span.children = []
    trace.roots, trace.orphans = [], []
    by_id = _dedupe(trace)
    dup_orphans = {id(s) for s in trace.orphans}
    for span in trace.spans:
        if id(span) in dup_orphans:
            continue
        pid = span.parent_id
        if not pid:
            trace.roots.append(span)
        elif pid == span.span_id:
            trace.problems.append(f"span {span.span_id} ({span.name!r}) is its own parent: placed under _orphans/")
            trace.orphans.append(span)
        elif pid not in by_id:
            trace.problems.append(f"span {span.span_id} ({span.name!r}) has parent {pid}, which is not in "
                                  f"this trace: placed under _orphans/")
            trace.orphans.append(span)
        else:
            by_id[pid].children.append(span)
    _place_cycles(trace, by_id)
    for span in trace.spans:
        if len(span.children) > 1:
            span.children.sort(key=_order_key)
    trace.roots.sort(key=_order_key)
    return trace


def _reachable(spans: list[Span]) -> set[int]:
    """ids of `spans` and everything below them."""
    seen: set[int] = set()
    stack = list(spans)
    while stack:
        span = stack.pop()
        if id(span) in seen:
            continue
        seen.add(id(span))
        stack.extend(span.children)
    return seen


def _place_cycles(trace: Trace, by_id: dict[str, Span]) -> None:
    """Spans not reachable from a root or orphan sit on a parent cycle: cut each cycle once."""
    seen = _reachable(trace.roots + trace.orphans)
    for span in trace.spans:
        if id(span) in seen:
            continue
        order: list[Span] = []
        position: dict[int, int] = {}
        cursor: Span | None = span
        while cursor is not None and id(cursor) not in position:
            position[id(cursor)] = len(order)
            order.append(cursor)
            cursor = by_id.get(cursor.parent_id or "")
        if cursor is None:  # cannot happen for an unreachable span; keep it visible anyway
            trace.orphans.append(span)
            seen |= _reachable([span])
            continue
        loop = order[position[id(cursor)]:]
        head = min(loop, key=lambda s: s.span_id)
        parent = by_id.get(head.parent_id or "")
        if parent is not None and head in parent.children:
            parent.children.remove(head)
        chain = " -> ".join(s.span_id for s in loop[:6]) + (" -> ..." if len(loop) > 6 else "")
        trace.problems.append(f"parent cycle ({chain}): span {head.span_id} ({head.name!r}) placed under "
                              f"_orphans/ to cut it")
        trace.orphans.append(head)
        seen |= _reachable([head])


def walk(spans: list[Span]) -> list[tuple[int, Span]]:
    """Pre-order (depth, span) pairs without recursion (trees can be 10k levels deep)."""
    out: list[tuple[int, Span]] = []
    stack = [(0, s) for s in reversed(spans)]
    while stack:
        depth, span = stack.pop()
        out.append((depth, span))
        stack.extend((depth + 1, c) for c in reversed(span.children))
    return out

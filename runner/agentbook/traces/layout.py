"""Where each span's folder goes: numbered in tree order, nested like the tree, bounded both ways.

Wide: a folder never holds more than `MAX_ENTRIES` child folders; longer runs of siblings are grouped
into range folders (`0002-0101/`), recursively. Deep: when a folder path would pass `MAX_DIR_CHARS`
(leaving room for the files inside under the 200-character limit), the subtree continues under
`_deep/` at the top, and the parent folder says where. Orphans live under `_orphans/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Span, Trace
from .names import slug
from .tree import walk

MAX_ENTRIES = 150  # child folders per folder before runs are grouped
GROUP_SIZE = 100
MAX_DIR_CHARS = 150  # + up to ~45 for files inside (messages/0001-assistant.rest.md) stays under 200


@dataclass
class Layout:
    number: dict[int, int] = field(default_factory=dict)  # id(span) -> tree-order number
    path: dict[int, str] = field(default_factory=dict)  # id(span) -> folder path relative to OUT
    order: list[tuple[int, Span]] = field(default_factory=list)  # (depth, span) in tree order
    continued: dict[int, list[Span]] = field(default_factory=dict)  # id(parent) -> children moved to _deep/
    width: int = 3

    def folder(self, span: Span) -> str:
        return f"{self.number[id(span)]:0{self.width}d}-{slug(span.kind, 12, 'other')}-{slug(span.name)}"


def plan(trace: Trace) -> Layout:
    layout = Layout()
    layout.order = walk(trace.roots) + walk(trace.orphans)
    layout.width = max(3, len(str(len(layout.order))))
    for n, (_, span) in enumerate(layout.order, 1):
        layout.number[id(span)] = n
    cut: list[Span] = []
    _place(layout, trace.roots, "", cut)
    _place(layout, trace.orphans, "_orphans", cut)
    # Cut subtrees are laid out under a placeholder as long as any real `_deep/<range>/` prefix, so
    # swapping in the real prefix afterwards can only shorten paths.
    placeholder = "_deep/" + "#" * (2 * (2 * layout.width + 2))
    members: dict[int, list[Span]] = {}
    deep_roots: list[Span] = []
    while cut:
        batch, cut = cut, []
        for root in batch:
            deep_roots.append(root)
            members[id(root)] = _place(layout, [root], placeholder, cut)
    deep_roots.sort(key=lambda s: layout.number[id(s)])
    for group_dir, group in _groups(layout, deep_roots, "_deep"):
        for root in group:
            for span in members[id(root)]:
                old = layout.path[id(span)]
                if old.startswith(placeholder + "/"):
                    layout.path[id(span)] = group_dir + old[len(placeholder):]
    return layout


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _groups(layout: Layout, spans: list[Span], base: str) -> list[tuple[str, list[Span]]]:
    """Split a long sibling run into range folders, recursively, so no folder passes MAX_ENTRIES."""
    if len(spans) <= MAX_ENTRIES:
        return [(base, spans)]
    size = GROUP_SIZE
    while len(spans) / size > MAX_ENTRIES:
        size *= GROUP_SIZE
    out: list[tuple[str, list[Span]]] = []
    for start in range(0, len(spans), size):
        chunk = spans[start:start + size]
        first, last = layout.number[id(chunk[0])], layout.number[id(chunk[-1])]
        name = f"{first:0{layout.width}d}-{last:0{layout.width}d}"
        out += _groups(layout, chunk, _join(base, name))
    return out


def _place(layout: Layout, spans: list[Span], base: str, cut: list[Span]) -> list[Span]:
    """Give `spans` and their subtrees folders under `base`; subtrees that get too deep go to `cut`."""
    placed: list[Span] = []
    stack: list[tuple[list[Span], str, Span | None]] = [(spans, base, None)]
    while stack:
        siblings, where, owner = stack.pop()
        for group_dir, members in _groups(layout, siblings, where):
            for span in members:
                path = _join(group_dir, layout.folder(span))
                if len(path) > MAX_DIR_CHARS and owner is not None:
                    cut.append(span)
                    layout.continued.setdefault(id(owner), []).append(span)
                    continue
                layout.path[id(span)] = path
                placed.append(span)
                if span.children:
                    stack.append((span.children, path, span))
    return placed

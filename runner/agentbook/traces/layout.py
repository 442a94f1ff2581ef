"""Where each span goes: numbered in tree order, nested like the tree, bounded both ways.

Two layouts. `folders` (the default for traces up to `COMPACT_MIN` spans): one folder per span.
`compact` (larger traces): one folder per agent subtree (each root, orphan and agent span heads a
group of the spans below it down to the next agent), its spans written in files of up to
`CHUNK_SPANS` spans; a span's place is then `file:line`. Either way folders nest like the tree.

Wide: a folder never holds more than `MAX_ENTRIES` child folders; longer runs of siblings are grouped
into range folders (`0002-0101/`), recursively. Deep: when a folder path would pass `MAX_DIR_CHARS`
(leaving room for the files inside under the 200-character limit), the subtree continues under
`_deep/` at the top, and the parent folder says where. Orphans live under `_orphans/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Span, Trace
from .names import slug
from .tree import walk

MAX_ENTRIES = 150  # child folders per folder before runs are grouped
GROUP_SIZE = 100
MAX_DIR_CHARS = 150  # + up to ~45 for files inside (messages/0001-assistant.rest.md) stays under 200
COMPACT_MIN = 2000  # spans: above this, the compact layout (a file per agent subtree, not a folder per span)
CHUNK_SPANS = 200  # spans per file in the compact layout
LAYOUTS = ("auto", "folders", "compact")
Kids = Callable[[Span], list[Span]]


@dataclass
class Layout:
    # Keyed by the span itself (spans hash by identity): a key costs nothing, where an `span` key
    # was one more int object per span per map, and a trace may have 100,000 spans.
    number: dict[Span, int] = field(default_factory=dict)  # span -> tree-order number
    path: dict[Span, str] = field(default_factory=dict)  # span -> folder path relative to OUT (compact: file:line)
    order: list[tuple[int, Span]] = field(default_factory=list)  # (depth, span) in tree order
    continued: dict[Span, list[Span]] = field(default_factory=dict)  # parent -> children moved to _deep/
    width: int = 3
    compact: bool = False
    groups: list[tuple[Span, list[Span]]] = field(default_factory=list)  # compact: (head, its spans) in order
    parents: dict[Span, Span] = field(default_factory=dict)  # compact: span -> its parent in the tree (tops: none)

    def folder(self, span: Span) -> str:
        return f"{self.number[span]:0{self.width}d}-{slug(span.kind, 12, 'other')}-{slug(span.name)}"

    def ref(self, span: Span) -> str:
        """Where to look for a span: its folder (`path/`), or in the compact layout its `file:line`."""
        return self.path[span] if self.compact else self.path[span] + "/"


def _children(span: Span) -> list[Span]:
    return span.children


def plan(trace: Trace, layout_name: str = "auto") -> Layout:
    layout = Layout()
    layout.order = walk(trace.roots) + walk(trace.orphans)
    layout.width = max(3, len(str(len(layout.order))))
    for n, (_, span) in enumerate(layout.order, 1):
        layout.number[span] = n
    layout.compact = layout_name == "compact" or (layout_name == "auto" and len(layout.order) > COMPACT_MIN)
    if not layout.compact:
        _plan(layout, trace.roots, trace.orphans, _children)
        return layout
    heads, outer = _group(layout, trace)
    # Group folders nest like the agents do: a head's folder goes inside the folder of its parent's group.
    kids: dict[Span, list[Span]] = {h: [] for h in heads}
    for head in heads:
        if head in outer:
            kids[outer[head]].append(head)
    orphans = set(trace.orphans)
    tops = [h for h in heads if h not in outer]
    _plan(layout, [h for h in tops if h not in orphans], [h for h in tops if h in orphans], kids.__getitem__)
    return layout


def _group(layout: Layout, trace: Trace) -> tuple[list[Span], dict[Span, Span]]:
    """Assign each span to its group (compact layout): the heads in tree order, and for each head
    below a top the head of the group its parent is in."""
    tops = set(trace.roots + trace.orphans)
    stack: list[tuple[int, Span]] = []  # (depth, head) of the groups enclosing the current span
    path: list[Span] = []  # ancestors of the current span
    heads: list[Span] = []
    outer: dict[Span, Span] = {}
    members: dict[Span, list[Span]] = {}
    for depth, span in layout.order:
        del path[depth:]
        top = span in tops or not path
        if not top:
            layout.parents[span] = path[-1]
        path.append(span)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if top or span.kind == "agent" or not stack:
            if stack and not top:
                outer[span] = stack[-1][1]
            stack.append((depth, span))
            heads.append(span)
            members[span] = []
        members[stack[-1][1]].append(span)
    layout.groups = [(h, members[h]) for h in heads]
    return heads, outer


def _plan(layout: Layout, roots: list[Span], orphans: list[Span], kids: Kids) -> None:
    cut: list[Span] = []
    _place(layout, roots, "", cut, kids)
    _place(layout, orphans, "_orphans", cut, kids)
    # Cut subtrees are laid out under a placeholder as long as any real `_deep/<range>/` prefix, so
    # swapping in the real prefix afterwards can only shorten paths.
    placeholder = "_deep/" + "#" * (2 * (2 * layout.width + 2))
    members: dict[Span, list[Span]] = {}
    deep_roots: list[Span] = []
    while cut:
        batch, cut = cut, []
        for root in batch:
            deep_roots.append(root)
            members[root] = _place(layout, [root], placeholder, cut, kids)
    deep_roots.sort(key=lambda s: layout.number[s])
    for group_dir, group in _groups(layout, deep_roots, "_deep"):
        for root in group:
            for span in members[root]:
                old = layout.path[span]
                if old.startswith(placeholder + "/"):
                    layout.path[span] = group_dir + old[len(placeholder):]


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
        first, last = layout.number[chunk[0]], layout.number[chunk[-1]]
        name = f"{first:0{layout.width}d}-{last:0{layout.width}d}"
        out += _groups(layout, chunk, _join(base, name))
    return out


def _place(layout: Layout, spans: list[Span], base: str, cut: list[Span], kids: Kids) -> list[Span]:
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
                    layout.continued.setdefault(owner, []).append(span)
                    continue
                layout.path[span] = path
                placed.append(span)
                children = kids(span)
                if children:
                    stack.append((children, path, span))
    return placed

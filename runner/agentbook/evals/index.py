"""Where each case of a suite file lives, in bytes, read from libyaml's event stream.

One pass of the C parser (no Python objects for the bulk of the text) gives every case's start mark;
from those we cut byte spans so `show` reads one case and `edit` splices one case back. The index is
cached by `indexstore.py` (SQLite, keyed by the file's stat) in a git-ignored state directory.

A file the fast path cannot handle safely (anchors, aliases, merge keys, tags, flow-style case lists,
several documents, CRLF, a BOM) is flagged `fast=False` with the reason; callers then do a full
round-trip instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals.rows import REF_PREFIX, CaseSpan, SuiteIndex

_ITEM_PREFIX = re.compile(rb"( *)- +$")
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

class Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """libyaml with YAML 1.2 core scalars, as promptfoo (js-yaml) and ruamel read them.

    PyYAML's 1.1 rules would turn `body: Yes` into True, `at: 10:02` into 602 and `day: 2026-01-01`
    into a date; in a prompt variable each of those is a silent change of the test.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


def _core_resolvers() -> None:
    keep = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:str"}
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items():
        Loader.yaml_implicit_resolvers[first] = [(tag, rx) for tag, rx in resolvers if tag in keep]
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                 list("-+0123456789"))
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                   r"|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))


def _core_int(loader: Any, node: yaml.ScalarNode) -> int:
    """YAML 1.2 core integers: `010` is ten (PyYAML's 1.1 constructor would read it as octal 8)."""
    text = str(loader.construct_scalar(node))
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    return sign * int(body, 0 if body.startswith(("0o", "0x")) else 10)


_core_resolvers()
Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


def build_index(data: bytes, *, where: str = "<suite>", seq_key: str | None = "tests") -> SuiteIndex:
    checker = _Checker()
    try:
        walk = _Walker(checker.watch(data), seq_key, where)
        walk.run()
    except yaml.YAMLError as err:
        raise FatalError(f"invalid YAML: {_yaml_problem(err)}", location=_yaml_location(where, err),
                         hint="fix the syntax, then retry") from None
    reason = checker.reason() or walk.reason
    if checker.found:  # anchors, aliases, tags, merge keys: the whole file gets the strict checks
        yamlsafe.check_text(data, where)
    if data.startswith(b"\xef\xbb\xbf"):
        reason = reason or "byte-order mark"
    if b"\r\n" in data:
        reason = reason or "CRLF line endings"
    index = SuiteIndex(size=len(data), mtime_ns=0, digest="", tests=walk.kind, globs=walk.globs,
                       fast=not reason, reason=reason, dash_col=0, items_start=0, items_end=0, cases=[],
                       defaults=walk.defaults)
    if walk.kind == "inline" and walk.items:
        _cut_spans(index, data, walk)
    return index


def _cut_spans(index: SuiteIndex, data: bytes, walk: _Walker) -> None:
    char_marks = [item.start for item in walk.items] + [walk.seq_end]
    byte_marks = _to_bytes(data, char_marks)
    starts: list[int] = []
    cols: set[int] = set()
    for pos in byte_marks[:-1]:
        line_start = data.rfind(b"\n", 0, pos) + 1
        m = _ITEM_PREFIX.match(data, line_start, pos)
        if m is None:
            index.fast = False
            index.reason = index.reason or "a case whose dash is not on its first line"
            m_col = pos - line_start
        else:
            m_col = len(m.group(1))
        cols.add(m_col)
        starts.append(line_start)
    if len(cols) > 1:
        index.fast, index.reason = False, index.reason or "cases at different indentation"
    seq_end = byte_marks[-1]
    last_end = data.rfind(b"\n", 0, seq_end) + 1 if seq_end < len(data) else len(data)
    if last_end <= starts[-1]:
        last_end = len(data)  # the list ends on the last case's own line
    index.dash_col = min(cols)
    ends = starts[1:] + [last_end]
    ends = [_trailing_comment_start(data, s, e, index.dash_col) for s, e in zip(starts, ends)]
    # a case's leading comments are the lines between the previous case's end and its dash
    leads = [_leading_comment_start(data, starts[0], index.dash_col)] + ends[:-1]
    index.items_start, index.items_end = leads[0], ends[-1]
    for item, lead, start, end in zip(walk.items, leads, starts, ends):
        index.cases.append(CaseSpan(id=item.id or "", explicit_id=item.id is not None, lead=lead,
                                    start=start, end=end, line=item.line + 1,
                                    description=item.description, asserts=item.asserts))
    if index.fast:  # a slow-path file's cases are read whole (an alias's anchor may be in another case)
        _assign_missing_ids(index, data)


def _trailing_comment_start(data: bytes, start: int, end: int, dash_col: int) -> int:
    """Where the comment lines that introduce the next case begin (they go with that case)."""
    cut = end
    pos = end
    while pos > start:
        prev = data.rfind(b"\n", start, pos - 1) + 1
        if prev <= start:
            break
        line = data[prev:pos]
        stripped = line.lstrip(b" ")
        if not stripped.strip():
            pos = prev
            continue
        if stripped.startswith(b"#") and len(line) - len(stripped) <= dash_col:
            cut = prev
            pos = prev
            continue
        break
    return cut


def _leading_comment_start(data: bytes, start: int, dash_col: int) -> int:
    """The first case's own comment block: the comment lines right above its dash."""
    lead = start
    while lead > 0:
        prev = data.rfind(b"\n", 0, lead - 1) + 1
        line = data[prev:lead]
        stripped = line.lstrip(b" ")
        if not stripped.startswith(b"#") or len(line) - len(stripped) > dash_col:
            break
        lead = prev
    return lead


def _assign_missing_ids(index: SuiteIndex, data: bytes) -> None:
    values = {i: yamlsafe.load(dedent_chunk(data[c.start:c.end], index.dash_col), f"case at line {c.line}",
                               loader=Loader)[0]
              for i, c in enumerate(index.cases) if not c.explicit_id}
    ids = fill_ids([c.id if c.explicit_id else None for c in index.cases], values.__getitem__)
    for case, case_id in zip(index.cases, ids):
        case.id = case_id


def content_id(value: Any) -> str:
    """The id of a case that has none: a hash of its content, so the same case gets the same id."""
    canonical = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    return "case-" + hashlib.sha1(canonical).hexdigest()[:8]


def fill_ids(ids: list[str | None], value_of: Callable[[int], Any]) -> list[str]:
    """Explicit ids as they are; the rest `content_id`, numbered `-2`, `-3` when contents repeat."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, case_id in enumerate(ids):
        if case_id is not None:
            out.append(case_id)
            continue
        base = content_id(value_of(i))
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def dedent_chunk(chunk: bytes, col: int) -> str:
    if col == 0:
        return chunk.decode("utf-8")
    pad = b" " * col
    lines = chunk.split(b"\n")
    return b"\n".join(ln[col:] if ln.startswith(pad) else ln.lstrip(b" ") for ln in lines).decode("utf-8")


def _to_bytes(data: bytes, char_marks: list[int]) -> list[int]:
    """libyaml marks count characters; turn them into byte offsets (identity for ASCII files)."""
    if data.isascii():
        return list(char_marks)
    text = data.decode("utf-8")
    out, prev_c, prev_b = [], 0, 0
    for c in char_marks:
        prev_b += len(text[prev_c:c].encode("utf-8"))
        prev_c = c
        out.append(prev_b)
    return out


@dataclass
class _Item:
    start: int
    line: int
    id: str | None = None
    description: str = ""
    asserts: list[str] = field(default_factory=list)


class _Checker:
    """Watches every event for the constructs a byte splice cannot keep consistent."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.documents = 0

    def watch(self, data: bytes) -> Iterator[yaml.Event]:
        """The events of `data`, straight from the C parser (no `yaml.parse` generator in between)."""
        parser = Loader(data)
        get = parser.get_event
        scalar, alias, mstart, sstart, dstart = (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent,
                                                 yaml.SequenceStartEvent, yaml.DocumentStartEvent)
        try:
            while True:
                ev = get()
                kind = type(ev)
                if kind is scalar:
                    if ev.anchor or ev.tag:
                        self._add("anchors" if ev.anchor else "tags")
                    elif ev.value == "<<" and not ev.style:
                        self._add("merge keys")
                elif kind is mstart or kind is sstart:
                    if ev.anchor or ev.tag:
                        self._add("anchors" if ev.anchor else "tags")
                elif kind is alias:
                    self._add("aliases")
                elif kind is dstart:
                    self.documents += 1
                elif kind is yaml.StreamEndEvent:
                    yield ev
                    return
                yield ev
        finally:
            parser.dispose()

    def _add(self, what: str) -> None:
        if what not in self.found:
            self.found.append(what)

    def reason(self) -> str:
        if self.documents > 1:
            self._add("several documents")
        return ", ".join(self.found)


class _Walker:
    """Reads the root mapping, finds `seq_key` (or the root sequence) and records each case item."""

    def __init__(self, events: Iterator[yaml.Event], seq_key: str | None, where: str) -> None:
        self.events = events
        self.where = where
        self.seq_key = seq_key
        self.kind = "none"
        self.globs: list[str] = []
        self.items: list[_Item] = []
        self.seq_end = 0
        self.reason = ""
        self.defaults: dict[str, Any] | None = None  # `defaultTest`, as `SuiteIndex.defaults` keeps it

    def run(self) -> None:
        for ev in self.events:
            if isinstance(ev, yaml.DocumentStartEvent):
                root = next(self.events)
                if self.seq_key is None:
                    if isinstance(root, yaml.SequenceStartEvent):
                        self._tests(root)
                    else:
                        skip_node(root, self.events)
                elif isinstance(root, yaml.MappingStartEvent):
                    self._root_mapping()
                elif not isinstance(root, yaml.ScalarEvent) or root.value:
                    raise FatalError("a suite must be a YAML mapping with a `tests:` key",
                                     location=f"{self.where}:{_line(root)}")
                else:
                    skip_node(root, self.events)

    def _root_mapping(self) -> None:
        while True:
            key = next(self.events)
            if isinstance(key, yaml.MappingEndEvent):
                return
            value = next(self.events)
            if isinstance(key, yaml.ScalarEvent) and key.value == self.seq_key and self.kind == "none":
                self._tests(value)
            elif isinstance(key, yaml.ScalarEvent) and key.value == "defaultTest" and self.seq_key == "tests":
                self._default_test(value)
            else:
                skip_node(key, self.events)
                skip_node(value, self.events)

    def _tests(self, node: yaml.Event) -> None:
        if isinstance(node, yaml.ScalarEvent):
            _file_ref(node, self.where, "`tests` must be a list of cases or a file:// path")
            self.kind = "files" if node.value else "none"
            self.globs = [node.value] if node.value else []
            return
        if not isinstance(node, yaml.SequenceStartEvent):
            raise FatalError("`tests` must be a list of cases or a file:// path",
                             location=f"{self.where}:{_line(node)}")
        if node.flow_style:
            self.reason = "a flow-style case list"
        scalars = 0
        while True:
            ev = next(self.events)
            if isinstance(ev, yaml.SequenceEndEvent):
                self.seq_end = _mark(ev).index
                break
            if isinstance(ev, yaml.MappingStartEvent):
                if ev.flow_style:
                    self.reason = self.reason or "a flow-style case"
                self.items.append(self._case(ev))
            elif isinstance(ev, yaml.ScalarEvent):
                _file_ref(ev, self.where, "each entry of `tests` must be a mapping (a case) or a file:// path")
                scalars += 1
                self.globs.append(ev.value)
            elif isinstance(ev, yaml.AliasEvent):
                self.reason = self.reason or "an aliased case"
            else:
                raise FatalError("each entry of `tests` must be a mapping (a case) or a file:// path",
                                 location=f"{self.where}:{_line(ev)}")
        if scalars and self.items:
            self.reason = self.reason or "a case list mixing files and inline cases"
        self.kind = "files" if scalars else "inline" if self.items else "none"

    def _default_test(self, node: yaml.Event) -> None:
        """The assert types of `defaultTest` (promptfoo adds them to every case), or its `file://` reference."""
        if isinstance(node, yaml.ScalarEvent):
            self.defaults = {"ref": node.value} if node.value else None
            return
        if not isinstance(node, yaml.MappingStartEvent):
            skip_node(node, self.events)
            return
        self.defaults = {"asserts": []}
        while True:
            key = next(self.events)
            if isinstance(key, yaml.MappingEndEvent):
                return
            value = next(self.events)
            if isinstance(key, yaml.ScalarEvent) and key.value == "assert" and isinstance(value, yaml.SequenceStartEvent):
                self.defaults["asserts"] = self._assert_types()
            else:
                skip_node(key, self.events)
                skip_node(value, self.events)

    def _case(self, start: yaml.MappingStartEvent) -> _Item:
        item = _Item(start=_mark(start).index, line=_mark(start).line)
        while True:
            key = next(self.events)
            if isinstance(key, yaml.MappingEndEvent):
                return item
            value = next(self.events)
            name = key.value if isinstance(key, yaml.ScalarEvent) else None
            if name == "id" and isinstance(value, yaml.ScalarEvent):
                item.id = value.value
            elif name == "description" and isinstance(value, yaml.ScalarEvent):
                item.description = value.value
            elif name == "assert" and isinstance(value, yaml.SequenceStartEvent):
                item.asserts = self._assert_types()
            else:
                skip_node(key, self.events)
                skip_node(value, self.events)

    def _assert_types(self) -> list[str]:
        types: list[str] = []
        while True:
            ev = next(self.events)
            if isinstance(ev, yaml.SequenceEndEvent):
                return types
            if not isinstance(ev, yaml.MappingStartEvent):
                skip_node(ev, self.events)
                continue
            while True:
                key = next(self.events)
                if isinstance(key, yaml.MappingEndEvent):
                    break
                value = next(self.events)
                if isinstance(key, yaml.ScalarEvent) and key.value == "type" and isinstance(
                        value, yaml.ScalarEvent):
                    types.append(value.value)
                elif isinstance(key, yaml.ScalarEvent) and key.value == "$ref" and isinstance(
                        value, yaml.ScalarEvent):
                    types.append(REF_PREFIX + value.value)  # the suite's config names the type
                else:
                    skip_node(key, self.events)
                    skip_node(value, self.events)


_CASE_FILE = re.compile(r"\S*(?:\*|\.(?:ya?ml|jsonl?|csv|xlsx|[jt]s|py)(?::\w+)?)", re.IGNORECASE)


def _file_ref(node: yaml.ScalarEvent, where: str, what: str) -> None:
    """A `tests:` string names case files: `file://cases/*.yaml`, or the path alone (`evals/tests.jsonl`), as
    promptfoo reads both; a dataset at a URL (a sheet, `huggingface://`) is not read here."""
    scheme = node.value.partition("://")[0] if "://" in node.value else ""
    if scheme and scheme != "file":
        raise FatalError(f"tests from {scheme}:// are not read by agentbook eval: {node.value[:80]}",
                         location=f"{where}:{_line(node)}",
                         hint="export the cases to a file in the repository (YAML, JSON, JSONL or CSV) and name it: "
                              "tests: file://tests.csv")
    if not scheme and node.value and not _CASE_FILE.fullmatch(node.value):
        raise FatalError(what, location=f"{where}:{_line(node)}")


_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def skip_node(first: yaml.Event, events: Iterator[yaml.Event]) -> yaml.Event:
    """Consume the events of the node that starts with `first`; return its last scalar or alias (`first`
    for a scalar, the closing event of a collection that holds none), whose end mark is where the node's
    text ends (a block collection's own end event is marked at the next key, past blank lines)."""
    if not isinstance(first, _OPENS):
        return first
    depth = 1
    last: yaml.Event | None = None
    ev: yaml.Event = first
    while depth:
        ev = next(events)
        if isinstance(ev, _OPENS):
            depth += 1
        elif isinstance(ev, _CLOSES):
            depth -= 1
        else:
            last = ev
    return ev if last is None else last


def _yaml_problem(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    return f"{problem} ({context})" if context else str(problem)


def _yaml_location(where: str, err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    return f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where


def _mark(ev: yaml.Event) -> Any:
    mark = ev.start_mark
    assert mark is not None  # libyaml always sets marks
    return mark


def _line(ev: yaml.Event) -> int:
    return int(_mark(ev).line) + 1

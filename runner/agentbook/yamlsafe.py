"""The one strict, bounded way agentbook reads YAML that someone else may have written.

Tickets, runbooks, suites, scripts, prices and run folders can come from a stranger. PyYAML's safe
loader already refuses to run code, but it still hangs a process on an alias bomb (a few lines that
stand for billions of values once something walks them), keeps the last of two equal keys without a
word, and reports a `!!python/...` tag as a traceback when a caller forgot to catch it. Every read
here goes through the same checks, each failing as a `FatalError` at file:line:col:

- size: at most `max_bytes` of text (`AGENTBOOK_YAML_MAX_BYTES`, default 64 MiB; callers pass less);
- aliases: at most `max_alias_values` values added by `*alias` expansion (default 1,000,000), and no
  alias that contains itself;
- depth: at most `MAX_DEPTH` nested collections (libyaml itself stops at 1,000);
- tags: only the ones the safe constructor knows (`!!str`, `!!int`, `!!map`, `!!binary`, ...);
- keys: a key may appear once per mapping (YAML 1.2 says so; PyYAML keeps the last silently).

The node tree is checked before anything is constructed, so a bomb costs the size of its text, not of
its expansion. Importing this module costs no more than `yaml` itself.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml

from agentbook.errors import FatalError, invalid_yaml
from agentbook.fsutil import MAX_BYTES, max_bytes, read_untrusted

MAX_ALIAS_VALUES = 1_000_000
MAX_DEPTH = 200
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # for big files: pass loader=SafeLoader

__all__ = ["MAX_ALIAS_VALUES", "MAX_BYTES", "MAX_DEPTH", "SafeLoader", "Unparsable", "check_text", "load",
           "load_all", "max_bytes", "read_bytes"]


class Unparsable(FatalError):
    """Text that is not YAML at all (as opposed to YAML these checks refuse)."""


def read_bytes(path: Path, *, what: str = "", limit: int | None = None) -> bytes:
    """The bytes of `path`, refused before reading when the file is larger than the cap."""
    cap = max_bytes() if limit is None else limit
    # a regular file only, opened without blocking: a suite or spec that is a fifo hung the runner
    return read_untrusted(path, limit=cap, what=what or "YAML file", follow=True,
                          too_big=lambda size: _too_big(size, cap, str(path), what))


def _too_big(size: int, cap: int, source: str, what: str) -> FatalError:
    return FatalError(f"{what or 'YAML file'} is {size:,} bytes, more than the limit of {cap:,}",
                      location=source, hint="split it into smaller files")


def load(data: str | bytes, source: str, *, what: str = "", line_offset: int = 0, col_offset: int = 0,
         limit: int | None = None, max_alias_values: int = MAX_ALIAS_VALUES, loader: Any = None) -> Any:
    """The single document in `data` as Python values (None for an empty document), checked first.
    `line_offset`/`col_offset`: where `data` sits in `source` (a case cut out of a suite and dedented)."""
    docs = _load(data, source, what=what, line_offset=line_offset, col_offset=col_offset, limit=limit,
                 max_alias_values=max_alias_values, loader=loader, single=True)
    return docs[0] if docs else None


def load_all(data: str | bytes, source: str, *, what: str = "", line_offset: int = 0, limit: int | None = None,
             max_alias_values: int = MAX_ALIAS_VALUES, loader: Any = None) -> list[Any]:
    """Every document in `data`, each checked before it is constructed."""
    return _load(data, source, what=what, line_offset=line_offset, limit=limit,
                 max_alias_values=max_alias_values, loader=loader, single=False)


def check_text(data: str | bytes, source: str, *, what: str = "", line_offset: int = 0, limit: int | None = None,
               max_alias_values: int = MAX_ALIAS_VALUES) -> None:
    """Run the checks without constructing values: for text another parser (ruamel) reads next."""
    _load(data, source, what=what, line_offset=line_offset, limit=limit, max_alias_values=max_alias_values,
          loader=None, single=False, construct=False)


def _load(data: str | bytes, source: str, *, what: str, line_offset: int, limit: int | None,
          max_alias_values: int, loader: Any, single: bool, construct: bool = True, col_offset: int = 0) -> list[Any]:
    cap = max_bytes() if limit is None else limit
    if len(data) > cap:
        raise _too_big(len(data), cap, source, what)
    parser = (loader or yaml.SafeLoader)(data)  # the pure-Python loader words its errors better
    checker = _Checker(source, what, (line_offset, col_offset), max_alias_values, parser)
    docs: list[Any] = []
    try:
        if single:
            node = parser.get_single_node()
            nodes = [node] if node is not None else []
        else:
            nodes = []
            while parser.check_node():
                nodes.append(parser.get_node())
        for node in nodes:
            checker.check(node)
            if construct:
                docs.append(parser.construct_document(node))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        if mark is not None and col_offset:
            with contextlib.suppress(AttributeError):  # libyaml's marks are read-only
                mark.column += col_offset
        base = invalid_yaml(err, source, what=what, line_offset=line_offset)
        raise Unparsable(base.message, location=base.location) from None
    except RecursionError:
        raise FatalError(f"invalid YAML{' in ' + what if what else ''}: nested too deeply", location=source) from None
    finally:
        parser.dispose()
    return docs


class _Checker:
    """Walks a composed node tree once (shared nodes once) and raises on the first problem."""

    def __init__(self, source: str, what: str, offset: tuple[int, int], max_alias_values: int, parser: Any) -> None:
        self.source, self.what = source, what
        self.line_offset, self.col_offset = offset
        self.max_alias_values = max_alias_values
        self.known_tags = set(parser.yaml_constructors)

    def check(self, root: yaml.Node) -> None:
        # Scalars (most nodes) are checked where their parent lists them and count 1 each: only
        # collections get the bookkeeping that aliases need.
        if isinstance(root, yaml.ScalarNode):
            self._check_node(root)
            return
        sizes: dict[int, int] = {}  # expanded size of every finished collection
        depths: dict[int, int] = {}
        unique = 0  # nodes as written; the rest of the expanded size is what aliases add
        open_: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                children = _children(node)
                sizes[key] = 1 + sum(1 if type(c) is _SCALAR else sizes[id(c)] for c in children)
                depths[key] = 1 + max((1 if type(c) is _SCALAR else depths[id(c)] for c in children), default=0)
                open_.discard(key)
                if depths[key] > MAX_DEPTH:
                    self._fail(node, f"nested more than {MAX_DEPTH} levels deep")
                if sizes[key] - unique > self.max_alias_values:
                    self._fail(node, f"aliases expand to more than {self.max_alias_values:,} values",
                               "write the values out instead of using '&anchor' / '*alias'")
                continue
            if key in sizes:
                continue  # an alias of a finished node: counted through `sizes`, walked once
            if key in open_:
                self._fail(node, "an alias refers to a node that contains it",
                           "YAML that contains itself cannot be read as data")
            open_.add(key)
            unique += 1
            self._check_node(node)
            stack.append((node, True))
            for child in reversed(_children(node)):
                if type(child) is _SCALAR:
                    unique += 1
                    if child.tag not in self.known_tags:
                        self._check_node(child)
                else:
                    stack.append((child, False))

    def _check_node(self, node: yaml.Node) -> None:
        if node.tag not in self.known_tags and node.tag != "tag:yaml.org,2002:merge":
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._fail(node, f"tag '{tag}' is not allowed", "remove the tag; agentbook reads plain data only")
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], yaml.Node] = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                ident = (key_node.tag, key_node.value)
                if ident in seen:
                    first = seen[ident].start_mark.line + 1 + self.line_offset
                    self._fail(key_node, f"duplicate key '{key_node.value}' (first on line {first})",
                               "keep one of the two; YAML does not allow a key twice")
                seen[ident] = key_node

    def _fail(self, node: yaml.Node, problem: str, hint: str | None = None) -> None:
        mark = node.start_mark
        where = f"{self.source}:{mark.line + 1 + self.line_offset}:{mark.column + 1 + self.col_offset}"
        raise FatalError(f"invalid YAML{' in ' + self.what if self.what else ''}: {problem}", location=where,
                         hint=hint)


_SCALAR = yaml.ScalarNode


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []

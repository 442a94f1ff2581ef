"""Front-matter: split it off a Markdown file, parse its YAML with positions, catch the pitfalls.

The closing fence is a line that is exactly `---`, at column 0 (mdit's front_matter plugin and
naive `split("---")` loaders both stop earlier, which is one of the pitfalls reported here). The YAML
is composed with libyaml so every key and value keeps its line and column; positions in findings
are 1-based lines of the whole file, not of the YAML snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from agentbook.catalog.findings import Finding, Severity

_FENCE = re.compile(r"^---[ \t]*$")
_YAMLISH = re.compile(r"^([A-Za-z_][\w.-]*[ \t]*:([ \t]|$)|[ \t]+\S|-[ \t]|#)")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]
# Keys that mark a line after the closing '---' as stray front-matter rather than body text
# ("Note: ..." followed by a Markdown rule is body; "description: ..." followed by '---' is not).
FRONT_MATTER_KEYS = frozenset({
    "name", "description", "license", "compatibility", "metadata", "allowed-tools", "when_to_use",
    "argument-hint", "disable-model-invocation", "user-invocable", "model", "context", "agent", "hooks",
    "inputs", "skills", "tools", "bash", "protected", "limits", "branch"})
MAX_VALUES = 10_000  # YAML aliases can make a few lines expand to millions of values


@dataclass
class FrontMatter:
    """The parsed front-matter of one file. `data` is `{}` when it is missing or broken."""

    path: str
    data: dict[str, Any] = field(default_factory=dict)
    yaml_text: str = ""
    yaml_line: int = 2  # file line of the first YAML line
    close_line: int = 0  # file line of the closing '---', 0 when there is none
    body: str = ""
    body_line: int = 1  # file line where the body starts
    findings: list[Finding] = field(default_factory=list)
    present: bool = False  # the file has a closed front-matter block
    parsed: bool = False  # and its YAML parsed into a mapping
    nodes: dict[KeyPath, tuple[yaml.Node | None, yaml.Node]] = field(default_factory=dict)

    def key_pos(self, *keys: str | int) -> tuple[int, int]:
        key_node, value = self.nodes.get(keys, (None, None))
        node = key_node or value
        return self._mark(node) if node is not None else (max(self.yaml_line - 1, 1), 1)

    def value_pos(self, *keys: str | int) -> tuple[int, int]:
        _, value = self.nodes.get(keys, (None, None))
        return self._mark(value) if value is not None else self.key_pos(*keys)

    def raw_value(self, *keys: str | int) -> str:
        """The value as written in the file (for hints that show how to quote it)."""
        _, node = self.nodes.get(keys, (None, None))
        if node is None:
            return ""
        return self.yaml_text[node.start_mark.index:node.end_mark.index].strip()

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + self.yaml_line, node.start_mark.column + 1

    def finding(self, rule: str, message: str, hint: str = "", *, at: KeyPath = (), key: bool = False,
                severity: Severity = "error") -> Finding:
        """A finding about the key (or its value) at path `at`; no path: the top of the file."""
        line, col = (self.key_pos(*at) if key else self.value_pos(*at)) if at else (1, 1)
        return Finding(self.path, line, col, rule, message, hint, severity)


def parse_front_matter(text: str, path: str) -> FrontMatter:
    lines = text.split("\n")
    fm = FrontMatter(path=path, body=text)
    if not lines or not _FENCE.match(lines[0]):
        fm.findings.append(Finding(path, 1, 1, "frontmatter-missing",
                                   "file must start with YAML front-matter ('---' on line 1)",
                                   "add '---', the keys, and '---' at the top of the file"))
        return fm
    close = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if close is None:
        fm.findings.append(Finding(path, 1, 1, "frontmatter-unclosed", "front-matter is not closed",
                                   "add a line '---' after the last front-matter key"))
        return fm
    fm.present, fm.close_line = True, close + 1
    fm.yaml_text = "\n".join(lines[1:close]) + "\n"
    fm.body, fm.body_line = "\n".join(lines[close + 1:]), close + 2
    tab_lines = _check_lines(fm, lines[1:close])
    _check_split(fm, lines, close)
    _parse_yaml(fm, tab_lines)
    return fm


def _check_lines(fm: FrontMatter, yaml_lines: list[str]) -> set[int]:
    """Tabs in indentation and '---' inside values: both read differently by different loaders."""
    tab_lines: set[int] = set()
    for offset, line in enumerate(yaml_lines):
        lineno = fm.yaml_line + offset
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            tab_lines.add(lineno)
            fm.findings.append(Finding(fm.path, lineno, indent.index("\t") + 1, "tab",
                                       "tab character in YAML indentation", "indent with spaces"))
        if "---" in line:
            fm.findings.append(Finding(
                fm.path, lineno, line.index("---") + 1, "frontmatter-dashes",
                "'---' inside the front-matter: loaders that split on '---' end the front-matter here",
                "reword the value without '---'", "warning"))  # valid YAML and valid by the spec
    return tab_lines


def _check_split(fm: FrontMatter, lines: list[str], close: int) -> None:
    """A second '---' right after YAML-looking lines means the front-matter was closed too early."""
    keys = 0
    for i in range(close + 1, min(len(lines), close + 60)):
        line = lines[i]
        if _FENCE.match(line):
            if keys:
                fm.findings.append(Finding(
                    fm.path, close + 1, 1, "frontmatter-split",
                    f"'---' on line {close + 1} ends the front-matter, but YAML keys continue to line {i + 1}",
                    f"remove the '---' on line {close + 1} so the keys below it stay in the front-matter",
                    "warning"))  # the body may hold '---' (a rule); the spec has no rule against it
            return
        if not line.strip():
            continue
        if not _YAMLISH.match(line):
            return
        keys += line.split(":", 1)[0].strip() in FRONT_MATTER_KEYS


def _parse_yaml(fm: FrontMatter, tab_lines: set[int]) -> None:
    loader = _LOADER(fm.yaml_text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as err:
        finding = _yaml_error(fm, err)
        if finding.line not in tab_lines:  # the tab finding already explains this line
            fm.findings.append(finding)
        return
    except yaml.YAMLError as err:
        fm.findings.append(Finding(fm.path, fm.yaml_line, 1, "yaml-syntax", f"invalid YAML: {err}"))
        return
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        fm.findings.append(Finding(fm.path, fm.yaml_line, 1, "frontmatter-not-mapping",
                                   f"front-matter must be a YAML mapping of keys to values, got {type_name(data)}",
                                   "write 'key: value' lines"))
        return
    if node is not None and _expanded_size(node, {}) > MAX_VALUES:
        fm.findings.append(Finding(fm.path, fm.yaml_line, 1, "yaml-aliases",
                                   f"front-matter expands to more than {MAX_VALUES:,} values through YAML aliases",
                                   "write the values out instead of using '&anchor' / '*alias'"))
        return
    fm.data, fm.parsed = {str(k): v for k, v in data.items()}, True
    if node is not None:
        _index(fm, node, ())
        _check_comments(fm, node)


def _yaml_error(fm: FrontMatter, err: yaml.MarkedYAMLError) -> Finding:
    mark = err.problem_mark or err.context_mark
    line = (mark.line if mark else 0) + fm.yaml_line
    col = (mark.column if mark else 0) + 1
    problem = err.problem or "invalid YAML"
    source_line = fm.yaml_text.split("\n")[line - fm.yaml_line] if mark else ""
    if problem.startswith("mapping values are not allowed"):
        key, _, value = source_line.partition(":")
        quoted = '"' + value.strip().replace("\\", "\\\\").replace('"', '\\"') + '"'
        return Finding(fm.path, line, col, "yaml-colon", f"unquoted ': ' inside the value of '{key.strip()}'",
                       f"quote values that contain ': ', e.g. {key.strip()}: {quoted}")
    if err.context and "flow" in err.context and err.context_mark:
        opener = "[" if "sequence" in err.context else "{"
        line, col = err.context_mark.line + fm.yaml_line, err.context_mark.column + 1
        return Finding(fm.path, line, col, "yaml-syntax", f"invalid YAML: '{opener}' is never closed",
                       f"close it, or quote the value if the '{opener}' is text")
    return Finding(fm.path, line, col, "yaml-syntax", f"invalid YAML: {problem}",
                   "check the quoting and indentation of this line")


def _check_comments(fm: FrontMatter, node: yaml.Node) -> None:
    """`description: Fix issue #42` is read as 'Fix issue': a ' #' after a plain value starts a comment."""
    if not isinstance(node, yaml.MappingNode):
        return
    lines = fm.yaml_text.split("\n")
    for key_node, value in node.value:
        if not isinstance(value, yaml.ScalarNode) or value.style or not value.value:  # plain scalars only
            continue
        end = value.end_mark
        rest = lines[end.line][end.column:] if end.line < len(lines) else ""
        if rest.lstrip(" \t").startswith("#") and rest[:1] in (" ", "\t"):
            key = key_node.value
            fm.findings.append(Finding(
                fm.path, end.line + fm.yaml_line, end.column + len(rest) - len(rest.lstrip(" \t")) + 1,
                "yaml-comment", f"'{rest.strip()}' is a YAML comment, not part of '{key}'",
                f"quote the whole value if the '#' is text: {key}: \"{value.value} {rest.strip()}\"", "warning"))


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values `node` stands for once aliases are expanded (memoised per shared node)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _index(fm: FrontMatter, node: yaml.Node, path: KeyPath) -> None:
    """Record every key's and value's node by path, and report duplicate keys (YAML keeps the last)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key in seen:
                first = seen[key].start_mark.line + fm.yaml_line
                fm.findings.append(Finding(
                    fm.path, key_node.start_mark.line + fm.yaml_line, key_node.start_mark.column + 1,
                    "yaml-duplicate-key", f"duplicate key '{key}' (first on line {first}); YAML keeps only the last",
                    "remove one of the two"))
            seen[key] = key_node
            fm.nodes[(*path, key)] = (key_node, value_node)
            _index(fm, value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            fm.nodes[(*path, i)] = (None, item)
            _index(fm, item, (*path, i))


def type_name(value: object) -> str:
    """How a YAML reader would describe a value's type in an error message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} ({value})"

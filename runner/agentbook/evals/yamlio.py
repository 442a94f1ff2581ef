"""Round-trip YAML for suites: ruamel.yaml configured to keep comments, key order, quoting and style.

ruamel cannot detect a file's indentation, so `fit_style` tries the few styles people write and keeps
the one that reproduces the original text byte for byte; the edited text is then dumped in that style.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentbook import yamlsafe
from agentbook.errors import FatalError

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# ruamel is imported inside the functions that need it: reads (`show`, `list`) never do, and importing
# it costs more than reading one case.


@dataclass(frozen=True)
class Style:
    """Indentation as ruamel's `YAML.indent(mapping, sequence, offset)` understands it."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


# The styles seen in the wild, most common (promptfoo's docs) first.
CANDIDATE_STYLES = (Style(2, 4, 2), Style(2, 2, 0), Style(4, 4, 0), Style(4, 6, 4), Style(4, 4, 2),
                    Style(2, 4, 0), Style(4, 8, 4), Style(4, 6, 2), Style(3, 3, 0))


def make_yaml(style: Style = Style()) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 20  # never re-wrap long lines: a re-wrap would touch lines the user did not edit
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    return yaml


def load_rt(text: str, *, where: str = "<yaml>") -> Any:
    from ruamel.yaml.error import YAMLError as RuamelError

    yamlsafe.check_text(text, where)  # ruamel has no alias cap; libyaml checks the text first
    try:
        return make_yaml().load(text)
    except RecursionError:
        raise FatalError("invalid YAML: nested too deeply", location=where) from None
    except RuamelError as err:
        raise FatalError(f"invalid YAML: {_first_line(err)}", location=where) from None


def load_all_rt(text: str, *, where: str = "<yaml>") -> list[Any]:
    from ruamel.yaml.error import YAMLError as RuamelError

    yamlsafe.check_text(text, where)
    try:
        return list(make_yaml().load_all(text))
    except RecursionError:
        raise FatalError("invalid YAML: nested too deeply", location=where) from None
    except RuamelError as err:
        raise FatalError(f"invalid YAML: {_first_line(err)}", location=where) from None


def dump_rt(obj: Any, style: Style = Style()) -> str:
    buf = io.StringIO()
    make_yaml(style).dump(obj, buf)
    return buf.getvalue()


def like_original(text: str, original: str) -> str:
    """The dumped text with the original's byte-order mark and CRLF line endings, which the YAML dumper
    drops: without them one added case shows in `git diff` as every line of the file changed. Any line
    break in the text may become CRLF: YAML reads CRLF inside a scalar as the LF it was loaded as."""
    if original.startswith("\ufeff") and not text.startswith("\ufeff"):
        text = "\ufeff" + text
    first_break = original.find("\n")
    if first_break > 0 and original[first_break - 1] == "\r":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text


def dump_all_rt(docs: list[Any], style: Style = Style()) -> str:
    buf = io.StringIO()
    make_yaml(style).dump_all(docs, buf)
    return buf.getvalue()


def fit_style(original: str, obj: Any, *, multi: bool = False) -> Style:
    return fit_style_scored(original, obj, multi=multi)[0]


def fit_style_scored(original: str, obj: Any, *, multi: bool = False) -> tuple[Style, int]:
    """The candidate style whose dump of the unedited `obj` differs from `original` in the fewest lines,
    with that number of lines (0: the style reproduces the text exactly)."""
    best, best_diff = CANDIDATE_STYLES[0], -1
    want = original.splitlines()
    for style in CANDIDATE_STYLES:
        got = (dump_all_rt(obj, style) if multi else dump_rt(obj, style)).splitlines()
        diff = sum(a != b for a, b in zip(want, got)) + abs(len(want) - len(got))
        if diff == 0:
            return style, 0
        if best_diff < 0 or diff < best_diff:
            best, best_diff = style, diff
    return best, best_diff


def to_plain(obj: Any) -> Any:
    """ruamel's commented containers and scalar subclasses as plain JSON-able Python values."""
    return json.loads(json.dumps(obj, default=str))


def styled_like(old: Any, new: Any) -> Any:
    """`new` in the scalar style of `old` (quotes, block literal), so an edit keeps the file's look."""
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        FoldedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    if not isinstance(new, str) or isinstance(new, (LiteralScalarString, FoldedScalarString)):
        return new
    if isinstance(old, (LiteralScalarString, FoldedScalarString)) or "\n" in new:
        return LiteralScalarString(new)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(new)
    return new


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split())[:300]

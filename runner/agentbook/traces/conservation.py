"""Conservation: how much of a trace file's content its export holds, found by text, not by trusting
the readers.

The content of an input is every string value (not key) of 20+ characters in it, and every number of
two or more digits (token counts, costs, durations, timestamps); shorter strings ("ok", "user") and
one-digit numbers would be found anywhere. A string that itself holds JSON (a message list in an
attribute) counts by its own strings; OTLP's `{"key": name, "value": {...}}` is a map entry, so its
name is a key. ISO timestamps and hex/base64/integer ids count in the normalised form the export
writes them in (a number that is a time as an ISO timestamp, an integer id as hex, the JS SDK's
`[seconds, nanoseconds]` pair as one timestamp), and a string may be found escaped as it stood inside
JSON text. The export's text is every file as written, plus the decoded strings of its JSON and
YAML files (which escape what they quote), a cut long payload joined back to its rest file. A Claude
Code session's input includes its subagents' own files beside it, a Codex rollout's the rollouts of the
threads it spawned (their messages must reach the export too). The tests
require every string to be found; the trace bench prints the share found per format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentbook.yamlsafe import SafeLoader

from .archive import is_archive, read_eval_archive
from .readers.claude_code import named_agents, subagent_files
from .readers.codex import child_files
from .render import iso
from .values import maybe_json, norm_id, to_ns

MIN = 20  # a string this long always counts
SHORT = 3  # a shorter one counts unless it is one of the format's own words (_VOCABULARY)
# keys whose values are the format's words, not the trace's content: what kind of record, span, part
# or message a thing is, its status, its encoding
_VOCABULARY = frozenset({"type", "kind", "role", "status", "status_code", "statuscode", "span_kind", "spankind",
                         "event", "object", "finish_reason", "stop_reason", "finish_reasons", "level",
                         "mime_type", "spantype", "observation_type", "run_type", "schema_version", "source",
                         "actor", "code", "subtype"})
# OTLP's typed value wrappers: a value under one stands under the attribute's own key
_WRAPPERS = frozenset({"stringValue", "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue",
                       "kvlistValue", "values", "value", "string_value", "int_value", "double_value",
                       "bool_value", "array_value", "kvlist_value"})
_REST = re.compile(r"\n\n\[truncated: \d+ bytes, rest in ([^\]]+)\]\n$")
_HEX = re.compile(r"\\u([0-9a-f]{4})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Conservation:
    total: int  # distinct strings of the input
    lost: list[str]  # those found nowhere in the export (numbers as their text)

    @property
    def found(self) -> int:
        return self.total - len(self.lost)


def documents(path: Path) -> list[Any]:
    """The JSON documents of a file: one document, JSON Lines, or objects one after another (an Inspect
    `.eval` archive: the log document it stands for)."""
    if is_archive(path):
        return [read_eval_archive(path, lambda raw, before: before)]
    text = path.read_text(encoding="utf-8-sig")
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    for keep in (lines, lines[:-1] if len(lines) > 1 else lines):  # a torn last line: the reader skips it
        try:                                                            # (and says so), so here too
            return [json.loads(line) for line in keep]
        except ValueError:
            continue
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while pos < len(text.rstrip()):
        while text[pos].isspace():
            pos += 1
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
    return docs


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every value that is not a container, with the key it stands under: strings holding JSON are
    opened up, OTLP's `{"key": name, "value": {...}}` counts its name as a key, and a `[seconds,
    nanoseconds]` pair is one time in ns."""
    if isinstance(value, dict):
        if set(value) == {"key", "value"}:
            yield from _leaves(value["value"], str(value["key"]))
        else:
            for name, item in value.items():
                yield from _leaves(item, name if name not in _WRAPPERS else key)
    elif isinstance(value, list):
        if len(value) == 2 and all(type(x) is int for x in value) and 10**9 <= value[0] < 10**11 \
                and 0 <= value[1] < 10**9:
            yield key, value[0] * 1_000_000_000 + value[1]
        else:
            yield from (leaf for item in value for leaf in _leaves(item, key))
    elif isinstance(value, str) and isinstance(parsed := maybe_json(value), (dict, list)):
        yield from _leaves(parsed, key)
    elif isinstance(value, str) and len(value) > 1 and value[0] == value[-1] == '"':
        yield key, _json_string(value)  # MLflow writes every attribute as JSON text, strings quoted
    else:
        yield key, value


def _json_string(text: str) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return decoded if isinstance(decoded, str) else text


def _vocabulary(key: str) -> bool:
    """A key whose short values are the format's own words (a kind, a role, a record type, the GenAI
    operation a span's kind is read from)."""
    key = key.lower().replace("-", "_")
    last = key.rsplit(".", 1)[-1]
    return last in _VOCABULARY or last.endswith(("_type", "_kind", "_status")) or key.endswith("operation.name")


def strings(value: Any) -> Iterator[str]:
    """Every string value (not key) of MIN+ characters, and every shorter one of SHORT+ characters
    that is not one of the format's own words (a value under a key such as `type`, `role`, `kind`)."""
    for key, leaf in _leaves(value):
        if isinstance(leaf, str) and not _digits(leaf) and (
                len(leaf) >= MIN or (len(leaf.strip()) >= SHORT and not _vocabulary(key))):
            yield leaf


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def numbers(value: Any) -> Iterator[float]:
    """Every number of two or more digits (booleans are not numbers here); a string of digits (OTLP
    writes 64-bit integers so) is a number."""
    for _key, leaf in _leaves(value):
        if isinstance(leaf, str) and _digits(leaf) and len(leaf) < 40:
            leaf = int(leaf)
        if isinstance(leaf, (int, float)) and not isinstance(leaf, bool) and abs(leaf) >= 10:
            yield leaf


def _number_forms(number: float) -> list[str]:
    """The ways the export may write `number`: as JSON writes it, as a time, as an integer id."""
    forms = [json.dumps(number), str(number)]
    ns = to_ns(number)
    stamp = iso(ns) if ns is not None and ns > 10**18 else None  # after 2001: a timestamp, written in ISO
    if stamp:
        forms.append(stamp[:19])
    if isinstance(number, int) and number > 0:  # an integer id is written in hex, padded (a specific form)
        forms += [norm_id(number, 16), norm_id(number, 32)]
    return forms


def _norm(text: str) -> str:
    return " ".join(_CONTROL.sub("", text.replace("\r\n", "\n")).split())


def _joined(path: Path) -> str:
    """A file's text with a cut long payload joined back to its rest file."""
    text = path.read_text(encoding="utf-8")
    match = _REST.search(text)
    if match and (path.parent / match.group(1)).is_file():
        text = text[:match.start()] + (path.parent / match.group(1)).read_text(encoding="utf-8")
    return text


def corpus(out: Path) -> str:
    """Everything the export at `out` says, as one normalised text."""
    parts: list[str] = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and ".rest." not in p.name):
        text = _joined(path)
        parts.append(text)
        if path.suffix in (".json", ".yaml"):
            try:  # tool/args.json is pretty-printed JSON only when the arguments were JSON
                doc = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=SafeLoader)
            except (ValueError, yaml.YAMLError):
                continue
            parts += list(_all_strings(doc))
    return _norm("\n".join(parts))


def _all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_strings(item)
    elif isinstance(value, str):
        yield value


def _forms(text: str) -> list[str]:
    """The ways the export may write `text`: as is, escaped as in a JSON string (a value of JSON held in
    a string is shown as that JSON text, verbatim), as an id, as a timestamp."""
    forms = [text]
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    if escaped != text:
        forms += [escaped, _dotnet_escaped(text)]
    if norm_id(text, 32) != text:
        forms += [norm_id(text, 32), norm_id(text, 16)]
    ns = to_ns(text)
    stamp = iso(ns) if ns is not None and not text.strip().isdigit() else None
    if stamp:
        forms.append(stamp[:19])
    return forms


_DOTNET = {'"': "\\u0022", "'": "\\u0027", "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "+": "\\u002B",
           "`": "\\u0060"}


def _dotnet_escaped(text: str) -> str:
    """`text` as .NET's System.Text.Json writes it by default (quotes, <, >, &, ', + and backquote as
    \\u00XX, all non-ASCII as \\uXXXX): a JSON text a C# agent put inside a string is kept verbatim so."""
    escaped = "".join(_DOTNET.get(char, char) for char in json.dumps(text)[1:-1].replace('\\"', '"'))
    return _HEX.sub(lambda m: "\\u" + m.group(1).upper(), escaped)


def measure(source: Path, out: Path) -> Conservation:
    """How many of the input's strings and numbers the export at `out` holds, and which it lacks."""
    found = corpus(out)
    docs = documents(source)
    companions = [path for _, path in subagent_files(source, named_agents(docs))] + child_files(source, docs)
    for companion in companions:
        docs += documents(companion)
    wanted = list(dict.fromkeys(s for doc in docs for s in strings(doc)))
    lost = [text for text in wanted if not any(_norm(form) in found for form in _forms(text))]
    counted = list(dict.fromkeys(n for doc in docs for n in numbers(doc)))
    lost += [str(n) for n in counted if not any(form in found for form in _number_forms(n))]
    return Conservation(len(wanted) + len(counted), lost)

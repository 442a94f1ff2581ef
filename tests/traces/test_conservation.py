"""Conservation: no content is dropped silently. Every string of 20+ characters in an input file is
findable in its export (whatever the reader understood is rendered; whatever it did not is kept
verbatim), for every fixture, every third-party sample in `fixtures/wild/` and `data/<source>/`, and the
interop samples.

A string that itself holds JSON (a message list in an attribute) counts by its own strings; ISO
timestamps and hex/base64/integer ids count in the normalised form the export writes them in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.traces.conftest import INTEROP_TRACES

from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace
from agentbook.traces.render import iso
from agentbook.traces.values import maybe_json, norm_id, to_ns

HERE = Path(__file__).parent
MIN = 20
SUFFIXES = (".json", ".jsonl", ".ndjson")
_REST = re.compile(r"\n\n\[truncated: \d+ bytes, rest in ([^\]]+)\]\n$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _sources() -> list[Path]:
    mine = sorted(p for d in (HERE / "fixtures", HERE / "fixtures" / "wild") if d.is_dir()
                  for p in d.iterdir() if p.suffix in SUFFIXES)
    mine += sorted(p for p in (HERE / "data").rglob("*") if p.suffix in SUFFIXES)
    interop = sorted(INTEROP_TRACES.glob("*.json")) if INTEROP_TRACES.is_dir() else []
    return mine + interop


def documents(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8-sig")
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        decoder, pos, docs = json.JSONDecoder(), 0, []
        while pos < len(text.rstrip()):
            while text[pos].isspace():
                pos += 1
            doc, pos = decoder.raw_decode(text, pos)
            docs.append(doc)
        return docs


def strings(value: Any) -> Iterator[str]:
    """Every string value (not key) of 20+ characters; strings holding JSON are opened up. OTLP's
    `{"key": name, "value": {...}}` is a map entry: its name is a key too."""
    if isinstance(value, dict):
        if set(value) == {"key", "value"}:
            yield from strings(value["value"])
            return
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        parsed = maybe_json(value)
        if isinstance(parsed, (dict, list)):
            yield from strings(parsed)
        elif len(value) >= MIN:
            yield value


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
    """Everything the export says, as text: files as written, plus the decoded strings of its JSON
    and YAML files (which escape what they quote)."""
    parts: list[str] = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and ".rest." not in p.name):
        text = _joined(path)
        parts.append(text)
        if path.suffix in (".json", ".yaml"):
            try:  # tool/args.json is pretty-printed JSON only when the arguments were JSON
                doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            except ValueError:
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
    """The ways the export may write `text`: as is, as an id, as a timestamp."""
    forms = [text]
    if norm_id(text, 32) != text:
        forms += [norm_id(text, 32), norm_id(text, 16)]
    ns = to_ns(text)
    stamp = iso(ns) if ns is not None and not text.strip().isdigit() else None
    if stamp:
        forms.append(stamp[:19])
    return forms


def missing(source: Path, out: Path) -> list[str]:
    found = corpus(out)
    lost = []
    for text in dict.fromkeys(s for doc in documents(source) for s in strings(doc)):
        if not any(_norm(form) in found for form in _forms(text)):
            lost.append(text)
    return lost


@pytest.mark.parametrize("source", _sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_input_string_reaches_the_export(source: Path, tmp_path: Path) -> None:
    export_many(read_trace(source), tmp_path / "out")
    lost = missing(source, tmp_path / "out")
    assert not lost, f"{len(lost)} string(s) of {source.name} are nowhere in the export, e.g. {lost[:3]}"


def test_the_check_catches_a_dropped_string(tmp_path: Path) -> None:
    """The conservation check itself fails when an export lacks a string of its input."""
    source = HERE / "fixtures" / "wild" / "codex_rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"
    export_many(read_trace(source), tmp_path / "out")
    assert missing(source, tmp_path / "out") == []
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            path.write_text(path.read_text(encoding="utf-8").replace("find . -maxdepth 1", "(gone)"), encoding="utf-8")
    assert missing(source, tmp_path / "out") == ["find . -maxdepth 1 -type f"]

"""No input a user can give ends in a traceback: fixtures with values swapped for junk export or fail cleanly.

Each case takes a fixture, replaces a few values at random places (seeded, so failures reproduce) with
values of the wrong type, and runs `agentbook trace export` on it. Exit 0 (exported) and exit 3 (a
clear error) are both fine; exit 70 (internal error) is a bug.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SUFFIXES = (".json", ".jsonl", ".ndjson")
JUNK: list[Any] = [None, 0, -1, 2**70, 1e308, -0.5, True, "", "x", "0x", "\x00\x1b[2J", [], {}, [None], {"a": None},
                   [1, "2", {}], {"stringValue": None}, {"intValue": "NaN"}, "2025-13-45T99:99:99Z", "../../etc"]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*here, index))
    return out


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


def _load(name: str) -> list[Any]:
    text = (HERE / name).read_text(encoding="utf-8")
    if name.endswith((".jsonl", ".ndjson")):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    try:
        return [json.loads(text)]
    except ValueError:  # the console-exporter fixture: objects one after another
        decoder, docs, pos = json.JSONDecoder(), [], 0
        while pos < len(text.rstrip()):
            doc, pos = decoder.raw_decode(text, pos)
            docs.append(doc)
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return docs


CASES = [(name, seed) for name in sorted(str(p.relative_to(HERE)) for folder in ("fixtures", "data")
                                         for p in (HERE / folder).rglob("*") if p.suffix in SUFFIXES)
         for seed in range(12)]


@pytest.mark.parametrize(("name", "seed"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_junk_values_never_crash(name: str, seed: int, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    rng = random.Random(f"{name}:{seed}")
    docs = _load(name)
    for _ in range(1 + seed % 4):
        which = rng.randrange(len(docs))
        path = rng.choice(_paths(docs[which])[1:] or [()])
        docs[which] = _replace(docs[which], path, copy.deepcopy(rng.choice(JUNK)))
    source = tmp_path / Path(name).name
    source.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    result = run_cli("trace", "export", source, tmp_path / "out")
    assert result.code in (0, 3), result.err[-3000:]
    assert "Traceback" not in result.err
    if result.code == 0:
        summary = run_cli("trace", "summary", source, "--json")
        assert summary.code == 0, summary.err[-3000:]

"""`eval split`: a single-file suite becomes `suite.yaml` + `cases/<id>.yaml`, losslessly.

Each case file is the case's own text (comments included) moved left to column 0; the suite file is
the original with the case list replaced by the promptfoo glob `file://cases/*.yaml`. Cases without an
id need none in the split layout: the file name is the id, the same one `eval list` showed before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.evals.cases import write_bytes
from agentbook.evals.index import dedent_chunk
from agentbook.evals.store import SingleFileSuite, Suite, open_suite
from agentbook.evals.yamlio import dump_rt

CASES_GLOB = "file://cases/*.yaml"


@dataclass
class SplitSummary:
    suite: str
    cases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "cases": len(self.cases), "case_files": self.cases}


def split_suite(suite: Suite, out_dir: Path) -> SplitSummary:
    if not isinstance(suite, SingleFileSuite):
        raise FatalError(f"{suite.path} is already split into case files")
    out_dir = Path(out_dir)
    target = out_dir / "suite.yaml"
    cases_dir = out_dir / "cases"
    if target.exists() or (cases_dir.exists() and any(cases_dir.iterdir())):
        raise FatalError(f"{out_dir} already holds a suite", hint="pick an empty --out folder")
    data, index = suite.file.read()
    bodies = _fast_bodies(data, index) if index.fast and index.cases else _slow_bodies(suite)
    summary = SplitSummary(str(target))
    for case_id, body in bodies:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", case_id):
            raise FatalError(f"case id {case_id!r} cannot be a file name", hint="rename it with eval edit")
        path = cases_dir / f"{case_id}.yaml"
        if path.exists():
            raise FatalError(f"duplicate id {case_id!r}", hint="give each case a unique id, then retry")
        write_bytes(path, body)
        summary.cases.append(str(path))
    write_bytes(target, _header(data, index, suite))
    return summary


def _fast_bodies(data: bytes, index: Any) -> list[tuple[str, bytes]]:
    out = []
    for case in index.cases:
        lead = dedent_chunk(data[case.lead:case.start], index.dash_col)
        body = _unlist(data[case.start:case.end], index.dash_col)
        out.append((case.id, lead.encode("utf-8") + body))
    return out


def _unlist(chunk: bytes, dash_col: int) -> bytes:
    """`  - id: a\\n    vars: ...` -> `id: a\\nvars: ...` (the item's content column becomes column 0)."""
    first, _, rest = chunk.partition(b"\n")
    m = re.match(rb" *- +", first)
    assert m is not None  # the index only marks a file fast when every item has this shape
    col = m.end()
    pad = b" " * col
    lines = [first[col:]] + [ln[col:] if ln.startswith(pad) else ln.lstrip(b" ") for ln in rest.split(b"\n")]
    return b"\n".join(lines)


def _slow_bodies(suite: SingleFileSuite) -> list[tuple[str, bytes]]:
    data, _ = suite.file.read()
    return [(cid, dump_rt(case).encode("utf-8")) for cid, case in suite.file._slow_cases(data)]


def _header(data: bytes, index: Any, suite: SingleFileSuite) -> bytes:
    if index.fast and index.cases:
        head, tail = data[:index.items_start], data[index.items_end:]
        key = head.rfind(b"\ntests:")
        key = 0 if head.startswith(b"tests:") and key < 0 else key + 1
        line_end = head.find(b"\n", key)
        head = head[:key] + f"tests: {CASES_GLOB}".encode() + head[line_end:]
        return head + tail
    from agentbook.evals.yamlio import load_rt

    doc = load_rt(data.decode("utf-8"), where=str(suite.path))
    doc["tests"] = CASES_GLOB
    return dump_rt(doc).encode("utf-8")


def check_split(original: Suite, out_dir: Path) -> list[str]:
    """Ids whose values differ between the original and the split copy (empty when lossless)."""
    split = open_suite(out_dir / "suite.yaml")
    before = dict(original.all_cases())
    after = dict(split.all_cases())
    before = {k: {kk: vv for kk, vv in v.items() if kk != "id"} for k, v in before.items()}
    after = {k: {kk: vv for kk, vv in v.items() if kk != "id"} for k, v in after.items()}
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

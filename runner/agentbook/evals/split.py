"""`eval split`: a single-file suite becomes `suite.yaml` + `cases/<id>.yaml`, losslessly.

Each case file is the case's own text (comments included) moved left to column 0; the suite file is
the original with the case list replaced by the promptfoo glob `file://cases/*.yaml`. Cases without an
id need none in the split layout: the file name is the id, the same one `eval list` showed before.
With `sidecar_over`, string variables larger than that many bytes move to `sidecars/<id>.<var>.txt`
and the case says `file://sidecars/<id>.<var>.txt` (promptfoo reads such a variable as the file's
text). Files the suite references relatively (prompts, sidecars) are copied along, so the split copy
runs where it is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentbook.errors import FatalError
from agentbook.evals.cases import write_bytes
from agentbook.evals.index import Loader, dedent_chunk
from agentbook.evals.refs import check as check_ref_at
from agentbook.evals.store import SingleFileSuite, Suite, open_suite
from agentbook.evals.yamlio import dump_rt

CASES_GLOB = "file://cases/*.yaml"


@dataclass
class SplitSummary:
    suite: str
    cases: list[str] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # referenced files copied along
    warnings: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # other files this split wrote (the suite file)

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "cases": len(self.cases), "case_files": self.cases,
                "sidecars": self.sidecars, "copied": self.copied, "warnings": self.warnings}


def split_suite(suite: Suite, out_dir: Path, *, sidecar_over: int | None = None) -> SplitSummary:
    if not isinstance(suite, SingleFileSuite):
        if suite.layout in ("csv", "jsonl"):  # one file of records, which split does not take apart
            raise FatalError(f"the cases of {suite.path} are the records of a file ({suite.layout_words}); split "
                             "takes apart a suite that writes its cases inline", hint="its cases are edited one "
                             "record at a time as they are: agentbook eval edit/rm SUITE ID")
        raise FatalError(f"{suite.path} is already split into case files")
    out_dir = Path(out_dir)
    target = out_dir / "suite.yaml"
    cases_dir = out_dir / "cases"
    if target.exists() or (cases_dir.exists() and any(cases_dir.iterdir())):
        raise FatalError(f"{out_dir} already holds a suite", hint="pick an empty --out folder")
    data, index = suite.file.read()
    suite.all_cases()  # every case parsed and checked before the first write: a bad suite writes nothing
    header = _header(data, index, suite)
    bodies = _fast_bodies(data, index) if index.fast and index.cases else _slow_bodies(suite)
    summary = SplitSummary(str(target))
    moved = _outside_refs(suite, out_dir)
    if moved:  # a path out of the suite's folder is rewritten to reach the same file from the new one
        header = _rewrite(header, moved)
        bodies = [(case_id, _rewrite(body, moved)) for case_id, body in bodies]
        summary.warnings += [f"{old} is outside the suite folder: written as {new}" for old, new in moved.items()]
    try:
        _write_split(suite, out_dir, bodies, header, sidecar_over, summary)
    except BaseException:
        _remove_written(out_dir, summary)
        raise
    return summary


def _write_split(suite: SingleFileSuite, out_dir: Path, bodies: list[tuple[str, bytes]], header: bytes,
                 sidecar_over: int | None, summary: SplitSummary) -> None:
    target, cases_dir = out_dir / "suite.yaml", out_dir / "cases"
    for case_id, body in bodies:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", case_id):
            raise FatalError(f"case id {case_id!r} cannot be a file name", hint="rename it with eval edit")
        path = cases_dir / f"{case_id}.yaml"
        if path.exists():
            raise FatalError(f"duplicate id {case_id!r}", hint="give each case a unique id, then retry")
        if sidecar_over is not None:
            body = _to_sidecars(body, case_id, sidecar_over, out_dir, summary)
        write_bytes(path, body)
        summary.cases.append(str(path))
    write_bytes(target, header)
    summary.written.append(str(target))
    _copy_references(suite, out_dir, summary)


def _remove_written(out_dir: Path, summary: SplitSummary) -> None:
    """Undo a split that failed half-way: the files it wrote, then the folders it left empty."""
    for name in [*summary.cases, *(str(out_dir / rel) for rel in summary.sidecars + summary.copied),
                 *summary.written]:
        Path(name).unlink(missing_ok=True)
    for folder in (out_dir / "cases", out_dir / "sidecars", out_dir):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty (the user's own files) or never created


def _to_sidecars(body: bytes, case_id: str, limit: int, out_dir: Path, summary: SplitSummary) -> bytes:
    """Cut string `vars` over `limit` bytes out of the case text into sidecar files."""
    text = body.decode("utf-8")
    cuts: list[tuple[int, int, str, str]] = []
    depth, in_vars, key, expect_key = 0, False, None, True
    for ev in yaml.parse(text, Loader=Loader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            in_vars = in_vars or (depth == 1 and key == "vars" and isinstance(ev, yaml.MappingStartEvent))
            depth += 1
            expect_key = True
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            in_vars = in_vars and depth >= 2
            expect_key = True
        elif isinstance(ev, yaml.ScalarEvent):
            if expect_key:
                key = ev.value
            elif in_vars and depth == 2 and key and len(ev.value.encode("utf-8")) > limit:
                cuts.append((ev.start_mark.index, ev.end_mark.index, key, ev.value))  # type: ignore[union-attr]
            expect_key = not expect_key
    for start, end, name, value in reversed(cuts):
        rel = f"sidecars/{case_id}.{name}.txt"
        write_bytes(out_dir / rel, value.encode("utf-8"))
        summary.sidecars.append(rel)
        text = text[:start] + f"file://{rel}" + ("\n" if text[start:end].endswith("\n") else "") + text[end:]
    return text.encode("utf-8")


def _copy_references(suite: SingleFileSuite, out_dir: Path, summary: SplitSummary) -> None:
    """Copy the relative `file://` files the suite uses (prompts, default test, vars) into `out_dir`."""
    config = suite.config()
    refs = [p for p in config.get("prompts") or [] if isinstance(p, str)]
    refs += [config["defaultTest"]] if isinstance(config.get("defaultTest"), str) else []
    refs += [v for _, case in suite.all_cases() for v in (case.get("vars") or {}).values()
             if isinstance(case.get("vars"), dict)]
    base = suite.base_dir.resolve()
    for ref in {r for r in refs if isinstance(r, str) and r.startswith("file://")}:
        rel = Path(ref.removeprefix("file://"))
        source = (base / rel).resolve()
        if rel.is_absolute() or not source.is_file():
            continue
        if not source.is_relative_to(base):
            continue  # rewritten by _outside_refs, not copied
        check_ref_at(ref, base / rel, suite.root, "referenced file", base)  # never git's data (.git/config's token)
        target = out_dir / rel
        if not target.exists():
            write_bytes(target, source.read_bytes())
            summary.copied.append(str(rel))


def _file_refs(suite: SingleFileSuite) -> set[str]:
    config = suite.config()
    refs = [p for p in config.get("prompts") or [] if isinstance(p, str)]
    refs += [config["defaultTest"]] if isinstance(config.get("defaultTest"), str) else []
    refs += [v for _, case in suite.all_cases() for v in (case.get("vars") or {}).values()
             if isinstance(case.get("vars"), dict)]
    return {r for r in refs if isinstance(r, str) and r.startswith("file://")}


def _outside_refs(suite: SingleFileSuite, out_dir: Path) -> dict[str, str]:
    """`file://` paths that leave the suite's folder (`../prompts/x.md`), each with the path that reaches
    the same file from `out_dir`."""
    base = suite.base_dir.resolve()
    new_base = out_dir.resolve()
    out: dict[str, str] = {}
    for ref in _file_refs(suite):
        rel = Path(ref.removeprefix("file://"))
        if rel.is_absolute() or any(ch in str(rel) for ch in "*?["):
            continue
        source = (base / rel).resolve()
        if not source.is_relative_to(base):
            out[ref] = "file://" + os.path.relpath(source, new_base)
    return out


def _rewrite(data: bytes, moved: dict[str, str]) -> bytes:
    for old in sorted(moved, key=len, reverse=True):
        data = data.replace(old.encode(), moved[old].encode())
    return data


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
    """Ids whose values differ between the original and the split copy (empty when lossless);
    `file://` variables are compared by the text they point to, each relative to its own suite."""
    split = open_suite(out_dir / "suite.yaml")
    before = {k: _resolved(v, original.base_dir) for k, v in original.all_cases()}
    after = {k: _resolved(v, split.base_dir) for k, v in split.all_cases()}
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _resolved(case: dict[str, Any], base: Path) -> dict[str, Any]:
    out = {k: v for k, v in case.items() if k != "id"}
    if isinstance(out.get("vars"), dict):
        out["vars"] = {k: _read(v, base) for k, v in out["vars"].items()}
    return out


def _read(value: Any, base: Path) -> Any:
    if isinstance(value, str) and value.startswith("file://") and value.endswith((".txt", ".md")):
        path = base / value.removeprefix("file://")
        return path.read_text(encoding="utf-8") if path.is_file() else value
    return value

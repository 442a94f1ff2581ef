"""The suite store: read and change single cases of a suite in either layout without loading it all.

Three layouts, one API (`open_suite`):
- single file: `tests:` is an inline list, handled by `CaseFile` (byte splice of one case).
- split: `tests: file://cases/*.yaml` (promptfoo globs); each case file holds one case mapping (or a
  list of cases, which is a `CaseFile` whose root is the list), or is a CSV file of cases, one per row
  (`csvcases.py`: read, listed and run; a row is rewritten or removed in place, never added), or a JSONL
  file, one case per line (`jsonlcases.py`: a line is rewritten or removed in place, or appended).
- csv / jsonl: `tests: file://tests.csv` (or `.jsonl`) alone, a `SplitSuite` whose files are all CSV (all
  JSONL), labelled so: its cases are rows or lines, not case files.
"""

from __future__ import annotations

import fnmatch
import glob as globlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentbook import confine, yamlsafe
from agentbook.errors import FatalError
from agentbook.evals import csvcases, jsonlcases, refs, state
from agentbook.evals.casefile import CaseFile, changed_lines
from agentbook.evals.cases import (
    EditResult,
    Mutation,
    as_case_map,
    check_case,
    ensure_id,
    mutation_for,
    new_id,
    replacer,
    unknown_id,
    write_bytes,
)
from agentbook.evals.defaults import assert_type, assert_types, load_default_test
from agentbook.evals.index import REF_PREFIX, Loader
from agentbook.evals.listing import SUITE_NAMES
from agentbook.evals.rows import CaseInfo
from agentbook.evals.yamlio import dump_rt, fit_style, like_original, load_rt, to_plain

__all__ = ["CaseFile", "CaseInfo", "EditResult", "SingleFileSuite", "SplitSuite", "Suite", "open_suite",
           "write_bytes"]



def open_suite(path: Path | str, root: Path | None = None) -> Suite:
    """The suite at `path` (a file or a folder holding one). Its `file://` references must stay inside
    `root` (default `confine.data_root`: the session root, else the suite's git work tree)."""
    p = confine.check_path(path, "suite")
    if p.is_dir():
        found = next((p / n for n in SUITE_NAMES if (p / n).is_file()), None)
        if found is None:
            raise FatalError(f"no suite file in {p}", hint=f"expected one of {', '.join(SUITE_NAMES)}")
        p = found
    if not p.is_file():
        raise FatalError(f"suite not found: {p}", hint="pass the path of a suite YAML file")
    file = CaseFile(p, seq_key="tests")
    tests, globs = file.layout()
    suite: Suite = SplitSuite(p, globs) if tests == "files" else SingleFileSuite(p, file)
    suite.root = Path(os.path.realpath(root)) if root is not None else confine.data_root(p)
    return suite


class Suite(ABC):
    """A suite of cases; both layouts implement the same operations."""

    path: Path
    layout: str
    root: Path  # the folder every `file://` reference must resolve inside

    @abstractmethod
    def list_cases(self) -> list[CaseInfo]: ...

    @abstractmethod
    def case_text(self, case_id: str) -> str:
        """The case's YAML as written in its file."""

    @abstractmethod
    def get_case(self, case_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def add_case(self, mapping: Any) -> EditResult: ...

    @abstractmethod
    def edit_case(self, case_id: str, sets: list[tuple[str, Any]] | None = None,
                  unsets: list[str] | None = None) -> EditResult: ...

    @abstractmethod
    def replace_case(self, case_id: str, mapping: Any) -> EditResult: ...

    @abstractmethod
    def remove_case(self, case_id: str) -> EditResult: ...

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The suite without its cases: description, prompts, providers, defaultTest, ..."""

    def all_cases(self) -> list[tuple[str, dict[str, Any]]]:
        return [(info.id, self.get_case(info.id)) for info in self.list_cases()]

    def default_test(self) -> dict[str, Any]:
        """`defaultTest` as a mapping ({} without one; read from its file when it names one)."""
        return load_default_test(self.config(), self.base_dir, self.root)

    def inherited_types(self) -> list[str]:
        """The types of defaultTest's assertions, which promptfoo runs on every case before its own."""
        types = assert_types(self.default_test())
        return [named_type(t, self.config()) for t in types] if any(t.startswith(REF_PREFIX) for t in types) \
            else types

    @property
    def layout_words(self) -> str:
        """The layout as `eval list` and `eval stats` name it."""
        return f"{self.layout} layout"

    @property
    def base_dir(self) -> Path:
        """What `file://` paths in the suite are relative to (promptfoo: the config's folder)."""
        return self.path.parent


class SingleFileSuite(Suite):
    layout = "single"

    def __init__(self, path: Path, file: CaseFile | None = None) -> None:
        self.path = path
        self.file = file or CaseFile(path, seq_key="tests")

    def list_cases(self) -> list[CaseInfo]:
        return with_inherited(named_refs(self.file.infos(), self.config), self.inherited_types())

    def inherited_types(self) -> list[str]:
        defaults = self.file.defaults()  # from the index: a big suite's file is not parsed for it
        if defaults is None:
            return []
        types = defaults.get("asserts")
        if isinstance(types, list) and not any(str(t).startswith(REF_PREFIX) for t in types):
            return [str(t) for t in types]
        return super().inherited_types()

    def case_text(self, case_id: str) -> str:
        return self.file.case_text(case_id)

    def get_case(self, case_id: str) -> dict[str, Any]:
        return self.file.get_case(case_id)

    def add_case(self, mapping: Any) -> EditResult:
        case = as_case_map(mapping, "new case")
        return self.file.add(case, new_id(case))

    def edit_case(self, case_id: str, sets: list[tuple[str, Any]] | None = None,
                  unsets: list[str] | None = None) -> EditResult:
        return self.file.edit(case_id, mutation_for(sets or [], unsets or []))

    def replace_case(self, case_id: str, mapping: Any) -> EditResult:
        return self.file.edit(case_id, replacer(as_case_map(mapping, "replacement case")))

    def remove_case(self, case_id: str) -> EditResult:
        return self.file.remove(case_id)

    def config(self) -> dict[str, Any]:
        return self.file.header()

    def all_cases(self) -> list[tuple[str, dict[str, Any]]]:
        return self.file.values()


class SplitSuite(Suite):
    """`suite.yaml` + case files matched by `file://` globs, one case (or a list of cases) per file."""

    layout = "split"

    def __init__(self, path: Path, globs: list[str]) -> None:
        self.path = path
        self.globs = globs
        self._rows: dict[tuple[Path, str], int] = {}  # (CSV file, case id) -> line of its row
        # `tests: file://tests.csv`: one file of rows, not case files (promptfoo's CSV format)
        kinds = {os.path.splitext(g.lower())[1] for g in globs}
        self.layout = kinds.pop().lstrip(".") if len(kinds) == 1 and kinds & {".csv", ".jsonl"} else "split"

    @property
    def layout_words(self) -> str:
        if self.layout not in ("csv", "jsonl"):
            return super().layout_words
        files = ', '.join(g.removeprefix('file://') for g in self.globs)
        return f"CSV layout: one case per row of {files}" if self.layout == "csv" else \
            f"JSONL layout: one case per line of {files}"

    def _patterns(self) -> list[str]:
        return [full for _written, full in self._written_patterns()]

    def _written_patterns(self) -> list[tuple[str, str]]:
        """(the reference as the suite writes it, the path pattern it stands for) of each `tests:` glob."""
        out = []
        for pattern in self.globs:
            rel = pattern.removeprefix("file://")
            out.append((pattern, rel if os.path.isabs(rel) else str(self.base_dir / rel)))
        return out

    def case_files(self) -> list[Path]:
        files: dict[Path, None] = {}  # ordered and de-duplicated
        for written, full in self._written_patterns():
            if full.endswith((".xlsx", ".js", ".py")):
                raise FatalError(f"tests from {Path(full).suffix} files are not supported by agentbook eval",
                                 location=str(self.path), hint="keep cases as YAML (one mapping or a list per file)")
            if not globlib.has_magic(full):  # refused where it is written, whether or not it exists
                refs.check(written, full, self.root, "case file", self.base_dir)
                if not os.path.lexists(full):  # named where the suite names it (FullFact's configs name
                    # test CSVs they never committed: "cannot read evaluation/tests.csv" said not where)
                    raise FatalError(f"{written} does not exist", location=self._tests_where(),
                                     hint=f"the suite's tests: names it, relative to {self.base_dir}; commit the "
                                          "file or fix the path")
            matched = sorted(refs.bounded_glob(written, full, self.root, "case file", self.base_dir)) \
                if globlib.has_magic(full) else [full]
            for m in matched:
                if m.endswith((".yaml", ".yml", ".json", ".csv", ".jsonl")):
                    refs.check(written, m, self.root, "case file", self.base_dir, matched=globlib.has_magic(full))
                    files.setdefault(Path(m), None)
        return list(files)

    def _is_case_file(self, path: Path) -> bool:
        return any(fnmatch.fnmatchcase(str(path), full) for full in self._patterns())

    def cases_dir(self) -> Path:
        # new cases go where the first YAML glob points (`tests: [file://tests.csv, file://cases/*.yaml]`)
        written = next((g for g in self.globs if not g.lower().endswith((".csv", ".jsonl"))),
                       self.globs[0] if self.globs else "")
        head = Path(written.removeprefix("file://") or "cases/*.yaml")
        while globlib.has_magic(str(head)) or head.suffix in (".yaml", ".yml"):
            head = head.parent
        folder = head if head.is_absolute() else self.base_dir / head
        refs.check(written or str(folder), folder, self.root, "cases folder", self.base_dir)
        return folder

    def _entries(self) -> Iterator[tuple[str, Path, Any]]:
        """(id, file, value or None for a list file) for every case, in glob order."""
        for p in self.case_files():
            if p.suffix in _ROW_FILES:
                for cid, line, case in _ROW_FILES[p.suffix](p):
                    self._rows[(p, cid)] = line
                    yield cid, p, case
                continue
            value = _load_file(p)
            if isinstance(value, list):
                for cid in CaseFile(p, seq_key=None).ids():
                    yield cid, p, None
            elif isinstance(value, dict):
                yield str(value.get("id") or p.stem), p, value
            elif value is not None:
                raise FatalError("a case file must hold a case mapping or a list of cases", location=str(p))

    def _find(self, case_id: str) -> tuple[Path, Any]:
        direct = self.cases_dir() / f"{case_id}.yaml"
        if direct.suffix == ".yaml" and direct.is_file() and self._is_case_file(direct):
            value = _load_file(direct)
            if isinstance(value, dict) and str(value.get("id") or direct.stem) == case_id:
                return direct, value
        hits = [(p, v) for cid, p, v in self._entries() if cid == case_id]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise unknown_id(case_id, [cid for cid, _, _ in self._entries()], self.path)
        raise FatalError(f"duplicate id {case_id!r} in {', '.join(str(p) for p, _ in hits)}",
                         hint="give each case a unique id, then retry")

    def list_cases(self) -> list[CaseInfo]:
        out: list[CaseInfo] = []
        seen: set[Path] = set()
        for _cid, p, value in self._entries():
            if value is None:
                if p not in seen:
                    out.extend(CaseFile(p, seq_key=None).infos())
                seen.add(p)
                continue
            asserts = [assert_type(a) for a in value.get("assert") or [] if isinstance(a, dict)]
            line = self._rows.get((p, _cid))
            if line is not None:  # a CSV row or JSONL line: its size is that of the case it makes
                out.append(CaseInfo(_cid, str(value.get("description", "")), asserts, len(dump_rt(value).encode()),
                                    f"{p}:{line}", False))
                continue
            out.append(CaseInfo(str(value.get("id") or p.stem), str(value.get("description", "")), asserts,
                                p.stat().st_size, f"{p}:1", "id" in value))
        return with_inherited(named_refs(out, self.config), self.inherited_types())

    def all_cases(self) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        seen: set[Path] = set()
        for cid, p, value in self._entries():
            if value is not None:
                out.append((cid, dict(value)))
            elif p not in seen:
                seen.add(p)
                out.extend(CaseFile(p, seq_key=None).values())
        return out

    def case_text(self, case_id: str) -> str:
        p, value = self._find(case_id)
        if value is None:
            return CaseFile(p, seq_key=None).case_text(case_id)
        if p.suffix in _ROW_FILES:
            what = "row" if p.suffix == ".csv" else "case"
            return (f"# the {what} at line {self._rows[(p, case_id)]} of {p.name}, as promptfoo reads it\n"
                    + dump_rt(value))
        return p.read_text(encoding="utf-8")

    def _no_csv_add(self, case_id: str) -> FatalError:
        """Where a new case can go instead: a row has no id of its own (its content makes it), so a case a
        runbook names by id can only be YAML beside the CSV, which promptfoo reads with it."""
        csv_name = self.cases_dir().name
        where = self._tests_where()
        return FatalError(f"the suite's cases are the rows of {csv_name}, and agentbook does not add rows to a CSV "
                          "(it rewrites or removes one)", location=where,
                          hint=f"add the row to {csv_name} yourself (its id then comes from its content), or keep "
                               f"new cases in YAML beside it: make this `tests:` read "
                               f"[file://{csv_name}, file://cases/*.yaml] (promptfoo reads both) and run this "
                               f"`eval add` again, which writes cases/{case_id}.yaml")

    def _tests_where(self) -> str:
        """SUITE:LINE of its `tests:` key (the suite alone when it cannot be found)."""
        text = self.path.read_text(encoding="utf-8", errors="replace")
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if ln.startswith("tests:")), None)
        return f"{self.path}:{line}" if line else str(self.path)

    def get_case(self, case_id: str) -> dict[str, Any]:
        p, value = self._find(case_id)
        if value is None:
            return CaseFile(p, seq_key=None).get_case(case_id)
        return dict(value)

    def add_case(self, mapping: Any) -> EditResult:
        case = as_case_map(mapping, "new case")
        case_id = new_id(case)
        ensure_id(case, case_id)
        check_case(to_plain(case), f"new case {case_id}")
        if self.cases_dir().suffix == ".jsonl":
            return self._append_line(self.cases_dir(), case_id, to_plain(case))
        if self.cases_dir().suffix == ".csv":
            raise self._no_csv_add(case_id)
        target = self.cases_dir() / f"{case_id}.yaml"
        with state.locked(self.path):
            if target.exists() or case_id in {cid for cid, _, _ in self._entries()}:
                raise FatalError(f"duplicate id {case_id!r}: the suite already has a case with it",
                                 location=str(self.path), hint="pick another id or use `eval replace`")
            write_bytes(target, dump_rt(case).encode("utf-8"))
        return EditResult(case_id, str(target), True, changed=[str(target)])

    def edit_case(self, case_id: str, sets: list[tuple[str, Any]] | None = None,
                  unsets: list[str] | None = None) -> EditResult:
        return self._rewrite(case_id, mutation_for(sets or [], unsets or []))

    def replace_case(self, case_id: str, mapping: Any) -> EditResult:
        return self._rewrite(case_id, replacer(as_case_map(mapping, "replacement case")))

    def remove_case(self, case_id: str) -> EditResult:
        p, value = self._find(case_id)
        if value is None:
            return CaseFile(p, seq_key=None).remove(case_id)
        if p.suffix in _ROW_FILES:  # its row or line, not the file (unlinking it would remove every case)
            with state.locked(p):
                line = self._rows[(p, case_id)]
                old, new = csvcases.remove_row(p, line) if p.suffix == ".csv" else jsonlcases.remove_line(p, line)
                write_bytes(p, new)
            return EditResult(case_id, str(p), True, lines=changed_lines(old, new, 1), changed=[str(p)])
        with state.locked(p):
            try:
                p.unlink()
            except OSError as err:
                raise FatalError(f"cannot remove {p}: {err.strerror or err}") from None
        return EditResult(case_id, str(p), True, changed=[str(p)])

    def _rewrite(self, case_id: str, mutate: Mutation) -> EditResult:
        p, value = self._find(case_id)
        if value is None:
            return CaseFile(p, seq_key=None).edit(case_id, mutate)
        if p.suffix in _ROW_FILES:
            return self._rewrite_row(p, case_id, mutate)
        with state.locked(p):
            old = p.read_bytes()  # not read_text: its newline translation would lose a file's CRLF
            text = old.decode("utf-8")
            case = load_rt(text, where=str(p))
            style = fit_style(text, case)
            mutate(case, case_id)
            new_id = str(case.get("id", case_id))
            if new_id != case_id:
                raise FatalError("cannot change the id of a case file in place",
                                 hint="add a new case and remove the old one")
            check_case(to_plain(case), str(p))
            new = like_original(dump_rt(case, style), text).encode("utf-8")
            if new != old:
                write_bytes(p, new)
        return EditResult(case_id, str(p), True, lines=changed_lines(old, new, 1),
                          changed=[str(p)] if new != old else [])

    def _rewrite_row(self, p: Path, case_id: str, mutate: Mutation) -> EditResult:
        """One row of a CSV (line of a JSONL) of cases rewritten in place (an id derived from its content changes
        with it)."""
        rewrite = csvcases.rewrite_row if p.suffix == ".csv" else jsonlcases.rewrite_line
        with state.locked(p):
            line = self._rows[(p, case_id)]
            new_id, old, new = rewrite(p, line, case_id, mutate)
            if new != old:
                write_bytes(p, new)
        return EditResult(new_id, str(p), True, lines=changed_lines(old, new, 1) if new != old else (0, 0),
                          changed=[str(p)] if new != old else [])

    def _append_line(self, p: Path, case_id: str, case: dict[str, Any]) -> EditResult:
        """A new case as the last line of the JSONL file `p` (every other line keeps its bytes)."""
        with state.locked(p):
            if case_id in {cid for cid, _, _ in self._entries()}:
                raise FatalError(f"duplicate id {case_id!r}: the suite already has a case with it",
                                 location=str(self.path), hint="pick another id or use `eval replace`")
            line, _old, new = jsonlcases.append_case(p, case)
            write_bytes(p, new)
        return EditResult(case_id, str(p), True, lines=(line, line), changed=[str(p)])

    def config(self) -> dict[str, Any]:
        value = _load_file(self.path)
        return {k: v for k, v in (value or {}).items() if k != "tests"}


# files whose cases are records in them (rows, lines): each read as (id, line, case) by its module
_ROW_FILES: dict[str, Callable[[Path], list[tuple[str, int, dict[str, Any]]]]] = {
    ".csv": csvcases.read_cases, ".jsonl": jsonlcases.read_cases}


def _load_file(p: Path) -> Any:
    return yamlsafe.load(yamlsafe.read_bytes(p), str(p), loader=Loader)


def named_refs(infos: list[CaseInfo], config: Callable[[], dict[str, Any]]) -> list[CaseInfo]:
    """Assertions given by `$ref: '#/assertionTemplates/x'` listed by the type they point at
    (`$ref` when the pointer leads nowhere); the suite's config is read only when a case has one."""
    if not any(t.startswith(REF_PREFIX) for info in infos for t in info.asserts):
        return infos
    conf = config()
    for info in infos:
        info.asserts = [named_type(t, conf) for t in info.asserts]
    return infos


def named_type(kind: str, conf: dict[str, Any]) -> str:
    """`kind`, or for `$ref:POINTER` the type of the assertion the pointer leads to in the suite."""
    if not kind.startswith(REF_PREFIX):
        return kind
    node: Any = conf
    pointer = kind.removeprefix(REF_PREFIX)
    for part in pointer.removeprefix("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) and pointer.startswith("#/") else None
    return str(node["type"]) if isinstance(node, dict) and "type" in node else "$ref"


def with_inherited(infos: list[CaseInfo], inherited: list[str]) -> list[CaseInfo]:
    """Each row with the defaultTest assertion types every case runs first."""
    for info in infos:
        info.inherited = list(inherited)
    return infos

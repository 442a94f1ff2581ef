"""`eval list` answered from the index cache: the suite's rows without a YAML parser.

`list_suite` reads the rows `CaseFile.infos` would return straight from the SQLite cache when it
holds this version of a single-file suite the fast path can index; otherwise (first touch, a split
layout, `$ref` assertions, a file the index cannot handle) it opens the suite the ordinary way. This
module and what it imports at the top stay light (no yaml, ruamel, jsonschema, click), so a warm
`agentbook eval list` costs little more than the interpreter's start.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from pathlib import Path

from agentbook import confine
from agentbook.errors import FatalError
from agentbook.evals import state
from agentbook.evals.indexstore import IndexStore, stat_key
from agentbook.evals.rows import REF_PREFIX, CaseInfo
from agentbook.evals.runs import last_verdicts
from agentbook.fsutil import max_bytes

TYPE_CHECKING = False  # typing's own constant would import `typing`, which `eval list` does not need
if TYPE_CHECKING:
    from agentbook.evals.store import Suite

SUITE_NAMES = ("suite.yaml", "promptfooconfig.yaml", "promptfooconfig.yml", "suite.yml")


class Listing:
    """A suite's path (as `open_suite` resolves it), its layout and its case rows in file order."""

    def __init__(self, path: Path, layout: str, cases: list[CaseInfo], layout_words: str = "",
                 default_source: str = "") -> None:
        self.path = path
        self.layout = layout
        self.cases = cases
        self.layout_words = layout_words or f"{layout} layout"
        self.default_source = default_source or "defaultTest"  # where inherited assertions are written


def list_suite(path: Path | str) -> Listing:
    """The rows of the suite at `path`, as `open_suite(path).list_cases()` gives them."""
    found = cached_listing(path)
    if found is not None:
        return found
    from agentbook.evals import refs
    from agentbook.evals.store import open_suite

    try:
        suite = open_suite(path)
        cases = suite.list_cases()
        source = default_source(suite) if any(c.inherited for c in cases) else ""
        return Listing(suite.path, suite.layout, cases, suite.layout_words, source)
    except refs.RefRefused as err:  # `eval list` runs before click: placed here, not by the SUITE argument
        raise refs.placed(err, Path(path)) from None


def cached_listing(path: Path | str) -> Listing | None:
    """The rows from the index cache alone, or None when the cache cannot answer (the caller then
    opens the suite, which reports any error: nothing here raises except a confinement refusal)."""
    p = confine.check_path(path, "suite")
    if p.is_dir():
        named = next((p / n for n in SUITE_NAMES if (p / n).is_file()), None)
        if named is None:
            return None
        p = named
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if st.st_size > max_bytes():
        return None
    store = IndexStore(state.index_db(p))
    try:
        index = store.load(stat_key(st))
    finally:
        store.close()
    if index is None or index.tests == "files" or not index.fast:
        return None
    defaults = index.defaults or {}
    inherited = defaults.get("asserts") or []
    if "ref" in defaults:
        return None  # `defaultTest: file://...`: the ordinary way reads that file
    infos = [CaseInfo(c.id, c.description, c.asserts, c.size, f"{p}:{c.line}", c.explicit_id, list(inherited))
             for c in index.cases]
    if any(t.startswith(REF_PREFIX) for info in infos for t in info.all_asserts):
        return None  # `$ref` assertions are named from the suite's config: the ordinary way reads it
    return Listing(p, "single", infos, "", f"defaultTest in {p.name}")


# -- what `agentbook eval list` prints -----------------------------------------------------------
LIST_LIMIT = 100  # `eval list --limit`'s default


def list_output(suite: Path | str, expr: str | None, limit: int, as_json: bool) -> str:
    """What `agentbook eval list` prints: one row per case (at most `limit`; 0 for all) and a summary,
    or the JSON object."""
    listing = list_suite(suite)
    verdicts = last_verdicts(listing.path)
    rows = [(c, verdicts.get(c.id)) for c in listing.cases]
    hits = [(c, v) for c, v in rows if match_filter(expr, c, v)]
    shown = hits if limit <= 0 else hits[:limit]
    if as_json:
        any_inherited = any(c.inherited for c, _ in rows)
        return json.dumps({"suite": str(listing.path), "layout": listing.layout, "total": len(rows),
                            "matched": len(hits), "inherited_from": listing.default_source if any_inherited else None,
                            "cases": [{**c.to_json(), "last": v} for c, v in shown]},
                          indent=2, ensure_ascii=False, default=str)
    width = max([ASSERTS_CHARS, *(len(_asserts(c)) + 1 for c, _ in shown)])  # one column, however long a row's is
    lines = [_row(c, v, width) for c, v in shown]
    if len(shown) < len(hits):
        lines.append(f"[... {len(hits) - len(shown)} more cases: use --filter EXPR or --limit 0]")
    if any(len(c.description) > DESCRIPTION_CHARS for c, _ in shown):
        lines.append(f"(descriptions cut at {DESCRIPTION_CHARS} characters: agentbook eval show {suite} ID, "
                     "or --json, has them whole)")
    inherited = next((c.inherited for c, _ in rows if c.inherited), [])
    if inherited:  # promptfoo runs them on every case, before its own
        lines.append(f"every case also runs the {len(inherited)} assertion{'s' if len(inherited) != 1 else ''} of "
                     f"{listing.default_source} ({', '.join(inherited)}): counted as +{len(inherited)} inherited")
    lines.append(f"{len(hits)} of {len(rows)} cases ({listing.layout_words})")
    return "\n".join(lines)


def default_source(suite: Suite) -> str:
    """Where a suite's defaultTest is written, in words (`defaultTest in suite.yaml`, or its file)."""
    from agentbook.evals.defaults import source

    return source(suite.config(), suite.path)


DESCRIPTION_CHARS = 48  # of a case's description on its `eval list` row
ASSERTS_CHARS = 28  # the assertions column's least width


def _asserts(c: CaseInfo) -> str:
    asserts = ",".join(c.asserts)
    if c.inherited:
        asserts += f"{' ' if asserts else ''}+{len(c.inherited)} inherited"
    return asserts or "-"


def _row(c: CaseInfo, verdict: str | None, width: int) -> str:
    desc = c.description if len(c.description) <= DESCRIPTION_CHARS else c.description[:DESCRIPTION_CHARS - 1] + "…"
    return f"{c.id:<24} {verdict or '-':<5} {c.size:>8}B  {_asserts(c):<{width}} {desc}".rstrip()


# -- list filters -------------------------------------------------------------------------------
_TERM = re.compile(r"(id|description|desc|assert|result|size)\s*(=|~|>|<|!=)\s*(.+)")


def match_filter(expr: str | None, info: CaseInfo, result: str | None) -> bool:
    """`--filter` terms, all of which must hold: `id=glob`, `description~text`, `assert=llm-rubric`,
    `result=fail`, `size>10000`, `field!=glob`, or a bare word matched against id and description."""
    if not expr:
        return True
    return all(_term(t, info, result) for t in _split_terms(expr))


def _split_terms(expr: str) -> list[str]:
    return [t for t in re.split(r"\s*,\s*|\s+(?=(?:id|description|desc|assert|result|size)\s*[=~<>!])",
                                expr.strip()) if t]


def _no_unknown_field(term: str) -> None:
    """`vars.q=x` or `type=contains` read as a bare word would match no case and list nothing, which
    looks like an answer; a term shaped like FIELD OP VALUE must name a field the filter knows."""
    shaped = re.fullmatch(r"\s*([A-Za-z_][\w.\[\]-]*)\s*(=|~|>|<|!=)\s*(.+)", term)
    if shaped:
        raise FatalError(f"bad filter {term!r}: no field {shaped.group(1)!r} to filter on",
                         hint="fields: id, description, assert, result, size (e.g. assert=contains, size>10000); "
                              "a bare word matches ids and descriptions")


def _term(term: str, info: CaseInfo, result: str | None) -> bool:
    m = _TERM.fullmatch(term.strip())
    if m is None:
        _no_unknown_field(term)
        word = term.strip().lower()
        return word in info.id.lower() or word in info.description.lower()
    field, op, want = m.group(1), m.group(2), m.group(3).strip()
    if field == "size":
        try:
            limit = int(want)
        except ValueError:
            raise FatalError(f"bad filter {term!r}: size needs a number") from None
        return info.size > limit if op == ">" else info.size < limit if op == "<" else info.size == limit
    values = {"id": [info.id], "description": [info.description], "desc": [info.description],
              "assert": info.all_asserts, "result": [result or "none"]}[field]
    if op == "~":
        hit = any(want.lower() in v.lower() for v in values)
    elif op in ("=", "!="):
        hit = any(fnmatch.fnmatchcase(v, want) for v in values)
    else:
        raise FatalError(f"bad filter {term!r}: {field} takes =, != or ~")
    return not hit if op == "!=" else hit

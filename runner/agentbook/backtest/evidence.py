"""What each cohort rests on: its most representative member, the terms and fields that bind it,
whether one account holds more of it than chance would give, and which cited code exists.

- Medoid: the member with the highest mean similarity to the other members. The cohort's name,
  definition and proposed change come from it (and its nearest members), never from whichever member
  happens to be first.
- Evidence: the terms whose weight inside the cohort most exceeds their weight outside it (the
  analysts' and, apart, the ones from the errors their traces record: traceterms.py), and the
  stage / suspected file / failing tool shared by most members; and what the members' analysts wrote
  that binds nothing because passing runs' traces record it as often (`unbound`: a harmless error
  quoted as the run's first, features.quoted_contrast), with the shares that say so.
- Account test: one-sided binomial test of "k of the cohort's n failures are in account A" against
  A's share of all investigations, Bonferroni-corrected for the number of accounts. Account-specific
  means an adjusted p-value under ACCOUNT_ALPHA; two failures of six accounts landing together is not.
- Code locations: each cited path[:line] is looked up under `--code`: the file must exist inside it
  and the line must be within the file. Locations that do not exist are reported as such, never as
  where to fix.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentbook.backtest.cluster import Cohort, Failure
from agentbook.backtest.features import FeatureSpace, top_terms
from agentbook.confine import is_within

ACCOUNT_ALPHA = 0.01
UNCHECKED = ", not checked: no --code"  # after a proposed change's location when there was no code to look in
FIELD_SHARE = 0.6  # a stage/file/tool shared by at least this share of members binds the cohort


def by_centrality(members: Sequence[Failure], space: FeatureSpace, rows: Mapping[str, int]) -> list[Failure]:
    """Members, most representative first."""
    idx = [rows[f.inv.id] for f in members]
    sim = space.matrix[idx] @ space.matrix[idx].T
    mean = [(float(sim[i].sum()) - 1) / max(1, len(idx) - 1) for i in range(len(idx))]
    return [members[i] for i in sorted(range(len(members)), key=lambda i: (-round(mean[i], 9), members[i].inv.id))]


def binding(members: Sequence[Failure], space: FeatureSpace, rows: Mapping[str, int]) -> dict[str, Any]:
    fields: dict[str, str] = {}
    for key, value in (("stage", lambda f: f.stage), ("file", lambda f: f.component),
                       ("tool", lambda f: _tool(f))):
        counts = Counter(v for f in members if (v := value(f)) and v != "unknown")
        if counts:
            top, n = counts.most_common(1)[0]
            if n / len(members) >= FIELD_SHARE:
                fields[key] = f"{top} ({n}/{len(members)})"
    idx = [rows[f.inv.id] for f in members]
    out: dict[str, Any] = {"terms": top_terms(space, idx), "trace_terms": top_terms(space, idx, trace=True),
                           "fields": fields}
    if unbound := unbound_terms(space, idx):
        out["unbound"] = unbound
    return out


UNBOUND_SHOWN = 3  # terms listed as written by members but binding nothing
UNBOUND_MEMBERS = 2  # members that must have written a term for it to be listed


def unbound_terms(space: FeatureSpace, rows: Sequence[int]) -> list[dict[str, Any]]:
    """What the members' analysts wrote most that binds nothing because passing runs' traces record it as
    often as failures' do (features.quoted_contrast, and with CONTENT_CONTRAST features.content_cells): a
    harmless error quoted as the run's first, benign content described (a cache that answered). Phrases
    before words, a word inside a listed phrase left out; each with the shares that weighed it down."""
    u = space.unbound
    if u is None or not u.terms or not rows:
        return []
    written = u.written[list(rows)].sum(axis=0)
    order = sorted((i for i in range(len(u.terms)) if written[i] >= UNBOUND_MEMBERS),
                   key=lambda i: (-int(written[i]), -u.terms[i].count(" "), u.terms[i]))
    out: list[dict[str, Any]] = []
    for i in order:
        term = u.terms[i].replace("errclass_", "class:")
        if len(out) >= UNBOUND_SHOWN:
            break
        if any(term in o["term"].split() or o["term"] in term.split() for o in out):
            continue
        out.append({"term": term, "members": int(written[i]), "weight": round(float(u.weight[i]), 3),
                    "failures_traces": round(float(u.failing[i]), 3), "passing_traces": round(float(u.passing[i]), 3)})
    return out


def _tool(f: Failure) -> str:
    from agentbook.backtest.features import describe_failure

    return describe_failure(f.analysis).tool


def account_test(members: Sequence[Failure], shares: Mapping[str, float]) -> dict[str, Any]:
    """The most over-represented account, with its Bonferroni-adjusted binomial p-value."""
    from scipy.stats import binomtest

    counts = Counter(f.inv.account for f in members)
    n = len(members)
    best: dict[str, Any] = {}
    for account, k in sorted(counts.items()):
        share = shares.get(account, 0.0)
        if share <= 0 or share >= 1:
            continue
        p = float(binomtest(k, n, share, alternative="greater").pvalue)
        adjusted = min(1.0, p * max(1, len(shares)))
        if not best or adjusted < best["p_adjusted"]:
            best = {"account": account, "members": k, "of": n, "expected_share": round(share, 4),
                    "ratio": round((k / n) / share, 2), "p_value": p, "p_adjusted": adjusted}
    if best:
        best["specific"] = best["p_adjusted"] < ACCOUNT_ALPHA and best["members"] * 2 > n
        best["test"] = f"one-sided binomial, Bonferroni x{len(shares)} accounts, alpha {ACCOUNT_ALPHA}"
    return best


def check_location(location: str, code: Path | None) -> bool | None:
    """Whether path[:line] exists under `code` (None: no code to check against)."""
    if code is None:
        return None
    path, _, line = location.partition(":")
    root = code.resolve()
    target = (root / path).resolve()
    if Path(path).is_absolute() or not is_within(target, root) or not target.is_file():
        return False  # an analyst (or a trace it read) may name anything: only files in the code count
    if line.isdigit():
        with target.open("rb") as fh:
            return int(line) <= sum(1 for _ in fh) and int(line) >= 1
    return True


def locations(cohort: Cohort, code: Path | None) -> list[dict[str, Any]]:
    return [{"location": loc, "count": n, "exists": check_location(loc, code)} for loc, n in cohort.suspected()]


def proposed_change(ordered: Sequence[Failure], code: Path | None) -> tuple[str, str]:
    """The proposed change of the most representative member that has one, and the first of its cited
    locations that exists (any cited one when there is no code to check against); a file cited
    without a line gets the line where it defines a name the finding mentions, when it has one."""
    for f in ordered:
        change = str(f.analysis.get("proposed_change") or "").strip()
        if not change:
            continue
        for s in (f.analysis.get("suspected") or [])[:3]:
            loc = f"{s['path']}:{s['line']}" if s.get("line") else str(s["path"])
            found = check_location(loc, code)
            if found is not False:
                return change, defining_line(loc, f, code) if found and not s.get("line") else loc
        return change, ""
    return "", ""


_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)|^([A-Za-z_]\w*)[ \t]*[:=]", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_]\w{2,}")
DEFINES_SCANNED = 200_000  # characters of a cited file looked at


def defining_line(path: str, f: Failure, code: Path | None) -> str:
    """`path:line` of the definition (def, class, assignment or key) in `path` of the name the
    finding mentions most, else `path`."""
    if code is None:
        return path
    a = f.analysis
    said = " ".join(str(x or "") for x in (a.get("failure_mode"), a.get("error_signature"), a.get("proposed_change"),
                                           *((s.get("why") or "") for s in (a.get("suspected") or [])[:3])))
    mentions = Counter(_NAME.findall(said))
    text = (code / path).read_text(encoding="utf-8", errors="replace")[:DEFINES_SCANNED]
    best: tuple[int, int] | None = None  # (-mentions, line)
    for m in _DEFINES.finditer(text):
        name = m.group(1) or m.group(2)
        if mentions[name]:
            key = (-mentions[name], text.count("\n", 0, m.start()) + 1)
            best = min(best, key) if best else key
    return f"{path}:{best[1]}" if best else path


def annotate(cohort: Cohort, space: FeatureSpace, rows: Mapping[str, int], shares: Mapping[str, float],
             code: Path | None) -> None:
    """Fill a cohort's medoid, evidence, account test, checked locations and (unless a model named
    it) name, definition and proposed change."""
    ordered = saying_something_first(by_centrality(cohort.members, space, rows), space, rows)
    cohort.medoid = ordered[0]
    cohort.evidence = binding(cohort.members, space, rows)
    cohort.account_test = account_test(cohort.members, shares)
    cohort.locations = locations(cohort, code)
    if not cohort.name or not cohort.definition:
        kept = space.unbound.kept[rows[ordered[0].inv.id]] if space.unbound is not None else 1.0
        name, definition, bound = summarise(cohort, quoted_nothing=float(kept) < NAMING_KEPT)
        if not cohort.definition:
            cohort.definition, cohort.bound_by = definition, bound
        cohort.name = cohort.name or name
    if not cohort.proposed_change:
        change, where = proposed_change(ordered, code)
        # a location nothing checked says so: it may not exist (report.py and fixes.py read both forms)
        unchecked = UNCHECKED if code is None else ""
        cohort.proposed_change = f"{change} (at `{where}`{unchecked})" if change and where else change


NAMING_KEPT = 0.5  # a member whose words keep less than this (features.Unbound.kept) names no cohort


def saying_something_first(ordered: Sequence[Failure], space: FeatureSpace, rows: Mapping[str, int]) -> list[Failure]:
    """Members in `ordered`'s order, those whose analyst wrote mostly what binds nothing (a harmless error
    quoted: features.quoted_contrast) last, so the cohort is not named after it when another member
    says more."""
    kept = space.unbound.kept if space.unbound is not None else None
    if kept is None:
        return list(ordered)
    return sorted(ordered, key=lambda f: float(kept[rows[f.inv.id]]) < NAMING_KEPT)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def summarise(cohort: Cohort, quoted_nothing: bool = False) -> tuple[str, str, list[list[Any]]]:
    """Name and definition from the medoid's finding, and what binds the cohort (agentbook's own words,
    rendered apart from the analyst's: report_md.definition)."""
    m = cohort.medoid or cohort.members[0]
    finding = str(m.analysis.get("summary") or m.analysis.get("failure_mode") or "")
    name = _cut(finding, 80) or f"{m.stage} failures"
    # every member's analyst quoted what binds nothing: name what does
    if quoted_nothing and cohort.evidence.get("trace_terms"):
        name = _cut(f"{m.stage} failures whose traces share {', '.join(cohort.evidence['trace_terms'][:3])}", 80)
    definition = (f"Failures like {m.inv.id}, the most representative member: "
                  f"{_cut(str(m.analysis.get('failure_mode') or finding), 300)}")
    bound = [["the terms", list(cohort.evidence.get("terms", [])[:5])],
             ["the traces", list(cohort.evidence.get("trace_terms", [])[:3])]]
    bound += [[k, [str(v)]] for k, v in cohort.evidence.get("fields", {}).items()]
    return name, definition, [b for b in bound if b[1]]

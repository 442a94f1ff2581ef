"""What each cohort rests on: its most representative member, the terms and fields that bind it,
whether one account holds more of it than chance would give, and which cited code exists.

- Medoid: the member with the highest mean similarity to the other members. The cohort's name,
  definition and proposed change come from it (and its nearest members), never from whichever member
  happens to be first.
- Evidence: the terms whose weight inside the cohort most exceeds their weight outside it (the
  analysts' and, apart, the ones from the errors their traces record: traceterms.py), and the
  stage / suspected file / failing tool shared by most members.
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
    return {"terms": top_terms(space, idx), "trace_terms": top_terms(space, idx, trace=True), "fields": fields}


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
    ordered = by_centrality(cohort.members, space, rows)
    cohort.medoid = ordered[0]
    cohort.evidence = binding(cohort.members, space, rows)
    cohort.account_test = account_test(cohort.members, shares)
    cohort.locations = locations(cohort, code)
    if not cohort.name or not cohort.definition:
        name, definition = summarise(cohort)
        cohort.name, cohort.definition = cohort.name or name, cohort.definition or definition
    if not cohort.proposed_change:
        change, where = proposed_change(ordered, code)
        cohort.proposed_change = f"{change} (at `{where}`)" if change and where else change


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def summarise(cohort: Cohort) -> tuple[str, str]:
    """Name and definition from the medoid's finding and the binding evidence."""
    m = cohort.medoid or cohort.members[0]
    finding = str(m.analysis.get("summary") or m.analysis.get("failure_mode") or "")
    name = _cut(finding, 80) or f"{m.stage} failures"
    terms = ", ".join(f"`{t}`" for t in cohort.evidence.get("terms", [])[:5])
    traced = ", ".join(f"`{t}`" for t in cohort.evidence.get("trace_terms", [])[:3])
    fields = "; ".join(f"{k} {v}" for k, v in cohort.evidence.get("fields", {}).items())
    definition = (f"Failures like {m.inv.id}, the most representative member: "
                  f"{_cut(str(m.analysis.get('failure_mode') or finding), 300)}")
    if terms or traced or fields:
        definition += " Bound by " + " and ".join(
            x for x in (f"the terms {terms}" if terms else "", f"the traces {traced}" if traced else "", fields)
            if x) + "."
    return name, definition

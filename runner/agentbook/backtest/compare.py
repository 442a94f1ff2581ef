"""`backtest compare A B`: what changed between two backtests of the same investigations.

Investigations are matched by id: those that flipped correct <-> wrong. Cohorts are matched by
membership, never by name (a cohort's name comes from its members' text, so fixing one member can
rename it): the Jaccard index of every pair of cohorts' member sets, then the one-to-one assignment
that maximises the total (scipy's linear_sum_assignment). A matched pair is reported as `N -> M` with
how many members were fixed, moved out or came in; an A cohort whose still-failing members spread over
several B cohorts is a split, a B cohort fed by several A cohorts a merge. A cohort is "gone" only
when none of its members still fails.

Accounts that regressed are those with investigations that were correct in A and are wrong in B,
whatever their overall accuracy did; each gets a one-sided binomial test of its share of the new
failures against its share of A's correct investigations (the ones that could break), Bonferroni-
corrected for the number of accounts, so one account taking most new failures stands out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentbook.backtest.cohorts import read_index
from agentbook.backtest.deps import need
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.report import account_accuracy

MIN_JACCARD = 0.2  # a pair sharing less than this is no match: one of them is new or gone
SPLIT_MIN = 2  # members that must land in another cohort to call it a split or merge
REGRESSION_ALPHA = 0.05
NO_CAUSE = ""


@dataclass
class Comparison:
    a: str
    b: str
    accuracy_a: float
    accuracy_b: float
    common: int
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # wrong in A, correct in B
    broken: list[str] = field(default_factory=list)  # correct in A, wrong in B
    cohorts: list[dict[str, Any]] = field(default_factory=list)  # slug, a, b, delta, status, ...
    regressed_accounts: list[dict[str, Any]] = field(default_factory=list)
    improved_accounts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compare_backtests(dir_a: str, dir_b: str) -> Comparison:
    fa, fb = BacktestFolder(dir_a).require(), BacktestFolder(dir_b).require()
    ia = {i.id: i for i in fa.investigations()}
    ib = {i.id: i for i in fb.investigations()}
    common = sorted(set(ia) & set(ib))
    result = Comparison(a=str(fa.root), b=str(fb.root), common=len(common),
                        accuracy_a=_accuracy([ia[i].correct for i in common]),
                        accuracy_b=_accuracy([ib[i].correct for i in common]),
                        only_a=sorted(set(ia) - set(ib)), only_b=sorted(set(ib) - set(ia)))
    result.fixed = [i for i in common if not ia[i].correct and ib[i].correct]
    result.broken = [i for i in common if ia[i].correct and not ib[i].correct]
    failing_b = {i for i in ib if not ib[i].correct}
    result.cohorts = match_cohorts(read_index(fa) or {}, read_index(fb) or {}, failing_b)
    acc_a = account_accuracy([ia[i] for i in common])
    acc_b = account_accuracy([ib[i] for i in common])
    could_break = Counter(ia[i].account for i in common if ia[i].correct)
    broken_by = Counter(ia[i].account for i in result.broken)
    fixed_by = Counter(ia[i].account for i in result.fixed)
    for account in sorted(set(acc_a) & set(acc_b)):
        row = {"account": account, "a": acc_a[account]["accuracy"], "b": acc_b[account]["accuracy"],
               "delta": round(acc_b[account]["accuracy"] - acc_a[account]["accuracy"], 4),
               "broken": broken_by[account], "fixed": fixed_by[account],
               "broken_ids": [i for i in result.broken if ia[i].account == account]}
        if broken_by[account]:
            row.update(_regression_test(broken_by[account], len(result.broken), could_break, account))
            result.regressed_accounts.append(row)
        elif row["delta"] > 0:
            result.improved_accounts.append(row)
    result.regressed_accounts.sort(key=lambda r: (r["p_adjusted"], -r["broken"], r["account"]))
    result.improved_accounts.sort(key=lambda r: (-r["delta"], r["account"]))
    return result


def _regression_test(k: int, total: int, could_break: Counter[str], account: str) -> dict[str, Any]:
    """P(at least k of the `total` new failures land in `account`) if they fell in proportion to each
    account's correct investigations; Bonferroni over the accounts that had any."""
    from scipy.stats import binomtest

    share = could_break[account] / max(1, sum(could_break.values()))
    p = float(binomtest(k, total, share, alternative="greater").pvalue) if 0 < share < 1 else 1.0
    adjusted = min(1.0, p * max(1, len(could_break)))
    return {"expected_share": round(share, 4), "p_value": p, "p_adjusted": adjusted,
            "significant": adjusted < REGRESSION_ALPHA}


def _accuracy(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def match_cohorts(a: dict[str, Any], b: dict[str, Any], failing_b: set[str]) -> list[dict[str, Any]]:
    """One row per cohort of A (matched, split or gone) and per unmatched cohort of B (new or merged)."""
    np = need("numpy", "compare")
    from scipy.optimize import linear_sum_assignment

    ca = {c["slug"]: set(c["members"]) for c in a.get("cohorts", [])}
    cb = {c["slug"]: set(c["members"]) for c in b.get("cohorts", [])}
    names_a, names_b = list(ca), list(cb)
    pairs: dict[str, str] = {}
    if names_a and names_b:
        score = np.array([[_jaccard(ca[x], cb[y]) for y in names_b] for x in names_a])
        for i, j in zip(*linear_sum_assignment(-score), strict=True):
            if score[i, j] >= MIN_JACCARD:
                pairs[names_a[i]] = names_b[j]
    where_b = {m: slug for slug, members in cb.items() for m in members}
    matched_b = set(pairs.values())
    rows = []
    for slug in names_a:
        members = ca[slug]
        still = members & failing_b
        spread = Counter(where_b.get(m, NO_CAUSE) for m in still)
        into = sorted((s for s, n in spread.items() if s != NO_CAUSE and s != pairs.get(slug) and n >= SPLIT_MIN),
                      key=lambda s: (-spread[s], s))
        row: dict[str, Any] = {"slug": pairs.get(slug, slug), "slug_a": slug, "slug_b": pairs.get(slug),
                               "a": len(members), "fixed": len(members - failing_b),
                               "still_failing": len(still), "into": {s: spread[s] for s in into},
                               "no_common_cause": spread.get(NO_CAUSE, 0)}
        if slug in pairs:
            target = cb[pairs[slug]]
            row.update(b=len(target), moved_in=len(target - members),
                       moved_out=len(still - target), jaccard=round(_jaccard(members, target), 4))
            row["status"] = "split" if into else "same" if row["b"] == row["a"] else \
                "grew" if row["b"] > row["a"] else "shrank"
        else:
            row.update(b=0, moved_in=0, moved_out=len(still), jaccard=0.0)
            row["status"] = "gone" if not still else "split" if len(into) > 1 else "moved"
        row["delta"] = row["b"] - row["a"]
        rows.append(row)
    for slug in names_b:
        if slug in matched_b:
            continue
        origin = Counter(s for s, members in ca.items() for m in cb[slug] if m in members)
        sources = {s: n for s, n in origin.most_common() if n >= SPLIT_MIN}
        rows.append({"slug": slug, "slug_a": None, "slug_b": slug, "a": 0, "b": len(cb[slug]),
                     "delta": len(cb[slug]), "fixed": 0, "moved_in": len(cb[slug]), "moved_out": 0,
                     "jaccard": 0.0, "from": sources, "status": "merged" if len(sources) > 1 else "new"})
    return sorted(rows, key=lambda r: (r["status"] == "same", -abs(r["delta"]), r["slug"]))


def render(c: Comparison, limit: int = 20) -> str:
    lines = [f"accuracy {c.accuracy_a:.1%} -> {c.accuracy_b:.1%} over {c.common} investigations in both"]
    if c.only_a or c.only_b:
        lines.append(f"only in A: {len(c.only_a)}, only in B: {len(c.only_b)} (not compared)")
    for label, ids in (("now wrong (were correct)", c.broken), ("now correct (were wrong)", c.fixed)):
        shown = ", ".join(ids[:limit]) + (f", ... {len(ids) - limit} more" if len(ids) > limit else "")
        lines.append(f"{label}: {len(ids)}" + (f": {shown}" if ids else ""))
    changed = [r for r in c.cohorts if r["status"] != "same"]
    if changed:
        lines.append("cohorts (matched by members):")
        lines += [f"  {_cohort_line(r)}" for r in changed[:limit]]
        if len(changed) > limit:
            lines.append(f"  ... {len(changed) - limit} more")
    if c.regressed_accounts:
        lines.append("accounts that regressed: (investigations that broke; binomial test against the account's "
                     "share of correct ones, Bonferroni):")
        for r in c.regressed_accounts[:limit]:
            flag = "unusual" if r["significant"] else "within chance"
            lines.append(f"  {r['account']}: {r['broken']} broke ({', '.join(r['broken_ids'][:5])}), "
                         f"{r['fixed']} fixed, accuracy {r['a']:.0%} -> {r['b']:.0%}; "
                         f"p = {r['p_adjusted']:.2g} ({flag})")
    return "\n".join(lines)


def _cohort_line(r: dict[str, Any]) -> str:
    name = r["slug"] if not r.get("slug_a") or r["slug_a"] == r["slug"] else f"{r['slug_a']} -> {r['slug']}"
    parts = [f"{r['fixed']} fixed"] if r["fixed"] else []
    if r.get("moved_out"):
        parts.append(f"{r['moved_out']} moved out")
    if r.get("moved_in"):
        parts.append(f"{r['moved_in']} came in")
    if r.get("into"):
        parts.append("split into " + ", ".join(f"{s} ({n})" for s, n in r["into"].items()))
    if r.get("from") and r["status"] == "merged":
        parts.append("merged from " + ", ".join(f"{s} ({n})" for s, n in r["from"].items()))
    if r["status"] in ("moved", "split") and not r.get("slug_b"):
        parts.append(f"{r['still_failing']} still failing")
    if r.get("no_common_cause"):
        parts.append(f"{r['no_common_cause']} now in no common cause")
    return f"{name}: {r['a']} -> {r['b']} ({r['status']}" + (f": {', '.join(parts)}" if parts else "") + ")"

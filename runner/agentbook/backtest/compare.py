"""`backtest compare A B`: what changed between two backtests of the same investigations.

Investigations are matched by id: those that flipped correct <-> wrong. Cohorts are matched by
membership, never by name (a cohort's name comes from its members' text, so fixing one member can
rename it), and only by the members that still fail: a fix that takes a cohort from 18 to 3 leaves a
B cohort whose 3 members were all in it (Jaccard of the whole sets, 3/18, would call that no match).
A B cohort continues an A cohort when at least MIN_SHARE of it came from that cohort and at least
MIN_SHARE of that cohort's still-failing members landed in it, one of the two at least MIN_CONTINUES;
among those, the one-to-one assignment (scipy's linear_sum_assignment) maximises the total Dice index
of the still-failing members and the B cohort. A matched pair is reported as `N -> M` with how many
members were fixed, moved out or came in (from other cohorts, from A's no-common-cause bucket, or
newly failing). An A cohort whose still-failing members spread over several B cohorts is a split, a
B cohort fed by several A cohorts a merge; an A cohort no B cohort continues is "gone" only when none
of its members still fails, else it says where they went.
A member B does not hold (a re-run of some investigations only) is neither fixed nor failing: it is
counted apart ("not in B"), and a cohort whose re-run members all pass while others were not re-run is
"not-rerun", never "gone". A member that fails in B without an analysis there is "not analysed in B",
never "in no common cause" (that page is for analysed failures that share no cause).

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

# A B cohort continues an A cohort when at least MIN_SHARE of each side is the other's (of A, only
# the members that still fail) and at least MIN_CONTINUES of one side is
MIN_SHARE = 0.2
MIN_CONTINUES = 0.5
TIE = 1e-6
SPLIT_MIN = 2  # members that must land in another cohort to call it a split or merge
REGRESSION_ALPHA = 0.05
NO_CAUSE = ""
UNANALYSED = "\0unanalysed"  # where a still-failing member with no analysis in B is (no cohort name can be this)


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
    unclustered: list[str] = field(default_factory=list)  # folders with failures but no cohorts/index.json

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
    correct_a = {i for i in common if ia[i].correct}
    index_a, index_b = read_index(fa), read_index(fb)
    # cohorts missing on a side with failures would read as "nothing changed": say so instead
    result.unclustered = [str(f.root) for f, index, invs in ((fa, index_a, ia), (fb, index_b, ib))
                          if index is None and any(not i.correct for i in invs.values())]
    result.cohorts = match_cohorts(index_a or {}, index_b or {}, failing_b, correct_a, in_b=set(ib))
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


def _share(n: int, of: int) -> float:
    return n / of if of else 0.0


def _pair_scores(still: set[str], after: set[str]) -> tuple[float, float, float]:
    """How far B cohort `after` continues A cohort whose still-failing members are `still`:
    the share of `after` that came from it, the share of `still` that landed in `after`, and their
    harmonic mean (the Dice index of the two sets: the assignment's weight)."""
    shared = len(still & after)
    came_from, landed = _share(shared, len(after)), _share(shared, len(still))
    return came_from, landed, _share(2 * shared, len(still) + len(after))


def _continues(came_from: float, landed: float) -> bool:
    return min(came_from, landed) >= MIN_SHARE and max(came_from, landed) >= MIN_CONTINUES


def match_cohorts(a: dict[str, Any], b: dict[str, Any], failing_b: set[str],
                  correct_a: set[str] | None = None, in_b: set[str] | None = None) -> list[dict[str, Any]]:
    """One row per cohort of A (matched, split, merged, dissolved, gone or not-rerun) and per unmatched
    cohort of B (new, merged from several A cohorts, or split off one). `correct_a`: investigations
    correct in A (members of B that are new failures); `in_b`: the investigations B holds (None: all of A's)."""
    np = need("numpy", "compare")
    from scipy.optimize import linear_sum_assignment

    ca = {c["slug"]: set(c["members"]) for c in a.get("cohorts", [])}
    cb = {c["slug"]: set(c["members"]) for c in b.get("cohorts", [])}
    still = {slug: members & failing_b for slug, members in ca.items()}
    names_a, names_b = list(ca), list(cb)
    pairs: dict[str, str] = {}
    if names_a and names_b:
        scores = [[_pair_scores(still[x], cb[y]) for y in names_b] for x in names_a]
        # a tie (a cohort split in equal halves) goes to the B cohort that kept the A cohort's name
        weight = np.array([[s[2] + (TIE if x == y else 0.0) if _continues(s[0], s[1]) else 0.0
                            for y, s in zip(names_b, row, strict=True)] for x, row in zip(names_a, scores, strict=True)])
        for i, j in zip(*linear_sum_assignment(-weight), strict=True):
            if weight[i, j] > 0:
                pairs[names_a[i]] = names_b[j]
    where_a = {m: slug for slug, members in ca.items() for m in members}
    # A's failures that shared no cause: a B cohort they join says so, not "came in" from nowhere
    where_a.update((m, NO_CAUSE) for m in (a.get("no_common_cause") or {}).get("members", []) if m not in where_a)
    where_b = {m: slug for slug, members in cb.items() for m in members}
    where_b.update((m, UNANALYSED) for m in b.get("unanalysed", []) if m not in where_b)
    matched_a = {y: x for x, y in pairs.items()}
    # a member B does not hold is not fixed: it is counted apart
    rows = [_row_a(x, ca[x], still[x], pairs.get(x), cb, where_b, where_a, correct_a or set(),
                   len(ca[x] - in_b) if in_b is not None else 0) for x in names_a]
    for y in names_b:
        if y not in matched_a:
            rows.append(_row_new(y, cb[y], where_a, correct_a or set()))
    return sorted(rows, key=lambda r: (r["status"] == "same", -abs(r["delta"]), r["slug"]))


def _origins(members: set[str], own: str | None, where_a: dict[str, str], correct_a: set[str]) -> dict[str, Any]:
    """Where a B cohort's members were in A, apart from its own A cohort."""
    others = Counter(where_a[m] for m in members if m in where_a and where_a[m] not in (own, NO_CAUSE))
    return {"from": dict(sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))),
            "from_no_common_cause": sum(1 for m in members if where_a.get(m) == NO_CAUSE),
            "newly_failing": len(members & correct_a)}


def _row_a(slug: str, members: set[str], still: set[str], match: str | None, cb: dict[str, set[str]],
           where_b: dict[str, str], where_a: dict[str, str], correct_a: set[str], not_in_b: int = 0) -> dict[str, Any]:
    spread = Counter(where_b.get(m, NO_CAUSE) for m in still)
    into = sorted((s for s, n in spread.items() if s not in (NO_CAUSE, UNANALYSED, match) and n >= SPLIT_MIN),
                  key=lambda s: (-spread[s], s))
    row: dict[str, Any] = {"slug": match or slug, "slug_a": slug, "slug_b": match, "a": len(members),
                           "fixed": len(members) - len(still) - not_in_b, "still_failing": len(still),
                           "not_in_b": not_in_b, "into": {s: spread[s] for s in into},
                           "no_common_cause": spread.get(NO_CAUSE, 0), "unanalysed": spread.get(UNANALYSED, 0)}
    if match:
        target = cb[match]
        came_from, landed, _ = _pair_scores(still, target)
        origins = _origins(target, slug, where_a, correct_a)
        merged = {s: n for s, n in origins["from"].items() if n >= SPLIT_MIN}
        row.update(b=len(target), moved_in=len(target - members), moved_out=len(still - target),
                   came_from=round(came_from, 4), landed=round(landed, 4), merged_with=merged, **origins)
        # "same" is the same members, not the same count: 1 fixed and 1 come in is a change to show
        row["status"] = ("split" if into else "merged" if merged else "same" if target == members
                         else "same-size" if row["b"] == row["a"] else "grew" if row["b"] > row["a"] else "shrank")
    else:
        row.update(b=0, moved_in=0, moved_out=len(still), came_from=0.0, landed=0.0, merged_with={},
                   **{"from": {}, "from_no_common_cause": 0, "newly_failing": 0})
        row["status"] = ("not-rerun" if not still and not_in_b else "gone" if not still
                         else "split" if len(into) > 1 else "merged" if into else "dissolved")
    row["delta"] = row["b"] - row["a"]
    return row


def _row_new(slug: str, members: set[str], where_a: dict[str, str], correct_a: set[str]) -> dict[str, Any]:
    origins = _origins(members, None, where_a, correct_a)
    sources = {s: n for s, n in origins["from"].items() if n >= SPLIT_MIN}
    return {"slug": slug, "slug_a": None, "slug_b": slug, "a": 0, "b": len(members), "delta": len(members),
            "fixed": 0, "still_failing": 0, "not_in_b": 0, "moved_in": len(members), "moved_out": 0, "into": {},
            "no_common_cause": 0, "unanalysed": 0, "came_from": 0.0, "landed": 0.0, "merged_with": sources, **origins,
            "status": "merged" if len(sources) > 1 else "split-off" if sources else "new"}


def render(c: Comparison, limit: int = 20) -> str:
    lines = [f"accuracy {c.accuracy_a:.1%} -> {c.accuracy_b:.1%} over {c.common} investigations in both"]
    if c.only_a or c.only_b:
        lines.append(f"only in A: {len(c.only_a)}, only in B: {len(c.only_b)} (not compared)")
    for label, ids in (("now wrong (were correct)", c.broken), ("now correct (were wrong)", c.fixed)):
        shown = ", ".join(ids[:limit]) + (f", ... {len(ids) - limit} more" if len(ids) > limit else "")
        lines.append(f"{label}: {len(ids)}" + (f": {shown}" if ids else ""))
    changed = _shown(c.cohorts)
    if c.unclustered:
        lines.append("cohorts not compared: no cohorts yet in " + ", ".join(c.unclustered)
                     + " (run `agentbook backtest cluster DIR` there)")
    elif changed:
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
    if r["slug_a"] and not r["slug_b"]:
        return _unmatched_line(r)
    name = r["slug"] if not r.get("slug_a") or r["slug_a"] == r["slug"] else f"{r['slug_a']} -> {r['slug']}"
    parts = [f"{r['fixed']} fixed"] if r["fixed"] else []
    if r.get("into"):
        parts.append(("into " if r["status"] == "split" else "split into ") + _counts(r["into"]))
    if r.get("no_common_cause"):
        parts.append(f"{r['no_common_cause']} now in no common cause")
    if r.get("unanalysed"):
        parts.append(f"{r['unanalysed']} not analysed in B")
    if r.get("not_in_b"):
        parts.append(f"{r['not_in_b']} not in B")
    scattered = r["moved_out"] - sum(r["into"].values()) - r["no_common_cause"] - r.get("unanalysed", 0)
    if scattered:
        parts.append(f"{scattered} moved to other cohorts")
    if r.get("merged_with"):
        verb = "from " if not r.get("slug_a") else "with " if r["status"] == "merged" else "merged with "
        parts.append(verb + _counts(r["merged_with"]))
    if r.get("newly_failing"):
        parts.append(f"{r['newly_failing']} newly failing")
    if r.get("from_no_common_cause"):
        parts.append(f"{r['from_no_common_cause']} from no common cause")
    other = r["moved_in"] - sum(r["merged_with"].values()) - r["newly_failing"] - r.get("from_no_common_cause", 0)
    if other:
        parts.append(f"{other} came in")
    return f"{name}: {r['a']} -> {r['b']} ({r['status']}" + (f": {', '.join(parts)}" if parts else "") + ")"


def _unmatched_line(r: dict[str, Any]) -> str:
    """An A cohort no B cohort continues: gone only when none of its members still fails."""
    if r["status"] == "gone":
        return f"{r['slug']}: {r['a']} -> 0 (gone: {r['fixed']} fixed)"
    if r["status"] == "not-rerun":  # nothing re-run still fails, but not all of it was re-run
        rerun = r["a"] - r["not_in_b"]
        return (f"{r['slug']}: {r['a']} -> not re-run ({r['not_in_b']} not in B"
                + (f"; none of the {rerun} re-run fails: {r['fixed']} fixed" if rerun else "") + ")")
    where = {"merged": "merged into ", "split": "split into "}.get(r["status"], "in no cohort")
    tail = [f"{r['fixed']} fixed"] if r["fixed"] else []
    tail.append(f"{r['still_failing']} still failing")
    if r.get("no_common_cause"):
        tail.append(f"{r['no_common_cause']} in no common cause")
    if r.get("unanalysed"):
        tail.append(f"{r['unanalysed']} not analysed in B")
    if r.get("not_in_b"):
        tail.append(f"{r['not_in_b']} not in B")
    return f"{r['slug']}: {r['a']} -> {where}{_counts(r['into'])}; {', '.join(tail)}"


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changed rows, without a split-off part made only of members its source's row already lists."""
    return [r for r in rows if r["status"] != "same" and not (
        r["status"] == "split-off" and r["moved_in"] == sum(r["merged_with"].values()))]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{s} ({n})" for s, n in counts.items())

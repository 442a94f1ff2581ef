"""Did a fix do what its ticket said? The targeted cohort before -> after, other cohorts that grew,
investigations and accounts that regressed, from `backtest compare` of the baseline and the re-run.

The target is found by membership: the baseline cohort whose members best overlap the ticket's
`cohort.members` (Jaccard), never by slug, since re-clustering renames cohorts. After the fix its size
is that of the cohort compare matched it to on the re-run (compare matches by the members that still
fail, so a large partial fix is still `N -> M`), or, when no re-run cohort continues it (it was
fixed, merged into another cause or broke up), the number of its members that still fail.

A fix is ready for a pull request only when its run completed, the targeted cohort shrank, no other
cohort grew and no investigation that was correct is now wrong. Anything else: not ready, with the
reasons said in words. It fails closed on what the re-run cannot tell: a targeted investigation the
re-run does not hold ("not in B"), or one failing there without an analysis ("not analysed in B"), or a
re-run with failures and no cohorts, is not ready, since the cohort's count after would leave it out and
a fix that re-ran none of its cohort would read as one that fixed it all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentbook.backtest.compare import Comparison, compare_backtests
from agentbook.backtest.fixes import TicketCohort

MIN_TARGET_JACCARD = 0.5  # below this the baseline holds no cohort the ticket could mean
SHOWN = 5
LISTED = 50  # ids and rows in --json: the counts say how many there are in all


@dataclass
class FixCheck:
    ticket_id: str
    target: str | None  # the baseline cohort's slug
    target_jaccard: float
    before: int
    after: int
    still_failing: int  # of the targeted investigations
    fixed: int  # of the targeted investigations
    target_status: str  # compare's status of the targeted row (shrank, gone, same, grew, split, moved)
    not_in_b: int = 0  # of the targeted investigations: absent from the re-run
    unanalysed: int = 0  # of the targeted investigations: failing in the re-run without an analysis
    unclustered: bool = False  # the re-run has failures but no cohorts
    grew: list[dict[str, Any]] = field(default_factory=list)  # slug, a, b, status
    broken: list[str] = field(default_factory=list)  # investigations correct before, wrong after
    regressed_accounts: list[dict[str, Any]] = field(default_factory=list)
    accuracy_before: float = 0.0
    accuracy_after: float = 0.0
    reasons: list[str] = field(default_factory=list)  # why it is not ready (empty: ready)

    @property
    def ready(self) -> bool:
        return not self.reasons

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FixCheck:
        """From to_json (lists cut at LISTED: enough to render it again)."""
        names = [n for n in cls.__dataclass_fields__ if n in data]
        return cls(**{n: data[n] for n in names})

    def to_json(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "target": self.target, "target_jaccard": self.target_jaccard,
                "before": self.before, "after": self.after, "still_failing": self.still_failing,
                "fixed": self.fixed, "target_status": self.target_status, "shrank": self.after < self.before,
                "not_in_b": self.not_in_b, "unanalysed": self.unanalysed, "unclustered": self.unclustered,
                "grew": self.grew[:LISTED], "broken": self.broken[:LISTED], "broken_count": len(self.broken),
                "regressed_accounts": [dict(r, broken_ids=r["broken_ids"][:SHOWN]) for r in self.regressed_accounts[:LISTED]],
                "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after,
                "ready": self.ready, "reasons": self.reasons}


def check_fix(target: TicketCohort, baseline: str, after: str) -> FixCheck:
    return assess(target, compare_backtests(baseline, after), members_of(baseline))


def members_of(baseline: str) -> dict[str, set[str]]:
    """Each cohort's members in a clustered backtest."""
    from agentbook.backtest.cohorts import read_index
    from agentbook.backtest.folder import BacktestFolder

    index = read_index(BacktestFolder(baseline).require()) or {}
    return {c["slug"]: set(c["members"]) for c in index.get("cohorts", [])}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def assess(target: TicketCohort, c: Comparison, cohorts_a: dict[str, set[str]]) -> FixCheck:
    wanted = set(target.members)
    scored = sorted(((round(_jaccard(wanted, m), 4), slug) for slug, m in cohorts_a.items()), key=lambda x: (-x[0], x[1]))
    best, slug = scored[0] if scored else (0.0, None)
    check = FixCheck(ticket_id=target.ticket_id, target=None, target_jaccard=best, before=len(wanted), after=0,
                     still_failing=0, fixed=0, target_status="unknown", accuracy_before=c.accuracy_a,
                     accuracy_after=c.accuracy_b)
    if slug is None or best < MIN_TARGET_JACCARD:
        check.reasons.append(f"the baseline has no cohort like the ticket's `{target.slug}` (best overlap "
                             f"{best:.2f} < {MIN_TARGET_JACCARD}): is it the backtest the ticket was written from?")
        return check
    row = next(r for r in c.cohorts if r.get("slug_a") == slug)
    check.target, check.target_status = slug, str(row["status"])
    check.before = int(row["a"])
    check.still_failing, check.fixed = int(row["still_failing"]), int(row["fixed"])
    check.after = int(row["b"]) if row.get("slug_b") else check.still_failing
    check.not_in_b, check.unanalysed = int(row.get("not_in_b", 0)), int(row.get("unanalysed", 0))
    check.unclustered = c.b in c.unclustered
    check.grew = [{"slug": r["slug"], "slug_a": r.get("slug_a"), "a": r["a"], "b": r["b"], "status": r["status"]}
                  for r in c.cohorts if r is not row and _grew(r, slug)]
    check.broken = list(c.broken)
    check.regressed_accounts = [{k: r[k] for k in ("account", "broken", "broken_ids", "a", "b", "p_adjusted")}
                                for r in c.regressed_accounts]
    check.reasons = _reasons(check)
    return check


def _grew(row: dict[str, Any], target: str) -> bool:
    """A cohort grew by more than the target's own still-failing members moving into it (those are
    the target's failures under another name, not new ones)."""
    return int(row["b"]) - int(row.get("from", {}).get(target, 0)) > int(row["a"])


def _reasons(check: FixCheck) -> list[str]:
    reasons = _unseen(check)
    if check.after >= check.before:
        reasons.append(f"the targeted cohort did not shrink ({check.before} -> {check.after}, "
                       f"{check.still_failing} of its investigations still fail)")
    if check.grew:
        shown = ", ".join(f"{g['slug']} {g['a']} -> {g['b']}" for g in check.grew[:SHOWN])
        reasons.append(f"{len(check.grew)} other cohort(s) grew: {shown}")
    if check.broken:
        accounts = ", ".join(f"{r['account']} ({r['broken']})" for r in check.regressed_accounts[:SHOWN])
        reasons.append(f"{len(check.broken)} investigation(s) that were correct are now wrong "
                       f"({', '.join(check.broken[:SHOWN])}" + (", ..." if len(check.broken) > SHOWN else "")
                       + f"), in accounts {accounts}")
    return reasons


def _unseen(check: FixCheck) -> list[str]:
    """What the re-run cannot say of the targeted cohort (compare's words): fail closed on each."""
    reasons = []
    if check.not_in_b:
        reasons.append(f"the targeted cohort was not all re-run ({check.not_in_b} not in B)")
    if check.unanalysed:
        reasons.append(f"{check.unanalysed} of the targeted investigations fail in B without an analysis "
                       f"({check.unanalysed} not analysed in B)")
    if check.unclustered:
        reasons.append("the re-run has failures but no cohorts: run `agentbook backtest cluster` on it")
    return reasons


def render_check(check: FixCheck) -> list[str]:
    """A few lines for one fix: the figures first, then why it is not ready."""
    head = (f"cohort {check.target or '?'}: {check.before} -> {check.after} ({check.target_status}; "
            f"{check.fixed} fixed, {check.still_failing} still failing); accuracy "
            f"{check.accuracy_before:.1%} -> {check.accuracy_after:.1%}")
    lines = [head]
    lines.append("others grew: " + (", ".join(f"{g['slug']} {g['a']} -> {g['b']}" for g in check.grew[:SHOWN])
                                    or "none"))
    lines.append("accounts that regressed: " + (", ".join(
        f"{r['account']} ({r['broken']} broke: {', '.join(r['broken_ids'][:3])})" for r in check.regressed_accounts[:SHOWN])
        or "none"))
    lines.append("verdict: ready" if check.ready else "verdict: NOT ready: " + "; ".join(check.reasons))
    return lines

"""`backtest compare A B`: what changed between two backtests of the same investigations.

Investigations are matched by id: those that flipped correct <-> wrong; cohorts (matched by slug)
that grew, shrank, appeared or vanished; accounts whose accuracy dropped or rose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentbook.backtest.cohorts import read_index
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.report import account_accuracy


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
    cohorts: list[dict[str, Any]] = field(default_factory=list)  # slug, a, b, delta
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
    result.cohorts = _cohort_changes(read_index(fa) or {}, read_index(fb) or {})
    acc_a = account_accuracy([ia[i] for i in common])
    acc_b = account_accuracy([ib[i] for i in common])
    for account in sorted(set(acc_a) & set(acc_b)):
        row = {"account": account, "a": acc_a[account]["accuracy"], "b": acc_b[account]["accuracy"],
               "delta": round(acc_b[account]["accuracy"] - acc_a[account]["accuracy"], 4)}
        if row["delta"] < 0:
            result.regressed_accounts.append(row)
        elif row["delta"] > 0:
            result.improved_accounts.append(row)
    result.regressed_accounts.sort(key=lambda r: (r["delta"], r["account"]))
    result.improved_accounts.sort(key=lambda r: (-r["delta"], r["account"]))
    return result


def _accuracy(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _cohort_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    ca = {c["slug"]: c["count"] for c in a.get("cohorts", [])}
    cb = {c["slug"]: c["count"] for c in b.get("cohorts", [])}
    rows = [{"slug": s, "a": ca.get(s, 0), "b": cb.get(s, 0), "delta": cb.get(s, 0) - ca.get(s, 0)}
            for s in sorted(set(ca) | set(cb))]
    return sorted((r for r in rows if r["delta"]), key=lambda r: (-abs(r["delta"]), r["slug"]))


def render(c: Comparison, limit: int = 20) -> str:
    lines = [f"accuracy {c.accuracy_a:.1%} -> {c.accuracy_b:.1%} over {c.common} investigations in both"]
    if c.only_a or c.only_b:
        lines.append(f"only in A: {len(c.only_a)}, only in B: {len(c.only_b)} (not compared)")
    for label, ids in (("now wrong (were correct)", c.broken), ("now correct (were wrong)", c.fixed)):
        shown = ", ".join(ids[:limit]) + (f", ... {len(ids) - limit} more" if len(ids) > limit else "")
        lines.append(f"{label}: {len(ids)}" + (f": {shown}" if ids else ""))
    if c.cohorts:
        lines.append("cohorts:")
        for r in c.cohorts[:limit]:
            verb = "new" if r["a"] == 0 else "gone" if r["b"] == 0 else "grew" if r["delta"] > 0 else "shrank"
            lines.append(f"  {r['slug']}: {r['a']} -> {r['b']} ({verb})")
    if c.regressed_accounts:
        lines.append("accounts that regressed:")
        lines += [f"  {r['account']}: {r['a']:.0%} -> {r['b']:.0%}" for r in c.regressed_accounts[:limit]]
    return "\n".join(lines)

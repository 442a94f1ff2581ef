"""Cluster a backtest and write `cohorts/<slug>.md` + `cohorts/index.json` (what report/compare read)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from agentbook.backtest.cluster import Cohort, Failure, candidate_cohorts, collect_failures, stability
from agentbook.backtest.folder import BacktestFolder
from agentbook.fsutil import atomic_write_json, atomic_write_text

REPRESENTATIVES = 5
MEMBERS_LISTED = 50


@dataclass
class ClusterSummary:
    failures: int
    cohorts: list[dict[str, Any]]
    unanalysed: list[str] = field(default_factory=list)
    agreement_ari: float = 1.0
    seed: int = 0
    refined_by: str | None = None
    refine_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"failures": self.failures, "agreement_ari": round(self.agreement_ari, 4), "seed": self.seed,
                "refined_by": self.refined_by, "refine_note": self.refine_note,
                "unanalysed": self.unanalysed, "cohorts": self.cohorts}


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "cohort"


def _auto_slug(cohort: Cohort) -> str:
    f = cohort.members[0]
    words = [w for w in re.findall(r"[a-z]{3,}", f.signature) if w not in ("error", "the", "for")][:3]
    return slugify("-".join([f.stage, PurePosixPath(f.component).stem, *words]))


def assign_slugs(cohorts: list[Cohort]) -> None:
    seen: set[str] = set()
    for cohort in cohorts:
        base = slugify(cohort.slug) if cohort.slug else _auto_slug(cohort)
        slug, n = base, 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        cohort.slug = slug


def cohort_json(cohort: Cohort, total_failures: int) -> dict[str, Any]:
    accounts = cohort.accounts
    return {"slug": cohort.slug, "name": cohort.name, "definition": cohort.definition,
            "count": len(cohort.members), "share": round(len(cohort.members) / max(1, total_failures), 4),
            "scope": cohort.scope, "accounts": dict(accounts.most_common()),
            "suspected": [{"location": loc, "count": n} for loc, n in cohort.suspected()[:5]],
            "proposed_change": cohort.proposed_change, "sources": cohort.sources,
            "members": sorted(f.inv.id for f in cohort.members)}


def _rep_line(f: Failure) -> str:
    mode = (f.analysis.get("failure_mode") or f.analysis.get("summary") or "").replace("\n", " ")
    return f"- [{f.inv.id}](../{f.inv.rel}/analysis.md) ({f.inv.account}): {mode[:200]}"


def render_cohort(cohort: Cohort, total_failures: int) -> str:
    accounts = cohort.accounts
    top_account, top_n = accounts.most_common(1)[0]
    scope_why = {"account-specific": f"{top_n} of {len(cohort.members)} in account `{top_account}`",
                 "systemic": f"spread over {len(accounts)} accounts, at most {top_n} in one",
                 "few-accounts": f"{len(accounts)} account(s); too few to call systemic"}[cohort.scope]
    lines = [f"# {cohort.name}", "", f"**Definition.** {cohort.definition}", "",
             (f"- count: {len(cohort.members)} failures ({len(cohort.members) / max(1, total_failures):.0%} "
             "of all analysed failures)"),
             f"- scope: **{cohort.scope}** ({scope_why})",
             "- accounts affected: " + ", ".join(f"`{a}` ({n})" for a, n in accounts.most_common()),
             "- stages: " + ", ".join(sorted({f.stage for f in cohort.members}))]
    sigs = sorted({f.signature for f in cohort.members if f.signature})
    if sigs:
        lines.append("- error signatures: " + "; ".join(f"`{s[:120]}`" for s in sigs[:3]))
    lines += ["", "## Suspected code locations", ""]
    lines += [f"- `{loc}` (cited by {n})" for loc, n in cohort.suspected()[:5]] or ["- none named"]
    if cohort.proposed_change:
        lines += ["", "## Proposed change", "", cohort.proposed_change]
    reps = sorted(cohort.members, key=lambda f: (-float(f.analysis.get("confidence", 0)), f.inv.id))
    lines += ["", "## Representative investigations", ""] + [_rep_line(f) for f in reps[:REPRESENTATIVES]]
    ids = sorted(f"{f.inv.rel}" for f in cohort.members)
    lines += ["", f"## All members ({len(ids)})", ""] + [f"- `{p}`" for p in ids[:MEMBERS_LISTED]]
    if len(ids) > MEMBERS_LISTED:
        lines.append(f"- ... {len(ids) - MEMBERS_LISTED} more in cohorts/index.json")
    return "\n".join(lines) + "\n"


def cluster_backtest(root: str, *, model: str | None = None, seed: int = 0) -> ClusterSummary:
    folder = BacktestFolder(root).require()
    failures, missing = collect_failures(folder)
    cohorts = candidate_cohorts(failures, seed=seed)
    note = ""
    if model and cohorts:
        from agentbook.backtest.refine import refine_cohorts

        cohorts, note = refine_cohorts(cohorts, model)
    assign_slugs(cohorts)
    summary = ClusterSummary(failures=len(failures), cohorts=[cohort_json(c, len(failures)) for c in cohorts],
                             unanalysed=sorted(i.id for i in missing),
                             agreement_ari=stability(failures, (seed, seed + 1)), seed=seed,
                             refined_by=model, refine_note=note)
    _write(folder, cohorts, summary)
    return summary


def _write(folder: BacktestFolder, cohorts: list[Cohort], summary: ClusterSummary) -> None:
    out = folder.cohorts_dir
    keep = {f"{c.slug}.md" for c in cohorts} | {"index.json"}
    for cohort in cohorts:
        atomic_write_text(out / f"{cohort.slug}.md", render_cohort(cohort, summary.failures))
    atomic_write_json(out / "index.json", summary.to_json())
    for stale in out.glob("*.md"):
        if stale.name not in keep:
            stale.unlink()


def read_index(folder: BacktestFolder) -> dict[str, Any] | None:
    import json

    path = folder.cohorts_dir / "index.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

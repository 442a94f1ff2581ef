"""Cluster a backtest and write `cohorts/<slug>.md` + `cohorts/index.json` (what report/compare read)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from agentbook.backtest.cluster import (
    TRACE_CALLS,
    TRACE_ERRORS,
    WORDS_ONLY,
    Cohort,
    Failure,
    candidate_cohorts,
    collect_failures,
    stability,
)
from agentbook.backtest.embeddings import Meaning
from agentbook.backtest.ensemble import HELD
from agentbook.backtest.evidence import annotate, unbound_terms
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.report_md import definition, prose, write_page, write_redacted_json
from agentbook.errors import FatalError
from agentbook.gitops.inert import plain, span

REPRESENTATIVES = 5
MEMBERS_LISTED = 50
BUCKET_SLUG = "no-common-cause"


@dataclass
class ClusterSummary:
    failures: int
    cohorts: list[dict[str, Any]]
    unanalysed: list[str] = field(default_factory=list)
    agreement_ari: float = 1.0
    seed: int = 0
    refined_by: str | None = None
    refine_note: str = ""
    refine_stats: dict[str, Any] = field(default_factory=dict)  # the model pass: calls, tokens, what it did
    no_common_cause: list[str] = field(default_factory=list)  # failures that share a cause with no other
    code: str | None = None
    meaning: Meaning = field(default_factory=lambda: WORDS_ONLY)  # words and meaning, or words only and why
    trace_errors: bool = False  # whether the errors the failures' traces record were read (traceterms.py)
    trace_calls: bool = False  # whether the calls the traces record were read (tracecalls.py)

    def to_json(self) -> dict[str, Any]:
        return {"failures": self.failures, "agreement_ari": round(self.agreement_ari, 4), "seed": self.seed,
                "meaning": self.meaning.to_json(), "trace_errors": self.trace_errors,
                "trace_calls": self.trace_calls,
                "refined_by": self.refined_by, "refine_note": self.refine_note,
                "refine": self.refine_stats, "code": self.code,
                "unanalysed": self.unanalysed, "cohorts": self.cohorts,
                "no_common_cause": {"count": len(self.no_common_cause), "members": self.no_common_cause}}


# letters NFKD does not take apart into an ASCII letter and its marks
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


def ascii_fold(text: str) -> str:
    """`text` lower-cased, its accented Latin letters as their ASCII letters ("Zeitüberschreitung" ->
    "zeituberschreitung", not "zeit" and "berschreitung": a slug of those is cut mid-word); other
    scripts are left as they are (and are separators to a slug)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(text)).strip("-")
    if len(slug) > limit:  # cut at a word's end ("...-add-cascade", not "...-add-cascade-anc")
        end = slug.rfind("-", 0, limit + 1)
        slug = slug[:end] if end > limit // 2 else slug[:limit]
    return slug.rstrip("-") or "cohort"


def _auto_slug(cohort: Cohort) -> str:
    """Stage, file and error words of the most representative member (else the binding terms): never
    whichever member happens to be first."""
    f = cohort.medoid or cohort.members[0]
    source = re.findall(r"[a-z]{3,}", ascii_fold(f.signature)) or [
        w for t in cohort.evidence.get("terms", []) for w in re.findall(r"[a-z]{3,}", ascii_fold(t.removeprefix("class:")))]
    head = [f.stage, PurePosixPath(f.component).stem]
    seen = set("-".join(head).split("-"))
    words = [w for w in dict.fromkeys(source) if w not in seen and w not in ("error", "the", "for", "failed", "with")]
    return slugify("-".join([*dict.fromkeys(head), *words[:3]]))


def assign_slugs(cohorts: list[Cohort]) -> None:
    seen = {BUCKET_SLUG, "index"}  # taken by the bucket's page and index.json (a model may offer either)
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
            "bound_by": cohort.bound_by,
            "count": len(cohort.members), "share": round(len(cohort.members) / max(1, total_failures), 4),
            "scope": cohort.scope, "account_test": cohort.account_test, "accounts": dict(accounts.most_common()),
            "medoid": cohort.medoid.inv.id if cohort.medoid else None, "evidence": cohort.evidence,
            "suspected": [loc for loc in cohort.locations if loc["exists"] is not False][:5],
            "missing_locations": [loc for loc in cohort.locations if loc["exists"] is False][:5],
            "proposed_change": cohort.proposed_change, "sources": cohort.sources,
            "members": sorted(f.inv.id for f in cohort.members)}


def _rep_line(f: Failure) -> str:
    mode = str(f.analysis.get("failure_mode") or f.analysis.get("summary") or "")
    # ids and accounts are safe names (manifest.SAFE_NAME), so the link is the page's own
    return f"- [{f.inv.id}](../{f.inv.rel}/analysis.md) ({f.inv.account}): {prose(mode, 200)}"


def views_line(views: dict[str, float]) -> str:
    """Which of the ensemble's views (ensemble.py) hold the cohort, and how closely (Jaccard of its nearest cohort)."""
    held = [name for name, j in views.items() if j >= HELD]
    return (f"- views that agree: {', '.join(held) or 'none alone'} of {len(views)} ("
            + ", ".join(f"{name} {j:.2f}" for name, j in views.items()) + ")")


def render_cohort(cohort: Cohort, total_failures: int) -> str:
    accounts = cohort.accounts
    top_n = accounts.most_common(1)[0][1]
    # Every field below but the counts restates what analysts wrote about traces anyone may write, and
    # the page is committed and shown in a pull request: it is literal prose or a code span (inert.py;
    # what an analyst quoted in backticks stays a code span: report_md.py).
    lines = [f"# {prose(cohort.name)}", "", f"**Definition.** {definition(cohort.definition, cohort.bound_by)}", "",
             (f"- count: {len(cohort.members)} failures ({len(cohort.members) / max(1, total_failures):.0%} "
             "of all analysed failures)"),
             f"- scope: **{cohort.scope}** ({scope_why(cohort, len(accounts), top_n)})",
             "- accounts affected: " + ", ".join(f"{span(a)} ({n})" for a, n in accounts.most_common()),
             "- stages: " + ", ".join(plain(s) for s in sorted({f.stage for f in cohort.members}))]
    sigs = sorted({f.signature for f in cohort.members if f.signature})
    if sigs:
        lines.append("- error signatures: " + "; ".join(span(s, 120) for s in sigs[:3]))
    evidence = cohort.evidence
    if evidence.get("terms") or evidence.get("trace_terms") or evidence.get("fields"):
        lines.append("- bound by: " + "; ".join(
            [f"{what} " + ", ".join(span(t) for t in evidence[key])
             for key, what in (("terms", "terms"), ("trace_terms", "the traces")) if evidence.get(key)]
            + [f"{plain(k)} {span(str(v))}" for k, v in evidence.get("fields", {}).items()]))
    if evidence.get("unbound"):
        lines.append(unbound_line(evidence["unbound"]))
    if evidence.get("views"):
        lines.append(views_line(evidence["views"]))
    lines += ["", "## Suspected code locations", ""]
    shown = [loc for loc in cohort.locations if loc["exists"] is not False][:5]
    lines += [f"- {span(loc['location'])} (cited by {loc['count']})" + (" (not checked: no --code)"
              if loc["exists"] is None else "") for loc in shown] or ["- none that exists in the code"]
    missing = [loc for loc in cohort.locations if loc["exists"] is False]
    if missing:
        lines.append("- not in the code, so not listed as where to fix: "
                     + ", ".join(f"{span(loc['location'])} ({loc['count']})" for loc in missing[:5]))
    if cohort.proposed_change:
        lines += ["", "## Proposed change (from the most representative members)", "", prose(cohort.proposed_change)]
    reps = [cohort.medoid] if cohort.medoid else []
    reps += sorted((f for f in cohort.members if f is not cohort.medoid),
                   key=lambda f: (-float(f.analysis.get("confidence", 0)), f.inv.id))
    lines += ["", "## Representative investigations (medoid first)", ""] + [_rep_line(f) for f in reps[:REPRESENTATIVES]]
    ids = sorted(f"{f.inv.rel}" for f in cohort.members)
    lines += ["", f"## All members ({len(ids)})", ""] + [f"- {span(p)}" for p in ids[:MEMBERS_LISTED]]
    if len(ids) > MEMBERS_LISTED:
        lines.append(f"- ... {len(ids) - MEMBERS_LISTED} more in cohorts/index.json")
    return "\n".join(lines) + "\n"


def scope_why(cohort: Cohort, n_accounts: int, top_n: int) -> str:
    return scope_reason(cohort.scope, cohort.account_test, n_accounts, top_n)


def scope_reason(scope: str, test: dict[str, Any], n_accounts: int, top_n: int) -> str:
    """Why a cohort has its scope, with the account test's figures (cohort pages and report.md)."""
    if scope == "account-specific":
        return (f"{test['members']} of {test['of']} in account `{test['account']}`, which has "
                f"{test['expected_share']:.0%} of investigations: {test['ratio']}x its share, "
                f"p = {test['p_adjusted']:.2g} ({test['test']})")
    chance = f"; most in one account: `{test['account']}` p = {test['p_adjusted']:.2g}, not unusual" if test else ""
    if scope == "systemic":
        return f"spread over {n_accounts} accounts, at most {top_n} in one{chance}"
    return f"{n_accounts} account{'' if n_accounts == 1 else 's'}; too few to call systemic{chance}"


def cluster_backtest(root: str, *, model: str | None = None, seed: int = 0, code: str | None = None,
                     meaning: bool | str = True, trace: bool = TRACE_ERRORS,
                     calls: bool = TRACE_CALLS) -> ClusterSummary:
    folder = BacktestFolder(root).require()
    code_dir = _code_dir(code)
    failures, missing = collect_failures(folder)
    check_analyses(failures)
    found = candidate_cohorts(failures, seed=seed, meaning=meaning, trace=trace, calls=calls)
    cohorts = found.cohorts
    note = ""
    stats: dict[str, Any] = {}
    if model and cohorts:
        from agentbook.backtest.refine import refine_cohorts

        refined = refine_cohorts(found, model)
        cohorts, note, stats = refined.cohorts, refined.note, refined.stats()
        found.unassigned += refined.bucketed
    shares = account_shares(folder)
    for cohort in cohorts:
        annotate(cohort, found.space, found.rows, shares, code_dir)
        if cohort.views:  # the views the ensemble agreed over (ensemble.py): which hold this cohort
            cohort.evidence["views"] = cohort.views
    assign_slugs(cohorts)
    summary = ClusterSummary(failures=len(failures), cohorts=[cohort_json(c, len(failures)) for c in cohorts],
                             unanalysed=sorted(i.id for i in missing),
                             agreement_ari=stability(failures, (seed, seed + 1), meaning=meaning, trace=trace,
                                                     calls=calls),
                             seed=seed, trace_errors=trace, trace_calls=calls,
                             refined_by=model, refine_note=note, refine_stats=stats,
                             no_common_cause=sorted(f.inv.id for f in found.unassigned),
                             code=str(code_dir) if code_dir else None, meaning=found.meaning)
    _write(folder, cohorts, summary, found.unassigned,
           unbound_terms(found.space, [found.rows[f.inv.id] for f in found.unassigned]))
    return summary


INVALID_LISTED = 10  # invalid analyses named in the error; `agentbook validate` lists them all


def check_analyses(failures: list[Failure]) -> None:
    """FatalError naming each analysis.json that breaks schemas/analysis.schema.json (file:line, field, what).

    Clustering one would mis-cluster silently: a made-up stage becomes a feature, a confidence of 2 or a
    suspected entry without a path is read as if it meant something. `backtest analyze` checks every
    analysis it writes, so an invalid one was written by hand or by another tool; skipping it instead
    would change every cohort's count, share and account test by an amount the reader cannot see.
    The pipeline's own fields (PIPELINE_FIELDS: id, account, meta) are not checked: clustering never
    reads them (a generator that records `meta.mode: templated` clusters as well as an analyst's)."""
    import jsonschema

    from agentbook.backtest.analysis import PIPELINE_FIELDS
    from agentbook.catalog.validate import check_analysis
    from agentbook.shipped import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("analysis"))
    bad = [f for f in failures
           if not validator.is_valid({k: v for k, v in f.analysis.items() if k not in PIPELINE_FIELDS})]
    if not bad:
        return
    findings = [finding for f in bad[:INVALID_LISTED] for finding in check_analysis(f.inv.path / "analysis.json")
                if re.split(r"[/:]", finding.message, maxsplit=1)[0] not in PIPELINE_FIELDS]
    lines = [f"{x.path}:{x.line}: {x.message}" for x in findings]
    more = f"\n... and {len(bad) - INVALID_LISTED} more" if len(bad) > INVALID_LISTED else ""
    one = len(bad) == 1
    raise FatalError(f"{len(bad)} analysis file{'' if one else 's'} break{'s' if one else ''} the analysis schema, so "
                     "clustering would misread them:\n" + "\n".join(lines) + more,
                     hint=f"fix them (`agentbook validate {folder_of(bad[0])}` lists every problem) or delete "
                          "them and run `agentbook backtest analyze` again")


def folder_of(failure: Failure) -> Path:
    """The backtest folder a failure comes from (DIR/investigations/<account>/<id>)."""
    return failure.inv.path.parents[2]


def _code_dir(code: str | None) -> Path | None:
    if code is None:
        return None
    path = Path(code)
    if not path.is_dir():
        raise FatalError(f"--code is not a folder: {code}", hint="point it at the system's repository")
    return path.resolve()


def account_shares(folder: BacktestFolder) -> dict[str, float]:
    """Each account's share of all investigations (what the account test compares a cohort with)."""
    counts = Counter(inv.account for inv in folder.iter_investigations())
    total = sum(counts.values())
    return {a: n / total for a, n in counts.items()} if total else {}


def unbound_line(unbound: list[dict[str, Any]]) -> str:
    """What analysts wrote that binds nothing, passing runs' traces recording it as often (evidence.py)."""
    return ("- written, but binding nothing (runs that went right record it as often): " + ", ".join(
        f"{span(u['term'])} ({u['members']} written; in {u['failures_traces']:.0%} of failures' traces, "
        f"{u['passing_traces']:.0%} of passing runs')" for u in unbound))


def render_bucket(bucket: list[Failure], unbound: list[dict[str, Any]] | None = None) -> str:
    lines = ["# Failures with no common cause", "",
             (f"{len(bucket)} failures whose findings share no cause with any other failure (or too little "
              "to be one). Each may still be worth a look; none is counted as a cause."), ""]
    if unbound:
        lines += [unbound_line(unbound), ""]
    lines += [_rep_line(f) for f in sorted(bucket, key=lambda f: f.inv.id)[:MEMBERS_LISTED]]
    if len(bucket) > MEMBERS_LISTED:
        lines.append(f"- ... {len(bucket) - MEMBERS_LISTED} more in cohorts/index.json")
    return "\n".join(lines) + "\n"


def _write(folder: BacktestFolder, cohorts: list[Cohort], summary: ClusterSummary, bucket: list[Failure],
           unbound: list[dict[str, Any]] | None = None) -> None:
    out = folder.cohorts_dir
    keep = {f"{c.slug}.md" for c in cohorts} | {"index.json"} | ({f"{BUCKET_SLUG}.md"} if bucket else set())
    for cohort in cohorts:
        write_page(out / f"{cohort.slug}.md", render_cohort(cohort, summary.failures))
    if bucket:
        write_page(out / f"{BUCKET_SLUG}.md", render_bucket(bucket, unbound))
    write_redacted_json(out / "index.json", summary.to_json())
    for stale in out.glob("*.md"):
        if stale.name not in keep:
            stale.unlink()


def read_index(folder: BacktestFolder) -> dict[str, Any] | None:
    import json

    path = folder.cohorts_dir / "index.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

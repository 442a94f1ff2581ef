"""What `agentbook eval run --json` prints: the run in a few KB whatever its size.

A run's whole document grows with cases x attempts x checks (1.16 MB for a 200-case run), more than an
agent can read in one answer. The bounded view keeps what it acts on: the totals, each prompt's pass
rate, the cases that did not pass (the first `limit`), each with the checks that failed, cut, and the
start of the model's answer, and where the rest is: the stored run file and `eval show SUITE ID --run
RUN`. `--full` prints the whole document (`full_view`).
"""

from __future__ import annotations

from typing import Any

RUN_LIST_LIMIT = 20  # cases that did not pass listed by `eval run --json` (`--limit`)
CHECK_CHARS = 240  # of a failed check's reason
CHECKS_LISTED = 5  # distinct failed checks per listed case


def full_view(report: dict[str, Any]) -> dict[str, Any]:
    """Every case with its attempts and checks; the model's answers stay in the stored run file."""
    cases = [{**c, "attempts": [{k: v for k, v in a.items() if k != "outputs"} for a in c["attempts"]]}
             for c in report["cases"]]
    return {**report, "cases": cases}


def run_view(report: dict[str, Any], limit: int = RUN_LIST_LIMIT) -> dict[str, Any]:
    """The bounded document: totals, per-prompt rates, the first `limit` cases that did not pass (0: all)."""
    failing = [c for c in report["cases"] if c["verdict"] != "pass"]
    listed = failing if limit <= 0 else failing[:limit]
    show = f"agentbook eval show {report['suite']} ID --run {report['run_id']}"
    cases = [_case_entry(c, show.replace(" ID ", f" {c['id']} ")) for c in listed]
    omitted = len(failing) - len(listed)
    view = {k: report[k] for k in ("run_id", "suite", "model", "grader", "started", "seconds", "summary")}
    return {**view, "by_prompt": prompt_rates(report), "cases": cases, "listed": len(cases), "omitted": omitted,
            "truncated": omitted > 0 or any(c["truncated"] for c in cases),
            "literal_braces": report["literal_braces"], "stored": report.get("stored"),
            "more": f"one case whole: {show}; every case: --full (--limit 0: every case that did not pass); "
                    "every answer: the stored file"}


def _case_entry(case: dict[str, Any], show: str) -> dict[str, Any]:
    stats = case["stats"]
    attempt = next((a for a in case["attempts"] if a["error"] or not a["pass"]), None)
    checks = failed_checks(attempt) if attempt is not None else []
    entry: dict[str, Any] = {"id": case["id"], "verdict": case["verdict"], "passes": stats["passes"],
                             "n": stats["n"], "flaky": stats["flaky"],
                             "attempt": attempt["index"] if attempt is not None else None,
                             "checks": [_cut_check(c) for c in checks[:CHECKS_LISTED]],
                             "checks_omitted": max(0, len(checks) - CHECKS_LISTED)}
    cut = entry["checks_omitted"] > 0 or any(len(c["reason"]) > CHECK_CHARS for c in checks[:CHECKS_LISTED])
    if attempt is not None and not checks:  # no check ran: a model error, a bad assertion, a missing file
        entry["reason"], more = _cut(str(attempt["reason"]))
        cut = cut or more
    entry["answer"] = case.get("answer")
    entry["show"] = show
    entry["truncated"] = cut
    return entry


def failed_checks(attempt: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks of `attempt` that did not pass, each once, with how often and on which prompts it failed
    (a suite running three prompts failed one check thrice, which hid the others)."""
    asserts = attempt.get("asserts") or []
    prompts = list(dict.fromkeys(str(a["prompt"]) for a in asserts if a.get("prompt")))
    failed: dict[tuple[str, str, bool], list[str]] = {}
    for a in asserts:
        if a.get("error") or not a.get("pass"):
            key = (str(a["type"]), str(a["reason"]), bool(a.get("error")))
            failed.setdefault(key, []).append(str(a.get("prompt") or ""))
    out = []
    for (kind, reason, error), on in failed.items():
        check: dict[str, Any] = {"type": kind, "reason": reason, "error": error, "times": len(on)}
        if len(prompts) > 1:
            check["prompts"] = list(dict.fromkeys(on))
            check["all_prompts"] = set(on) == set(prompts)
        out.append(check)
    return out


def _cut_check(check: dict[str, Any]) -> dict[str, Any]:
    reason, _ = _cut(check["reason"])
    return {**check, "reason": reason}


def _cut(text: str) -> tuple[str, bool]:
    if len(text) <= CHECK_CHARS:
        return text, False
    return text[:CHECK_CHARS] + f" [... {len(text) - CHECK_CHARS} chars more: `show`]", True


def prompt_rates(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per prompt the run ran: attempts graded on it, and how many passed every check on it (a case's
    `threshold` is not applied here), failed one, or could not be graded."""
    labels = sorted(report.get("prompts") or [], key=len, reverse=True)  # longest first: "p" is a prefix of "p2"
    counts = {label: {"prompt": label, "attempts": 0, "passed": 0, "failed": 0, "errors": 0}
              for label in report.get("prompts") or []}
    for case in report["cases"]:
        for attempt in case["attempts"]:
            for label, outcome in _attempt_outcomes(attempt, labels).items():
                counts[label]["attempts"] += 1
                counts[label][outcome] += 1
    return [{**c, "pass_rate": round(c["passed"] / c["attempts"], 4) if c["attempts"] else 0.0}
            for c in counts.values()]


def _attempt_outcomes(attempt: dict[str, Any], labels: list[str]) -> dict[str, str]:
    """passed / failed / errors for each prompt in one attempt. Checks name their prompt only when the
    case ran more than one (several prompts, or a list variable's combinations: `label [lang=fr]`)."""
    asserts = attempt.get("asserts") or []
    if attempt["error"] and not asserts:  # the attempt stopped before grading (a model error)
        return {label: "errors" for label in labels}
    outcome = {label: "passed" for label in labels}
    for a in asserts:
        named = str(a.get("prompt") or "")
        owners = [next((lb for lb in labels if named == lb or named.startswith(lb + " [")), "")] if named else labels
        for label in owners:
            if not label:
                continue
            if a.get("error"):
                outcome[label] = "errors"
            elif not a.get("pass") and outcome[label] == "passed":
                outcome[label] = "failed"
    return outcome

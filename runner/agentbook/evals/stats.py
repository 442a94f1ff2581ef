"""Suite statistics for `eval stats`, and the repeatability statistics of a case's runs."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from agentbook.evals import runs as runstore
from agentbook.evals.store import SingleFileSuite, Suite


def suite_stats(suite: Suite) -> dict[str, Any]:
    infos = suite.list_cases()
    asserts = Counter(t for c in infos for t in c.all_asserts)
    inherited = Counter(t for c in infos for t in c.inherited)
    counts = Counter(c.id for c in infos)
    edit_path = "split files"
    if isinstance(suite, SingleFileSuite):
        index = suite.file.index()
        edit_path = "fast splice" if index.fast else f"full round-trip ({index.reason})"
    elif suite.layout == "csv":
        edit_path = "rows rewritten in place; new rows are written in the CSV"
    elif suite.layout == "jsonl":
        edit_path = "lines rewritten in place; new cases appended as lines"
    out: dict[str, Any] = {
        "suite": str(suite.path), "layout": suite.layout, "layout_words": suite.layout_words, "cases": len(infos),
        "bytes": sum(c.size for c in infos), "asserts": dict(asserts.most_common()),
        "asserts_inherited": dict(inherited.most_common()),
        "default_test": _default_test(suite, infos),
        "assigned_ids": sum(not c.explicit_id for c in infos),
        "largest": [{"id": c.id, "size": c.size} for c in sorted(infos, key=lambda c: -c.size)[:5]],
        "duplicates": sorted(i for i, n in counts.items() if n > 1), "edit_path": edit_path,
    }
    run_ids = runstore.list_runs(suite.path)
    if run_ids:
        run = runstore.load_run(suite.path, "latest")
        out["last_run"] = {"run_id": run["run_id"], **run["summary"]}
    return out


def _default_test(suite: Suite, infos: list[Any]) -> dict[str, Any] | None:
    """What every case inherits from defaultTest: its assertions' types, the names of its vars, the keys of
    its options, where it is written; None without one."""
    from agentbook.evals.defaults import source

    default = suite.default_test()
    if not default:
        return None
    def keys(name: str) -> list[str]:
        value = default.get(name)
        return [str(k) for k in value] if isinstance(value, dict) else []

    inherited = infos[0].inherited if infos else []
    return {"source": source(suite.config(), suite.path), "asserts": inherited, "vars": keys("vars"),
            "options": keys("options"), "other": sorted(str(k) for k in default if k not in
                                                          ("assert", "vars", "options"))}


def wilson(passes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a pass rate: honest at small n, unlike passes/n +- 2 sigma."""
    if n == 0:
        return 0.0, 1.0
    p = passes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_hat_k(passes: int, n: int, k: int) -> float:
    """pass^k: the chance that k runs drawn without replacement from these n all pass (tau-bench)."""
    if k > n or k <= 0:
        return float("nan")
    return math.comb(passes, k) / math.comb(n, k)


def repeat_stats(outcomes: list[bool], min_pass: int) -> dict[str, Any]:
    n, passes = len(outcomes), sum(outcomes)
    low, high = wilson(passes, n)
    ks = sorted({k for k in (1, 2, 3, 5, n) if 0 < k <= n})
    return {"n": n, "passes": passes, "pass_rate": round(passes / n, 4) if n else 0.0,
            "wilson_low": round(low, 4), "wilson_high": round(high, 4),
            "pass_hat_k": {str(k): round(pass_hat_k(passes, n, k), 4) for k in ks},
            "flaky": 0 < passes < n, "min_pass": min_pass}

"""Eval suites: the store (single file and one file per case), CRUD, runs, graders, cache, capture.

Library API (DESIGN.md, Contracts):

    suite = open_suite("evals/triage.yaml")          # either layout
    suite.list_cases(); suite.get_case("checkout-timeout")
    suite.add_case({...}); suite.edit_case("checkout-timeout", [("assert[0].value", "payments")], [])
    report = run_suite(suite, RunOptions(model="scripted:x.script.yaml"))
    findings = validate_suite("evals/triage.yaml")

Names are imported on first use, so `agentbook eval show` does not pay for the model SDK.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # `typing` itself costs `agentbook eval list` more than the rest of this package
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "CaseInfo": "agentbook.evals.rows", "EditResult": "agentbook.evals.cases", "Suite": "agentbook.evals.store",
    "open_suite": "agentbook.evals.store", "RunOptions": "agentbook.evals.runner",
    "run_suite": "agentbook.evals.runner", "run_suite_async": "agentbook.evals.runner",
    "validate_suite": "agentbook.evals.validate", "split_suite": "agentbook.evals.split",
    "capture_case": "agentbook.evals.capture",
}

__all__ = ["CaseInfo", "EditResult", "RunOptions", "Suite", "capture_case", "open_suite", "run_suite",
           "run_suite_async", "split_suite", "validate_suite"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentbook.evals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

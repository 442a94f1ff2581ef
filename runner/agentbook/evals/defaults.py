"""promptfoo's `defaultTest`: what every case of a suite inherits.

promptfoo (its configuration reference and evaluator) treats `defaultTest` as a partial case, written
inline or as `file://` to a YAML/JSON file, and gives each test: `vars` = defaultTest's then the test's
own (the test's win), `assert` = defaultTest's assertions followed by the test's, `options` and
`metadata` merged key by key the same way, and `threshold`, `provider` (and agentbook's `repeat`,
`min_pass`) the test's else the default's. `eval list`, `stats` and `show` count and show what a case
inherits, marked as such; `eval run` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals.index import REF_PREFIX, Loader

MERGED = ("vars", "options", "metadata")  # mappings merged key by key (the case's keys win)


def load_default_test(config: dict[str, Any], base: Path, root: Path) -> dict[str, Any]:
    """The suite's `defaultTest` as a mapping ({} without one), read from its file when it names one."""
    from agentbook.evals.render import read_ref

    default = config.get("defaultTest") or {}
    if isinstance(default, str) and default.startswith("file://"):
        path, text = read_ref(default, base, root)
        default = yamlsafe.load(text, str(path), loader=Loader) or {}
    if not isinstance(default, dict):
        raise FatalError("`defaultTest` must be a mapping (a partial case) or a file:// path",
                         hint="write defaultTest: {assert: [...], vars: {...}} or defaultTest: file://defaults.yaml")
    return default


def assert_type(assertion: Any) -> str:
    """The type a listing shows for one assertion (`$ref:POINTER` until `named` resolves it)."""
    if not isinstance(assertion, dict):
        return "?"
    return str(assertion["type"]) if "type" in assertion else f"{REF_PREFIX}{assertion['$ref']}" \
        if "$ref" in assertion else "?"


def assert_types(default: dict[str, Any]) -> list[str]:
    items = default.get("assert")
    return [assert_type(a) for a in items] if isinstance(items, list) else []


def inherited(default: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """What `case` takes from `default`: every default assertion, the keys of `vars`/`options`/`metadata`
    it does not set itself, and any other field it does not set."""
    out: dict[str, Any] = {}
    for key, value in default.items():
        if key == "assert":
            if value:
                out[key] = value
        elif key in MERGED and isinstance(value, dict):
            own = case.get(key)
            kept = {k: v for k, v in value.items() if not isinstance(own, dict) or k not in own}
            if kept:
                out[key] = kept
        elif key not in case:
            out[key] = value
    return out


def source(config: dict[str, Any], suite: Path) -> str:
    """Where the defaults are written, in words: `defaultTest in SUITE` or its file reference."""
    default = config.get("defaultTest")
    if isinstance(default, str):
        return f"defaultTest: {default} (from {suite.name})"
    return f"defaultTest in {suite.name}"

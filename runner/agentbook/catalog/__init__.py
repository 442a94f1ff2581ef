"""Skills and runbooks: load them leniently for the runner, validate them strictly for authors.

The library API: `load_catalog(repo_root) -> Catalog`, `parse_runbook(path) -> Runbook`,
`validate_paths(paths, profile) -> list[Finding]`.
"""

from typing import Any

from agentbook.catalog.findings import Finding
from agentbook.catalog.loader import Catalog, LoadProblem, load_catalog, shipped_root
from agentbook.catalog.runbook import Gate, Runbook, Step, parse_runbook
from agentbook.catalog.skill import Skill

__all__ = ["Catalog", "Finding", "Gate", "LoadProblem", "Runbook", "Skill", "Step", "load_catalog",
           "parse_runbook", "shipped_root", "validate_paths"]


def __getattr__(name: str) -> Any:
    # The validator pulls in jsonschema; the runner, which only loads, should not pay for it.
    if name == "validate_paths":
        from agentbook.catalog.validate import validate_paths

        return validate_paths
    raise AttributeError(name)

"""Where agentbook's own files are: its skills/, runbooks/ and schemas/, from a checkout or a wheel.

In a source checkout they sit at the top of the repo; a wheel carries them inside the package as
`agentbook/_catalog/` (setup.py copies them at build time). Every package asks here, so a wheel
install works the same as a checkout.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import agentbook
from agentbook.errors import FatalError

BUNDLED_DIR = "_catalog"  # inside the installed package: agentbook/_catalog/{skills,runbooks,schemas}


def shipped_root() -> Path | None:
    """Where agentbook's own skills/ and runbooks/ are: in the wheel, or at the top of a source checkout."""
    package = Path(agentbook.__file__).resolve().parent
    bundled = package / BUNDLED_DIR
    if (bundled / "skills").is_dir() or (bundled / "runbooks").is_dir():
        return bundled
    checkout = package.parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "runner" / "agentbook").is_dir():
        return checkout
    return None


def schema_path(kind: str) -> Path:
    """schemas/<kind>.schema.json, shipped next to the catalog (checkout or wheel)."""
    root = shipped_root()
    if root is None:
        raise FatalError(f"cannot find agentbook's {kind} schema", hint="reinstall agentbook")
    return root / "schemas" / f"{kind}.schema.json"


@cache
def load_schema(kind: str) -> dict[str, Any]:
    """The parsed JSON Schema for `kind` (runbook, skill, eval-suite, script, analysis)."""
    return dict(json.loads(schema_path(kind).read_text(encoding="utf-8")))

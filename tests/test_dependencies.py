"""Every runtime dependency declared in pyproject.toml is imported by agentbook (one that nothing
imports is weight for every install, like `mdit-py-plugins` was)."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT

# distribution name -> the module agentbook imports
IMPORT_NAME = {"markdown-it-py": "markdown_it", "pyyaml": "yaml", "ruamel.yaml": "ruamel.yaml"}


def test_each_declared_dependency_is_imported_somewhere() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "runner" / "agentbook").rglob("*.py"))
    unused = []
    for requirement in project["dependencies"]:
        dist = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        module = IMPORT_NAME.get(dist, dist.replace("-", "_"))
        if not re.search(rf"^\s*(?:from|import)\s+{re.escape(module)}\b", source, re.MULTILINE):
            unused.append(dist)
    assert not unused, f"declared but never imported: {unused}"

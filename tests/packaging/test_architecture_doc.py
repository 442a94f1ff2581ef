"""docs/ARCHITECTURE.md stays the project's own map: every path it names exists in the repository,
every package under runner/agentbook/ is on it, and it cites nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "ARCHITECTURE.md"
# Backticked names under a top-level folder of the repository, or its top-level files.
TOP = ("skills", "runbooks", "schemas", "runner", "tests", "bench", "examples", "docs", ".ci")
TOPS = "|".join(re.escape(t) for t in TOP)
PATHISH = re.compile(rf"`((?:{TOPS})/[A-Za-z0-9_.\-/<>*]*|[A-Z]+\.md|pyproject\.toml|setup\.py)`")


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_it_cites_nothing_outside_the_repository() -> None:
    body = text()
    for outside in ("/work/", "DESIGN.md", "shared/", "../"):
        assert outside not in body, outside
    for link in re.findall(r"\]\(([^)]+)\)", body):
        assert not link.startswith(("/", "..")), link
        if not link.startswith(("http://", "https://", "#")):
            assert (DOC.parent / link).exists(), link


def test_every_path_it_names_exists() -> None:
    missing = []
    for name in sorted(set(PATHISH.findall(text()))):
        if any(ch in name for ch in "<>*"):
            continue  # a pattern such as runbooks/<name>.md
        if not (REPO_ROOT / name).exists():
            missing.append(name)
    assert not missing, f"named in docs/ARCHITECTURE.md but not in the repository: {missing}"


def test_every_package_is_on_the_map() -> None:
    assert PATHISH.findall(text()), "the path pattern finds nothing: this test would pass vacuously"
    packages = sorted(p.parent.name for p in (REPO_ROOT / "runner" / "agentbook").glob("*/__init__.py"))
    body = text()
    absent = [name for name in packages if f"`{name}/`" not in body]
    assert not absent, f"packages missing from docs/ARCHITECTURE.md: {absent}"

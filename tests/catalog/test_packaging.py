"""agentbook's own skills, runbooks and schemas are found from a source checkout and from a wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agentbook.catalog import load_catalog, shipped_root
from agentbook.shipped import schema_path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_source_checkout_finds_the_top_level_catalog(tmp_path: Path) -> None:
    assert shipped_root() == REPO_ROOT
    assert schema_path("runbook") == REPO_ROOT / "schemas" / "runbook.schema.json"
    cat = load_catalog(tmp_path)  # an unrelated, empty repository still sees agentbook's own catalog
    own = load_catalog(REPO_ROOT, shipped=None)
    assert [(s.name, s.source) for s in cat.skills] == [(s.name, "agentbook") for s in own.skills]
    assert [(r.name, r.source) for r in cat.runbooks] == [(r.name, "agentbook") for r in own.runbooks]


@pytest.mark.slow
def test_wheel_ships_the_catalog_inside_the_package(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    for name in ("skills", "runbooks", "schemas"):
        shutil.copytree(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "runner" / "agentbook", src / "runner" / "agentbook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(src)], check=False, capture_output=True, text=True, timeout=600)
    if built.returncode != 0 and ("NewConnectionError" in built.stderr or "No matching distribution" in built.stderr):
        pytest.skip("building a wheel needs the build backend from the package index, which is unreachable")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("agentbook-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "agentbook/_catalog/schemas/runbook.schema.json" in names
    for skill_md in (REPO_ROOT / "skills").glob("*/SKILL.md"):
        assert f"agentbook/_catalog/skills/{skill_md.parent.name}/SKILL.md" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = ("import json, agentbook\nfrom agentbook.catalog import load_catalog, shipped_root\n"
             "c = load_catalog('.')\n"
             "from agentbook.shipped import load_schema\n"
             "assert all(load_schema(k) for k in ('runbook', 'eval-suite', 'script', 'analysis'))\n"
             "print(json.dumps([agentbook.__file__, str(shipped_root()), sorted(s.name for s in c.skills)]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, check=True).stdout
    module, root, skills = json.loads(out)
    assert module == str(site / "agentbook" / "__init__.py")
    assert root == str(site / "agentbook" / "_catalog")
    assert skills == sorted(p.parent.name for p in (REPO_ROOT / "skills").glob("*/SKILL.md"))

"""The install line: one repository address (pyproject's `[project.urls] Repository`) repeated by the
README, every shipped skill's `compatibility` and the example workflows; and the README's pip line
installs a CLI that names the tagged commit (run against a local clone in place of the address)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.packaging.conftest import (
    REPO_ROOT,
    Snapshot,
    clean_env,
    fresh_venv,
    git,
    pip_install,
    repository_url,
)

from agentbook import __version__

URL = repository_url()
TAG = f"v{__version__}"
LINE = f'"git+{URL}@{TAG}"'
GIT_URL = re.compile(r"git\+(https?|ssh|file)://[^\s\"'@]+")


def install_block() -> list[str]:
    """The commands of the README's install section (its first fenced block)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Install it in your own project\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_address_is_set_once_in_pyproject() -> None:
    assert re.fullmatch(r"https://[a-z0-9.-]+/[\w./-]+", URL), URL


def test_the_readme_installs_from_the_repository_at_the_release_tag() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("## Install it in your own project") < readme.index("## Tour")  # first screen
    assert install_block() == [f"uv tool install {LINE}", f"pipx install {LINE}", f"pip install {LINE}"]
    assert "pip install agentbook" not in readme  # a name on an index anyone could register


def test_every_shipped_skill_says_how_to_get_the_cli() -> None:
    for skill in sorted((REPO_ROOT / "skills").glob("*/SKILL.md")):
        front = yaml.safe_load(skill.read_text(encoding="utf-8").split("---\n")[1])
        compatibility = front.get("compatibility", "")
        assert f"uv tool install {LINE}" in compatibility, skill
        assert f">= {__version__}" in compatibility or f"{__version__} or later" in compatibility, skill


def test_the_workflows_install_from_the_same_address() -> None:
    for workflow in sorted((REPO_ROOT / "examples" / "github").glob("*.yml")):
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        assert data["env"]["AGENTBOOK_URL"] == URL, workflow


def test_no_other_address_is_used_anywhere() -> None:
    files = [REPO_ROOT / "README.md", REPO_ROOT / "AGENTS.md", *(REPO_ROOT / "docs").glob("*.md"),
             *(REPO_ROOT / "skills").glob("*/SKILL.md"), *(REPO_ROOT / "examples" / "github").glob("*.yml")]
    found = {m.group(0).removeprefix("git+") for f in files for m in GIT_URL.finditer(f.read_text(encoding="utf-8"))}
    assert found == {URL}, found - {URL}
    for workflow in (REPO_ROOT / "examples" / "github").glob("*.yml"):
        assert '"git+${AGENTBOOK_URL}@${AGENTBOOK_COMMIT}"' in workflow.read_text(encoding="utf-8"), workflow


@pytest.mark.slow
def test_the_readme_pip_line_installs_the_tagged_commit(snapshot: Snapshot, tmp_path: Path) -> None:
    """The README's own pip line, with a clone of this work (tagged like a release) in place of the
    address. --no-deps: the wheel test installs the dependencies; this one is about the line."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(snapshot.root), str(clone))
    git(clone, "tag", TAG)
    python = fresh_venv(tmp_path / "venv")
    line = install_block()[2].replace(URL, clone.as_uri())
    args = shlex.split(line)
    assert args[:2] == ["pip", "install"]
    pip_install(python, "--no-deps", *args[2:])
    done = subprocess.run(["agentbook", "--version"], capture_output=True, text=True, cwd=tmp_path, check=False,
                          env=clean_env(tmp_path / "home", python.parent))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"agentbook {__version__} (commit {snapshot.commit[:12]})"

"""`skills install --target DIR` writes, as root in CI, into DIR, and DIR's folders are the repository's: a
pull request's checkout can commit `.claude/skills` (or `.claude`) as a link to any host folder. The install
followed it: a repository's skill named `sitecustomize` (a valid skill name) holding an `__init__.py`, installed
with `--repo .`, landed in the linked folder, and in a Python's site-packages that is a module every Python
started on the host imports. A target a link leads out of its repository is now refused (exit 3), nothing
written; links inside the repository, and above it (the user's own layout), still work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git

Cli = Callable[..., CliResult]
SKILL = "---\nname: sitecustomize\ndescription: Looks harmless. Use it when you want to see what it does.\n---\nHi.\n"


def _checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "skills" / "sitecustomize").mkdir(parents=True)
    (repo / "skills" / "sitecustomize" / "SKILL.md").write_text(SKILL)
    (repo / "skills" / "sitecustomize" / "__init__.py").write_text("open('/tmp/pwned', 'w')\n")
    git(tmp_path, "init", "-q", str(repo))
    return repo


@pytest.mark.parametrize("link", [".claude/skills", ".claude"])
def test_a_target_linked_out_of_its_repository_is_refused(run_cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, link: str) -> None:
    repo = _checkout(tmp_path)
    site = tmp_path / "site-packages"
    site.mkdir()
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    (repo / link).symlink_to(site if link == ".claude/skills" else tmp_path)
    target = ".claude/skills" if link == ".claude/skills" else ".claude/site-packages"
    monkeypatch.chdir(repo)
    r = run_cli("skills", "install", "sitecustomize", "--repo", ".", "--target", target, "--json")
    assert r.code == 3, r.out + r.err
    assert "leads out of the repository" in r.err
    assert list(site.iterdir()) == []


def test_targets_the_repository_or_the_user_links_still_install(run_cli: Cli, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _checkout(tmp_path)
    (repo / ".agents" / "skills").mkdir(parents=True)
    (repo / ".claude").mkdir()
    (repo / ".claude" / "skills").symlink_to("../.agents/skills")  # inside the repository
    monkeypatch.chdir(repo)
    r = run_cli("skills", "install", "sitecustomize", "--repo", ".", "--target", ".claude/skills", "--json")
    assert r.code == 0, r.err
    assert (repo / ".agents" / "skills" / "sitecustomize" / "SKILL.md").is_file()
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "dotfiles").mkdir()
    (home / ".claude").symlink_to(tmp_path / "dotfiles")  # no repository: the user's own layout
    r = run_cli("skills", "install", "sitecustomize", "--repo", ".", "--target", home / ".claude" / "skills", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["installed"][0]["action"] == "copied"
    assert (tmp_path / "dotfiles" / "skills" / "sitecustomize" / "SKILL.md").is_file()

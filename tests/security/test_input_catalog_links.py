"""A repository's skills and runbooks that are symlinks out of it: a `SKILL.md` or runbook linked to a
file of the user's (its front-matter then became a skill in the agent's prompt, or a runbook to run),
to `/proc/self/environ` (read into the runner), a skill folder linked elsewhere, and a `SKILL.md` that
is a fifo (every catalog load, `skills list` and `validate` hung). The catalog skips each with a
note, `validate` reports each, nothing of the outside file is printed; links inside the repository
still work."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult

from agentbook.catalog import load_catalog

OUTSIDE_TEXT = "PRIVATE-outside-9f3k2m"
OUTSIDE = f"---\nname: private\ndescription: {OUTSIDE_TEXT} description\n---\n{OUTSIDE_TEXT} body\n"
SKILL = "---\nname: {name}\ndescription: An ordinary skill of the repository.\n---\nDo it.\n"
RUNBOOK = "---\nname: fine\ndescription: An ordinary runbook.\n---\nDo it.\n\n## Step\nDo the step.\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "private.md").write_text(OUTSIDE)
    (outside / "private" / "SKILL.md").write_text(OUTSIDE)
    repo = tmp_path / "repo"
    for name in ("linked", "environ", "fifo", "fine"):
        (repo / "skills" / name).mkdir(parents=True)
    (repo / "runbooks").mkdir()
    (repo / "skills" / "linked" / "SKILL.md").symlink_to(outside / "private.md")
    (repo / "skills" / "environ" / "SKILL.md").symlink_to("/proc/self/environ")
    os.mkfifo(repo / "pipe")
    (repo / "skills" / "fifo" / "SKILL.md").symlink_to("../../pipe")  # inside the repository, but a fifo
    (repo / "skills" / "folder").symlink_to(outside / "private")
    (repo / "skills" / "fine" / "SKILL.md").write_text(SKILL.format(name="fine"))
    (repo / ".claude" / "skills").mkdir(parents=True)
    (repo / ".claude" / "skills" / "shared").symlink_to("../../skills/fine")  # a link inside: still a skill
    (repo / "runbooks" / "private.md").symlink_to(outside / "private.md")
    (repo / "runbooks" / "environ.md").symlink_to("/proc/self/environ")
    (repo / "runbooks" / "fine.md").write_text(RUNBOOK)
    return repo


@pytest.mark.timeout(60)  # the fifo hung the load for ever
def test_the_catalog_skips_links_out_of_the_repository(repo: Path) -> None:
    catalog = load_catalog(repo, shipped=None)
    assert [s.name for s in catalog.skills] == ["fine"]
    assert [s.path for s in catalog.skills] == [repo.resolve() / "skills" / "fine" / "SKILL.md"]
    assert [r.name for r in catalog.runbooks] == ["fine"]
    problems = {p.path.relative_to(repo.resolve()).as_posix(): p.reason for p in catalog.problems}
    for path in ("skills/linked/SKILL.md", "skills/environ/SKILL.md", "skills/folder/SKILL.md",
                 "runbooks/private.md", "runbooks/environ.md"):
        assert problems[path] == "skipped: a symlink that leads out of the repository", path
    assert problems["skills/fifo/SKILL.md"] == "cannot read file: a fifo, not a regular file"
    assert ".claude/skills/shared/SKILL.md" not in problems  # a link inside: the same skill, read once


@pytest.mark.timeout(120)
def test_commands_show_nothing_of_a_file_outside(repo: Path, run_cli: Callable[..., CliResult], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    results: list[CliResult] = [run_cli(*args) for args in (
        ("skills", "list", "--json"), ("skills", "show", "linked"), ("skills", "show", "folder"),
        ("runbooks", "list", "--json"), ("runbooks", "show", "private"),
        ("skills", "install", "--target", str(tmp_path / "installed"), "--json"))]
    for result in results:
        assert OUTSIDE_TEXT not in result.out + result.err, result
    assert {s["name"] for s in json.loads(results[0].out)["skills"]} >= {"fine"}
    assert not (tmp_path / "installed" / "private").exists()
    checked = run_cli("validate", "--json")
    assert checked.code == 1 and OUTSIDE_TEXT not in checked.out + checked.err
    findings = [json.loads(line) for line in checked.out.splitlines() if line.startswith("{")]
    outside = {f["path"] for f in findings if f["rule"] == "link-outside"}
    assert outside == {"skills/linked/SKILL.md", "skills/environ/SKILL.md", "skills/folder/SKILL.md",
                       "runbooks/private.md", "runbooks/environ.md"}


@pytest.mark.timeout(60)  # a fifo in the skill's folder blocked the copy
def test_an_installed_copy_carries_no_link_out_of_the_skill(repo: Path, run_cli: Callable[..., CliResult],
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A skill's other files that are links out of its folder (`notes.txt -> /etc/shadow`, `home -> /root`)
    were copied as links into the target (`~/.claude/skills`): the next agent that followed the skill read
    the user's files as the skill's own. A copy carries no link leading out of the skill, and no fifo."""
    fine = repo / "skills" / "fine"
    (fine / "notes.txt").symlink_to(tmp_path / "outside" / "private.md")
    (fine / "home").symlink_to(tmp_path / "outside")
    (fine / "climb").symlink_to("../../../outside/private.md")
    (fine / "environ").symlink_to("/proc/self/environ")
    os.mkfifo(fine / "pipe")
    (fine / "same").symlink_to("SKILL.md")  # a link inside the skill stays
    monkeypatch.chdir(repo)
    result = run_cli("skills", "install", "fine", "--target", str(tmp_path / "installed"), "--json")
    assert result.code == 0, result.err
    copy = tmp_path / "installed" / "fine"
    assert sorted(p.name for p in copy.iterdir()) == [".agentbook-install.json", "SKILL.md", "same"]
    assert os.readlink(copy / "same") == "SKILL.md"

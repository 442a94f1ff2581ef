"""The catalog as an agent meets it after `agentbook skills install --target .claude/skills` (the README's
line): `skills list` and `runbooks list` cut each description with `...` and said nothing of where the
rest is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_cut_descriptions_say_where_they_are_whole(example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("skills", "install", "--target", ".claude/skills").code == 0
    for kind in ("skills", "runbooks"):
        res = run_cli(kind, "list")
        assert res.code == 0
        assert f"(descriptions cut at 80 characters: agentbook {kind} show NAME has the whole text)" in \
            res.out.splitlines(), res.out
    shown = run_cli("skills", "show", "eval-tool").out
    assert "also when a suite is too large to read." in " ".join(shown.split())


def test_installing_someone_elses_skill_that_breaks_the_spec_says_so(
        git_repo: Path, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """`skills install --repo THEIRS --target .claude/skills NAME` from a public collection copied a
    skill whose description is 1,068 characters (the spec's limit is 1,024) with `copied` and exit 0;
    the next `agentbook validate` in the team's repository then failed on a file nobody there wrote,
    with nothing linking the two."""
    theirs = tmp_path / "theirs"
    for name, description in (("fine", "Does one thing. Use when asked."), ("long", "x " * 540)):
        (theirs / "skills" / name).mkdir(parents=True)
        (theirs / "skills" / name / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: {description.strip()}\n---\n# {name}\n")
    target = git_repo / ".claude" / "skills"
    res = run_cli("skills", "install", "--repo", theirs, "--target", target, "fine", "long")
    assert res.code == 0
    assert res.out.splitlines() == [
        f"copied    fine -> {target / 'fine'}",
        f"copied    long -> {target / 'long'}",
        (f"  {target / 'long' / 'SKILL.md'}:3:14: error[description-length]: description is 1079 characters; "
        "the limit is 1024 (shorten it; move detail into the body of SKILL.md)"),
        ("1 installed skill breaks the spec: agentbook validate (or --json) in the repository fails on it until "
        "it is fixed there or upstream")]
    again = run_cli("skills", "install", "--repo", theirs, "--target", target, "fine", "long", "--json")
    data = json.loads(again.out)
    assert [(s["name"], len(s["errors"])) for s in data["installed"]] == [("fine", 0), ("long", 1)]

"""Path globs matched in the runner's own process: the `glob` tool's pattern and grep's `glob` (the model's to
write), a runbook's `protected:` globs (a repository's runbook is the ticket author's to write) against the
paths the agent makes. They were regular expressions (`**/` as `(?:.*/)?`, `*` as `[^/]*`) that Python's `re`
matched by backtracking, holding the GIL and the session's event loop: `*a*a*a*a*a*a*a*a*b` against a file
named with 200 `a`s, or ten `**/` against a path 30 folders deep, froze every session on the loop, their
clocks included, for hours. Each is now matched folder by folder, a name at a time by `fnmatch`'s
translation, which does not backtrack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentbook.gitops.protected import matches
from agentbook.session.paths import glob_regex, is_protected
from agentbook.session.tools import ToolContext, get_tools

STARS = "*a" * 12 + "b"  # no name ends in b: each `*` tries every split of the rest
DEEP = "/".join(["a"] * 30) + "/b.txt"
STARSTARS = "**/" * 40 + "z.yaml"


def _tree(root: Path) -> None:
    (root / ("a" * 200)).write_text("x\n")
    deep = root.joinpath(*DEEP.split("/")[:-1])
    deep.mkdir(parents=True)
    (deep / "b.txt").write_text("x\n")


def _call(tool: str, args: dict[str, object], root: Path) -> str:
    (found,) = get_tools([tool])
    return asyncio.run(found.run(args, ToolContext(root=root))).content


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pattern", [STARS, STARSTARS], ids=["stars", "double-stars"])
def test_the_glob_tools_pattern_does_not_backtrack(tmp_path: Path, pattern: str) -> None:
    _tree(tmp_path)
    assert _call("glob", {"pattern": pattern}, tmp_path).startswith("no files match")
    assert _call("grep", {"pattern": "x", "glob": pattern}, tmp_path).startswith("no match")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pattern", [STARS, STARSTARS], ids=["stars", "double-stars"])
def test_a_runbooks_protected_glob_does_not_backtrack(pattern: str) -> None:
    assert is_protected("a" * 200, [pattern]) is None
    assert is_protected(DEEP, [pattern]) is None
    assert not matches(DEEP, [pattern])  # the guard's check of what a step would commit


@pytest.mark.parametrize("pattern,path,expected", [
    ("prompts/**", "prompts/a.md", True), ("prompts/**", "prompts/x/y/a.md", True), ("prompts/**", "prompts", False),
    ("prompts/**", "promptsx/a.md", False), ("evals/**/suite.yaml", "evals/suite.yaml", True),
    ("evals/**/suite.yaml", "evals/a/b/suite.yaml", True), ("evals/*.script.yaml", "evals/x.script.yaml", True),
    ("evals/*.script.yaml", "evals/a/x.script.yaml", False), ("**/*.py", "a.py", True), ("**/*.py", "a/b/c.py", True),
    ("**", "a/b", True), (".git/**", ".git/config", True), ("a?c", "abc", True), ("a?c", "a/c", False),
    ("[!x]y", "zy", True), ("[!x]y", "xy", False), ("[ab]y", "by", True), ("a[b", "a[b", True),
    ("*.md", "x/y.md", False), ("src/*", "src/a", True), ("src/*", "src/a/b", False),
])
def test_globs_keep_their_meaning(pattern: str, path: str, expected: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(path)) is expected

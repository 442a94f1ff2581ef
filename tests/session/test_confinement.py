"""The path-escape table: every attempt is refused by every file tool, and nothing outside changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentbook.session.paths import PathRefused, is_protected, resolve_in_root
from agentbook.session.tools import ToolContext, get_tools

from .conftest import run_async, tree_state


def _plant_links(root: Path) -> None:
    outside = root.parent / "outside"
    (root / "out").symlink_to("../outside")
    (root / "abs_out").symlink_to(outside)
    (root / "etc").symlink_to("/etc")
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "self_loop").symlink_to("self_loop")
    (root / "dangling_out").symlink_to("../outside/created-through-link.txt")
    (root / "src" / "up").symlink_to("../..")
    (root / "victim_link").symlink_to(outside / "victim.txt")


ESCAPES: list[tuple[str, str]] = [
    ("../outside/victim.txt", "outside the root"),
    ("../../etc/passwd", "outside the root"),
    ("src/../../outside/victim.txt", "outside the root"),
    ("./../outside/victim.txt", "outside the root"),
    ("src//..//..//outside/victim.txt", "outside the root"),
    ("..", "outside the root"),
    ("/etc/passwd", "outside the root"),
    ("/", "outside the root"),
    ("{outside}/victim.txt", "outside the root"),
    ("{root}/../outside/victim.txt", "outside the root"),
    ("~/victim.txt", "home-directory paths are outside the root"),
    ("~root/.bashrc", "home-directory paths are outside the root"),
    ("~", "home-directory paths are outside the root"),
    ("out/victim.txt", "resolves outside the root (through a symlink)"),
    ("out", "resolves outside the root (through a symlink)"),
    ("abs_out/victim.txt", "resolves outside the root (through a symlink)"),
    ("etc/hostname", "resolves outside the root (through a symlink)"),
    ("victim_link", "resolves outside the root (through a symlink)"),
    ("dangling_out", "resolves outside the root (through a symlink)"),
    ("src/up/outside/victim.txt", "resolves outside the root (through a symlink)"),
    ("loop_a", "symlink loop"),
    ("loop_a/x.txt", "symlink loop"),
    ("self_loop", "symlink loop"),
    ("victim\x00.txt", "path contains a NUL byte"),
    ("README.md\x00../../outside/victim.txt", "path contains a NUL byte"),
    ("a" * 256, "a name in the path is longer than 255 bytes"),
    ("ä" * 200 + ".txt", "a name in the path is longer than 255 bytes"),
    ("a/" * 2100, "path is longer than 4096 bytes"),
    ("", "path must be a non-empty string"),
]


def _fill(raw: str, root: Path) -> str:
    return raw.format(root=root, outside=root.parent / "outside") if "{" in raw else raw


def test_table_has_at_least_25_attempts() -> None:
    assert len(ESCAPES) >= 25


@pytest.mark.parametrize(("raw", "expected"), ESCAPES)
def test_every_file_tool_refuses_the_escape(work: Path, ctx: ToolContext, raw: str, expected: str) -> None:
    _plant_links(work)
    before = tree_state(work.parent / "outside")
    path = _fill(raw, work)
    read, write, edit, grep, glob = get_tools(["read", "write", "edit", "grep", "glob"])
    results = [run_async(read, {"path": path}, ctx),
               write.run({"path": path, "content": "pwned\n"}, ctx),
               edit.run({"path": path, "old_string": "do not touch", "new_string": "pwned"}, ctx)]
    if path:  # an empty search path means the root itself
        results += [run_async(grep, {"pattern": "touch", "path": path}, ctx), run_async(glob, {"pattern": "*", "path": path}, ctx)]
    for result in results:
        assert result.is_error, result.content
        assert expected in result.content
        assert "do not touch" not in result.content  # nothing read from outside either
    assert tree_state(work.parent / "outside") == before
    assert not Path("/etc/passwd").read_text().startswith("pwned")


def test_symlinks_inside_the_root_still_work(work: Path, ctx: ToolContext) -> None:
    (work / "docs").symlink_to("src")
    read, write = get_tools(["read", "write"])
    assert "def greet" in run_async(read, {"path": "docs/app.py"}, ctx).content
    assert write.run({"path": "docs/new.py", "content": "x = 1\n"}, ctx).changed == ["src/new.py"]
    assert (work / "src" / "new.py").read_text() == "x = 1\n"


def test_absolute_path_inside_root_is_allowed(work: Path) -> None:
    assert resolve_in_root(work, str(work / "README.md")) == (work / "README.md").resolve()


def test_search_does_not_follow_links_out(work: Path, ctx: ToolContext) -> None:
    _plant_links(work)
    grep, glob = get_tools(["grep", "glob"])
    assert run_async(grep, {"pattern": "do not touch"}, ctx).content == "no matches for 'do not touch'"
    listed = run_async(glob, {"pattern": "**"}, ctx).content.splitlines()
    assert "out/victim.txt" not in listed and "victim_link" not in listed


def test_hardlink_write_replaces_the_link_not_the_outside_file(work: Path, ctx: ToolContext) -> None:
    outside = work.parent / "outside" / "victim.txt"
    os.link(outside, work / "hard.txt")
    write, edit = get_tools(["write", "edit"])
    assert not edit.run({"path": "hard.txt", "old_string": "do not", "new_string": "may"}, ctx).is_error
    assert not write.run({"path": "hard.txt", "content": "pwned\n"}, ctx).is_error
    assert outside.read_text() == "do not touch\n"


@pytest.mark.parametrize(("path", "rule"), [
    ("evals/cases/c1.yaml", "evals/**/cases/*.yaml"),
    ("evals/a/b/cases/new.yaml", "evals/**/cases/*.yaml"),
    (".git/hooks/pre-commit", ".git"),
    ("secrets/deep/key.pem", "secrets"),
    ("data/x.lock", "data/*.lock"),
])
def test_protected_globs(path: str, rule: str) -> None:
    assert is_protected(path, ["evals/**/cases/*.yaml", "secrets", "data/*.lock"]) == rule


@pytest.mark.parametrize("path", ["evals/cases/c1.json", "evals/cases.yaml", "src/app.py", "data/sub/x.lock",
                                  ".github/workflows/ci.yml", "x.git/y"])
def test_unprotected_paths(path: str) -> None:
    assert is_protected(path, ["evals/**/cases/*.yaml", "secrets", "data/*.lock"]) is None


def test_refusal_is_an_exception_with_the_message(work: Path) -> None:
    with pytest.raises(PathRefused, match=r"^\.\./x: outside the root "):
        resolve_in_root(work, "../x")

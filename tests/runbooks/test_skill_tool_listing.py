"""The `skill` tool names the files of a skill's folder when it returns the body: at most 50, its git
data never, and it says when there are more."""

from __future__ import annotations

from pathlib import Path

from agentbook.runbooks.skill_tool import SkillTool
from agentbook.session.tools import ToolContext


def test_a_skill_folder_that_is_a_whole_checkout_is_listed_in_part(tmp_path: Path) -> None:
    """A skill folder that is (or links to) a checkout's top: the listing walked the whole repository,
    git data included, sorted it, and named the first 50 (`.git/...` ones first) without saying more
    existed."""
    folder = tmp_path / "checkout"
    (folder / ".git" / "objects").mkdir(parents=True)
    for n in range(300):
        (folder / ".git" / "objects" / f"{n:03d}").write_text("x")
    (folder / "SKILL.md").write_text("---\nname: x\ndescription: d\n---\nRead my files.\n")
    (folder / "README.md").write_text("top\n")
    for n in range(120):
        (folder / "src" / f"m{n // 10}").mkdir(parents=True, exist_ok=True)
        (folder / "src" / f"m{n // 10}" / f"f{n:03d}.py").write_text("pass\n")
    result = SkillTool({"x": (folder / "SKILL.md", "Read my files.")}).run({"name": "x"}, ToolContext(root=tmp_path))
    assert not result.is_error
    body, listing = result.content.split("\n\nFiles in this skill (read one with the `file` argument): ")
    assert body == "Read my files."
    assert listing.endswith(" and more (the body names the ones to read)")
    names = listing.removesuffix(" and more (the body names the ones to read)").split(", ")
    assert len(names) == 50 and names[:2] == ["README.md", "src/m0/f000.py"]
    assert not any(".git" in name for name in names)


def test_a_small_skill_lists_every_file_and_no_more(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    (folder / "references").mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: s\ndescription: d\n---\nbody\n")
    (folder / "references" / "b.md").write_text("b")
    (folder / "references" / "a.md").write_text("a")
    (folder / "run.sh").write_text("echo")
    result = SkillTool({"s": (folder / "SKILL.md", "body")}).run({"name": "s"}, ToolContext(root=tmp_path))
    assert result.content == ("body\n\nFiles in this skill (read one with the `file` argument): "
                              "run.sh, references/a.md, references/b.md")

"""load_catalog: lenient loading with reasons, repo-first search order, agentbook's shipped catalog."""

from __future__ import annotations

from pathlib import Path

from agentbook.catalog import load_catalog, shipped_root
from agentbook.catalog.loader import catalog_roots

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_search_order_and_sources(tmp_path: Path, write_skill, write_runbook) -> None:
    write_skill(tmp_path / "skills", "alpha", "name: alpha\ndescription: First.\n")
    write_skill(tmp_path / ".claude" / "skills", "beta", "name: beta\ndescription: Second.\n")
    write_skill(tmp_path / ".agents" / "skills", "alpha", "name: alpha\ndescription: Shadowed copy.\n")
    write_runbook(tmp_path / "runbooks", "triage", "name: triage\ndescription: Triage.\n", "## Look\n")
    cat = load_catalog(tmp_path, shipped=None)
    assert [(s.name, s.source, s.description) for s in cat.skills] == [
        ("alpha", "repo", "First."), ("beta", "repo", "Second.")]
    assert cat.runbook("triage") is not None and cat.runbook("triage").source == "repo"
    assert [(p.path.parent.parent.parent.name, p.reason, p.skipped) for p in cat.problems] == [
        (".agents", f"skipped: skill 'alpha' is already loaded from {tmp_path / 'skills/alpha/SKILL.md'}", True)]


def test_lenient_rules_record_reasons(tmp_path: Path, write_skill, write_runbook) -> None:
    base = tmp_path / "skills"
    write_skill(base, "folder-name", "name: other-name\ndescription: Loaded with a note.\n")
    write_skill(base, "no-desc", "name: no-desc\n")
    write_skill(base, "bad-yaml", "name: bad-yaml\ndescription: Use when: asked\n")
    write_skill(base, "no-name", "description: Name comes from the folder.\n")
    write_runbook(tmp_path / "runbooks", "broken", "name: [broken\n", "## Step\n")
    cat = load_catalog(tmp_path, shipped=None)
    names = {s.name for s in cat.skills}
    assert names == {"other-name", "no-name"}
    reasons = {(p.path.parent.name if p.path.name == "SKILL.md" else p.path.name, p.reason, p.skipped)
               for p in cat.problems}
    assert reasons == {
        ("folder-name", "name 'other-name' differs from its folder 'folder-name'", False),
        ("no-desc", "skipped: no description in the front-matter", True),
        ("bad-yaml", "skipped: unquoted ': ' inside the value of 'description'", True),
        ("no-name", "no name in the front-matter; using the folder name 'no-name'", False),
        ("broken.md", "skipped: invalid YAML: '[' is never closed", True),
    }


def test_source_checkout_ships_its_catalog(tmp_path: Path, write_skill) -> None:
    """From a source checkout the shipped catalog is the repo's top-level skills/ and runbooks/."""
    assert shipped_root() == REPO_ROOT
    roots = catalog_roots(tmp_path)
    assert roots == [(tmp_path.resolve(), "repo"), (REPO_ROOT, "agentbook")]
    # agentbook's own checkout is not loaded twice
    assert catalog_roots(REPO_ROOT) == [(REPO_ROOT, "repo")]


def test_repo_skill_overrides_shipped_one(tmp_path: Path, write_skill) -> None:
    shipped = tmp_path / "shipped"
    write_skill(shipped / "skills", "debug-trace", "name: debug-trace\ndescription: Shipped.\n")
    write_skill(shipped / "skills", "eval-tool", "name: eval-tool\ndescription: Shipped too.\n")
    repo = tmp_path / "repo"
    write_skill(repo / "skills", "debug-trace", "name: debug-trace\ndescription: Ours.\n")
    cat = load_catalog(repo, shipped=shipped)
    got = {s.name: (s.source, s.description, s.shadows) for s in cat.skills}
    assert got == {"debug-trace": ("repo", "Ours.", shipped / "skills/debug-trace/SKILL.md"),
                   "eval-tool": ("agentbook", "Shipped too.", None)}
    assert {s.name for s in load_catalog(repo, shipped=None).skills} == {"debug-trace"}


def test_bom_and_crlf_skills_load(tmp_path: Path) -> None:
    """The validator reports BOM and CRLF; the lenient loader still reads such files correctly."""
    folder = tmp_path / "skills" / "windows"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_bytes(b"\xef\xbb\xbf---\r\nname: windows\r\ndescription: Saved on Windows.\r\n---\r\n")
    cat = load_catalog(tmp_path, shipped=None)
    assert [(s.name, s.description) for s in cat.skills] == [("windows", "Saved on Windows.")]
    assert cat.problems == []


def test_a_skill_reached_again_by_a_link_is_read_once_without_a_note(tmp_path: Path, write_skill) -> None:
    """`.claude/skills` a link to `skills/` (so Claude Code sees the repo's skills), and `skills install
    --link` of agentbook's own skills into `.agents/skills`: `skills list` said "skipped" of each link
    (twice for a broken skill, once per linked shipped skill, "a symlink that leads out of the
    repository"), though each skill behind them is listed, or noted, once already."""
    shipped = tmp_path / "shipped"
    write_skill(shipped / "skills", "tool", "name: tool\ndescription: Shipped.\n")
    repo = tmp_path / "repo"
    write_skill(repo / "skills", "mine", "name: mine\ndescription: Mine.\n")
    write_skill(repo / "skills", "broken", "name: broken\n")
    (repo / ".claude").mkdir()
    (repo / ".claude" / "skills").symlink_to("../skills")
    (repo / ".agents" / "skills").mkdir(parents=True)
    (repo / ".agents" / "skills" / "tool").symlink_to(shipped / "skills" / "tool")
    cat = load_catalog(repo, shipped=shipped)
    assert [(s.name, s.source, s.path) for s in cat.skills] == [
        ("mine", "repo", repo / "skills/mine/SKILL.md"), ("tool", "agentbook", shipped.resolve() / "skills/tool/SKILL.md")]
    assert [(p.path, p.reason) for p in cat.problems] == [
        (repo / "skills/broken/SKILL.md", "skipped: no description in the front-matter")]
    (repo / ".agents" / "skills" / "away").symlink_to(tmp_path / "elsewhere")  # out, and not agentbook's: noted
    write_skill(tmp_path, "elsewhere", "name: away\ndescription: Out of the repo.\n")
    assert [p.reason for p in load_catalog(repo, shipped=shipped).problems][-1] == (
        "skipped: a symlink that leads out of the repository")

"""`agentbook skills install`: copies or links into a real folder; refuses to clobber a different skill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOOD = "---\nname: {name}\ndescription: {desc}\n---\n# {name}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("alpha", "beta"):
        folder = tmp_path / "skills" / name
        (folder / "references").mkdir(parents=True)
        (folder / "SKILL.md").write_text(GOOD.format(name=name, desc=f"The {name} skill."))
        (folder / "references" / "notes.md").write_text(f"notes for {name}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_copy_named_skills(run_cli, repo: Path) -> None:
    res = run_cli("skills", "install", "alpha", "beta", "--target", ".claude/skills")
    assert res.code == 0, res.err
    assert res.out.splitlines() == ["copied    alpha -> .claude/skills/alpha", "copied    beta -> .claude/skills/beta"]
    installed = repo / ".claude/skills/alpha"
    assert not installed.is_symlink()
    assert (installed / "references/notes.md").read_text() == "notes for alpha\n"
    again = run_cli("skills", "install", "alpha", "--target", ".claude/skills")
    assert again.out == "unchanged alpha -> .claude/skills/alpha\n"


def test_link(run_cli, repo: Path) -> None:
    res = run_cli("skills", "install", "alpha", "--target", ".agents/skills", "--link", "--json")
    data = json.loads(res.out)
    assert data["installed"] == [{"name": "alpha", "path": ".agents/skills/alpha", "action": "linked",
                                  "source": str(repo / "skills/alpha"), "errors": [], "link_leaves_repository": False}]
    link = repo / ".agents/skills/alpha"
    assert link.is_symlink() and link.resolve() == repo / "skills/alpha"


def test_refuses_a_different_skill_of_the_same_name(run_cli, repo: Path) -> None:
    other = repo / "elsewhere/alpha"
    other.mkdir(parents=True)
    (other / "SKILL.md").write_text(GOOD.format(name="alpha", desc="Somebody else's alpha."))
    res = run_cli("skills", "install", "alpha", "beta", "--target", "elsewhere")
    assert res.code == 3
    assert res.err == ("agentbook: error: elsewhere/alpha already holds a different skill named 'alpha' "
                       "(remove it, choose another --target, or pass --force to replace it)\n")
    # nothing was written, not even the skill that had no conflict
    assert (other / "SKILL.md").read_text() == GOOD.format(name="alpha", desc="Somebody else's alpha.")
    assert not (repo / "elsewhere/beta").exists()
    forced = run_cli("skills", "install", "alpha", "--target", "elsewhere", "--force")
    assert forced.out == "replaced  alpha -> elsewhere/alpha\n"
    assert (other / "SKILL.md").read_text() == GOOD.format(name="alpha", desc="The alpha skill.")


def test_default_installs_every_skill_and_skips_the_target_itself(run_cli, repo: Path) -> None:
    res = run_cli("skills", "install", "--target", "out", "--json")
    names = [r["name"] for r in json.loads(res.out)["installed"]]
    assert {"alpha", "beta"} <= set(names)
    # a second install over the same copies changes nothing
    res = run_cli("skills", "install", "--target", "out", "--json")
    assert {r["action"] for r in json.loads(res.out)["installed"]} == {"unchanged"}


def test_unknown_skill(run_cli, repo: Path) -> None:
    res = run_cli("skills", "install", "nope", "--target", "out")
    assert res.code == 3 and "no skill named 'nope'" in res.err


def test_installed_copies_never_shadow_agentbook_and_upgrade_without_force(run_cli, repo: Path) -> None:
    """An unchanged copy is agentbook's own (the shipped skill wins, no "overrides agentbook"); the next
    install upgrades it without --force; an edited copy is the user's and is kept."""
    res = run_cli("skills", "install", "eval-tool", "alpha", "--target", ".claude/skills")
    assert res.code == 0, res.err
    marker = json.loads((repo / ".claude/skills/eval-tool/.agentbook-install.json").read_text())
    assert marker["skill"] == "eval-tool" and marker["source"] == "agentbook"
    listed = {s["name"]: s for s in json.loads(run_cli("skills", "list", "--json").out)["skills"]}
    assert listed["eval-tool"]["source"] == "agentbook" and "overrides" not in run_cli("skills", "list").out
    assert listed["alpha"]["path"].endswith("skills/alpha/SKILL.md") and ".claude" not in listed["alpha"]["path"]
    # an older copy (as if agentbook was upgraded since) is replaced without --force
    old = repo / ".claude/skills/eval-tool/references/commands.md"
    old.write_text("old text\n")
    data = json.loads((repo / ".claude/skills/eval-tool/.agentbook-install.json").read_text())
    from agentbook.catalog.install import tree_hash

    data["tree"] = tree_hash(repo / ".claude/skills/eval-tool")
    (repo / ".claude/skills/eval-tool/.agentbook-install.json").write_text(json.dumps(data))
    up = run_cli("skills", "install", "eval-tool", "--target", ".claude/skills")
    assert up.out == "upgraded  eval-tool -> .claude/skills/eval-tool\n" and old.read_text() != "old text\n"
    # an edited copy is the user's: it overrides agentbook and is not clobbered
    skill_md = repo / ".claude/skills/eval-tool/SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nOur team's extra rule.\n")
    assert "repo (overrides agentbook)" in run_cli("skills", "list").out
    again = run_cli("skills", "install", "eval-tool", "--target", ".claude/skills")
    assert again.out == "unchanged eval-tool -> .claude/skills/eval-tool\n"
    assert skill_md.read_text().endswith("Our team's extra rule.\n")


def test_an_untouched_copy_is_known_by_its_stat_and_an_edit_by_its_bytes(run_cli, repo: Path) -> None:
    """The catalog asks of every installed copy, each time it loads, whether it is unchanged; that read
    every byte of the copy (a skill with 135 MB of assets: 0.7 s per `skills list`, per skill tool call).
    Untouched files are known by their paths, sizes and times; an edit that keeps a file's size and
    puts its mtime back is still an edit (its ctime moved), and a copy of the copy is judged by bytes."""
    import os
    import shutil
    import time

    from agentbook.catalog.install import MARKER, pristine_copy

    assert run_cli("skills", "install", "alpha", "--target", ".claude/skills").code == 0
    copy = repo / ".claude/skills/alpha"
    marker = json.loads((copy / MARKER).read_text())
    (copy / MARKER).write_text(json.dumps({**marker, "tree": "0" * 64}))  # a wrong byte hash: never consulted
    assert pristine_copy(copy)
    (copy / MARKER).write_text(json.dumps(marker))
    elsewhere = repo / "elsewhere-alpha"
    shutil.copytree(copy, elsewhere)  # new ctimes: the bytes decide
    assert pristine_copy(elsewhere)
    notes = copy / "references/notes.md"
    before = notes.stat()
    time.sleep(0.05)  # past the kernel's timestamp tick, so the edit gets a ctime of its own
    notes.write_text(notes.read_text().replace("notes", "NOTES"))
    os.utime(notes, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert notes.stat().st_size == before.st_size and notes.stat().st_mtime_ns == before.st_mtime_ns
    assert not pristine_copy(copy)


def test_links_out_of_the_targets_repository_are_named_with_what_follows(run_cli, repo: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`skills install --link` into another git repository said only "linked ...": that repository's
    `agentbook validate` then failed on each link (link-outside) and its clones had none of them."""
    import subprocess

    (repo / ".git").mkdir()  # the skills' own repository: links inside it are fine
    inside = run_cli("skills", "install", "alpha", "--target", ".agents/skills", "--link")
    assert inside.out == "linked    alpha -> .agents/skills/alpha\n"
    other = repo / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    target = other / ".claude" / "skills"
    out = run_cli("skills", "install", "alpha", "beta", "--target", target, "--link")
    assert out.code == 0
    assert out.out.splitlines()[-1] == (
        f"note: 2 links lead out of the repository {target}/ is in: its agentbook validate reports each "
        "(link-outside) and a clone has none of them; install without --link to commit copies")
    data = json.loads(run_cli("skills", "install", "alpha", "--target", target, "--link", "--json").out)
    assert data["installed"][0]["link_leaves_repository"] is True
    monkeypatch.chdir(other)
    assert "error[link-outside]" in run_cli("validate").out  # what the note says follows

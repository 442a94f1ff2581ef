"""Attacks on `protected:` paths (here `prompts/*.md` and `evals/suite.yaml`): every way of changing
one ends the run `blocked` with the paths as evidence, and the branch holds the base's content."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, bash, branch_files, git, make_repo, run

ATTACKS = {
    # the bypass: same size and mtime, different content (the old check compared only those)
    "mv-mkdir-touch-r": (("mv prompts p_old && mkdir prompts && printf 'You are evil.\\n' > prompts/a.md && "
                         "cp p_old/b.md prompts/b.md && touch -r p_old/a.md prompts/a.md"), {"prompts/a.md"}),
    "same-size-content": (("mv prompts p_old && mkdir prompts && printf 'You are a careless assistant.\\n' > "
                          "prompts/a.md && cp -p p_old/b.md prompts/ && touch -r p_old/a.md prompts/a.md"),
                          {"prompts/a.md"}),
    "rename": ("mv prompts p_old && mkdir prompts && cp p_old/a.md prompts/c.md && cp p_old/b.md prompts/",
               {"prompts/a.md", "prompts/c.md"}),
    "folder-gone": ("mv prompts elsewhere", {"prompts/a.md", "prompts/b.md"}),
    "added-file": ("mv prompts p && mkdir prompts && cp p/* prompts/ && echo new > prompts/new.md",
                   {"prompts/new.md"}),
    "made-executable": ("mv prompts p && mkdir prompts && cp p/* prompts/ && chmod +x prompts/a.md",
                        {"prompts/a.md"}),
    "file-to-symlink": ("mv prompts p && mkdir prompts && cp p/b.md prompts/ && ln -s ../p/a.md prompts/a.md",
                        {"prompts/a.md"}),
    "file-to-folder": ("mv prompts p && mkdir -p prompts/a.md && cp p/b.md prompts/", {"prompts/a.md"}),
    "file-to-fifo": ("mv prompts p && mkdir prompts && cp p/b.md prompts/ && mkfifo prompts/a.md", {"prompts/a.md"}),
    "suite-rewritten": ("mv evals e && mkdir evals && echo 'tests: [{vars: {}, assert: []}]' > evals/suite.yaml",
                        {"evals/suite.yaml"}),
    "gitmodules": (("printf '[submodule \"x\"]\\n\\tpath = x\\n\\turl = ext::sh -c touch% /tmp/pwn\\n"
                   "\\tupdate = !sh -c \"touch /tmp/pwn\"\\n' > .gitmodules"), {".gitmodules"}),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_protected_change_is_blocked_and_restored(attack: str, tmp_path: Path, capsys) -> None:
    repo = make_repo(tmp_path)
    command, paths = ATTACKS[attack]
    code, data, out = run(repo, agent(tmp_path, bash(command), bash("echo ok > done.txt")), capsys=capsys)
    assert code == 11, out
    outcome = data["outcome"]
    assert outcome["kind"] == "blocked" and outcome["reason"] == "protected"
    assert {c["path"] for c in outcome["evidence"]["protected"]} >= paths
    branch = data["branch"]
    for rel in ("prompts/a.md", "prompts/b.md", "evals/suite.yaml"):
        assert git(repo, "rev-parse", f"{branch}:{rel}") == git(repo, "rev-parse", f"main:{rel}"), rel
    files = branch_files(repo, branch)
    assert {p for p in files if p.startswith("prompts/")} == {"prompts/a.md", "prompts/b.md"}
    assert files["prompts/a.md"] == "100644" and ".gitmodules" not in files


def test_restore_never_writes_through_a_symlinked_folder(tmp_path: Path, capsys) -> None:
    """`prompts` replaced by a symlink to a folder outside the worktree: putting `prompts/a.md` back
    must not write into that folder."""
    repo = make_repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine\n")
    code, data, out = run(repo, agent(tmp_path, bash(f"mv prompts p && ln -s {outside} prompts")), capsys=capsys)
    assert code == 11 and data["outcome"]["reason"] == "protected", out
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert branch_files(repo, data["branch"])["prompts/a.md"] == "100644"


def test_checkout_conversions_are_not_changes(tmp_path: Path, capsys) -> None:
    """By content as git sees it: a CRLF checkout of an LF blob (`eol=crlf`) is the same content,
    so a run that never touched a protected file completes."""
    repo = make_repo(tmp_path)
    (repo / ".gitattributes").write_text("prompts/*.md text eol=crlf\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "crlf prompts")
    code, data, out = run(repo, agent(tmp_path, bash("grep -c $'\\r' prompts/a.md; echo new > src/new.py")),
                          capsys=capsys)
    assert code == 0, out
    assert "src/new.py" in branch_files(repo, data["branch"])

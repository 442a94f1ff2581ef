"""Things the agent leaves in the worktree for the runner's own commit to trip on: links to the
runner's `/proc/self/environ`, to a host file, to `/dev/zero`, a fifo and a link to it. The runner's
secret scan, diff and commit read none of them through the link (no hang, no secret in any object):
links are committed as links, the fifo not at all, and the run completes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import SECRETS, agent, all_objects_text, bash, branch_files, git, make_repo, run, set_secrets


@pytest.mark.timeout(180)  # a fifo read by the runner would hang the run here
def test_links_and_a_fifo_the_agent_leaves_are_never_followed_by_the_runner(tmp_path: Path, monkeypatch,
                                                                            capsys) -> None:
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    command = ("mkfifo pipe.txt; ln -s /proc/self/environ env.txt; ln -s /dev/zero zero.txt; "
               "ln -s pipe.txt to-pipe.txt; ln -s /proc/1/root/etc/shadow shadow.txt; echo x > new.txt")
    code, data, out = run(repo, agent(tmp_path, bash(command)), capsys=capsys)
    assert code == 0 and data["outcome"]["kind"] == "completed", out
    files = branch_files(repo, data["branch"])
    for name in ("env.txt", "zero.txt", "to-pipe.txt", "shadow.txt"):
        assert files[name] == "120000", name  # a link, its target's name the only content
    assert "pipe.txt" not in files and files["new.txt"] == "100644"
    assert git(repo, "cat-file", "-p", f"{data['branch']}:env.txt") == "/proc/self/environ"
    stored = all_objects_text(repo / ".git")
    for value in SECRETS.values():
        assert value not in stored and value not in out

"""An agent CLI (Claude Code, any `command:`) writes into two host folders: the run's worktree and its
own home, both bound writable into the jail. The `disk` limit, which stops a bash call or a gate whose
worktree grows past it, was not watched for them at all: an agent told `--limit disk=4M` wrote 60 MB
into each, and the run ended `completed` with the 60 MB committed. With the 2G default and files of up
to 1G each, nothing stopped it filling the runner's disk (the runner's own git and records, every other
run on the machine). Now the worktree and the home together are held to the limit: the agent is
stopped and the step ends `budget_exhausted` (disk)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import commit_files, git, make_repo

from agentbook.session import watchdog
from agentbook.session.sandbox import bwrap_works
from agentbook.session.watchdog import tree_bytes

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail")

RUNBOOK = """---
name: fill
description: One step an agent CLI works.
tools: [read, write, bash]
limits: {max_turns: 5, timeout: 5m}
---
Fill the disk.

## Fill
Write files.
"""
MIB = 1 << 20


@pytest.mark.parametrize("where", ["worktree", "home"])
def test_an_agent_cli_filling_the_disk_is_stopped_at_the_disk_limit(where: str, run_cli, tmp_path: Path) -> None:
    repo = commit_files(make_repo(tmp_path), {"runbooks/fill.md": RUNBOOK}, "a runbook")
    into = "." if where == "worktree" else '"$HOME"'
    fill = f"for i in $(seq 60); do head -c 1048576 /dev/zero > {into}/fill$i; sleep 0.02; done; echo finished"
    r = run_cli("run", "fill", "--repo", repo, "--json", "--limit", "disk=4M", "--agent", "command:" +
                shlex.join(["sh", "-c", fill]), "--model", "scripted:" + str(Path(__file__).parents[1] / "agent" /
                                                                               "data" / "command-agent.script.yaml"))
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "budget_exhausted" and data["outcome"]["reason"] == "disk", data["outcome"]
    assert r.code == 12
    assert tree_bytes(Path(data["run_dir"]) / "agent-home") < 40 * MIB
    committed = git(repo, "ls-tree", "-r", "-l", data["branch"], check=False).split("\n")
    assert sum(int(line.split()[3]) for line in committed if line.strip()) < 40 * MIB


def test_an_agent_cli_past_the_limit_that_exits_between_two_looks_is_still_stopped(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog looks every tick; an agent that writes past the limit and exits before a look (a loaded
    host, another writer freeing space at the same moment) ended `completed`, the overflow committed (CI saw
    it once). One exact walk after the agent exits decides, and a disk stop commits nothing."""
    monkeypatch.setattr(watchdog, "TICK_SECONDS", 3600.0)  # the watchdog never looks during the run
    repo = commit_files(make_repo(tmp_path), {"runbooks/fill.md": RUNBOOK}, "a runbook")
    r = run_cli("run", "fill", "--repo", repo, "--json", "--limit", "disk=4M", "--agent", "command:" +
                shlex.join(["sh", "-c", "head -c 12582912 /dev/zero > burst; echo wrote"]), "--model",
                "scripted:" + str(Path(__file__).parents[1] / "agent" / "data" / "command-agent.script.yaml"))
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "budget_exhausted" and data["outcome"]["reason"] == "disk", data["outcome"]
    assert " burst" not in git(repo, "rev-list", "--all", "--objects")  # no commit holds the overflow

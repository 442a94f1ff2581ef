"""The `disk` limit counted everything under the worktree, the checkout the run started from included,
and each file at least ENTRY_BYTES (4 KiB): a repository of ~500,000 files was over the default 2G before
the agent wrote a byte, and every bash call, gate and agent CLI was stopped at once. The limit now meters
what the run adds: the worktree's size when the run made it is recorded (`disk_base`) and the limit
counted over it, so growth is still held to the limit."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import commit_files, make_repo
from test_agent_disk import RUNBOOK

from agentbook.session.sandbox import bwrap_works
from agentbook.session.watchdog import ENTRY_BYTES

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail")

FILES = 1500  # at ENTRY_BYTES each, about 6 MB charged: over a 4M limit before the run adds anything
SCRIPT = Path(__file__).parents[1] / "agent" / "data" / "command-agent.script.yaml"


@pytest.mark.parametrize("written, outcome", [(1 << 20, "completed"), (12 << 20, "budget_exhausted")])
def test_the_disk_limit_meters_what_the_run_adds_not_the_checkout(
        written: int, outcome: str, run_cli, tmp_path: Path) -> None:
    files = {f"data/f{i:04d}.txt": "" for i in range(FILES)}
    repo = commit_files(make_repo(tmp_path), {"runbooks/fill.md": RUNBOOK, **files}, "a large checkout")
    assert FILES * ENTRY_BYTES > 4 << 20
    write = f"head -c {written} /dev/zero > grown; echo wrote"
    r = run_cli("run", "fill", "--repo", repo, "--json", "--limit", "disk=4M", "--agent",
                "command:" + shlex.join(["sh", "-c", write]), "--model", f"scripted:{SCRIPT}")
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == outcome, data["outcome"]
    if outcome == "budget_exhausted":  # growth past the limit is still stopped
        assert data["outcome"]["reason"] == "disk"

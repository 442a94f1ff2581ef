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
    if outcome == "budget_exhausted":  # growth past the limit is still stopped, and says the user's limit
        assert data["outcome"]["reason"] == "disk"
        assert f"disk limit of {4 << 20} bytes" in data["outcome"]["message"], data["outcome"]["message"]


def test_a_run_killed_before_it_recorded_its_base_meters_it_on_resume(run_cli, tmp_path: Path) -> None:
    """A run killed between making its worktree and saving `disk_base` resumed with none, and its limit
    counted the whole checkout again: on this one every call was stopped at once. No step has run then,
    so the resume measures the base itself."""
    files = {f"data/f{i:04d}.txt": "" for i in range(FILES)}
    repo = commit_files(make_repo(tmp_path), {"runbooks/fill.md": RUNBOOK, **files}, "a large checkout")
    # fails its first message (the run ends crashed, resumable), writes 1 MiB on the next: its home outlives both
    agent = 'if [ -e "$HOME/ran" ]; then head -c 1048576 /dev/zero > grown; else touch "$HOME/ran"; exit 3; fi'
    first = json.loads(run_cli("run", "fill", "--repo", repo, "--json", "--limit", "disk=4M", "--agent",
                               "command:" + shlex.join(["sh", "-c", agent]), "--model", f"scripted:{SCRIPT}").out)
    assert first["outcome"]["kind"] == "crashed", first["outcome"]
    record_path = Path(first["run_dir"]) / "run.json"
    record = json.loads(record_path.read_text())
    assert record["options"].pop("disk_base") > 4 << 20
    record_path.write_text(json.dumps(record))  # as a kill before the base was saved leaves it
    (Path(first["run_dir"]) / "checkpoint.json").unlink(missing_ok=True)
    resumed = json.loads(run_cli("run", "--resume", first["run_id"], "--repo", repo, "--json").out)
    assert resumed["outcome"]["kind"] == "completed", resumed["outcome"]
    assert json.loads(record_path.read_text())["options"]["disk_base"] > 4 << 20

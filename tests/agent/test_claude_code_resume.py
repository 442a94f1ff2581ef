"""`--agent claude-code` killed with -9 in the middle of a run, then `--resume`: no Claude Code process
outlives the runner (the jail dies with it), and the branch ends with the same commits (trees and
messages) as an uninterrupted run, no step twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from tests.repos import agentbook, commits, git, wait_for_step

from .conftest import DATA

TICKET = "---\nid: 7\ntitle: Owls\nrunbook: four-steps\ninputs: {topic: owls}\n---\nNotes on owls.\n"
SCRIPT = f"scripted:{DATA / 'four-steps.claude.script.yaml'}"


def claude_processes(binary: Path) -> list[int]:
    """Pids of processes running this Claude Code binary (it runs in the jail, so match by its path)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if str(binary) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_the_same_commits(claude: Path, four_repo: Path, run_cli) -> None:
    ticket = four_repo.parent / "T.md"
    ticket.write_text(TICKET)
    r = run_cli("run", "--ticket", ticket, "--repo", four_repo, "--model", SCRIPT, "--agent", "claude-code", "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    reference = commits(four_repo, done["branch"], done["run_id"])
    assert len(reference) == 4
    git(four_repo, "branch", "-D", done["branch"])

    before = set(claude_processes(claude))
    proc = agentbook(four_repo, "run", "--ticket", str(ticket), "--model", SCRIPT, "--agent", "claude-code")
    runs = four_repo / ".agentbook" / "runs"
    deadline = time.monotonic() + 60
    while not [p for p in runs.glob("*/run.json") if p.parent.name != done["run_id"]]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    run_dir = next(p.parent for p in runs.glob("*/run.json") if p.parent.name != done["run_id"])
    wait_for_step(run_dir, 1, proc, timeout=120)
    time.sleep(0.3)  # inside step 2: Claude Code is starting or answering
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10  # the jail's --die-with-parent reaps Claude Code with the runner
    while set(claude_processes(claude)) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(claude_processes(claude)) - before, "a Claude Code process outlived the killed runner"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    proc = agentbook(four_repo, "run", "--resume", run_dir.name)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["resumes"] == 1
    assert commits(four_repo, record["branch"], run_dir.name) == reference

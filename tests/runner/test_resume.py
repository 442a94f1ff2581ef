"""kill -9 of the runner process in the middle of every step, then --resume: the branch ends with the
same commits (trees and messages) as an uninterrupted run, no step twice, nothing lost."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from tests.repos import agentbook, commits, git, wait_for_step

DATA = Path(__file__).parent / "data"
TICKET = "---\nid: 7\ntitle: Owls\nrunbook: four-steps\ninputs: {topic: owls}\n---\nNotes on owls.\n"


def only_run(repo: Path) -> Path:
    runs = [p for p in (repo / ".agentbook" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory, runner_repo: Path, run_cli) -> list[tuple[str, str]]:
    ticket = runner_repo.parent / "T.md"
    ticket.write_text(TICKET)
    r = run_cli("run", "--ticket", ticket, "--repo", runner_repo, "--model",
                f"scripted:{DATA / 'four-steps-slow.script.yaml'}", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    result = commits(runner_repo, data["branch"], data["run_id"])
    git(runner_repo, "branch", "-D", data["branch"])
    return result


@pytest.mark.slow
def test_kill_9_in_every_step_then_resume_gives_the_same_commits(runner_repo: Path, reference, run_cli) -> None:
    import shutil

    shutil.rmtree(runner_repo / ".agentbook" / "runs")
    ticket = runner_repo.parent / "T.md"
    proc = agentbook(runner_repo, "run", "--ticket", str(ticket), "--model",
                     f"scripted:{DATA / 'four-steps-slow.script.yaml'}")
    deadline = time.monotonic() + 30
    while not (runner_repo / ".agentbook" / "runs").is_dir() or not list((runner_repo / ".agentbook" / "runs").iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    run_dir = only_run(runner_repo)
    run_id = run_dir.name
    for step in range(4):
        wait_for_step(run_dir, step, proc)
        time.sleep(0.1 + 0.1 * step)  # somewhere inside the step: before, between or after its tool call
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        record = json.loads((run_dir / "run.json").read_text())
        assert record["status"] == "running"  # a killed run says so; nothing claims it finished
        proc = agentbook(runner_repo, "run", "--resume", run_id)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["resumes"] == 4
    traces = {p.name for p in run_dir.glob("trace*.json")}  # a session killed before its first span has none
    assert "trace.resume-4.otlp.json" in traces
    assert traces <= {"trace.otlp.json", *(f"trace.resume-{n}.otlp.json" for n in range(1, 5))}
    events = [json.loads(x)["event"] for x in (run_dir / "transcript.jsonl").read_text().splitlines()]
    assert events.count("session_start") == 5  # one transcript, appended by every resume
    assert commits(runner_repo, record["branch"], run_id) == reference


def _killed_after_step_two(runner_repo: Path) -> tuple[Path, dict]:
    """A run killed while step 3 runs: steps 1 and 2 are committed."""
    ticket = runner_repo.parent / "T.md"
    proc = agentbook(runner_repo, "run", "--ticket", str(ticket), "--model",
                     f"scripted:{DATA / 'four-steps-slow.script.yaml'}")
    deadline = time.monotonic() + 30
    while not list((runner_repo / ".agentbook" / "runs").glob("*/run.json")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run_dir = only_run(runner_repo)
    wait_for_step(run_dir, 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return run_dir, json.loads((run_dir / "checkpoint.json").read_text())


def test_resume_settles_a_commit_the_kill_interrupted(runner_repo: Path, reference, run_cli) -> None:
    """Killed after step 2's checkpoint but before its commit: resume commits it exactly once."""
    import shutil

    shutil.rmtree(runner_repo / ".agentbook" / "runs")
    (runner_repo.parent / "T.md").write_text(TICKET)
    run_dir, checkpoint = _killed_after_step_two(runner_repo)
    record = json.loads((run_dir / "run.json").read_text())
    wt = Path(record["worktree"])
    step1 = git(wt, "rev-parse", "HEAD~1").strip()
    git(wt, "reset", "-q", "--hard", "HEAD")  # drop step 3's partial work, as the resume would
    git(wt, "reset", "-q", "--soft", step1)  # step 2's files are there, its commit is not
    (run_dir / "checkpoint.json").write_text(json.dumps({**checkpoint, "commit_state": "pending",
                                                         "head_before": step1}))
    r = run_cli("run", "--resume", run_dir.name, "--repo", runner_repo, "--json")
    assert r.code == 0, r.err
    assert commits(runner_repo, record["branch"], run_dir.name) == reference


def test_resume_does_not_commit_a_step_twice(runner_repo: Path, reference, run_cli) -> None:
    """Killed after step 2's commit but before the checkpoint said so: resume finds the commit."""
    import shutil

    shutil.rmtree(runner_repo / ".agentbook" / "runs")
    (runner_repo.parent / "T.md").write_text(TICKET)
    run_dir, checkpoint = _killed_after_step_two(runner_repo)
    record = json.loads((run_dir / "run.json").read_text())
    step1 = git(Path(record["worktree"]), "rev-parse", "HEAD~1").strip()
    (run_dir / "checkpoint.json").write_text(json.dumps({**checkpoint, "commit_state": "pending",
                                                         "head_before": step1}))
    r = run_cli("run", "--resume", run_dir.name, "--repo", runner_repo, "--json")
    assert r.code == 0, r.err
    assert commits(runner_repo, record["branch"], run_dir.name) == reference


def test_resume_refuses_finished_and_unknown_runs(runner_repo: Path, run_cli) -> None:
    (runner_repo.parent / "T.md").write_text(TICKET)
    r = run_cli("run", "--ticket", runner_repo.parent / "T.md", "--repo", runner_repo, "--model",
                f"scripted:{DATA / 'four-steps.script.yaml'}", "--json")
    run_id = json.loads(r.out)["run_id"]
    r = run_cli("run", "--resume", run_id, "--repo", runner_repo)
    assert r.code == 3
    assert f"run {run_id} already ended 'completed'; there is nothing to resume" in r.err
    r = run_cli("run", "--resume", "nope", "--repo", runner_repo)
    assert r.code == 3 and "no run 'nope'" in r.err
    from agentbook.fsutil import exclusive_lock

    with exclusive_lock(runner_repo / ".agentbook" / "runs" / run_id / "lock", "held by the test"):
        r = run_cli("run", "--resume", run_id, "--repo", runner_repo)
    assert r.code == 3 and f"run {run_id} is in use by another agentbook process" in r.err


def test_api_error_keeps_the_worktree_and_resume_finishes(runner_repo: Path, run_cli) -> None:
    (runner_repo.parent / "T.md").write_text(TICKET)
    r = run_cli("run", "--ticket", runner_repo.parent / "T.md", "--repo", runner_repo, "--model",
                f"scripted:{DATA / 'four-steps-401.script.yaml'}", "--json")
    assert r.code == 13, r.err
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "api_error" and data["outcome"]["evidence"]["status"] == 401
    assert [s["status"] for s in data["steps"]] == ["done", "pending", "pending", "pending"]
    assert Path(data["worktree"]).is_dir()
    r = run_cli("run", "--resume", data["run_id"], "--repo", runner_repo, "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    assert [s["status"] for s in done["steps"]] == ["done"] * 4 and done["resumes"] == 1
    assert len(git(runner_repo, "rev-list", f"main..{done['branch']}").split()) == 4

"""`agentbook watch`: tickets dropped in a folder become runs; state files make restarts exact;
SIGTERM drains running sessions to a saved state that the next watcher resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def drop(inbox: Path, n: int) -> None:
    for i in range(n):
        tmp = inbox / f".t{i}.tmp"
        tmp.write_text(f"---\nid: w{i}\ntitle: Ticket {i}\nrunbook: four-steps\ninputs: {{topic: t{i}}}\n---\nGo.\n")
        tmp.rename(inbox / f"t{i}.md")  # writers should move tickets in whole


def states(inbox: Path) -> dict[str, dict]:
    return {p.name.removesuffix(".state.json"): json.loads(p.read_text())
            for p in (inbox / ".agentbook-watch").glob("*.state.json")}


def test_watch_once_runs_every_ticket(run_cli, runner_repo: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, 3)
    (inbox / "notes.png").write_bytes(b"not a ticket")
    r = run_cli("watch", inbox, "--repo", runner_repo, "--once", "--concurrency", "3", "--model",
                f"scripted:{DATA / 'four-steps.script.yaml'}", "--json")
    assert r.code == 0, r.err
    got = states(inbox)
    assert sorted(got) == ["t0.md", "t1.md", "t2.md"]
    assert {s["status"] for s in got.values()} == {"done"}
    assert sorted(git(runner_repo, "branch", "--list", "agentbook/*", "--format=%(refname:short)").split()) == \
        ["agentbook/four/w0", "agentbook/four/w1", "agentbook/four/w2"]
    # a second pass repeats nothing
    r = run_cli("watch", inbox, "--repo", runner_repo, "--once", "--json")
    assert r.code == 0 and r.out == ""
    assert len(list((runner_repo / ".agentbook" / "runs").iterdir())) == 3


def test_failed_ticket_is_marked_failed_with_the_error(run_cli, runner_repo: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "bad.md").write_text("---\nid: b\nrunbook: nope\n---\nGo.\n")
    r = run_cli("watch", inbox, "--repo", runner_repo, "--once")
    assert r.code == 1  # --once says a ticket failed
    state = states(inbox)["bad.md"]
    assert state["status"] == "failed" and state["exit_code"] == 3
    assert "no runbook named 'nope'" in state["error"]


@pytest.mark.slow
def test_sigterm_drains_and_restart_neither_loses_nor_repeats(runner_repo: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN")}
    args = [sys.executable, "-m", "agentbook", "watch", str(inbox), "--repo", str(runner_repo), "--concurrency", "2",
            "--model", f"scripted:{DATA / 'four-steps-slow.script.yaml'}"]
    watcher = subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)  # the watcher is up and watching an empty folder
    drop(inbox, 3)
    deadline = time.monotonic() + 60
    while sum(s["status"] == "running" for s in states(inbox).values()) < 2 or \
            len(list((runner_repo / ".agentbook" / "runs").glob("*/run.json"))) < 2:
        assert time.monotonic() < deadline, states(inbox)
        time.sleep(0.05)
    time.sleep(0.8)  # inside a step
    watcher.send_signal(signal.SIGTERM)
    _out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    got = states(inbox)
    interrupted = [s for s in got.values() if s["status"] == "running"]
    assert len(interrupted) == 2 and all(s["run_id"] for s in interrupted)
    for s in interrupted:
        record = json.loads((runner_repo / ".agentbook" / "runs" / s["run_id"] / "run.json").read_text())
        assert record["status"] == "interrupted"
    assert [s["status"] for s in got.values()].count("queued") == 1
    restarted = subprocess.run([*args, "--once"], check=False, env=env, text=True, capture_output=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    got = states(inbox)
    assert {s["status"] for s in got.values()} == {"done"}
    assert len(list((runner_repo / ".agentbook" / "runs").iterdir())) == 3  # no ticket ran twice
    for s in got.values():
        record = json.loads((runner_repo / ".agentbook" / "runs" / s["run_id"] / "run.json").read_text())
        assert record["status"] == "completed"
        assert len(git(runner_repo, "rev-list", f"main..{record['branch']}").split()) == 4


def test_restart_after_a_watcher_died_settles_a_finished_run(run_cli, runner_repo: Path, tmp_path: Path) -> None:
    """The watcher was killed after its run finished but before it wrote `done`: no second run."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, 1)
    model = f"scripted:{DATA / 'four-steps.script.yaml'}"
    assert run_cli("watch", inbox, "--repo", runner_repo, "--once", "--model", model).code == 0
    state_file = inbox / ".agentbook-watch" / "t0.md.state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "status": "running", "exit_code": None}))
    r = run_cli("watch", inbox, "--repo", runner_repo, "--once", "--model", model, "--json")
    assert r.code == 0, r.err
    assert [json.loads(x)["status"] for x in r.out.splitlines()] == ["done"]
    assert states(inbox)["t0.md"]["exit_code"] == 0
    assert len(list((runner_repo / ".agentbook" / "runs").iterdir())) == 1


def test_concurrency_limits_runs_at_once(run_cli, runner_repo: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, 2)
    r = run_cli("watch", inbox, "--repo", runner_repo, "--once", "--concurrency", "1", "--model",
                f"scripted:{DATA / 'four-steps.script.yaml'}", "--json")
    assert r.code == 0, r.err
    events = [(e["ticket"], e["status"]) for e in map(json.loads, r.out.splitlines())]
    assert events == [("t0.md", "queued"), ("t1.md", "queued"), ("t0.md", "running"), ("t0.md", "done"),
                      ("t1.md", "running"), ("t1.md", "done")]

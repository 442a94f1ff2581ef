"""`agentbook watch` on a folder strangers drop tickets into. Each ticket is an `agentbook run` process
whose stderr the watcher read only once it had exited, from a pipe: a ticket whose refusal message
passed the pipe's 64 KiB (a 200 KB runbook name) blocked that run in write() for ever, and the watcher
with it (`--once` never returned; with `--concurrency 1` no other ticket ever started)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import make_repo


def test_a_ticket_whose_refusal_fills_the_pipe_does_not_hang_the_watcher(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "big.md").write_text("---\nid: big\nrunbook: " + "x" * 200_000 + "\n---\nGo.\n")
    try:
        r = subprocess.run([sys.executable, "-m", "agentbook", "watch", str(inbox), "--repo", str(repo), "--once",
                            "--concurrency", "1", "--json"], capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("the watcher hung on a ticket whose error filled its stderr pipe") from None
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    state = json.loads((inbox / ".agentbook-watch" / "big.md.state.json").read_text())
    assert state["status"] == "failed" and state["exit_code"] == 3
    assert "runbook" in state["error"] and len(state["error"]) <= 2000


def test_a_ticket_that_is_a_link_is_never_run(tmp_path: Path) -> None:
    """A link dropped in the watched folder (`environ.md -> /proc/self/environ`, `notes.md` -> a file of the
    user's) was a ticket like any other: its run read the runner's environment (its API key, the GitHub
    token) or the user's file as the ticket, into the agent's prompt. Only regular files are tickets."""
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "private.md"
    outside.write_text("---\nid: private\nrunbook: nothing-such\n---\nPRIVATE-9f3k2m\n")
    (inbox / "environ.md").symlink_to("/proc/self/environ")
    (inbox / "notes.md").symlink_to(outside)
    (inbox / "plain.md").write_text("---\nid: plain\nrunbook: nothing-such\n---\nGo.\n")
    r = subprocess.run([sys.executable, "-m", "agentbook", "watch", str(inbox), "--repo", str(repo), "--once",
                        "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    started = sorted(p.name for p in (inbox / ".agentbook-watch").glob("*.state.json"))
    assert started == ["plain.md.state.json"], started  # refused for its runbook, but it was run
    assert "PRIVATE-9f3k2m" not in r.stdout + r.stderr

"""`agentbook watch` on a folder strangers drop tickets into. Each ticket is an `agentbook run` process
whose stderr the watcher read only once it had exited, from a pipe: a ticket whose refusal message
passed the pipe's 64 KiB (a 200 KB runbook name) blocked that run in write() for ever, and the watcher
with it (`--once` never returned; with `--concurrency 1` no other ticket ever started)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("target", ["credentials", "/proc/self/environ"])
def test_a_ticket_swapped_for_a_link_after_the_watcher_checked_it_is_not_read(tmp_path: Path, target: str) -> None:
    """The watcher checks that a dropped file is regular, then starts `agentbook run --ticket FILE`, which
    read the file by path, following links: one swapped for a link between that check and the run's read
    (to `~/.git-credentials`, `~/.config/gh/hosts.yml`: text holding the user's token) had that file read as
    the ticket, into the agent's prompt (`/proc/self/environ` was refused for its NUL bytes). The run now
    reads the ticket from one descriptor opened without following a link; this is the command the watcher
    starts, run on the file as the swap leaves it (the race, made certain)."""
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    credentials = tmp_path / "git-credentials"
    credentials.write_text("https://bot:NOTE-6q2w8e4r@github.com\n")  # a value redaction does not know
    (inbox / "t.md").symlink_to(credentials if target == "credentials" else target)
    env = {**os.environ, "RUNNER_PRIVATE_NOTE": "NOTE-6q2w8e4r"}  # no secret's name: redaction would not hide it
    r = subprocess.run([sys.executable, "-m", "agentbook", "run", "attack", "--ticket", str(inbox / "t.md"),
                        "--repo", str(repo), "--dry-run", "--json"],
                       capture_output=True, text=True, timeout=120, check=False, env=env)
    assert "NOTE-6q2w8e4r" not in r.stdout + r.stderr
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "ticket is a symbolic link, which is not followed" in r.stderr


def test_a_ticket_swapped_for_a_fifo_blocks_neither_run_nor_watcher(tmp_path: Path) -> None:
    """A fifo swapped in after the check blocked the run's read (and the watcher's hash of the file) for ever."""
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.mkfifo(inbox / "t.md")
    try:
        r = subprocess.run([sys.executable, "-m", "agentbook", "run", "attack", "--ticket", str(inbox / "t.md"),
                            "--repo", str(repo), "--dry-run", "--json"],
                           capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run blocked opening a fifo as its ticket") from None
    assert r.returncode == 3 and "ticket is a fifo, not a regular file" in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("planted", ["link", "foreign", "open"])
def test_a_state_folder_planted_in_the_watched_folder_is_refused(tmp_path: Path, planted: str) -> None:
    """The watcher keeps its state in DIR/.agentbook-watch, and whoever drops tickets in DIR could make that
    first: a link to a folder of their choosing (`/etc/logrotate.d`) had the runner, as root, create its
    lock and a state file per ticket there, and a folder of theirs let them forge states it reads back."""
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state = inbox / ".agentbook-watch"
    if planted == "link":
        state.symlink_to(elsewhere)
    else:
        state.mkdir()
        if planted == "foreign":
            if os.geteuid() != 0:
                pytest.skip("giving a folder to another user needs root")
            os.chown(state, 65534, 65534)
        else:
            state.chmod(0o777)
    (inbox / "t.md").write_text("---\nid: t\nrunbook: nothing-such\n---\nGo.\n")
    r = subprocess.run([sys.executable, "-m", "agentbook", "watch", str(inbox), "--repo", str(repo), "--once",
                        "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "someone else may have made it" in r.stderr
    assert list(elsewhere.iterdir()) == [] and (planted == "link" or list(state.iterdir()) == [])


def test_the_watchers_own_state_folder_is_kept_by_descriptor(tmp_path: Path) -> None:
    """A state folder the watcher made is used as before (a restarted watcher finds its states)."""
    repo = make_repo(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "t.md").write_text("---\nid: t\nrunbook: nothing-such\n---\nGo.\n")
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "agentbook", "watch", str(inbox), "--repo", str(repo), "--once",
                            "--json"], capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
    state = json.loads((inbox / ".agentbook-watch" / "t.md.state.json").read_text())
    assert state["status"] == "failed" and "left alone" in r.stdout


SHADOW = '''\
import json, os, pathlib
pathlib.Path({stolen!r}).write_text(json.dumps(dict(os.environ)))
raise SystemExit("the repository's code ran")
'''


@pytest.mark.parametrize("planted", ["agentbook/__init__.py", "yaml.py"])
def test_the_watchers_runs_import_nothing_from_the_folder_it_was_started_in(tmp_path: Path, planted: str) -> None:
    """`agentbook watch tickets` typed in the repository's checkout started each run as `python -m agentbook`,
    which puts that folder first on `sys.path`: the checkout's `agentbook/` (or a `yaml.py`, shadowing PyYAML)
    ran outside every jail, as root, with the runner's environment (its API key, the GitHub token)."""
    repo = make_repo(tmp_path)
    stolen = tmp_path / "stolen.json"
    (repo / planted).parent.mkdir(parents=True, exist_ok=True)
    (repo / planted).write_text(SHADOW.format(stolen=str(stolen)))
    inbox = repo / "tickets"
    inbox.mkdir()
    (inbox / "plain.md").write_text("---\nid: plain\nrunbook: nothing-such\n---\nGo.\n")
    console = Path(sys.executable).parent / "agentbook"  # the console script, as a user runs it
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-api03-" + "WatchShadowKey" * 5}
    r = subprocess.run([str(console), "watch", "tickets", "--once", "--json"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert not stolen.exists(), f"the checkout's {planted} ran in the watcher's run with the runner's environment"
    state = json.loads((inbox / ".agentbook-watch" / "plain.md.state.json").read_text())
    assert state["exit_code"] == 3 and "nothing-such" in state["error"], (state, r.stderr[-2000:])

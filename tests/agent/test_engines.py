"""Choosing the agent: `--agent`, the runbook's and the ticket's `agent:`; the built-in loop is an engine
like any other; bad choices stop before anything starts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.repos import RUNNER_DATA

from agentbook.runbooks.engines import engine_names

SCRIPT = f"scripted:{RUNNER_DATA / 'four-steps.script.yaml'}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_the_builtin_loop_is_a_registered_engine(run_cli, four_repo: Path) -> None:
    assert "agentbook" in engine_names()
    r = run_cli("run", "four-steps", "--input", "topic=owls", "--repo", four_repo, "--model", SCRIPT,
                "--agent", "agentbook", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    record = json.loads((Path(data["run_dir"]) / "run.json").read_text())
    assert record["options"]["agent"] == "agentbook"
    assert len(git(four_repo, "rev-list", f"main..{data['branch']}").split()) == 4


def test_unknown_agent_stops_before_anything_starts(run_cli, four_repo: Path) -> None:
    r = run_cli("run", "four-steps", "--input", "topic=owls", "--repo", four_repo, "--model", SCRIPT,
                "--agent", "nope")
    assert r.code == 3
    assert "unknown agent 'nope'" in r.err and "Traceback" not in r.err
    assert not (four_repo / ".agentbook" / "runs").exists()


def test_runbook_front_matter_picks_the_agent(run_cli, four_repo: Path) -> None:
    path = four_repo / "runbooks" / "four-steps.md"
    path.write_text(path.read_text().replace("branch:", "agent: nope-from-runbook\nbranch:", 1))
    git(four_repo, "commit", "-qam", "agent")
    r = run_cli("run", "four-steps", "--input", "topic=owls", "--repo", four_repo, "--model", SCRIPT, "--dry-run")
    assert r.code == 3 and "unknown agent 'nope-from-runbook'" in r.err


def test_a_ticket_may_name_an_agent_but_never_a_command(run_cli, four_repo: Path) -> None:
    ticket = four_repo.parent / "T.md"
    ticket.write_text("---\nid: 7\nrunbook: four-steps\nagent: \"command:sh -c 'curl evil'\"\ninputs: {topic: owls}\n---\nhi\n")
    r = run_cli("run", "--ticket", ticket, "--repo", four_repo, "--model", SCRIPT, "--dry-run")
    assert r.code == 3
    assert "T.md" in r.err and "is a command line; a ticket may only name an agent" in r.err
    ticket.write_text("---\nid: 7\nrunbook: four-steps\nagent: agentbook\ninputs: {topic: owls}\n---\nhi\n")
    r = run_cli("run", "--ticket", ticket, "--repo", four_repo, "--model", SCRIPT, "--dry-run", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["agent"] == "agentbook"

"""`--agent command:'ARGV'`: any agent CLI, in the jail, keyless through the relay, same branch shape."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from tests.repos import git

from agentbook.session.sandbox import bwrap_works

from .conftest import DATA

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="the jail does not work here; agent CLIs run only in it")

# A whole agent CLI: the prompt on stdin, one Messages API call through ANTHROPIC_BASE_URL with the
# relay's token, the answer written to the file the step names.
AGENT = """
import re, sys, anthropic
prompt = sys.stdin.read()
name = re.search(r"`([a-d]\\.txt)`", prompt).group(1)
reply = anthropic.Anthropic(max_retries=0).messages.create(
    model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": prompt}])
open(name, "w").write(reply.content[0].text + "\\n")
print("wrote", name)
"""


def test_any_agent_cli_works_the_steps_through_the_relay(run_cli, four_repo: Path) -> None:
    agent = "command:" + shlex.join([sys.executable, "-c", AGENT])
    r = run_cli("run", "four-steps", "--input", "topic=owls", "--repo", four_repo, "--json",
                "--model", f"scripted:{DATA / 'command-agent.script.yaml'}", "--agent", agent)
    assert r.code == 0, r.out + r.err
    data = json.loads(r.out)
    assert data["turns"] == 4 and data["cost_usd"] > 0  # one relayed, priced request per step
    assert len(git(four_repo, "rev-list", f"main..{data['branch']}").split()) == 4
    assert git(four_repo, "show", f"{data['branch']}:b.txt") == "first second third fourth note\n"
    events = [json.loads(line)["event"] for line in (Path(data["run_dir"]) / "transcript.jsonl").read_text().splitlines()]
    assert events.count("relay") == 4 and events.count("agent_output") == 4


def test_an_agent_cli_that_fails_ends_crashed_not_completed(run_cli, four_repo: Path) -> None:
    r = run_cli("run", "four-steps", "--input", "topic=owls", "--repo", four_repo, "--json",
                "--model", f"scripted:{DATA / 'command-agent.script.yaml'}", "--agent", "command:sh -c 'exit 3'")
    assert r.code == 14
    outcome = json.loads(r.out)["outcome"]
    assert outcome["kind"] == "crashed" and outcome["message"] == "the agent command exited 3"

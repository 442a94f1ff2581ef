"""The `.agentbook/` folder beside a suite is the agent's to write (it is in the worktree), and the in-process
`eval` tool (the runner, as root, outside the jail) makes its index, locks, runs and response cache there.
Only a link at `.agentbook` itself was refused: one at `index`, `locks`, `runs` or the suite's runs folder had
the tool make its files in the host folder it named, and a dangling `responses.sqlite` (or `-wal`) link had
SQLite make the file it named: `responses.sqlite -> /etc/ld.so.preload` became a file holding the model's
answer, an attacker's path in it, read by every program the host starts. A lock that was a dangling link
made its file too. Now each is refused, or (a SQLite side file) removed, and the folder outside stays empty.
The agent's files are made as the agent's bash makes them; the tool runs through a real session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.evals.state import _key

AGENT = """version: 1
model: scripted
sessions:
  - name: agent
    match: {first_user: "go"}
    turns:
      - tool_use: {name: eval, input: {command: list, suite: suite.yaml}}
      - tool_use: {name: eval, input: {command: edit, suite: suite.yaml, id: c1, set: {vars.q: there}}}
      - tool_use: {name: eval, input: {command: run, suite: suite.yaml, model: "scripted:MODEL"}}
      - text: Done.
  - name: case
    match: {first_user: "Say"}
    turns:
      - text: "hello /worktree/evil.so"
"""
LINKS = {  # where the agent puts a link below .agentbook/ (KEY: the suite's own folder name there)
    "index": "index", "locks": "locks", "runs": "runs", "runs-of-the-suite": "runs/KEY",
    "response-cache": "responses.sqlite", "response-cache-wal": "responses.sqlite-wal",
    "verdicts-lock": "runs/KEY/.verdicts.lock",
}


@pytest.mark.parametrize("attack", sorted(LINKS))
def test_links_in_the_suites_state_folder_lead_the_eval_tool_nowhere(tmp_path: Path, attack: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    suite = root / "suite.yaml"
    suite.write_text("prompts: ['Say {{q}}']\ntests:\n  - id: c1\n    vars: {q: hi}\n"
                     "    assert: [{type: contains, value: hello}]\n")
    script = root / "agent.script.yaml"
    script.write_text(AGENT.replace("MODEL", str(script)))
    link = root / ".agentbook" / LINKS[attack].replace("KEY", _key(suite))
    link.parent.mkdir(parents=True, exist_ok=True)
    dangling = attack.startswith("response") or attack.endswith("lock")
    os.symlink(outside / "made-by-the-runner" if dangling else outside, link)
    argv = [sys.executable, "-m", "agentbook", "session", "--model", f"scripted:{script}", "--root", str(root),
            "--tools", "eval", "--timeout", "60s", "--out", str(tmp_path / "out"), "--json", "go"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    data = json.loads(proc.stdout)
    assert list(outside.iterdir()) == [], f"the runner made {sorted(p.name for p in outside.iterdir())} there"
    transcript = Path(data["transcript_path"]).read_text()
    tools = [json.loads(line) for line in transcript.splitlines() if '"event": "tool"' in line]
    assert len(tools) == 3  # the session went on

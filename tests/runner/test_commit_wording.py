"""Counts read as English: a run with one commit says "1 commit" (it said "1 commits") in the text
output of `agentbook run`, in report.md and in `runs list`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

RUNBOOK = "---\nname: one\ndescription: One step that writes one note.\n---\n## Write the note\nWrite notes/owl.md.\n"
TICKET = "---\nid: 1\ntitle: One owl note\nrunbook: one\n---\nOne note.\n"
SCRIPT = """version: 1
model: scripted-agent
sessions:
  - name: one
    match: {system: {contains: 'agentbook runbook "one"'}}
    turns:
      - tool_use: {name: write, input: {path: notes/owl.md, content: "Owls are birds.\\n"}}
      - text: Wrote notes/owl.md.
"""


def test_one_commit_is_singular(run_cli, git_repo: Path) -> None:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "one.md").write_text(RUNBOOK)
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "runbook one"], cwd=git_repo, check=True)
    (git_repo.parent / "T.md").write_text(TICKET)
    (git_repo.parent / "one.script.yaml").write_text(SCRIPT)
    text = run_cli("run", "--ticket", git_repo.parent / "T.md", "--repo", git_repo,
                   "--model", f"scripted:{git_repo.parent / 'one.script.yaml'}")
    assert text.code == 0, text.err
    run_id = re.search(r"^run (\S+):", text.out, re.MULTILINE)
    assert run_id, text.out
    record = json.loads(run_cli("runs", "show", run_id.group(1), "--repo", git_repo, "--json").out)
    assert sum(1 for step in record["steps"] if step["commit"]) == 1
    report = (Path(record["run_dir"]) / "report.md").read_text()
    listed = run_cli("runs", "list", "--repo", git_repo).out
    for where in (text.out, report, listed):
        assert re.search(r"\b1 commit\b", where) and "1 commits" not in where, where

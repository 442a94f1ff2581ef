"""A ticket's `co-authored-by` went into every commit of the run as a `Co-authored-by:` trailer, and the
ticket's author may be anyone who can write an issue: GitHub then credits whoever it names as a
co-author of the change (on their profile, in the pull request), a person who never saw it. The names
are now words in the commit's body, marked as the ticket's, and never a trailer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git

RUNBOOK = """---
name: probe
description: One step.
limits: {max_turns: 5, gate_retries: 0}
---
Probe.

## Write
Write note.txt.
"""
TICKET = """---
id: 12
title: a note
runbook: probe
co-authored-by: ["Linus Torvalds <torvalds@linux-foundation.org>"]
---
Please write a note.
"""
SCRIPT = {"version": 1, "model": "scripted", "sessions": [{"name": "probe", "match": {"system": 'agentbook runbook "probe"'}, "turns": [
    {"tool_use": {"name": "write", "input": {"path": "note.txt", "content": "hi\n"}}}, {"text": "Done."}]}]}


def test_a_tickets_co_authors_are_never_commit_trailers(run_cli, git_repo: Path, tmp_path: Path) -> None:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "probe runbook")
    (tmp_path / "T.md").write_text(TICKET)
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))
    r = run_cli("run", "--ticket", tmp_path / "T.md", "--repo", git_repo, "--model", f"scripted:{script}", "--json")
    data = json.loads(r.out)
    assert r.code == 0, (r.err, data.get("outcome"))
    trailers = git(git_repo, "log", "--format=%(trailers:only,unfold)", f"main..{data['branch']}")
    assert "Agentbook-Run:" in trailers and "co-authored-by" not in trailers.lower()
    body = git(git_repo, "log", "-1", "--format=%b", data["branch"])
    assert "named by the ticket (not verified, not credited): Linus Torvalds <torvalds@linux-foundation.org>" in body

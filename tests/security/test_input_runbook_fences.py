"""A repository's runbook (the ticket author's to write) whose step holds ```check blocks never closed. The
step's text for the agent drops its check blocks, and the regular expression that did so scanned to the end
of the text for each open one: 27,000 of them (297 KB) took 25 s of CPU to plan a run, the 1 MiB cap minutes,
before any clock ran. The blocks are now dropped line by line; an open one stays in the text, as before."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentbook.catalog.source import MAX_SOURCE_BYTES
from agentbook.cli import main

HEAD = "---\nname: big\ndescription: Open check blocks.\ntools: [read]\n---\nDo it.\n\n## Step\nRead it.\n"


@pytest.mark.timeout(120)
def test_a_runbook_of_check_blocks_never_closed_plans_in_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "runbooks").mkdir(parents=True)
    block = "```check\nx\n"
    (repo / "runbooks" / "big.md").write_text(HEAD + block * ((MAX_SOURCE_BYTES - len(HEAD) - 100) // len(block)))
    (repo / "T.md").write_text("---\nid: t1\nrunbook: big\n---\nGo.\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "runbook"]):
        subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True)
    code = main(["run", "big", "--ticket", str(repo / "T.md"), "--repo", str(repo), "--dry-run", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    assert "```check\nx\n```check" in json.dumps(json.loads(out)).replace("\\n", "\n")  # open blocks stay text


def test_closed_check_blocks_still_leave_the_steps_text() -> None:
    from agentbook.runbooks.render import without_gates

    text = "Edit it.\n\n```check\nagentbook eval run s.yaml\n```\n\n````check\na\n```\nb\n````\nThen stop.\n"
    assert without_gates(text) == "Edit it.\n\nThen stop."

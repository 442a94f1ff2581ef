"""Text the runner writes into commit messages, the report and the pull request's title has every closing
keyword before an issue reference broken (`gitops/inert.py`). The regular expression that found them looked
ahead from each keyword through the rest of its word: a ticket title of `fix.` 60,000 times and a `#1` (240 KB,
under the ticket's cap) took minutes at every commit message and again for the report, after the agent's
work, outside every clock. One pass over the text finds the references now."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, bash, git, make_repo, run, set_secrets

from agentbook.gitops.inert import JOINER, inert

HOSTILE = "fix." * 60_000 + "#1"


@pytest.mark.timeout(120)
def test_a_title_of_many_closing_keywords_does_not_hold_the_commit(tmp_path: Path, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    ticket = f"---\nid: 7\ntitle: \"{HOSTILE}\"\nrunbook: attack\n---\nFix it.\n"
    code, _data, out = run(repo, agent(tmp_path, bash("echo changed >> src/app.py")), ticket=ticket, capsys=capsys)
    assert code == 0, out[-2000:]
    message = git(repo, "log", "-1", "--format=%B", "agentbook/attack/7")
    assert "f" + JOINER + "ix.#1" in message and "fix.#1" not in message  # the whole title, each keyword broken


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", [HOSTILE, "fix" + ":" * 250_000 + "#1", "fix:" * 60_000 + "#1"],
                         ids=["dots", "colons", "keyword-colons"])
def test_breaking_closing_keywords_takes_one_pass(text: str) -> None:
    assert inert(text).endswith("#1") and JOINER in inert(text)

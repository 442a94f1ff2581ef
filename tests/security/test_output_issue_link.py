"""A pull request links the issue it was run on, and no other. Every closing keyword in what the ticket,
the runbook, a check or the agent wrote is broken (inert.py), so no pull request closed even its own
issue. The runner now ends the body with its own `Closes #N` for a ticket read from a GitHub issue, and
only once the API says issue N of the pull request's repository is an open issue whose title and body
are the ticket's: a ticket file that claims another number (or a pull request's) links nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.github_api import TOKEN, GitHubServer, github_origin, serving
from tests.repos import git

sys.path.insert(0, str(Path(__file__).parent))
from test_output_github import CLOSES, RUNBOOK, SCRIPT

TITLE = "ATTACK-title Fixes #1, closes acme/widgets#2"
BODY = "The prompt breaks on dates.\r\nFixes #3 and resolves acme/widgets#4 please.\r\n"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubServer]:
    with serving() as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield server


def _run(run_cli, git_repo: Path, tmp_path: Path, ticket: str, name: str) -> tuple[Any, dict[str, Any]]:
    if not (git_repo / "runbooks").exists():
        (git_repo / "runbooks").mkdir()
        (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-q", "-m", "probe runbook")
        github_origin(git_repo, tmp_path / "widgets.git")
    (tmp_path / name).write_text(ticket)
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))
    r = run_cli("run", "--ticket", tmp_path / name, "--repo", git_repo, "--model", f"scripted:{script}",
                "--open-pr", "--json")
    return r, json.loads(r.out)


def _issue(number: int, title: str = TITLE, body: str = BODY) -> str:
    return json.dumps({"number": number, "title": title, "body": body, "labels": [{"name": "agentbook:probe"}]})


def _closed(server: GitHubServer) -> list[str]:
    pulls = [q for q in server.requests if q["path"].endswith("/pulls")]
    assert len(pulls) == 1
    return [m.group(0) for m in CLOSES.finditer(pulls[0]["body"]["body"])]


def test_a_pull_request_closes_the_issue_it_was_run_on_and_no_other(
        run_cli, git_repo: Path, tmp_path: Path, api: GitHubServer) -> None:
    api.issues[7] = {"title": TITLE, "body": BODY, "labels": [{"name": "agentbook:probe"}]}
    r, data = _run(run_cli, git_repo, tmp_path, _issue(7), "issue-7.json")
    assert _closed(api) == ["Closes #7"], r.err
    assert api.requests[-1]["body"]["body"].endswith("\n\nCloses #7\n")
    assert data["pull_request"]["closes"] == 7


@pytest.mark.parametrize("claimed, issues", [
    (1, {1: {"title": "Another issue", "body": BODY}}),  # a ticket file claiming issue 1's number
    (1, {1: {"title": TITLE, "body": BODY + "more"}}),  # the issue's text is not the ticket's
    (1, {1: {"title": TITLE, "body": BODY, "pull_request": {"url": "x"}}}),  # a pull request's number
    (1, {1: {"title": TITLE, "body": BODY, "state": "closed"}}),
    (2, {}),  # no such issue in the pull request's repository
])
def test_a_ticket_claiming_an_issue_that_is_not_it_closes_nothing(
        run_cli, git_repo: Path, tmp_path: Path, api: GitHubServer, claimed: int,
        issues: dict[int, dict[str, Any]]) -> None:
    api.issues.update(issues)
    r, data = _run(run_cli, git_repo, tmp_path, _issue(claimed), "forged.json")
    assert _closed(api) == [], r.err
    assert data["pull_request"]["closes"] is None
    assert any(f"issue #{claimed} not linked" in note for note in data["notes"]), data["notes"]


def test_a_ticket_file_links_no_issue(run_cli, git_repo: Path, tmp_path: Path, api: GitHubServer) -> None:
    api.issues[9] = {"title": TITLE, "body": BODY}
    ticket = f"---\nid: 9\ntitle: \"{TITLE}\"\nrunbook: probe\n---\nFixes #9 and closes #3.\n"
    r, data = _run(run_cli, git_repo, tmp_path, ticket, "T.md")
    assert _closed(api) == [], r.err
    assert data["pull_request"]["closes"] is None
    assert not [q for q in api.requests if "/issues/" in q["path"]]  # not even asked


def test_a_watched_ticket_closes_its_own_issue_and_a_forged_one_none(
        run_cli, git_repo: Path, tmp_path: Path, api: GitHubServer) -> None:
    """The same through `agentbook watch --open-pr`, which runs each ticket dropped in its folder as an
    `agentbook run` process of its own: issue 7's ticket closes #7, a ticket claiming issue 1 (whose text
    is another's) closes nothing."""
    api.issues[7] = {"title": TITLE, "body": BODY, "labels": [{"name": "agentbook:probe"}]}
    api.issues[1] = {"title": "Another issue", "body": BODY}
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "probe runbook")
    github_origin(git_repo, tmp_path / "widgets.git")
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "issue-7.json").write_text(_issue(7))
    (inbox / "forged.json").write_text(_issue(1))
    r = run_cli("watch", inbox, "--repo", git_repo, "--once", "--model", f"scripted:{script}", "--open-pr", "--json")
    ended = {json.loads(line)["ticket"]: json.loads(line)["exit_code"] for line in r.out.splitlines()}
    assert ended == {"issue-7.json": 11, "forged.json": 11}, r.out + r.err  # the probe's gate blocks: a draft
    pulls = [q["body"] for q in api.requests if q["path"].endswith("/pulls")]
    assert len(pulls) == 2, r.out + r.err
    closes = {p["head"]: [m.group(0) for m in CLOSES.finditer(p["body"])] for p in pulls}
    assert sorted(closes.values()) == [[], ["Closes #7"]], closes

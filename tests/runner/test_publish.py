"""Push to a local bare remote and open pull requests against a local server that checks the request
shapes of GitHub's REST API (POST /repos/{owner}/{repo}/pulls; tests/github_api.py, the `github` fixture)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.github_api import TOKEN, github_origin

DATA = Path(__file__).parent / "data"
TICKET = "---\nid: 9\ntitle: Owl notes\nrunbook: four-steps\ninputs: {topic: owls}\n---\nNotes.\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def remote(runner_repo: Path, tmp_path: Path) -> Path:
    """origin's URL names acme/widgets on GitHub; pushes go to a local bare repository."""
    bare = github_origin(runner_repo, tmp_path / "widgets.git")
    (runner_repo.parent / "T.md").write_text(TICKET)
    return bare


def run(run_cli, repo: Path, script: str, *extra: str):
    return run_cli("run", "--ticket", repo.parent / "T.md", "--repo", repo, "--model", f"scripted:{DATA / script}",
                   "--json", *extra)


def test_push_sends_only_the_run_branch(run_cli, runner_repo: Path, remote: Path) -> None:
    git(runner_repo, "branch", "unrelated")
    r = run(run_cli, runner_repo, "four-steps.script.yaml", "--push")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["notes"] == [f"pushed {data['branch']} to origin"]
    assert git(remote, "for-each-ref", "--format=%(refname)").split() == [f"refs/heads/{data['branch']}"]
    assert git(remote, "rev-parse", data["branch"]).strip() == git(runner_repo, "rev-parse", data["branch"]).strip()


def test_open_pr_after_a_green_run_is_ready_for_review(run_cli, runner_repo: Path, remote: Path, github) -> None:
    r = run(run_cli, runner_repo, "four-steps.script.yaml", "--open-pr")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert len(github) == 1
    body = github[0]["body"]
    assert body["title"] == "four-steps: Owl notes"
    assert body["head"] == data["branch"] and body["base"] == "main" and body["draft"] is False
    assert body["body"] == (Path(data["run_dir"]) / "report.md").read_text()
    assert data["pull_request"] == {"opened": True, "number": 17, "url": "https://github.com/acme/widgets/pull/17",
                                    "draft": False, "closes": None}
    assert "opened pull request #17 https://github.com/acme/widgets/pull/17" in data["notes"]
    assert TOKEN not in (Path(data["run_dir"]) / "transcript.jsonl").read_text()
    assert TOKEN not in r.out


def test_open_pr_after_a_blocked_run_is_a_draft(run_cli, runner_repo: Path, remote: Path, github) -> None:
    r = run(run_cli, runner_repo, "gate-fails.script.yaml", "--open-pr")
    assert r.code == 11, r.err
    assert github[0]["body"]["draft"] is True
    assert json.loads(r.out)["pull_request"]["draft"] is True
    commits = sum(1 for step in json.loads(r.out)["steps"] if step["commit"])
    listed = run_cli("runs", "list", "--repo", runner_repo).out
    assert f"  {commits} commit{'s' if commits != 1 else ''}  $" in listed


def test_open_pr_with_no_changes_opens_nothing(run_cli, runner_repo: Path, remote: Path, github) -> None:
    (runner_repo / "runbooks" / "look.md").write_text(
        "---\nname: look\ndescription: Look around.\n---\n## Look\nRead the README.\n")
    git(runner_repo, "add", "-A")
    git(runner_repo, "commit", "-q", "-m", "look runbook")
    r = run_cli("run", "look", "--repo", runner_repo, "--model", f"scripted:{DATA / 'nothing.script.yaml'}",
                "--open-pr")
    assert r.code == 10, r.err
    assert "no changes: nothing pushed, no pull request opened" in r.out
    assert github == []
    assert git(remote, "for-each-ref") == ""
    # a run that made no commit leaves no branch behind (each run used to add one: look, look-2, ...)
    assert "branch agentbook/look/" in r.out and "deleted: the run made no commit" in r.out
    assert git(runner_repo, "branch", "--list", "agentbook/*") == ""


def test_github_error_is_reported_with_its_message(run_cli, runner_repo: Path, remote: Path, github,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    r = run(run_cli, runner_repo, "four-steps.script.yaml", "--open-pr")
    assert r.code == 3
    assert "GitHub API POST /repos/acme/widgets/pulls failed: HTTP 401: Bad credentials (GITHUB_TOKEN was rejected)" \
        in r.err
    run_dir = next((runner_repo / ".agentbook" / "runs").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["push"]["pushed"] is True
    assert record["pull_request"] == {"opened": False, "error": record["pull_request"]["error"]}


def test_github_workflow_uses_flags_the_runner_has(run_cli) -> None:
    import re

    import yaml

    examples = Path(__file__).parents[2] / "examples" / "github"
    for name, job, command in (("agentbook.yml", "run", "run"), ("agentbook-watch.yml", "watch", "watch")):
        workflow = yaml.safe_load((examples / name).read_text())
        steps = workflow["jobs"][job]["steps"]
        call = f'/bin/agentbook" {command} '  # the CLI of the venv the workflow installs
        script = next(s["run"] for s in steps if call in s.get("run", ""))
        used = set(re.findall(r"(--[a-z-]+)", script.split(call, 1)[1].split(">", 1)[0]))
        help_text = run_cli(command, "--help").out
        assert used and all(flag in help_text for flag in used), (name, used)
        assert workflow["permissions"] == {}
        assert workflow["jobs"][job]["permissions"] == {"contents": "write", "pull-requests": "write",
                                                        "issues": "read"}


def test_the_agent_cannot_commit_move_refs_or_push(run_cli, runner_repo: Path, remote: Path) -> None:
    from agentbook.session.sandbox import bwrap_works

    if not bwrap_works():
        pytest.skip("bubblewrap cannot create namespaces here")
    main_before = git(runner_repo, "rev-parse", "main").strip()
    r = run(run_cli, runner_repo, "rogue.script.yaml")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    transcript = [json.loads(x) for x in (Path(data["run_dir"]) / "transcript.jsonl").read_text().splitlines()]
    bash = next(e for e in transcript if e["event"] == "tool" and e["name"] == "bash")["content"]
    assert "commit=0" not in bash and "update-ref=0" not in bash and "push=0" not in bash
    assert git(runner_repo, "rev-parse", "main").strip() == main_before
    assert "rogue-commit" not in git(runner_repo, "log", "--all", "--format=%s")
    assert git(remote, "for-each-ref") == ""
    assert len(git(runner_repo, "rev-list", f"main..{data['branch']}").split()) == 4

"""Every bad input stops the run before anything starts: a clear message, exit code, no branch, no
run record, and no model call (the model spec points at a script that does not exist)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

NO_MODEL = "scripted:/nonexistent/never-loaded.script.yaml"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def ticket(repo: Path, text: str) -> Path:
    path = repo.parent / "T.md"
    path.write_text(text)
    return path


def then(_done: object, *args: str) -> list[str]:
    """Run a setup action (its value ignored), then return the CLI arguments."""
    return list(args)


CASES = [
    # (id, setup(repo) -> extra args, expected exit code, expected message)
    ("unknown-runbook", lambda r: ["nope", "--input", "topic=x"], 3, "no runbook named 'nope'"),
    ("missing-input", lambda r: ["four-steps"], 3,
     "missing required input 'topic' (What the notes are about) for runbook 'four-steps'"),
    ("ill-typed-input", lambda r: ["four-steps", "--input", "topic=x", "--input", "count=many"], 3,
     "input 'count' must be an integer, got 'many'"),
    ("missing-path", lambda r: ["four-steps", "--input", "topic=x", "--input", "source=notes/nope.md"], 3,
     "input 'source': path 'notes/nope.md' does not exist in the repository"),
    ("path-escapes", lambda r: ["four-steps", "--input", "topic=x", "--input", "source=../etc/passwd"], 3,
     "input 'source' must be a path inside the repository, got '../etc/passwd'"),
    ("unknown-input", lambda r: ["four-steps", "--input", "topic=x", "--input", "colour=red"], 3,
     "unknown input 'colour' for runbook 'four-steps'"),
    ("bad-input-syntax", lambda r: ["four-steps", "--input", "topic"], 2, "--input expects NAME=VALUE, got 'topic'"),
    ("ticket-names-other-runbook",
     lambda r: ["four-steps", "--ticket", str(ticket(r, "---\nid: 1\nrunbook: other\n---\nhi\n"))], 3,
     "the ticket names runbook 'other' but the run asks for 'four-steps'"),
    ("ticket-ill-typed-input",
     lambda r: ["--ticket", str(ticket(r, "---\nid: 1\nrunbook: four-steps\ninputs:\n  topic: x\n  count: [1]\n---\n"))],
     3, "T.md:6: input 'count' must be an integer, got [1]"),
    ("ticket-bad-yaml", lambda r: ["--ticket", str(ticket(r, "---\nid: [1\n---\nbody\n"))], 3,
     "invalid YAML in ticket front-matter"),
    ("no-runbook-named", lambda r: ["--input", "topic=x"], 2, "name a runbook"),
    ("dirty-checkout", lambda r: then((r / "README.md").write_text("changed\n"), "four-steps", "--input", "topic=x"),
     3, "the main checkout has uncommitted changes: README.md"),
    ("detached-head", lambda r: then(git(r, "checkout", "-q", "--detach"), "four-steps", "--input", "topic=x"),
     3, "HEAD is detached in the main checkout (check out a branch or pass --base REF)"),
    ("base-missing", lambda r: ["four-steps", "--input", "topic=x", "--base", "nope"], 3,
     "base ref 'nope' does not exist"),
    ("branch-exists", lambda r: then(git(r, "branch", "taken"), "four-steps", "--input", "topic=x", "--branch", "taken"),
     3, "branch 'taken' already exists"),
    ("bad-branch-name", lambda r: ["four-steps", "--input", "topic=x", "--branch", "a..b"], 3,
     "'a..b' is not a valid branch name"),
    ("open-pr-without-token", lambda r: then(git(r, "remote", "add", "origin", "https://github.com/o/r.git"),
                                             "four-steps", "--input", "topic=x", "--open-pr"),
     3, "--open-pr needs GITHUB_TOKEN"),
    ("missing-script", lambda r: ["four-steps", "--input", "topic=x"], 3,
     "scripted model file not found: /nonexistent/never-loaded.script.yaml"),
    ("push-unknown-remote", lambda r: ["four-steps", "--input", "topic=x", "--push=upstream"], 3,
     "no remote named 'upstream'"),
]


@pytest.mark.parametrize("name, setup, code, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_before_anything_starts(run_cli, runner_repo: Path, name, setup, code, message) -> None:
    args = setup(runner_repo)
    r = run_cli("run", *args, "--repo", runner_repo, "--model", NO_MODEL)
    assert r.code == code, r.err
    assert message in r.err
    assert "Traceback" not in r.err
    assert git(runner_repo, "branch", "--list", "agentbook/*") == ""
    assert not (runner_repo / ".agentbook" / "runs").exists()


def test_anthropic_model_without_a_key(run_cli, runner_repo: Path) -> None:
    r = run_cli("run", "four-steps", "--input", "topic=x", "--repo", runner_repo, "--model", "anthropic:claude-x")
    assert r.code == 3
    assert "model anthropic:claude-x needs an API key (set ANTHROPIC_API_KEY, or pass --model)" in r.err
    assert not (runner_repo / ".agentbook" / "runs").exists()
    # a dry run calls no model, so it needs no key
    dry = run_cli("run", "four-steps", "--input", "topic=x", "--repo", runner_repo, "--model", "anthropic:claude-x",
                  "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert json.loads(dry.out)["model"] == "anthropic:claude-x"


def test_no_git_identity(run_cli, runner_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(runner_repo, "config", "--unset", "user.name")
    git(runner_repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    r = run_cli("run", "four-steps", "--input", "topic=x", "--repo", runner_repo, "--model", NO_MODEL)
    assert r.code == 3
    assert "agentbook: error: no git identity: user.name and user.email are not set" in r.err


def test_not_a_repository(run_cli, tmp_path: Path) -> None:
    r = run_cli("run", "four-steps", "--repo", tmp_path, "--model", NO_MODEL)
    assert r.code == 3 and f"not a git repository: {tmp_path}" in r.err


def test_a_path_given_from_a_subfolder_says_paths_are_relative_to_the_root(
        run_cli, runner_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a newcomer hit running an example's ticket inside agentbook's own checkout: the ticket's
    # paths are relative to the root, so `source.md` from `notes/` does not exist; the hint says why.
    monkeypatch.chdir(runner_repo / "notes")
    r = run_cli("run", "four-steps", "--input", "topic=x", "--input", "source=source.md", "--model", NO_MODEL)
    assert r.code == 3, r.err
    assert "input 'source': path 'source.md' does not exist in the repository" in r.err
    assert "paths are relative to the repository root, not to this folder: from the root it is 'notes/source.md'" in r.err
    monkeypatch.chdir(runner_repo)  # from the root the usual hint: nothing under a subfolder to point at
    r = run_cli("run", "four-steps", "--input", "topic=x", "--input", "source=source.md", "--model", NO_MODEL)
    assert r.code == 3 and "commit the file first" in r.err and "from the root it is" not in r.err


def test_a_missing_ticket_says_where_it_was_looked_for(run_cli, runner_repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(runner_repo)
    r = run_cli("run", "--ticket", "tickets/T-1.md", "--model", NO_MODEL)
    assert r.code == 3
    assert (f"ticket file not found: tickets/T-1.md (a relative path is read from the current folder, "
            f"{runner_repo})") in r.err

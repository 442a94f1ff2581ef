"""Attacks through tickets and runbooks: every typed field is checked, nothing is silently coerced
(a string is never split into characters, `allow: 'x'` never means "any command"), and size caps hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git

from agentbook.catalog import parse_runbook
from agentbook.catalog.source import MAX_SOURCE_BYTES
from agentbook.errors import FatalError
from agentbook.runbooks.tickets import MAX_TICKET_BYTES, parse_ticket, read_ticket

Cli = Callable[..., CliResult]


def ticket_error(text: str) -> str:
    with pytest.raises(FatalError) as info:
        parse_ticket(text, "T.md")
    assert info.value.exit_code == 3
    return str(info.value)


@pytest.mark.parametrize(("issue", "error"), [
    ({"number": 7, "title": "t", "labels": 5}, "T.md: issue 'labels' must be a list, got a number"),
    ({"number": 7, "title": "t", "labels": "agentbook:fix-prompt"}, "T.md: issue 'labels' must be a list, got a string"),
    ({"number": 7, "title": "t", "labels": [{"name": 5}]},
     'T.md: issue label must be a string or {"name": string}, got a mapping'),
    ({"number": 7, "title": "t", "labels": [["agentbook:x"]]},
     'T.md: issue label must be a string or {"name": string}, got a list'),
    ({"number": True, "title": "t"}, "T.md: issue 'number' must be a number, got a boolean"),
    ({"number": "7; rm -rf /", "title": "t"}, "T.md: issue 'number' must be a number, got a string"),
    ({"number": 7, "title": {"x": 1}}, "T.md: issue 'title' must be a string, got a mapping"),
    ({"number": 7, "title": "t", "body": ["a"]}, "T.md: issue 'body' must be a string, got a list"),
])
def test_github_issue_fields_are_typed(issue: dict[str, object], error: str) -> None:
    assert ticket_error(json.dumps(issue)) == error


@pytest.mark.parametrize(("front", "error"), [
    ("labels: 5", "T.md:2:1: ticket 'labels' must be a list of strings, got a number"),
    ("labels: [bug, 5]", "T.md:2:1: ticket 'labels' must be a list of strings, got a list holding a number"),
    ("co-authored-by: 5", "T.md:2:1: ticket 'co-authored-by' must be a list of strings, got a number"),
    ("inputs: [suite]", "T.md:2:1: ticket 'inputs' must be a mapping of name: value, got a list"),
    ("runbook: 5", "T.md:2:1: ticket 'runbook' must be a string, got a number"),
    ("runbook: [fix-prompt, add-eval]", "T.md:2:1: ticket 'runbook' must be a string, got a list"),
    ("title: [1]", "T.md:2:1: ticket 'title' must be a string, got a list holding a number"),
    ("id: true", "T.md:2:1: ticket 'id' must be a string or a number, got a boolean"),
    ("id: {a: 1}", "T.md:2:1: ticket 'id' must be a string or a number, got a mapping"),
])
def test_ticket_front_matter_fields_are_typed(front: str, error: str) -> None:
    assert ticket_error(f"---\n{front}\n---\nPlease fix it.\n") == error


def test_a_single_label_string_stays_one_label() -> None:
    ticket = parse_ticket("---\nlabels: agentbook:fix-prompt\nco-authored-by: A B <a@b.example>\n---\nbody\n", "T.md")
    assert ticket.labels == ["agentbook:fix-prompt"] and ticket.co_authors == ["A B <a@b.example>"]


def test_unclosed_front_matter_is_an_error_not_lost_inputs() -> None:
    assert ticket_error("---\nrunbook: fix-prompt\ninputs: {suite: evals/x.yaml}\n\nPlease fix it.\n") == (
        "T.md:1:1: ticket front-matter is not closed (add a line '---' after the last front-matter key)")


def test_front_matter_in_an_issue_body_is_checked_too() -> None:
    body = "---\ninputs: {a: 1}\ninputs: {a: 2}\n---\nfix"
    assert ticket_error(json.dumps({"number": 3, "title": "t", "body": body})).startswith(
        "T.md (issue body):3:1: invalid YAML in ticket front-matter: duplicate key 'inputs' (first on line 2)")


def test_a_50_mb_ticket_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as fh:
        fh.truncate(50 << 20)  # sparse: 50 MB of NULs, never read past the cap
    with pytest.raises(FatalError) as info:
        read_ticket(str(big))
    assert str(info.value) == (f"{big}: ticket is larger than the limit of {MAX_TICKET_BYTES:,} bytes "
                               "(put large data in the repository and name its path in the ticket)")
    assert ticket_error("x" * (MAX_TICKET_BYTES + 1)).startswith("T.md: ticket is larger than the limit")


def test_nul_and_invalid_utf8_in_a_ticket(tmp_path: Path) -> None:
    assert ticket_error("Fix it\x00now\n") == "T.md:1: ticket contains a NUL byte (a ticket is text)"
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"line one\nfix \xff it\n")
    with pytest.raises(FatalError) as info:
        read_ticket(str(bad))
    assert str(info.value) == f"{bad}:2: ticket is not valid UTF-8 (byte 0xff) (save the ticket as UTF-8)"


def write_runbook(tmp_path: Path, front: str) -> Path:
    path = tmp_path / "evil.md"
    path.write_text(f"---\nname: evil\ndescription: A runbook.\n{front}\n---\n## Do it\nWork.\n")
    return path


@pytest.mark.parametrize(("front", "error"), [
    ("protected: 5", ("evil.md:4:12: runbook cannot be read: 'protected' must be a list, got a number (5) "
                     "(write protected as a list)")),
    ("protected: 'evals/**'", ("evil.md:4:12: runbook cannot be read: 'protected' must be a list, got a string "
                              "(write protected as a list)")),
    ("bash: {allow: 'agentbook *'}", ("evil.md:4:15: runbook cannot be read: 'bash.allow' must be a list, got a "
                                     "string (write bash.allow as a list)")),
    ("bash: {allow: [5]}", ("evil.md:4:16: runbook cannot be read: 'bash.allow.0' must be a string, got a number "
                           "(5) (quote it: \"5\")")),
    ("bash: 'agentbook *'", ("evil.md:4:7: runbook cannot be read: 'bash' must be a mapping, got a string "
                            "(write bash as a mapping)")),
    ("tools: bash", "evil.md:4:8: runbook cannot be read: 'tools' must be a list, got a string (write tools as a list)"),
    ("skills: debug-trace", ("evil.md:4:9: runbook cannot be read: 'skills' must be a list, got a string "
                            "(write skills as a list)")),
    ("limits: {max_turns: '1000000'}", ("evil.md:4:21: runbook cannot be read: 'limits.max_turns' must be an "
                                       "integer, got a string (write limits.max_turns as an integer)")),
    ("limits: {max_usd: -5}", None),
    ("inputs: {suite: {type: path, required: 'no'}}", ("evil.md:4:40: runbook cannot be read: 'inputs.suite.required' "
                                                      "must be a boolean, got a string (write inputs.suite.required "
                                                      "as a boolean)")),
    ("branch: 5", None),
    ("model: [a]", None),
])
def test_runbook_typed_fields_are_checked_before_a_run(tmp_path: Path, front: str, error: str | None) -> None:
    path = write_runbook(tmp_path, front)
    with pytest.raises(FatalError) as info:
        parse_runbook(path)
    assert info.value.exit_code == 3 and str(info.value).startswith(f"{path.parent}/evil.md:4:")
    if error is not None:
        assert str(info.value) == f"{path.parent}/{error}"


def test_runbook_duplicate_keys_and_huge_files(tmp_path: Path) -> None:
    dup = write_runbook(tmp_path, "protected: ['evals/**']\nprotected: []")
    with pytest.raises(FatalError) as info:
        parse_runbook(dup)
    assert str(info.value) == (f"{dup}:5:1: runbook cannot be read: duplicate key 'protected' (first on line 4); "
                               "YAML keeps only the last (remove one of the two)")
    big = tmp_path / "big.md"
    big.write_text("---\nname: big\ndescription: d\n---\n## Step\n" + "x" * MAX_SOURCE_BYTES)
    with pytest.raises(FatalError) as info:
        parse_runbook(big)
    assert str(info.value) == (f"{big}:1:1: runbook cannot be read: file is larger than the limit of "
                               f"{MAX_SOURCE_BYTES:,} bytes (keep SKILL.md and runbooks short; move reference "
                               "material into references/*.md)")


def test_run_refuses_a_mistyped_runbook_before_any_worktree(run_cli: Cli, git_repo: Path) -> None:
    (git_repo / "runbooks").mkdir()
    write_runbook(git_repo / "runbooks", "bash: {allow: 'agentbook *'}")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "runbook")
    ticket = git_repo.parent / "T.md"
    ticket.write_text("Fix it.\n")
    script = git_repo.parent / "agent.script.yaml"
    script.write_text("version: 1\nmodel: scripted-agent\nsessions:\n  - name: s\n    turns:\n      - text: Done.\n")
    result = run_cli("run", "evil", "--ticket", ticket, "--repo", git_repo, "--model", f"scripted:{script}")
    assert result.code == 3, result.err
    assert "'bash.allow' must be a list, got a string" in result.err and "Traceback" not in result.err
    assert not (git_repo / ".agentbook" / "worktrees").exists()


def test_run_refuses_a_typed_ticket_error_with_exit_3(run_cli: Cli, git_repo: Path) -> None:
    ticket = git_repo.parent / "issue.json"
    ticket.write_text(json.dumps({"number": 12, "title": "x", "labels": 5}))
    result = run_cli("run", "fix-prompt", "--ticket", ticket, "--repo", git_repo, "--dry-run")
    assert result.code == 3
    assert result.err == f"agentbook: error: {ticket}: issue 'labels' must be a list, got a number\n"

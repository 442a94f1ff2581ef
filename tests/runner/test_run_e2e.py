"""End to end through the CLI on real repos with the scripted model: branch, commits, trailers,
report, note, gates, dry-run, runs list/show."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

TICKET = """---
id: 42
title: Notes about owls
runbook: four-steps
inputs:
  topic: owls
co-authored-by: Ann Example <ann@example.com>
---
Please write notes about owls.
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def run_four(run_cli, repo: Path, script: Path, *extra: str):
    ticket = repo.parent / "T.md"
    ticket.write_text(TICKET)
    return run_cli("run", "four-steps", "--ticket", ticket, "--repo", repo, "--model", f"scripted:{script}",
                   "--json", *extra)


def test_four_steps_make_four_commits_with_trailers(run_cli, runner_repo: Path, script: Path) -> None:
    main_before = git(runner_repo, "rev-parse", "main").strip()
    r = run_four(run_cli, runner_repo, script)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "completed"
    assert data["branch"] == "agentbook/four/42"
    log = git(runner_repo, "log", "--format=%H%x00%s%x00%(trailers:only,unfold)%x1e", f"main..{data['branch']}")
    entries = [e.strip("\n").split("\x00") for e in log.split("\x1e") if e.strip()]
    assert [e[1] for e in reversed(entries)] == [
        "four-steps: Write the first note", "four-steps: Write the second note",
        "four-steps: Write the third note", "four-steps: Write the fourth note"]
    sha = git(runner_repo, "rev-parse", "main:runbooks/four-steps.md").strip()
    first = next(e for e in entries if e[1].endswith("first note"))
    assert first[2].splitlines() == [
        f"Agentbook-Run: {data['run_id']}", f"Agentbook-Runbook: four-steps@{sha}",
        "Agentbook-Step: 1/4 Write the first note", f"Agentbook-Model: scripted:{script}"]
    # main and the main checkout are untouched; the branch holds exactly the four files
    assert git(runner_repo, "rev-parse", "main").strip() == main_before
    assert git(runner_repo, "status", "--porcelain") == ""
    assert not (runner_repo / "a.txt").exists()
    assert git(runner_repo, "diff", "--name-only", f"main..{data['branch']}").split() == \
        ["a.txt", "b.txt", "c.txt", "d.txt"]
    # the record, the report and the note on the branch head
    run_dir = runner_repo / ".agentbook" / "runs" / data["run_id"]
    record = json.loads((run_dir / "run.json").read_text())
    assert [s["status"] for s in record["steps"]] == ["done"] * 4
    assert record["steps"][1]["gates"][0]["command"] == "grep -q second b.txt"
    assert record["turns"] == 9
    report = (run_dir / "report.md").read_text()
    assert "- **Outcome:** `completed`: `all 4 steps done`" in report
    note = git(runner_repo, "notes", "--ref", "refs/notes/agentbook", "show", data["branch"])
    assert note.strip() == report.strip()
    transcript = [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text().splitlines()]
    gates = [(e["step"], e["command"], e["exit_code"]) for e in transcript if e["event"] == "gate"]
    assert gates == [(1, "test -f a.txt", 0), (2, "grep -q second b.txt", 0), (4, "test -f d.txt && test -f a.txt", 0)]
    skill_call = [e for e in transcript if e["event"] == "tool" and e["name"] == "skill"]
    assert skill_call[0]["content"].startswith("Keep each note to one line.")
    assert json.loads((run_dir / "trace.otlp.json").read_text())["resourceSpans"]


def test_same_ticket_twice_gets_a_deduplicated_branch(run_cli, runner_repo: Path, script: Path) -> None:
    assert run_four(run_cli, runner_repo, script).code == 0
    r = run_four(run_cli, runner_repo, script)
    assert r.code == 0, r.err
    assert json.loads(r.out)["branch"] == "agentbook/four/42-2"


def test_failing_gate_ends_blocked_with_its_output(run_cli, runner_repo: Path) -> None:
    script = Path(__file__).parent / "data" / "gate-fails.script.yaml"
    r = run_four(run_cli, runner_repo, script)
    assert r.code == 11, r.err
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "blocked"
    assert data["outcome"]["message"] == ("check `grep -q second b.txt` still fails after 3 attempts "
                                          "(step 2/4 Write the second note)")
    assert data["outcome"]["evidence"]["exit_code"] == 1
    assert [s["status"] for s in data["steps"]] == ["done", "blocked", "pending", "pending"]
    subjects = git(runner_repo, "log", "--format=%s", f"main..{data['branch']}").splitlines()
    assert subjects == ["WIP four-steps: Write the second note", "four-steps: Write the first note"]
    report = (Path(data["run_dir"]) / "report.md").read_text()
    assert "Step 2 `grep -q second b.txt` exited 1:\n\n```text\n(no output)\n```" in report
    transcript = (Path(data["run_dir"]) / "transcript.jsonl").read_text()
    assert "$ grep -q second b.txt\\n(exit 1)\\n(no output)" in transcript  # what the agent was told


def test_dry_run_prints_plan_and_creates_nothing(run_cli, runner_repo: Path, script: Path) -> None:
    r = run_cli("run", "four-steps", "--repo", runner_repo, "--input", "topic=owls", "--model",
                f"scripted:{script}", "--dry-run")
    assert r.code == 0, r.err
    assert "--- system prompt ---" in r.out
    assert 'You are a coding agent running the agentbook runbook "four-steps"' in r.out
    assert "- note-style: How to write a short note." in r.out
    assert "   check: grep -q second b.txt" in r.out
    assert "branch   agentbook/four/" in r.out
    assert git(runner_repo, "branch", "--list", "agentbook/*") == ""
    assert not (runner_repo / ".agentbook" / "runs").exists()


def test_runs_list_and_show(run_cli, runner_repo: Path, script: Path) -> None:
    data = json.loads(run_four(run_cli, runner_repo, script).out)
    r = run_cli("runs", "list", "--repo", runner_repo, "--json")
    assert [x["run_id"] for x in json.loads(r.out)] == [data["run_id"]]
    r = run_cli("runs", "show", data["run_id"][:20], "--repo", runner_repo)
    assert r.code == 0 and f"# agentbook run {data['run_id']}" in r.out
    r = run_cli("runs", "show", "nope", "--repo", runner_repo)
    assert r.code == 3 and "no run 'nope'" in r.err


def test_budget_hit_commits_the_work_as_wip(run_cli, runner_repo: Path, script: Path) -> None:
    r = run_four(run_cli, runner_repo, script, "--max-turns", "4")
    assert r.code == 12, r.err
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "budget_exhausted" and data["outcome"]["reason"] == "turns"
    assert [s["status"] for s in data["steps"]] == ["done", "wip", "pending", "pending"]
    log = git(runner_repo, "log", "--format=%s%x00%(trailers:key=Agentbook-Step,valueonly)", f"main..{data['branch']}")
    assert [tuple(x.strip().split("\x00")) for x in log.strip().split("\n\n")] == [
        ("WIP four-steps: Write the second note", "2/4 Write the second note (WIP)"),
        ("four-steps: Write the first note", "1/4 Write the first note")]
    assert git(runner_repo, "show", f"{data['branch']}:b.txt") == "second note\n"  # nothing lost


def test_plain_text_ticket_on_stdin(run_cli, runner_repo: Path, script: Path, monkeypatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Write notes about owls\n\nPlease.\n"))
    r = run_cli("run", "four-steps", "--ticket", "-", "--input", "topic=owls", "--repo", runner_repo,
                "--model", f"scripted:{script}", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["ticket"]["title"] == "Write notes about owls"
    assert data["branch"].startswith("agentbook/four/t-")


def test_github_issue_json_ticket(run_cli, runner_repo: Path, script: Path) -> None:
    issue = {"number": 12, "title": "Owl notes", "labels": [{"name": "agentbook:four-steps"}],
             "body": "---\ninputs:\n  topic: owls\n---\nWrite them."}
    path = runner_repo.parent / "issue.json"
    path.write_text(json.dumps(issue))
    r = run_cli("run", "--ticket", path, "--repo", runner_repo, "--model", f"scripted:{script}", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["branch"] == "agentbook/four/12" and data["inputs"] == {"topic": "owls", "count": 4}
    assert data["ticket"]["body"] == "Write them."


def test_secrets_reach_no_record_commit_or_report(run_cli, runner_repo: Path, script: Path, monkeypatch) -> None:
    secret = "ghp_0123456789abcdefSECRETvalue"
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    ticket = runner_repo.parent / "T.md"
    ticket.write_text(TICKET.replace("title: Notes about owls", f"title: Owls {secret}")
                      + f"\nMy token is {secret}, use it.\n")
    r = run_cli("run", "--ticket", ticket, "--repo", runner_repo, "--model", f"scripted:{script}", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert secret not in r.out
    for f in Path(data["run_dir"]).rglob("*"):  # the gates' gate-state folder too
        assert f.is_dir() or secret not in f.read_text(), f.name
    assert secret not in git(runner_repo, "log", "--format=%B%N", "--notes=agentbook", data["branch"])


def test_commits_are_signed_when_the_repo_config_says_so(run_cli, runner_repo: Path, script: Path) -> None:
    key = runner_repo.parent / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(runner_repo, "config", "gpg.format", "ssh")
    git(runner_repo, "config", "user.signingkey", str(key))
    git(runner_repo, "config", "commit.gpgsign", "true")
    r = run_four(run_cli, runner_repo, script)
    assert r.code == 0, r.err
    branch = json.loads(r.out)["branch"]
    for sha in git(runner_repo, "rev-list", f"main..{branch}").split():
        assert "-----BEGIN SSH SIGNATURE-----" in git(runner_repo, "cat-file", "commit", sha)


def test_json_output_stays_small_for_a_huge_ticket(run_cli, runner_repo: Path, script: Path) -> None:
    ticket = runner_repo.parent / "T.md"
    ticket.write_text(TICKET + "log line\n" * 5000)
    r = run_cli("run", "--ticket", ticket, "--repo", runner_repo, "--model", f"scripted:{script}", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert len(r.out) < 8000
    assert data["ticket"]["body"].endswith("characters more in run.json]")
    record = json.loads((Path(data["run_dir"]) / "run.json").read_text())
    assert record["ticket"]["body"].count("log line") == 5000  # the record keeps everything

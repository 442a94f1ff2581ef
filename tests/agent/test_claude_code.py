"""`--agent claude-code` with the real Claude Code (pinned, from npm) against the stand-in, through the
relay, in the real bubblewrap jail: the shipped fix-prompt test gives the same branch, commits,
trailers and gate rounds as agentbook's own loop; the API key never reaches the agent; max_usd stops
at the relay; a denied tool ends the run blocked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.repos import git

from agentbook.gitops.commits import trailers_of
from agentbook.gitops.git import Git
from agentbook.workflows import runbook_test as rt

from .conftest import DATA

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
REAL_KEY = "sk-ant-probe-real-key-0123456789abcdefghij"
PROBE = """---
name: probe
description: One step for the agent-engine tests.
tools: [read, write, bash]
{bash}
limits: {{max_turns: 10, timeout: 5m, gate_retries: 0}}
branch: "agentbook/probe/{{ticket.id}}"
---
Probe the sandbox.

## Probe

Write probe.txt.

```check
test -f probe.txt
```
"""


def probe_repo(repo: Path, bash: str = "") -> Path:
    (repo / "runbooks").mkdir()
    (repo / "runbooks" / "probe.md").write_text(PROBE.format(bash=bash))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "probe runbook")
    return repo


def run_json(run_cli, repo: Path, script: str, *extra: str) -> tuple[int, dict]:
    r = run_cli("run", "probe", "--repo", repo, "--model", script, "--agent", "claude-code", "--json", *extra)
    assert "Traceback" not in r.err
    return r.code, json.loads(r.out)


def test_fix_prompt_on_claude_code_is_the_built_in_runs_shape(claude: Path, tmp_path: Path) -> None:
    spec = rt.load_spec(REPO_ROOT / "tests" / "runbooks" / "fix-prompt.test.yaml")
    result = rt.run_test(spec, tmp_path / "cc", agent="claude-code")
    assert result.ok, [c.to_json() for c in result.checks if not c.ok]
    run = result.run
    assert run["options"]["agent"] == "claude-code"
    # the same checks the built-in run passes (tests/runbooks): branch, both commits and their files,
    # gate rounds per step (step 3 twice: the vague first change fails its check, the resumed session fixes it)
    assert [s["tries"] for s in run["steps"][:5]] == [1, 1, 2, 1, 1]
    repo_git = Git(result.repo)
    heads = repo_git.run("rev-list", "--reverse", f"main..{run['branch']}").split()
    trailers = [trailers_of(repo_git, sha) for sha in heads]
    assert [t["Agentbook-Step"] for t in trailers] == [["2/6 Add a case that reproduces the behaviour"],
                                                       ["3/6 Change the prompt"]]
    assert all(t["Agentbook-Run"] == [run["run_id"]] and t["Agentbook-Model"] == [run["model"]] for t in trailers)
    # Claude Code's own files stay in the run's agent home: nothing of it is on the branch
    files = repo_git.run("diff", "--name-only", f"main..{run['branch']}").split()
    assert files == ["evals/logql/cases/errors-checkout-case-insensitive.yaml", "prompts/logql.md"]
    assert (Path(run["run_dir"]) / "agent-home" / ".claude" / "skills" / "eval-tool" / "SKILL.md").is_file()


OTHER_SPECS = ["add-eval", "consolidate-prompt", "analyze-backtest"]


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHER_SPECS)
def test_every_shipped_runbook_test_passes_on_claude_code(name: str, claude: Path, tmp_path: Path) -> None:
    """The spec's checks (branch, commits and files, gate rounds, report) hold for Claude Code too."""
    spec = rt.load_spec(REPO_ROOT / "tests" / "runbooks" / f"{name}.test.yaml")
    result = rt.run_test(spec, tmp_path / "cc", agent="claude-code")
    assert result.ok, [c.to_json() for c in result.checks if not c.ok]
    assert result.run["options"]["agent"] == "claude-code"


def test_every_shipped_runbook_test_has_a_claude_code_script() -> None:
    specs = sorted(p.name.removesuffix(".test.yaml") for p in (REPO_ROOT / "tests" / "runbooks").glob("*.test.yaml"))
    with_agent = [n for n in specs if "claude-code" in rt.load_spec(REPO_ROOT / "tests" / "runbooks" /
                                                                    f"{n}.test.yaml").agent_scripts]
    assert set(with_agent) == {*OTHER_SPECS, "fix-prompt"}  # fix-prompt-blocked: the built-in's blocked path only


def test_the_api_key_never_reaches_the_agent(claude: Path, run_cli, git_repo: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBOOK_PROBE_KEY", REAL_KEY)
    repo = probe_repo(git_repo)
    code, data = run_json(run_cli, repo, f"scripted:{DATA / 'probe.script.yaml'}?key_env=AGENTBOOK_PROBE_KEY")
    assert code == 0, data["outcome"]  # the upstream took the request: the relay added the real key
    probe = git(repo, "show", f"{data['branch']}:probe.txt").split("\n")
    # no variable holds the key; the agent's key is the relay's token; its base URL is the in-jail
    # forwarder on loopback; no file under its home, the worktree or /tmp holds the key
    assert probe[:4] == ["0", "sk-agentbook-relay-", "http://127.0.0.1:", "0"]
    run_dir = Path(data["run_dir"])
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        assert REAL_KEY.encode() not in path.read_bytes(), path
    trace = (run_dir / "trace.otlp.json").read_text()
    assert "chat claude-haiku-4-5" in trace and "execute_tool Bash" in trace  # the relay's and the stream's spans
    assert REAL_KEY not in git(repo, "log", "-p", "--all")


def test_max_usd_stops_the_step_at_the_relay(claude: Path, run_cli, git_repo: Path) -> None:
    repo = probe_repo(git_repo)
    code, data = run_json(run_cli, repo, f"scripted:{DATA / 'budget.script.yaml'}", "--max-usd", "0.1")
    assert code == 12
    outcome = data["outcome"]
    assert outcome["kind"] == "budget_exhausted" and outcome["reason"] == "usd"
    assert "stopped at the relay" in outcome["message"]
    # the relay reserves each request's worst case: spend stops within the budget, not one request past it
    assert 0.05 < data["cost_usd"] <= 0.1 and data["turns"] >= 1
    events = [json.loads(line) for line in (Path(data["run_dir"]) / "transcript.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("relay") == data["turns"]
    assert any(e["event"] == "relay_refused" and e["reason"] == "usd" for e in events)
    assert any(e["event"] == "relay_clamped" for e in events)  # Claude Code's max_tokens, lowered to what is left
    assert git(repo, "show", f"{data['branch']}:probe.txt") == "first\n"  # kept as a WIP commit
    assert data["steps"][0]["status"] == "wip"


def test_a_denied_tool_ends_blocked(claude: Path, run_cli, git_repo: Path) -> None:
    repo = probe_repo(git_repo, bash='bash: {allow: ["echo *"]}')
    code, data = run_json(run_cli, repo, f"scripted:{DATA / 'deny.script.yaml'}")
    assert code == 11
    outcome = data["outcome"]
    assert outcome["kind"] == "blocked" and outcome["reason"] == "permission"
    assert outcome["message"] == "Bash refused: rm -rf README.md"
    assert outcome["evidence"]["denied"]["input"] == {"command": "rm -rf README.md"}
    # Claude Code answers its own denial to the model at once; the runner stops it on reading the denial
    # from its stream, which may come just after that next request (a race: seen on a quiet machine).
    # Nothing the model says after the denial is acted on: the branch keeps README.md.
    assert data["turns"] in (2, 3)
    assert git(repo, "show", f"{data['branch']}:README.md") == "# test repo\n"


def test_claude_code_refuses_a_tool_it_has_no_match_for(claude: Path, run_cli, git_repo: Path) -> None:
    repo = probe_repo(git_repo)
    path = repo / "runbooks" / "probe.md"
    path.write_text(path.read_text().replace("tools: [read, write, bash]", "tools: [read, write, bash, eval]"))
    subprocess.run(["git", "commit", "-qam", "eval tool"], cwd=repo, check=True)
    r = run_cli("run", "probe", "--repo", repo, "--model", f"scripted:{DATA / 'deny.script.yaml'}",
                "--agent", "claude-code")
    assert r.code == 3 and "has no tool like agentbook's 'eval'" in r.err
    assert not (repo / ".agentbook" / "runs").exists()


def test_a_held_secret_the_agent_read_is_scrubbed_from_its_own_files(claude: Path, run_cli, git_repo: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude Code keeps its own session transcript in the run's agent home: a held secret it read in a
    file of the repository is redacted there too, as in agentbook's records."""
    value = "probe-held-secret-6f1c2a9e77d04b"
    monkeypatch.setenv("AGENTBOOK_PROBE_TOKEN", value)  # held: the name ends in _TOKEN
    repo = probe_repo(git_repo)
    (repo / "notes.txt").write_text(f"the deploy token is {value}\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "notes")
    code, data = run_json(run_cli, repo, f"scripted:{DATA / 'probe-read.script.yaml'}")
    assert code == 0, data["outcome"]
    home = Path(data["run_dir"]) / "agent-home"
    sessions = [p for p in home.rglob("*.jsonl") if p.is_file()]
    assert sessions, "Claude Code wrote no session transcript in its home"
    assert any("[REDACTED]" in p.read_text() for p in sessions)  # the read happened and was scrubbed
    for path in [p for p in Path(data["run_dir"]).rglob("*") if p.is_file()]:
        assert value.encode() not in path.read_bytes(), path

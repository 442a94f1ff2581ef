"""fix-prompt's first gate saved the suite's baseline beside the suite (`.agentbook/baselines/`), in the
worktree, and the last gate's `agentbook baseline check` read it back: the agent's bash rewrote it in
between (every case "fail"), and any regression passed. Gates now keep it in the run's gate-state folder,
outside the worktree, bound into the gates' jail alone (`AGENTBOOK_GATE_STATE`). Real runner, real jail,
a scripted agent and a scripted model under test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evalkit import BAD_PROMPT, GOOD_PROMPT, SUT, one_case_suite
from gitkit import agent, bash, commit_files, make_repo, run, write
from sandbox_kit import needs_jail

pytestmark = needs_jail

RUNBOOK = """---
name: attack
description: A baseline saved, the prompt changed, the change checked against the baseline.
tools: [read, write, edit, bash]
protected: ["evals/suite.yaml"]
limits: {max_turns: 30, timeout: 5m, gate_retries: 0}
branch: "agentbook/attack/{ticket.id}"
---
Do what the ticket asks.

## Record the baseline
Change nothing.

```check
agentbook baseline save evals/suite.yaml --model scripted:evals/sut.script.yaml
```

## Change the prompt
Change prompts/p.txt.

## Check the change
Nothing to do.

```check
agentbook baseline check evals/suite.yaml --model scripted:evals/sut.script.yaml
```
"""
SUITE = one_case_suite("file://../prompts/p.txt")
SNOOP = "/agentbook-gate-state"
FORGE = ("sed -i 's/\"pass\"/\"fail\"/g' evals/.agentbook/baselines/suite.yaml.json; "
         "cat evals/.agentbook/baselines/suite.yaml.json; echo; "
         f"ls -la {SNOOP}; mkdir -p {SNOOP}/baselines; echo '{{}}' > {SNOOP}/baselines/x.json; "
         "ls ../../runs; env | grep -c AGENTBOOK_GATE_STATE")


def repo_with_suite(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path)
    return commit_files(repo, {"runbooks/attack.md": RUNBOOK, "evals/suite.yaml": SUITE,
                               "evals/sut.script.yaml": SUT, "prompts/p.txt": GOOD_PROMPT + "\n"},
                        "a suite whose model answers right to the unchanged prompt")


def gate_outputs(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text().splitlines()
            if json.loads(x)["event"] in ("gate", "tool")]


def test_the_agent_cannot_forge_the_baseline_a_gate_checks(tmp_path: Path, capsys) -> None:
    repo = repo_with_suite(tmp_path)
    script = agent(tmp_path, {"text": "Baseline step: nothing to change."},
                   write("prompts/p.txt", BAD_PROMPT + "\n"), bash(FORGE), {"text": "Changed."},
                   {"text": "Checked."})
    code, data, out = run(repo, script, capsys=capsys)
    assert data, out
    run_dir = Path(data["run_dir"])
    events = gate_outputs(run_dir)
    forged = next(e for e in events if e["event"] == "tool" and e.get("name") == "bash")
    assert '"fail"' in forged["content"]  # the worktree copy was the agent's to rewrite
    assert "No such file or directory" in forged["content"]  # the gate-state folder is not in its jail
    assert "cannot access '../../runs'" in forged["content"] and "\n0\n" in forged["content"]  # nor its name
    gates = [e for e in events if e["event"] == "gate"]
    assert gates[0]["exit_code"] == 0, gates[0]["output"]
    assert gates[-1]["exit_code"] == 1, gates[-1]["output"]  # compared with the true baseline
    assert "regression says-right: pass -> fail" in gates[-1]["output"]
    assert data["outcome"]["kind"] == "blocked" and code != 0
    saved = list((run_dir / "gate-state" / "baselines").iterdir())
    assert [p.name.startswith("suite.yaml.") for p in saved] == [True]  # no x.json: the agent never wrote here
    assert json.loads(saved[0].read_text())["verdicts"] == {"says-right": "pass"}


def test_a_check_without_a_saved_baseline_fails_closed(tmp_path: Path, capsys) -> None:
    """The agent saves a baseline of its own (its bash is allowed `agentbook baseline *`): the gate does
    not read it, and says which step is missing."""
    repo = repo_with_suite(tmp_path)
    text = RUNBOOK.replace("```check\nagentbook baseline save evals/suite.yaml --model "
                           "scripted:evals/sut.script.yaml\n```\n", "")
    commit_files(repo, {"runbooks/attack.md": text}, "no save gate")
    script = agent(tmp_path, bash("agentbook baseline save evals/suite.yaml --model scripted:evals/sut.script.yaml"),
                   {"text": "Saved."}, {"text": "Changed."}, {"text": "Checked."})
    code, data, out = run(repo, script, capsys=capsys)
    assert data, out
    events = gate_outputs(Path(data["run_dir"]))
    own = next(e for e in events if e["event"] == "tool" and e.get("name") == "bash")
    assert "for your own checks only" in own["content"]
    gate = [e for e in events if e["event"] == "gate"][-1]
    assert gate["exit_code"] != 0 and "no baseline recorded by this run's gates" in gate["output"]
    assert "agentbook baseline save evals/suite.yaml" in gate["output"]
    assert data["outcome"]["kind"] == "blocked" and code != 0


@pytest.mark.slow
def test_a_resumed_run_checks_against_the_baseline_saved_before_the_kill(tmp_path: Path) -> None:
    repo = repo_with_suite(tmp_path)
    slow = {"text": "Thinking about the change.", "latency_ms": 3000}
    script = agent(tmp_path, {"text": "Baseline step: nothing to change."}, slow, {"text": "Changed."},
                   {"text": "Checked."})
    (tmp_path / "T.md").write_text("---\nid: 7\ntitle: t\nrunbook: attack\n---\nFix it.\n")
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN")}
    cmd = [sys.executable, "-m", "agentbook", "run", "attack", "--ticket", str(tmp_path / "T.md"), "--model",
           f"scripted:{script}"]
    proc = subprocess.Popen(cmd, cwd=repo, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = repo / ".agentbook" / "runs"
    deadline = time.monotonic() + 120
    while not list(runs.glob("*/gate-state/baselines/*.json")):  # step 1's gate saved it: step 2 is under way
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    while json.loads((next(runs.glob("*/run.json"))).read_text())["steps"][1]["status"] != "running":
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = next(runs.iterdir())
    worktree = Path(json.loads((run_dir / "run.json").read_text())["worktree"])
    for copy in (worktree / "evals" / ".agentbook" / "baselines").glob("*.json"):
        copy.unlink()  # the gate's check must not need the agent's copy
    done = subprocess.run([sys.executable, "-m", "agentbook", "run", "--resume", run_dir.name, "--json"], cwd=repo,
                          env=env, text=True, capture_output=True, timeout=300, check=False)
    data = json.loads(done.stdout)
    # every step ran its gates (nothing changed, so nothing is committed)
    assert data["outcome"]["kind"] == "no_changes", done.stdout[-3000:] + done.stderr[-2000:]
    assert data["resumes"] == 1
    last = data["steps"][-1]["gates"][-1]
    assert last["exit_code"] == 0 and "ok: no regressions" in last["output"]


AGENT_TESTS = """import glob, pathlib
for path in glob.glob("/agentbook-gate-state/baselines/*.json"):
    p = pathlib.Path(path)
    p.write_text(p.read_text().replace('"pass"', '"fail"'))
print("tests ok")
"""


def test_code_a_later_gate_runs_cannot_rewrite_an_earlier_steps_baseline(tmp_path: Path, capsys) -> None:
    """The gate-state folder is in every gate's jail, and a gate runs the agent's code (here its "tests"):
    what an earlier step's gates saved is sealed by digest when they passed, and the check refuses a
    baseline that no longer matches."""
    repo = repo_with_suite(tmp_path)
    text = RUNBOOK.replace("Change prompts/p.txt.\n", "Change prompts/p.txt.\n\n```check\npython3 agent_tests.py\n```\n")
    commit_files(repo, {"runbooks/attack.md": text}, "a step whose gate runs the agent's tests")
    script = agent(tmp_path, {"text": "Baseline step: nothing to change."},
                   write("prompts/p.txt", BAD_PROMPT + "\n"), write("agent_tests.py", AGENT_TESTS),
                   {"text": "Changed."}, {"text": "Checked."})
    code, data, out = run(repo, script, capsys=capsys)
    assert data, out
    gates = [e for e in gate_outputs(Path(data["run_dir"])) if e["event"] == "gate"]
    assert "tests ok" in gates[1]["output"]  # the code ran in the gate and rewrote the file
    assert gates[-1]["exit_code"] != 0
    assert "changed after the step that saved it" in gates[-1]["output"], gates[-1]["output"]
    assert data["outcome"]["kind"] == "blocked" and code != 0


def test_a_gate_keeps_no_suite_index_cache_on_disk(tmp_path: Path) -> None:
    """The index cache beside the suite is keyed by the file's stat, which the agent can read: rows it
    forged there could choose the cases, spans and defaultTest a gate runs. A gate indexes in memory."""
    from agentbook.runbooks.gates import run_gate

    root = tmp_path / "work"
    (root / "evals").mkdir(parents=True)
    (root / "evals" / "suite.yaml").write_text(one_case_suite(GOOD_PROMPT))
    state = tmp_path / "run" / "gate-state"
    gate = run_gate("agentbook eval list evals/suite.yaml", root, protected=[], gate_state=state)
    assert gate.exit_code == 0 and "says-right" in gate.output, gate.output
    assert not (state / "index").exists()
    assert not (root / "evals" / ".agentbook" / "index").exists()


TWO_CASES = SUITE + """  - id: says-left
    vars: {word: left}
    assert:
      - {type: equals, value: left}
"""
# The agent's "tests", run by a gate: the index a gate before it cached for the suite (in the gate-state
# folder, the one place a gate's cache outlives it) loses the failing case, under the suite's stat.
FORGE_INDEX = """import glob, sqlite3
for db in glob.glob("/agentbook-gate-state/index/suite.yaml.*.sqlite"):
    c = sqlite3.connect(db)
    (span, nl), = c.execute("SELECT span, nl_span FROM spans WHERE ord = 0").fetchall()
    c.execute("DELETE FROM cases WHERE ord = 1"); c.execute("DELETE FROM spans WHERE ord = 1")
    c.execute("UPDATE blocks SET span = ?, nl_span = ?", (span, nl)); c.commit()
    print("forged", db)
print("tests ok")
"""
INDEX_RUNBOOK = RUNBOOK.replace(
    "agentbook baseline save evals/suite.yaml --model scripted:evals/sut.script.yaml",
    "agentbook eval list evals/suite.yaml").replace(
    "Change prompts/p.txt.\n", "Change prompts/p.txt.\n\n```check\npython3 agent_tests.py\n```\n").replace(
    "agentbook baseline check evals/suite.yaml", "agentbook eval run evals/suite.yaml")


def test_code_a_gate_runs_cannot_forge_the_suite_index_a_later_gate_reads(tmp_path: Path, capsys) -> None:
    """A gate's suite index cache lived in the gate-state folder, which every gate's code writes: the agent's
    tests dropped the failing case from it, and a later gate's `eval run` passed on the case it ran."""
    repo = repo_with_suite(tmp_path)
    commit_files(repo, {"runbooks/attack.md": INDEX_RUNBOOK, "evals/suite.yaml": TWO_CASES}, "a suite with a case the model fails")
    script = agent(tmp_path, {"text": "Nothing to change."}, write("agent_tests.py", FORGE_INDEX),
                   {"text": "Wrote my tests."}, {"text": "Checked."})
    code, data, out = run(repo, script, capsys=capsys)
    assert data, out
    gates = [e for e in gate_outputs(Path(data["run_dir"])) if e["event"] == "gate"]
    assert "says-left" in gates[0]["output"] and "tests ok" in gates[1]["output"]  # the code ran in the gate
    assert gates[-1]["exit_code"] == 1, gates[-1]["output"]  # both cases ran
    assert "FAIL  says-left" in gates[-1]["output"], gates[-1]["output"]
    assert data["outcome"]["kind"] == "blocked" and code != 0
    assert not (Path(data["run_dir"]) / "gate-state" / "index").exists()

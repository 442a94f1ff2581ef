"""What an agent CLI prints is read by the runner, outside the jail, and any process in the jail can
print it: a command Claude Code runs opens `/proc/<claude>/fd/1` (same user, same pid namespace) and
writes lines of its own into the stream-json the runner parses. A line nested 100,000 deep made
`json.loads` raise RecursionError, and one longer than the runner reads (64 MiB) made asyncio raise
ValueError: each crashed the runner with a traceback (exit 70), the run left `running`. Now such a line
is skipped (too deep, or not an object where one belongs), or stops the agent and ends the step
`crashed` with the reason (too long).

Since then Claude Code is sealed from what it runs (test_agent_forged_events.py): the write into its
stdout is refused, and the parser's bounds stay as a second line."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import claude_probe, commit_files, make_repo
from test_agent_skill_frontmatter import claude  # noqa: F401 - the fixture

from agentbook.session.sandbox import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail")

RUNBOOK = """---
name: probe
description: One step an agent CLI works.
tools: [read, write, bash]
limits: {max_turns: 10, timeout: 5m, gate_retries: 0}
---
Probe.

## Probe
Write probe.txt.
"""
# finds Claude Code above this shell and writes lines into its stdout, which the runner reads
INJECT = r"""p=$$
while [ "$p" -gt 1 ]; do
  tr '\0' ' ' < /proc/$p/cmdline | grep -q 'claude.exe' && break
  p=$(awk '{print $4}' /proc/$p/stat)
done
python3 - "$p" <<'PY' 2>&1 | grep -o PermissionError
import sys
with open(f"/proc/{sys.argv[1]}/fd/1", "w") as out:
    out.write("[" * 100000 + "]" * 100000 + "\n")
    out.write('{"type": "assistant", "message": [1]}\n{"type": "assistant", "message": {"content": 5}}\n')
    out.write('{"type": "user", "message": "x"}\n')
PY
echo injected
"""
COMMAND_SCRIPT = Path(__file__).parents[1] / "agent" / "data" / "command-agent.script.yaml"


@pytest.mark.slow
def test_lines_a_jailed_process_writes_into_claude_codes_output_do_not_crash_the_runner(
        claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # noqa: F811
    monkeypatch.setenv("AGENTBOOK_CLAUDE", str(claude))
    repo = commit_files(make_repo(tmp_path), {"runbooks/probe.md": RUNBOOK}, "a runbook")
    script = claude_probe(
        tmp_path,
        {"tool_use": {"name": "Write", "input": {"file_path": "inject.sh", "content": INJECT}}},
        {"tool_use": {"name": "Bash", "input": {"command": "sh inject.sh"}}},
        {"tool_use": {"name": "Write", "input": {"file_path": "probe.txt", "content": "done\n"}}})
    r = run_cli("run", "probe", "--repo", repo, "--model", f"scripted:{script}", "--agent", "claude-code", "--json")
    assert "Traceback" not in r.err and r.code == 0, r.out + r.err[-2000:]
    data = json.loads(r.out)
    events = [json.loads(x) for x in (Path(data["run_dir"]) / "transcript.jsonl").read_text().splitlines()]
    assert [e["content"] for e in events if e["event"] == "tool" and e["name"] == "Bash"] == ["PermissionError\ninjected"]


def test_an_agent_output_line_past_what_the_runner_reads_stops_the_agent(run_cli, tmp_path: Path) -> None:
    repo = commit_files(make_repo(tmp_path), {"runbooks/probe.md": RUNBOOK}, "a runbook")
    flood = "head -c 70000000 /dev/zero | tr '\\0' a; echo; sleep 60"
    r = run_cli("run", "probe", "--repo", repo, "--json", "--agent", "command:" + shlex.join(["sh", "-c", flood]),
                "--model", f"scripted:{COMMAND_SCRIPT}")
    assert "Traceback" not in r.err and r.code == 14, r.out + r.err[-2000:]
    outcome = json.loads(r.out)["outcome"]
    assert outcome["kind"] == "crashed" and outcome["reason"] == "agent_output"
    assert "passed 64 MiB" in outcome["message"]

"""Claude Code's stderr was the jail's: a pipe that bubblewrap's init (pid 1 of the jail, dumpable)
held too, so a command Claude Code ran opened `/proc/1/fd/2` and wrote what it liked, then killed
Claude Code (same user). The tail of that pipe is the evidence in the record of the crash (`stderr`
of the outcome, in the run's JSON and its records): words of the attacker's, shown as Claude Code's.
Claude Code's stderr is now a pipe passed in for it alone, as its stdout is; the jail's stderr is
kept apart, in the transcript only, marked as anyone's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import claude_probe, commit_files, make_repo
from test_agent_forged_events import RUNBOOK
from test_agent_skill_frontmatter import claude  # noqa: F401 - the fixture

from agentbook.session import clib, gatesep
from agentbook.session.sandbox import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail")

MARK = "FORGED-stderr-of-a-jailed-process"
FORGE = r"""import os, signal, sys
MARK = sys.argv[1][::-1]  # written reversed: the command line holds no mark
mine = {os.getpid(), os.getppid()}
own = {os.readlink(f"/proc/self/fd/{fd}") for fd in (1, 2)}  # the Bash call's own output
pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
reached = []
for pid in pids:
    for fd in range(0, 16):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in own:
                continue
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/fd/{fd}", "w") as out:
                out.write(f"Error: {MARK}: the API key is sk-ant-see-https://evil.example\n")
            reached.append(f"{pid}/{fd}")
        except OSError:
            pass
for pid in pids:  # then end Claude Code, so the run's record is a crash with the stderr tail as evidence
    try:
        if b"claude" in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0]:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print("reached", reached)
"""


@pytest.mark.slow
def test_a_jailed_process_cannot_write_claude_codes_stderr(
        claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # noqa: F811
    monkeypatch.setenv("AGENTBOOK_CLAUDE", str(claude))
    repo = commit_files(make_repo(tmp_path), {"runbooks/probe.md": RUNBOOK}, "a runbook")
    script = claude_probe(
        tmp_path,
        {"tool_use": {"name": "Write", "input": {"file_path": "/tmp/forge.py", "content": FORGE}}},
        {"tool_use": {"name": "Bash", "input": {"command": f"python3 /tmp/forge.py {MARK[::-1]}"}}})
    r = run_cli("run", "probe", "--repo", repo, "--model", f"scripted:{script}", "--agent", "claude-code", "--json")
    assert "Traceback" not in r.err, r.err[-2000:]
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "crashed" and data["outcome"]["reason"] == "agent_exit", data["outcome"]
    assert "stderr" in data["outcome"]["evidence"]  # the record still carries Claude Code's own stderr
    assert MARK not in r.out + r.err
    run_dir = Path(data["run_dir"])
    records = {p: p.read_text(errors="replace") for p in run_dir.rglob("*")
               if p.is_file() and p.name != "transcript.jsonl" and not {"agent-home", "agent-loader"} & set(p.parts)}
    assert [p for p, text in records.items() if MARK in text] == []
    # the jail's own stderr is kept in the transcript only, as what any process in the jail could write;
    # where the seal library's Landlock domain holds, Claude Code's commands cannot reach pid 1's either
    events = [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text().splitlines()]
    domain = gatesep.landlock_abi() >= 2 and clib.build("agentseal")[0] is not None
    assert [e["event"] for e in events if MARK in json.dumps(e)] == ([] if domain else ["jail_stderr"])

"""A scripted model's patterns (`match:`, `when:` and `on_result:` regexes of a `*.script.yaml`) against the
runner. A script can be a repository's file: a suite's `providers:`, a ticket's or runbook's `scripted:` spec,
or one the agent writes in the worktree and names to the in-process `eval` tool (any `scripted:` file inside
the root is allowed). The stand-in matched its patterns with Python's `re` in the runner's own process, on
text the agent chose, and `re` cannot be stopped and holds the GIL: `(a|aa)+$` froze the runner, the
session's `--timeout` with it (a 15 s session was still running a minute later). A request's patterns now
share a 2 s deadline; past it the request is answered like one the script cannot answer (a 400)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest

from agentbook.standin import running

HOSTILE = "(a|aa)+$"
TEXT = "a" * 64 + "!"  # 2^64-ish paths for the pattern above before it gives up
AGENT = """version: 1
model: scripted
sessions:
  - name: agent
    match: {first_user: "run the suite"}
    turns:
      - tool_use: {name: eval, input: {command: run, suite: suite.yaml, model: "scripted:EVIL"}}
      - text: Done.
"""


def _hostile_script(path: Path, where: str) -> Path:
    """A script whose one pattern, at `where`, backtracks without end on TEXT."""
    conditions = {
        "match": f"    match: {{first_user: {{regex: '{HOSTILE}'}}}}\n    turns:\n      - text: hi\n",
        "when": f"    match: {{model: scripted}}\n    turns:\n      - when:\n          - if: {{last_user: {{regex: '{HOSTILE}'}}}}\n"
                "            text: hi\n          - text: other\n",
    }
    path.write_text(f"version: 1\nmodel: scripted\nsessions:\n  - name: s\n{conditions[where]}"
                    "default:\n  turns:\n    - text: fallback\n")
    return path


@pytest.mark.parametrize("where", ["match", "when"])
def test_a_backtracking_pattern_is_a_400_not_a_frozen_server(tmp_path: Path, where: str) -> None:
    """The real SDK against the real stand-in: the request is refused, and the server answers the next one."""
    with running(_hostile_script(tmp_path / "evil.script.yaml", where)) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=60)
        with pytest.raises(anthropic.BadRequestError, match="ran past"):
            client.messages.create(model="scripted", max_tokens=50, messages=[{"role": "user", "content": TEXT}])
        reply = client.messages.create(model="scripted", max_tokens=50, messages=[{"role": "user", "content": "b"}])
    assert reply.content[0].type == "text" and reply.content[0].text in ("fallback", "other")


def test_the_eval_tool_with_an_agents_script_does_not_freeze_the_session(tmp_path: Path) -> None:
    """The agent names a script it wrote to the in-process `eval` tool; the session (run as its own process,
    so the old code's freeze cannot take the test run with it) ends, and the case is an error naming why."""
    root = tmp_path / "root"
    root.mkdir()
    evil = _hostile_script(root / "evil.script.yaml", "match")
    (root / "agent.script.yaml").write_text(AGENT.replace("EVIL", str(evil)))
    (root / "suite.yaml").write_text(f"prompts: ['{{{{q}}}}']\nproviders: [echo]\ntests:\n  - id: c1\n"
                                     f"    vars: {{q: '{TEXT}'}}\n    assert: [{{type: contains, value: x}}]\n")
    argv = [sys.executable, "-m", "agentbook", "session", "--model", f"scripted:{root / 'agent.script.yaml'}",
            "--root", str(root), "--tools", "eval", "--timeout", "20s", "--out", str(tmp_path / "out"), "--json",
            "run the suite"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the session was still running long after its own 20 s timeout: the runner froze")
    data = json.loads(proc.stdout)
    transcript = Path(data["transcript_path"]).read_text()
    tool = next(json.loads(line)["content"] for line in transcript.splitlines() if '"event": "tool"' in line)
    assert '"verdict": "error"' in tool and "ran past" in tool, tool

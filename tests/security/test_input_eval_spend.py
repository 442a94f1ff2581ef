"""The in-process `eval` tool runs a suite on the session's model, in the runner's process and on the runner's
key, and nothing counted what it spent: a session (or a repository's runbook offering the tool, whose own
budget is capped) with `--max-usd` ran `eval run` with `repeat: 50` on every turn, each call bounded only by
`tool_seconds`. The tool's runs now stop at what is left of the session's spend, and what they spent is
the session's: the next turn ends it `budget_exhausted`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SCRIPT = """version: 1
model: claude-sonnet-4-5
sessions:
  - name: agent
    match: {first_user: "run the suite"}
    turns:
      - tool_use: {name: eval, input: {command: run, suite: suite.yaml, repeat: 50, model: "MODEL"}}
      - tool_use: {name: eval, input: {command: run, suite: suite.yaml, repeat: 50, model: "MODEL"}}
      - text: Done.
  - name: case
    match: {first_user: {regex: "Say"}}
    turns:
      - text: "a long enough answer to cost something"
"""


def test_the_eval_tool_spends_the_sessions_budget_and_no_more(run_cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    script = root / "m.script.yaml"
    script.write_text(SCRIPT.replace("MODEL", f"scripted:{script}"))
    (root / "suite.yaml").write_text("prompts: ['Say {{q}} ' ]\nproviders: [echo]\ntests:\n"
                                     + "".join(f"  - id: c{i}\n    vars: {{q: '{'x' * 4000} {i}'}}\n" for i in range(4)))
    r = run_cli("session", "--model", f"scripted:{script}", "--root", root, "--tools", "eval", "--max-usd", "0.05",
                "--out", tmp_path / "out", "--json", "run the suite")
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "budget_exhausted" and data["outcome"]["reason"] == "usd", data["outcome"]
    assert 0.05 <= data["cost_usd"] < 0.2, data["cost_usd"]  # its calls stopped at the limit, a few in flight past it
    transcript = Path(data["transcript_path"]).read_text()
    tools = [json.loads(line)["content"] for line in transcript.splitlines() if '"event": "tool"' in line]
    assert len(tools) == 1 and "spend limit is reached" in tools[0], tools

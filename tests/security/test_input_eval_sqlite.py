"""The SQLite caches beside a suite (its index, its response cache) are in the agent's worktree, and the
in-process `eval` tool opens them in the runner's own process. A file whose `meta` (or `responses`) table was
a view over a recursive query that never ends held the tool's call, and the session with it: a session told
`--timeout 15s` was still running a minute later. Such a file (a view or trigger, which agentbook never makes)
is now discarded and rebuilt, and every statement runs under a deadline. Each session runs as its own process:
the old code's hang cannot be stopped from this one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.evals.state import index_db, response_cache_file

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT {columns} FROM c WHERE x < 0"
VIEWS = {
    "list": (index_db, "meta", ("4 AS schema, 0 AS size, 0 AS mtime_ns, 0 AS ctime_ns, 0 AS ino, 0 AS dev, "
             "'inline' AS tests, '[]' AS globs, 1 AS fast, '' AS reason, 0 AS dash_col, 0 AS items_start, "
             "0 AS items_line, '{}' AS defaults")),
    "run": (response_cache_file, "responses", "'k' AS key, 'm' AS model, '{}' AS body, 0 AS created"),
}
AGENT = """version: 1
model: scripted
sessions:
  - name: agent
    match: {first_user: "go"}
    turns:
      - tool_use: {name: eval, input: {command: COMMAND, suite: suite.yaml, model: "scripted:MODEL"}}
      - text: Done.
  - name: case
    match: {first_user: "Say"}
    turns:
      - text: "hello"
"""


@pytest.mark.parametrize("command", sorted(VIEWS))
def test_a_cache_file_the_agent_forged_does_not_freeze_the_eval_tool(tmp_path: Path, command: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    script = root / "agent.script.yaml"
    script.write_text(AGENT.replace("COMMAND", command).replace("MODEL", str(script)))
    suite = root / "suite.yaml"
    suite.write_text("prompts: ['Say {{q}}']\ntests:\n  - id: c1\n    vars: {q: hi}\n"
                     "    assert: [{type: contains, value: hello}]\n")
    where, table, columns = VIEWS[command]
    db = where(suite)
    db.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE VIEW {table} AS {FOREVER.format(columns=columns)}")
    argv = [sys.executable, "-m", "agentbook", "session", "--model", f"scripted:{script}", "--root", str(root),
            "--tools", "eval", "--timeout", "20s", "--out", str(tmp_path / "out"), "--json", "go"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the session was still running long after its own 20 s timeout: the eval tool hung on the cache")
    data = json.loads(proc.stdout)
    transcript = Path(data["transcript_path"]).read_text()
    tool = next(json.loads(line) for line in transcript.splitlines() if '"event": "tool"' in line)
    assert not tool["is_error"], tool["content"]
    if command == "run":  # the tool's bounded view lists only cases that did not pass: the one case passed
        assert json.loads(tool["content"])["summary"]["passed"] == 1, tool["content"]
    else:
        assert '"c1"' in tool["content"] and ('"verdict": "pass"' in tool["content"] or command == "list"), \
            tool["content"]

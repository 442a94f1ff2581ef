"""The model layer's own trace: with AGENTBOOK_TRACE_FILE set, a program's model calls and tool calls
land in an OTLP/JSON file the trace exporter reads (a real child process, the scripted model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentbook.traces import read_trace

PROGRAM = '''\
import asyncio, sys
from agentbook.models import ModelRequest, load_model, tracing

async def main():
    tracing.record_tool("loki.query", {"q": "{app='x'}"}, "line one\\nline two")
    tracing.record_tool("loki.query", {"q": "bad"}, "parse error", is_error=True)
    model = load_model("scripted:" + sys.argv[1])
    try:
        for question in ("first", "second", "past the end"):
            await model.complete(ModelRequest(messages=[{"role": "user", "content": question}],
                                              system="You are terse. key=sk-ant-api03-" + "x" * 40))
    finally:
        await model.aclose()

asyncio.run(main())
'''

SCRIPT = """\
version: 1
sessions:
  - {name: one, match: {first_user: first}, turns: [{text: "answer one"}]}
  - {name: two, match: {first_user: second}, turns: [{text: "answer two"}]}
"""


def test_a_program_leaves_a_trace_of_its_model_and_tool_calls(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "m.script.yaml").write_text(SCRIPT)
    trace_file = tmp_path / "out" / "trace.otlp.json"
    env = {**os.environ, "AGENTBOOK_TRACE_FILE": str(trace_file), "AGENTBOOK_TRACE_NAME": "demo-system"}
    ran = subprocess.run([sys.executable, "prog.py", "m.script.yaml"], cwd=tmp_path, env=env, check=False,
                         capture_output=True, text=True)
    assert ran.returncode == 1 and "third" not in ran.stderr  # the third call fails: no session matches it
    raw = trace_file.read_text()
    assert "sk-ant-api03-xxxx" not in raw  # a key in a prompt is redacted, as in session traces
    spans = json.loads(raw)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [s["name"] for s in spans] == ["invoke_agent demo-system", "execute_tool loki.query",
                                          "execute_tool loki.query", "chat scripted", "chat scripted",
                                          "chat scripted"]
    assert spans[2]["status"]["code"] == 2 and spans[5]["status"]["code"] == 2  # the tool error, the failed call
    assert "answer two" in json.dumps(spans[4]) and "second" in json.dumps(spans[4])
    (trace,) = read_trace(trace_file)
    assert len(trace.spans) == 6


def test_without_the_variable_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM.replace('"past the end"', ""))
    (tmp_path / "m.script.yaml").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "AGENTBOOK_TRACE_FILE"}
    ran = subprocess.run([sys.executable, "prog.py", "m.script.yaml"], cwd=tmp_path, env=env, check=False,
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.script.yaml", "prog.py"]

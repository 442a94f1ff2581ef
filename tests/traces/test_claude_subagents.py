"""Claude Code 2.1 keeps each Task subagent's transcript in a file of its own beside the session
(`<session>/subagents/agent-<agentId>.jsonl`, and `agent-<agentId>.meta.json` naming the Task call's
`toolUseId`); the session file's Task result names the subagent only in `toolUseResult.agentId`. The real
Claude Code (the pinned npm version) writes them here, its model agentbook's scripted stand-in: the main
session calls Task, the subagent runs `echo sub-hello` with Bash and answers. The export puts the
subagent under the Task call, and the conservation check counts the subagent's file as input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.npm_tools import install_claude

from agentbook.standin.server import running
from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.model import Span, Trace
from agentbook.traces.read import read_trace

SCRIPT = {"version": 1, "model": "claude-haiku-4-5", "sessions": [
    {"name": "sub", "match": {"first_user": "SUBTASK-7"},
     "turns": [{"tool_use": {"name": "Bash", "input": {"command": "echo sub-hello", "description": "say hello"}}},
               {"text": "The subagent found sub-hello."}]},
    {"name": "main", "match": {"first_user": "Please delegate"},
     "turns": [{"tool_use": {"name": "Task", "input": {"description": "Probe", "prompt": "SUBTASK-7: run echo sub-hello",
                                                       "subagent_type": "general-purpose"}}},
               {"text": "The subagent reported sub-hello."},
               {"text": "Noted: the subagent finished."}]}],
    "default": {"turns": [{"text": "ok"}] * 4}}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session file Claude Code wrote (its subagent's files beside it), in a folder of its own."""
    binary, why = install_claude()
    if binary is None:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("claude")
    (base / "home").mkdir()
    (base / "work").mkdir()
    (base / "s.script.yaml").write_text(yaml.safe_dump(SCRIPT), encoding="utf-8")
    with running(base / "s.script.yaml") as server:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(base / "home"), "ANTHROPIC_BASE_URL": server.base_url,
               "ANTHROPIC_API_KEY": "sk-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "DISABLE_AUTOUPDATER": "1"}
        proc = subprocess.run([str(binary), "-p", "Please delegate the probe", "--model", "claude-haiku-4-5",
                               "--allowedTools", "Task Bash Agent", "--output-format", "json"],
                              cwd=base / "work", env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout[-500:], proc.stderr[-500:])
    (session,) = (base / "home" / ".claude" / "projects").glob("*/*.jsonl")
    return session


@pytest.fixture
def session(written: Path, tmp_path: Path) -> Path:
    """A copy of the written session and its subagent folder, for a test to change."""
    shutil.copytree(written.parent, tmp_path / "project")
    return tmp_path / "project" / written.name


def _subagent(trace: Trace) -> tuple[Span, Span]:
    """The session's Task call and the one subagent span."""
    task = next(s for s in trace.spans if s.tool_name in ("Task", "Agent"))
    (agent,) = [s for s in trace.spans if s.kind == "agent" and s.span_id != "session"]
    return task, agent


def test_claude_codes_subagent_file_goes_under_the_task_call(session: Path) -> None:
    (agent_file,) = session.with_suffix("").glob("subagents/agent-*.jsonl")  # the layout Claude Code writes
    assert all(json.loads(line).get("isSidechain") for line in agent_file.read_text().splitlines()
               if json.loads(line).get("type") in ("user", "assistant"))
    (trace,) = read_trace(session)
    task, agent = _subagent(trace)
    assert agent.parent_id == task.span_id and agent.attributes["agent_id"] == agent_file.stem[len("agent-"):]
    assert agent.name == "subagent general-purpose"
    turns = [s for s in trace.spans if s.parent_id == agent.span_id]
    assert [t.kind for t in turns] == ["llm", "llm"]
    assert turns[0].input_messages[0].content == "SUBTASK-7: run echo sub-hello"  # not the session's input
    (bash,) = [s for s in trace.spans if s.parent_id == turns[0].span_id]
    assert bash.tool_name == "Bash" and bash.tool_result == "sub-hello"
    assert turns[1].output_messages[-1].content == "The subagent found sub-hello."
    main_turns = [s for s in trace.spans if s.parent_id == "session" and s.kind == "llm"]
    assert all("SUBTASK" not in m.content for t in main_turns for m in t.input_messages if m.role == "user")


def test_records_without_agent_id_and_a_result_that_does_not_name_it_are_placed_by_the_file(session: Path) -> None:
    """The file's name says whose records they are, and its `.meta.json` which Task call ran it."""
    (agent_file,) = session.with_suffix("").glob("subagents/agent-*.jsonl")
    for path in (agent_file, session):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        for rec in lines:
            rec.pop("agentId", None)
            if isinstance(rec.get("toolUseResult"), dict):
                rec["toolUseResult"].pop("agentId", None)
        path.write_text("".join(json.dumps(rec) + "\n" for rec in lines))
    (trace,) = read_trace(session)
    task, agent = _subagent(trace)
    assert agent.parent_id == task.span_id
    assert len([s for s in trace.spans if s.parent_id == agent.span_id and s.kind == "llm"]) == 2


def test_the_conservation_check_counts_the_subagents_messages(session: Path, tmp_path: Path) -> None:
    export_many(read_trace(session), tmp_path / "full")
    assert measure(session, tmp_path / "full").lost == []
    folder = session.with_suffix("")
    folder.rename(tmp_path / "away")  # exported without its subagent's file, then measured with it
    export_many(read_trace(session), tmp_path / "main")
    (tmp_path / "away").rename(folder)
    lost = measure(session, tmp_path / "main").lost
    (agent_file,) = folder.glob("subagents/agent-*.jsonl")
    uuids = [json.loads(line).get("uuid") for line in agent_file.read_text().splitlines()]
    assert {u for u in uuids if u} <= set(lost)  # the subagent's records, which only its file holds


def test_a_linked_subagent_file_is_not_followed(session: Path, tmp_path: Path) -> None:
    """The transcript folder is anyone's to write: a link named like a subagent file could point at any
    file on the machine, which would then be copied into the export."""
    (agent_file,) = session.with_suffix("").glob("subagents/agent-*.jsonl")
    secret = tmp_path / "secret.jsonl"
    shutil.move(agent_file, secret)
    agent_file.symlink_to(secret)
    (trace,) = read_trace(session)
    assert not [s for s in trace.spans if s.kind == "agent" and s.span_id != "session"]
    assert "The subagent found sub-hello." not in json.dumps([s.output_messages[-1].content for s in trace.spans
                                                              if s.output_messages])
